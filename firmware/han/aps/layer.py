# ZigBee APS layer (ZigBee spec 05-3474-21, 2.2.8 and 4.4): the data service with
# acknowledgements, retries and duplicate rejection, APS commands, and APS security with
# link keys (the device's preconfigured install-code key, its unique trust-centre link
# key) and the keys derived from them (key-transport, key-load: 4.5.3), over han/nwk/layer.
#
#   send_data(...)    unicast data, APS ack requested by default: retransmitted up to
#                     apscMaxFrameRetries times, then on_confirm(tid, NO_ACK); secure=True
#                     APS-secures it (4.4.1.1, SE 1.4 5.4.6) with the data key of the
#                     peer: its TC link key once verified, its install-code key before;
#                     each (re)transmission gets a fresh APS security frame counter
#   send_command(...) an APS command, APS-secured with the key named (or not at all)
#   on_data(src, index, h, buf, off, n, aps_secured, now)      data for an endpoint
#   on_command(c, src, index, buf, off, n, key_id, nwk_secured, now)
#        key_id: the APS key the command was secured with (KEY_DATA, KEY_TRANSPORT,
#        KEY_LOAD) or -1 when it was not APS-secured; `which` tells which of the entry's
#        keys opened it (USED_LINK_KEY / USED_TCLK).
#
# Incoming APS-secured frames: the sender's table entry (by the auxiliary header's source
# address), the counter above the entry's last APS counter, then the MIC; nothing is
# recorded before all three pass. Duplicates (a retransmission whose ack was lost) are
# answered with an ack again but not delivered twice (2.2.8.4.5). APS-secured data and
# acks are taken only under the data key (key id 0) that is the entry's current one: the
# verified TC link key, or the install-code key while none is verified; anything else is
# refused and counted (rx_wrong_key). Every refusal goes to on_refused(reason, who, now)
# with han/nwk/layer.py's REFUSED_* reasons (replay, MIC: no key of the sender opens it,
# KEY_SEQ: not under its data key, unknown source, unsecured, malformed, not for us) for
# the tamper detector (han/tamper.py) and the diagnostics; who is the NWK-authenticated
# sender's extended address when there is one, else the APS source or the short address.
# The ack of an APS-secured frame is APS-secured the same way (2.2.8.4.2, 4.4.1.1), and
# a frame sent APS-secured is acknowledged only by a secured ack (an unsecured one, which
# any holder of the network key could forge, is refused). Which link key seals and opens
# a frame, and the APS counters per key: han/aps/linksec.py.
from micropython import const

from han.aps import commands as ac
from han.aps import frame as af
from han.aps.linksec import USED_LINK_KEY, USED_TCLK, WRONG_KEY, LinkSecurity  # noqa: F401
from han.nwk.layer import (REFUSED_KEY_SEQ, REFUSED_MALFORMED, REFUSED_MIC, REFUSED_NOT_FOR_US,
                           REFUSED_REPLAY, REFUSED_UNKNOWN_SOURCE, REFUSED_UNSECURED)
from han.nwk.security import KEY_DATA

SUCCESS = const(0)
NO_ACK = const(0xA7)  # APS status NO_ACK (2.2.9, Table 2-27)
APSC_MAX_FRAME_RETRIES = const(3)  # 2.2.7.1
ACK_WAIT_US = const(1500000)  # apsAckWaitDuration for a device whose receiver is on
ACK_WAIT_SLEEPY_US = const(10000000)  # held for a poll: macTransactionPersistenceTime + poll
_PENDING = const(4)  # data frames awaiting an ack
_DUPS = const(8)
DUP_TIMEOUT_US = const(10000000)  # apsDuplicateRejectionTimeoutPeriod (a wide one)
MAX_APS = const(90)  # an APS frame in a secured NWK frame: 116 - 8 NWK - 14 aux - 4 MIC
# USED_LINK_KEY, USED_TCLK (which key opened a frame: Aps.which): han/aps/linksec.py.
# The auxiliary header of APS-secured data (4.5.1): security control, frame counter, the
# extended source (no key sequence number with a link key); with the MIC, the overhead.
_DATA_AUX_LEN = const(13)
_SEC_OVERHEAD = const(_DATA_AUX_LEN + 4)


