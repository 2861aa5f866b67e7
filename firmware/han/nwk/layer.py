# ZigBee PRO NWK layer for a star network (ZigBee spec 05-3474-21, 3.6 and 4.3): the data
# service above the 802.15.4 MAC (han/mac/mac.py, run unsecured: ZigBee secures at NWK),
# NWK security with the network key (level 5, auxiliary header with the sender's extended
# address and the key sequence number), the incoming frame counters of the device table
# (han/nwk/devices.py: replays refused, counters persisted by han/nwk/store.py), the
# outgoing counter reserved in blocks, and the hand-over of NWK commands to the role.
#
# Receive policy, the security half of it (4.3.1.2 and 4.6.3):
#   - a secured frame is accepted only from a device of the table (the coordinator's
#     joined devices, or an end device's trust centre), with the key sequence number of
#     the active or the alternate key, a counter above the last accepted one and a good
#     MIC; only then is anything recorded (counter, last seen);
#   - unsecured frames change nothing here: they reach the APS layer marked unsecured
#     (which accepts only APS-secured key transport from them) or, as NWK commands, the
#     role (which accepts an unsecured rejoin only as a trust-centre rejoin).
# Every refused frame is counted by reason (rx_refused[REFUSED_*]) and reported to
# on_refused(reason, src64_or_short, now) for tamper detection (han/tamper.py episodes).
# A child the coordinator aged out (3.6.10: silent beyond its end-device timeout) is no
# child any more until it rejoins: its authenticated frames other than a Rejoin Request
# or an End Device Timeout Request (sent after a rejoin) are counted accepted (genuine, its counters advance) but go to on_stale(index, now),
# which tells it to rejoin, instead of the upper layers.
from micropython import const

from han.nwk import commands as nc
from han.nwk import frame as nf
from han.nwk import security as ns
from han.mac.security import same_ext
from han.nwk.devices import DUPLICATE, JOINING, REPLAY, counter_verdict
from native.aes import KEY_SCHEDULE_SIZE, aes128_key_schedule

BROADCAST_ALL = const(0xFFFF)
BROADCAST_RX_ON = const(0xFFFD)
BROADCAST_ROUTERS = const(0xFFFC)
DEFAULT_RADIUS = const(10)  # 2 x nwkMaxDepth of a shallow network (3.6.2.1)
MAX_FRAME = const(116)  # aMaxPHYPacketSize 127 - FCS 2 - MAC header with short addresses 9

# Reasons a frame is refused (rx_refused index).
REFUSED_MALFORMED = const(0)
REFUSED_NOT_FOR_US = const(1)
REFUSED_UNSECURED = const(2)  # an unsecured frame where only secured ones are accepted
REFUSED_UNKNOWN_SOURCE = const(3)
REFUSED_KEY_SEQ = const(4)
REFUSED_REPLAY = const(5)
REFUSED_MIC = const(6)
REFUSED_DUPLICATE = const(7)  # a retransmission (same counter): not an attack
REFUSED_COUNT = const(8)


class Nwk:
    """mac: han.mac.mac.Mac. st: han.nwk.store.NetState (keys, addresses, counters).
    table: the DeviceTable. store: han.nwk.store.NetStore. on_data(h, buf, off, n,
    secured, index, now) receives the NWK payload (APS frame) of every accepted data
    frame, index = the sender's table entry (-1 for an unsecured frame from an unknown
    sender); on_command(c, h, buf, off, n, secured, index, now) every NWK command."""

    def __init__(self, mac, st, table, store, coordinator):
        self.mac = mac
        self.st = st
        self.table = table
        self.store = store
        self.coordinator = coordinator
        self.on_data = None
        self.on_command = None
        self.on_refused = None
        self.on_sent = None  # (handle, status) for frames sent with send()
        self.on_key_switched = None  # (now): an end device followed the TC's new key
        self.on_stale = None  # (index, now): a frame from a child that was aged out
        self.rx_stale = 0  # of rx_accepted: frames from aged-out children, not handed up
        mac.on_data = self._rx
        mac.on_sent = self._sent
        mac.dup_filter = False  # duplicates are refused by the frame counters instead
        self._sec = ns.NwkSecurity()
        self._h = nf.NwkHeader()
        self._th = nf.NwkHeader()
        self._aux = ns.AuxHeader()
        self._tx = bytearray(MAX_FRAME)
        self._rx = bytearray(MAX_FRAME)  # the NWK frame, at index 0 as the codecs want it
        self._open_index = -1
        self._ks = bytearray(KEY_SCHEDULE_SIZE)
        self._ks_alt = bytearray(KEY_SCHEDULE_SIZE)
        self._seq = 0
        self.rx_refused = [0] * REFUSED_COUNT
        # Every frame the MAC hands up ends in exactly one of rx_refused[reason],
        # rx_accepted (secured, authenticated) or rx_unsecured (unsecured, handed up for
        # the joining exchanges): the fuzz (tests/host/test_han_zb_fuzz.py) counts on it.
        self.rx_accepted = 0
        self.rx_unsecured = 0
        self.tx_frames = 0
        self.keys_changed()

    def keys_changed(self):
        """Recompute the key schedules after st.key / st.alt_key changed."""
        st = self.st
        if st.has_key:
            aes128_key_schedule(st.key, self._ks)
        if st.has_alt:
            aes128_key_schedule(st.alt_key, self._ks_alt)

    def switch_key(self, seq):
        """Make the alternate key with sequence number seq active (Switch Key, 4.4.11.5);
        False when no such key is held."""
        st = self.st
        if not st.has_alt or st.alt_seq != seq:
            return st.has_key and st.key_seq == seq
        st.key[:] = st.alt_key
        st.key_seq = st.alt_seq
        st.has_key = True
        st.has_alt = False
        self.keys_changed()
        return True

    # --- transmit ------------------------------------------------------------------------
    def send(self, dst, payload, n, now, secure=True, command=False, src64=False,
             dst64=None, mac_dst=-1, indirect=None):
        """Send payload[0:n] (an APS frame, or a NWK command when command) to network
        address dst; returns the MAC handle (> 0) or 0 when it could not be queued. An
        unsecured frame is for joining only (key transport, rejoin). src64/dst64 put the
        extended addresses in the header (rejoin, 3.4.6/3.4.7). mac_dst: the next hop
        when it is not dst. indirect: None = for a sleepy child of ours."""
        st = self.st
        h = self._th
        h.clear()
        h.frame_type = nf.FT_CMD if command else nf.FT_DATA
        h.dst = dst
        h.src = self.mac.short_addr
        h.radius = DEFAULT_RADIUS if dst < 0xFFF8 else 1
        h.seq = self._seq
        self._seq = (self._seq + 1) & 0xFF
        h.security = secure
        if src64:
            h.src64_present = True
            h.src64[:] = self.mac.ext_addr
        if dst64 is not None:
            h.dst64_present = True
            h.dst64[:] = dst64
        buf = self._tx
        hl = nf.build_header(h, buf)
        if secure:
            if not st.has_key:
                return 0
            aux = self._aux
            aux.clear()
            aux.key_id = ns.KEY_NETWORK
            aux.ext_nonce = True
            aux.src64[:] = self.mac.ext_addr
            aux.key_seq = st.key_seq
            try:
                aux.frame_counter = self.store.reserve(st, True)
            except OSError:
                return 0  # the reservation could not be saved: never reuse a counter
            if hl + 14 + n + 4 > MAX_FRAME:
                return 0
            total = self._sec.encrypt(buf, hl, payload, n, self._ks, aux)
        else:
            if hl + n > MAX_FRAME:
                return 0
            for i in range(n):
                buf[hl + i] = payload[i]
            total = hl + n
        if mac_dst < 0:
            mac_dst = 0xFFFF if dst >= 0xFFF8 else dst
        if indirect is None:
            indirect = self.coordinator and self.sleepy(mac_dst)
        handle = self.mac.send(mac_dst, buf, total, now, indirect=indirect, secure=False)
        if handle:
            self.tx_frames += 1
        return handle

    def sleepy(self, short):
        i = self.table.find_short(short)
        return i >= 0 and not self.table.cap[i] & 0x08  # CAP_RX_ON_IDLE (802.15.4 7.3.1.2)

    def _sent(self, handle, status):
        if self.on_sent is not None:
            self.on_sent(handle, status)

    # --- receive -------------------------------------------------------------------------
    def _refuse(self, reason, who, now):
        self.rx_refused[reason] += 1
        if self.on_refused is not None:
            self.on_refused(reason, who, now)

    def _rx(self, f, buf, lqi):
        now = self.mac.clock.ticks_us()
        off = f.header_len
        n = f.payload_len
        h = self._h
        if n > MAX_FRAME:
            self._refuse(REFUSED_MALFORMED, f.src_addr, now)
            return
        view = self._rx
        for i in range(n):  # copied, not sliced: nothing allocated per frame
            view[i] = buf[off + i]
        try:
            hl = nf.parse(view, n, h)
        except ValueError:
            self._refuse(REFUSED_MALFORMED, f.src_addr, now)
            return
        if h.frame_type == nf.FT_INTERPAN:
            self._refuse(REFUSED_NOT_FOR_US, f.src_addr, now)
            return
        if h.dst != self.mac.short_addr and h.dst < 0xFFF8 and not (
                h.dst64_present and same_ext(h.dst64, self.mac.ext_addr)):
            self._refuse(REFUSED_NOT_FOR_US, h.src, now)
            return
        index = -1
        plen = n - hl
        poff = hl
        secured = h.security
        if secured:
            r = self._open(view, n, hl, h, now)
            if r < 0:
                return
            index = self._open_index
            poff = hl + self._sec.aux.length
            plen = r
        else:
            if h.src64_present:
                index = self.table.find_ext(h.src64)
        # Counted as accepted only here, once the command is known to be well formed: a
        # secured command with a bad identifier used to count as accepted (in _open) and
        # as malformed, twice (found by the fuzz).
        c = 0
        if h.frame_type == nf.FT_CMD:
            try:
                c = nc.parse(view, poff, poff + plen)
            except ValueError:
                self._refuse(REFUSED_MALFORMED, h.src, now)
                return
        if secured:
            self.rx_accepted += 1
            if self.coordinator and self.table.aged[index] and not (
                    h.frame_type == nf.FT_CMD and (c == nc.REJOIN_REQUEST
                                                   or c == nc.ED_TIMEOUT_REQUEST)):
                self.rx_stale += 1
                if self.on_stale is not None:
                    self.on_stale(index, now)
                return
        else:
            self.rx_unsecured += 1
        if h.frame_type == nf.FT_CMD:
            if self.on_command is not None:
                self.on_command(c, h, view, poff, plen, secured, index, now)
        elif self.on_data is not None:
            self.on_data(h, view, poff, plen, secured, index, now)

    def _open(self, view, n, hl, h, now):
        # Authenticate and decrypt; the plaintext length, or -1 (refused and counted).
        aux = self._sec.aux
        try:
            ns.parse_aux(view, hl, n, aux)
        except ValueError:
            self._refuse(REFUSED_MALFORMED, h.src, now)
            return -1
        table = self.table
        who = aux.src64 if aux.ext_nonce else h.src
        if aux.key_id != ns.KEY_NETWORK or not aux.ext_nonce:
            self._refuse(REFUSED_MALFORMED, who, now)
            return -1
        i = table.find_ext(aux.src64)
        if i < 0 and not self.coordinator and h.dst >= 0xFFF8:
            # Another device's broadcast (its Device_annce): an end device of a star
            # hears only its trust centre.
            self._refuse(REFUSED_NOT_FOR_US, who, now)
            return -1
        if i < 0 or table.state[i] < JOINING or (
                self.coordinator and table.short_of(i) != h.src):
            self._refuse(REFUSED_UNKNOWN_SOURCE, who, now)
            return -1
        st = self.st
        if st.has_key and aux.key_seq == st.key_seq:
            ks = self._ks
            alt = False
        elif st.has_alt and aux.key_seq == st.alt_seq:
            ks = self._ks_alt
            alt = True
        else:
            self._refuse(REFUSED_KEY_SEQ, who, now)
            return -1
        c = aux.frame_counter
        verdict = counter_verdict(table.nwk_in[i], c)
        if verdict == REPLAY:
            self._refuse(REFUSED_REPLAY, who, now)
            return -1
        if verdict == DUPLICATE:
            self._refuse(REFUSED_DUPLICATE, who, now)
            return -1
        try:
            plen = self._sec.decrypt(view, n, ks, hl)
        except ValueError:
            self._refuse(REFUSED_MIC, who, now)
            return -1
        table.nwk_in[i] = c
        table.counters_dirty = True
        table.last_seen[i] = table.now_s
        self.store.counters_due(st, now)
        if alt and not self.coordinator:
            # A frame under the alternate key: the trust centre has switched (4.6.3.4).
            self.switch_key(aux.key_seq)
            if self.on_key_switched is not None:
                self.on_key_switched(now)
        self._open_index = i
        return plen