class Aps:
    def __init__(self, nwk, clock):
        self.nwk = nwk
        self.clock = clock
        self.table = nwk.table
        self.st = nwk.st
        self.on_data = None
        self.on_command = None
        self.on_confirm = None  # (tid, status)
        self.on_refused = None  # (reason, who, now): REFUSED_* of han.nwk.layer
        nwk.on_data = self._rx
        self._keys = LinkSecurity(nwk, MAX_APS + 32)
        self._h = af.ApsHeader()
        self._th = af.ApsHeader()
        self._rx_buf = bytearray(MAX_APS + 32)
        self._tx_buf = bytearray(MAX_APS + 32)
        self._plain = bytearray(MAX_APS + 32)  # a data frame before APS security
        self._counter = 0
        self.which = 0
        # Frames awaiting an ack: a copy to retransmit, destination, counter, retries left.
        self._p_buf = [bytearray(MAX_APS) for _ in range(_PENDING)]
        self._p_len = bytearray(_PENDING)
        self._p_dst = [0] * _PENDING
        self._p_ctr = bytearray(_PENDING)
        self._p_left = bytearray(_PENDING)
        self._p_due = [0] * _PENDING
        self._p_tid = [0] * _PENDING
        self._p_used = bytearray(_PENDING)
        self._p_hl = bytearray(_PENDING)  # APS header length
        self._p_sec = bytearray(_PENDING)  # 1: sent APS-secured
        self._tid = 0
        self._d_src = [-1] * _DUPS
        self._d_ctr = bytearray(_DUPS)
        self._d_at = [0] * _DUPS
        self._d_next = 0
        self.tx_retries = 0
        self.tx_failed = 0
        # Every frame the NWK layer hands up ends in exactly one of rx_refused,
        # rx_duplicates or rx_accepted (data delivered, ack taken, command handed up).
        self.rx_duplicates = 0
        self.rx_refused = 0
        self.rx_accepted = 0
        self.rx_wrong_key = 0  # of rx_refused: APS-secured, not under the current data key

    def seed_counter(self, c):
        self._counter = c & 0xFF

    def _next_counter(self):
        c = self._counter
        self._counter = (c + 1) & 0xFF
        return c

    # --- transmit ------------------------------------------------------------------------
    def has_room(self):
        """True when an acknowledged frame can be queued now (a slot is free)."""
        for k in range(_PENDING):
            if not self._p_used[k]:
                return True
        return False

    def send_data(self, dst, dst_ep, cluster, profile, src_ep, payload, n, now, ack=True,
                  secure=False):
        """Queue an APS data frame; a transaction id (> 0) or 0 when it could not be
        sent (no free slot for an acknowledged frame, too long, no network key; secure:
        a broadcast, or no link key shared with dst)."""
        if secure and (dst >= 0xFFF8 or self._keys.peer(dst) < 0):
            return 0  # APS security is end to end with a link key: unicast only
        slot = -1
        if ack and dst < 0xFFF8:
            for k in range(_PENDING):
                if not self._p_used[k]:
                    slot = k
                    break
            if slot < 0:
                return 0
        h = self._th
        h.clear()
        h.frame_type = af.FT_DATA
        if dst >= 0xFFF8:  # a NWK broadcast: APS broadcast delivery, never acknowledged
            h.delivery = af.DM_BROADCAST
            ack = False
        h.ack_request = ack
        h.dst_ep = dst_ep
        h.cluster = cluster
        h.profile = profile
        h.src_ep = src_ep
        h.security = secure
        h.counter = self._next_counter()
        buf = self._plain
        hl = af.build(h, buf, 0)
        if hl + n + (_SEC_OVERHEAD if secure else 0) > MAX_APS:
            return 0
        for i in range(n):
            buf[hl + i] = payload[i]
        total = hl + n
        if not self._emit(dst, buf, hl, total, secure, now):
            return 0
        self._tid = (self._tid % 0xFFFF) + 1
        if slot >= 0:
            p = self._p_buf[slot]
            for i in range(total):
                p[i] = buf[i]
            self._p_len[slot] = total
            self._p_hl[slot] = hl
            self._p_sec[slot] = 1 if secure else 0
            self._p_dst[slot] = dst
            self._p_ctr[slot] = h.counter
            self._p_left[slot] = APSC_MAX_FRAME_RETRIES
            self._p_due[slot] = self.clock.ticks_add(now, self._ack_wait(dst))
            self._p_tid[slot] = self._tid
            self._p_used[slot] = 1
        return self._tid

    def _emit(self, dst, plain, hl, total, secure, now, i=-1):
        """Hand plain[0:total] (APS header of hl octets, with the security bit when
        secure, then the payload) to the NWK layer, APS-secured with the data key of
        entry i (-1: dst's entry) when secure. The NWK/MAC handle, or 0."""
        if not secure:
            return self.nwk.send(dst, plain, total, now)
        keys = self._keys
        if i < 0:
            i = keys.peer(dst)
            if i < 0:
                return 0
        out = self._tx_buf
        for j in range(hl):
            out[j] = plain[j]
        p = hl + _DATA_AUX_LEN
        for j in range(hl, total):
            out[p + j - hl] = plain[j]
        n = keys.seal(out, hl, None, total - hl, KEY_DATA, keys.data_key(i))
        return self.nwk.send(dst, out, n, now) if n else 0

    def _ack_wait(self, dst):
        return ACK_WAIT_SLEEPY_US if self.nwk.coordinator and self.nwk.sleepy(dst) \
            else ACK_WAIT_US

    def send_command(self, dst, payload, n, now, key_id=-1, key=None, nwk_secure=True,
                     dst64=None):
        """Send an APS command (payload starts with its identifier). key_id -1: not
        APS-secured; KEY_DATA: secured with `key` (a link key); KEY_TRANSPORT / KEY_LOAD:
        with the key derived from the link key `key`. Returns the NWK/MAC handle or 0."""
        h = self._th
        h.clear()
        h.frame_type = af.FT_CMD
        h.security = key_id >= 0
        h.counter = self._next_counter()
        buf = self._tx_buf
        hl = af.build(h, buf, 0)
        if key_id < 0:
            for i in range(n):
                buf[hl + i] = payload[i]
            total = hl + n
        else:
            total = self._keys.seal(buf, hl, payload, n, key_id, key)
            if not total:
                return 0
        return self.nwk.send(dst, buf, total, now, secure=nwk_secure, dst64=dst64)

    def _send_ack(self, src, h, now, secure=False, index=-1):
        a = self._th
        a.clear()
        a.frame_type = af.FT_ACK
        a.dst_ep = h.src_ep
        a.cluster = h.cluster
        a.profile = h.profile
        a.src_ep = h.dst_ep
        a.counter = h.counter
        a.security = secure
        n = af.build(a, self._plain, 0)
        self._emit(src, self._plain, n, n, secure, now, index)

    # --- receive -------------------------------------------------------------------------
    def _refuse(self, who, now, reason=REFUSED_MALFORMED, index=-1):
        # index >= 0: the NWK layer authenticated the sender (its entry): blamed, not
        # the source an APS header claims (any holder of the network key can write one).
        self.rx_refused += 1
        if self.on_refused is not None:
            if index >= 0:
                who = self.table.ext[index]
            self.on_refused(reason, who, now)

    def _rx(self, nh, view, off, n, nwk_secured, index, now):
        if n > len(self._rx_buf):
            self._refuse(nh.src, now)
            return
        buf = self._rx_buf
        for i in range(n):  # APS security needs the APS header at index 0
            buf[i] = view[off + i]
        h = self._h
        try:
            hl = af.parse(buf, 0, n, h)
        except ValueError:
            self._refuse(nh.src, now)
            return
        key_id = -1
        poff = hl
        plen = n - hl
        if h.security:
            keys = self._keys
            r = keys.open(buf, n, hl)
            if r < 0:
                who = keys.who
                if r == WRONG_KEY:
                    self.rx_wrong_key += 1  # no key of the entry opens it
                    reason = REFUSED_MIC
                elif isinstance(who, int):
                    reason = REFUSED_MALFORMED  # no auxiliary header with a source
                    who = nh.src
                elif self.table.find_ext(who) < 0:
                    reason = REFUSED_UNKNOWN_SOURCE
                else:
                    reason = REFUSED_REPLAY  # han/aps/linksec.py: the counter, not fresh
                self._refuse(who, now, reason, index if nwk_secured else -1)
                return
            self.which = keys.which
            key_id = keys.rx_aux.key_id
            index = keys.index
            poff = hl + keys.rx_aux.length
            plen = r
        elif not nwk_secured:
            # Neither layer secured it: nothing in it may be believed (joining devices
            # receive their keys APS-secured).
            self._refuse(nh.src, now, REFUSED_UNSECURED)
            return
        ft = h.frame_type
        if key_id >= 0 and ft != af.FT_CMD and not self._keys.data_key_ok(index, key_id):
            self.rx_wrong_key += 1
            self._refuse(nh.src, now, REFUSED_KEY_SEQ, index)
            return
        # Group delivery (not used by this network), inter-PAN frames (not for the APS
        # data service) and empty commands used to be dropped without being counted
        # (found by the fuzz): refused now, like every other frame not taken.
        if ft == af.FT_INTERPAN or (ft == af.FT_DATA and h.delivery == af.DM_GROUP) or (
                ft == af.FT_CMD and plen <= 0):
            self._refuse(nh.src, now, REFUSED_NOT_FOR_US if ft != af.FT_CMD
                         else REFUSED_MALFORMED)
            return
        if ft == af.FT_ACK:
            if not self._acked(nh.src, h.counter, key_id >= 0):
                # Unsecured, for a frame sent APS-secured: not under the key it needs (a
                # holder of the network key forging it), counted as a failed MIC.
                self._refuse(nh.src, now, REFUSED_KEY_SEQ, index if nwk_secured else -1)
                return
            self.rx_accepted += 1
        elif ft == af.FT_CMD:
            # Length and key type checked before the trust centre or the joiner reads the
            # fields: a 1-octet Request Key let the TC read its key type past the frame,
            # a stale octet of an earlier frame (found by the fuzz).
            try:
                ac.parse(buf, poff, poff + plen)
            except ValueError:
                self._refuse(nh.src, now)
                return
            self.rx_accepted += 1
            if self.on_command is not None:
                self.on_command(buf[poff], nh.src, index, buf, poff, plen, key_id,
                                nwk_secured, now)
        else:
            secured = key_id >= 0
            if self._duplicate(nh.src, h.counter, now):
                self.rx_duplicates += 1
                if h.ack_request:
                    self._send_ack(nh.src, h, now, secured, index)
                return
            if h.ack_request and h.delivery == af.DM_UNICAST:
                self._send_ack(nh.src, h, now, secured, index)
            self.rx_accepted += 1
            if self.on_data is not None:
                self.on_data(nh.src, index, h, buf, poff, plen, key_id >= 0, now)

    def _duplicate(self, src, counter, now):
        for k in range(_DUPS):
            if self._d_src[k] == src:
                fresh = self.clock.ticks_diff(now, self._d_at[k]) < DUP_TIMEOUT_US
                dup = fresh and self._d_ctr[k] == counter
                self._d_ctr[k] = counter
                self._d_at[k] = now
                return dup
        k = self._d_next
        self._d_next = (k + 1) % _DUPS
        self._d_src[k] = src
        self._d_ctr[k] = counter
        self._d_at[k] = now
        return False

    def _acked(self, src, counter, secured):
        """An ack from src: False when it is unsecured and acknowledges a frame sent
        APS-secured (refused), else True (also when it matches nothing)."""
        for k in range(_PENDING):
            if self._p_used[k] and self._p_dst[k] == src and self._p_ctr[k] == counter:
                if self._p_sec[k] and not secured:
                    return False
                self._p_used[k] = 0
                if self.on_confirm is not None:
                    self.on_confirm(self._p_tid[k], SUCCESS)
                return True
        return True

    def drop_pending(self, dst):
        """Give up the frames awaiting an ack from dst (a child aged out: it must
        rejoin first); each gets on_confirm(tid, NO_ACK)."""
        for k in range(_PENDING):
            if self._p_used[k] and self._p_dst[k] == dst:
                self._p_used[k] = 0
                self.tx_failed += 1
                if self.on_confirm is not None:
                    self.on_confirm(self._p_tid[k], NO_ACK)

    def step(self, now):
        """Retransmit what was not acknowledged in time; the microseconds until the next
        ack wait ends (-1: none)."""
        best = -1
        for k in range(_PENDING):
            if not self._p_used[k]:
                continue
            left = self.clock.ticks_diff(self._p_due[k], now)
            if left <= 0:
                if self._p_left[k] == 0:
                    self._p_used[k] = 0
                    self.tx_failed += 1
                    if self.on_confirm is not None:
                        self.on_confirm(self._p_tid[k], NO_ACK)
                    continue
                self._p_left[k] -= 1
                self.tx_retries += 1
                dst = self._p_dst[k]
                self._emit(dst, self._p_buf[k], self._p_hl[k], self._p_len[k],
                           self._p_sec[k], now)
                left = self._ack_wait(dst)
                self._p_due[k] = self.clock.ticks_add(now, left)
            if best < 0 or left < best:
                best = left
        return best

    def forget_counters(self, i):
        """A key of entry i changed: its sender may start a new counter space
        (han/aps/linksec.py)."""
        self._keys.forget_counters(i)
