# IEEE 802.15.4 MAC data service for a non-beacon-enabled PAN (2006 7.5.6): a transmit
# queue served by unslotted CSMA-CA with ACK wait and retries (csma.py), sequence numbers
# (macDSN), duplicate rejection (duplicates.py), frame security (security.py), and indirect
# transmission for devices that sleep (7.5.6.3, indirect.py, which also keeps the transmit
# slots): the coordinator keeps their frames until they poll with a data request; a sleepy
# device polls and keeps its receiver on only as long as the standard's
# macMaxFrameTotalWaitTime when the ACK says data is pending.
#
# MAC command and beacon frames built by the roles (roles.py: association, scan, orphan
# realignment) go through the same queue as prebuilt frames (send_frame); they may be held
# for indirect transmission to a device known only by its extended address (the
# association response, 2006 7.5.3.1). Received commands other than the data request go
# to on_command, beacons to on_beacon.
#
# Polled: step(now) does what is due and returns the microseconds until it next has
# something to do (-1: only a received frame can wake it). Nothing is allocated per frame:
# payloads are copied into preallocated slots, frames built in one buffer.
from micropython import const

from han.mac import commands as cmd
from han.mac import csma
from han.mac import frame as fr
from han.mac.duplicates import DuplicateFilter
from han.mac.indirect import (MAC_MAX_FRAME_TOTAL_WAIT_US,  # noqa: F401 (re-exported)
                              MAC_TRANSACTION_PERSISTENCE_US, PollWait, TxSlots)
from han.mac.security import SEC_ERR_UNKNOWN_KEY

# on_sent statuses (MCPS-DATA.confirm, 2006 Table 42).
SUCCESS = const(0)
NO_ACK = const(1)
CHANNEL_ACCESS_FAILURE = const(2)
TRANSACTION_EXPIRED = const(3)
FRAME_TOO_LONG = const(4)
COUNTER_ERROR = const(5)

# Receive outcomes reported to Mac.monitor.rx_frame (besides these: the security layer's
# SEC_ERR_* codes 1..7, security.py, for secured frames that failed the incoming procedure).
RX_OK = const(0)
RX_DUPLICATE = const(8)  # same source and sequence number as the last frame accepted
RX_UNSECURED = const(9)  # an unsecured data frame while security is required

# Slot kinds (TxSlots.kind).
_KIND_DATA = const(0)
_KIND_DATA_REQUEST = const(1)
_KIND_FRAME = const(2)  # a prebuilt frame (MAC command, beacon): only the sequence number set


class Mac:
    def __init__(self, radio, clock, ext_addr, pan_id, short_addr, rand_bits,
                 coordinator_short=0x0000, rx_on_when_idle=True, security=None,
                 sec_level=5, key_index=1, poll_interval_us=0, slots=8, max_payload=100,
                 src_ext_when_secured=True, on_data=None, on_sent=None, extra_wait_us=0):
        self.radio = radio
        self.clock = clock
        self.ext_addr = bytearray(ext_addr)
        self.pan_id = pan_id
        self.short_addr = short_addr
        self.coordinator_short = coordinator_short
        self.rx_on_when_idle = rx_on_when_idle
        self.security = security
        self.sec_level = sec_level
        self.key_index = key_index
        self.src_ext_when_secured = src_ext_when_secured
        self.poll_interval_us = poll_interval_us
        self.on_data = on_data
        self.on_sent = on_sent
        self.on_command = None  # callable(f, buf, command_id, now): commands for the roles
        self.on_beacon = None  # callable(f, buf, lqi): beacons (active scan)
        self.on_frame_sent = None  # callable(handle, status) for send_frame() frames
        self.hold_rx = False  # keep the receiver on although rx_on_when_idle is False (scan)
        # Per-peer observer (han/inventory.py), None: nothing reported. Two methods:
        # rx_frame(f, outcome, lqi, rssi, now) for every decoded frame other than an ACK
        # (outcome RX_OK, RX_DUPLICATE, RX_UNSECURED or a SEC_ERR_* code), and
        # tx_done(dst_short, dst_ext or None, status, now) for every transmission that
        # ended (on_sent statuses; NO_ACK also when an indirect frame stays pending).
        self.monitor = None
        # extra_wait_us: the radio's hand-over latency (a bridged radio), added to the
        # standard's ACK and frame waits, which assume a transceiver on the board.
        self.csma = csma.CsmaTx(radio, clock, rand_bits, extra_wait_us=extra_wait_us)
        self._poll = PollWait(clock, extra_wait_us)
        self._dsn = rand_bits(8)  # macDSN starts random (2006 7.2.1.2)
        self._bsn = rand_bits(8)  # macBSN likewise (2006 7.2.1.2, Table 86)
        # Frames waiting to be sent, or held for indirect transmission (indirect.py).
        self._slots = TxSlots(radio, clock, slots, max_payload)
        self._current = -1  # slot being transmitted
        self._cur_seq = 0
        self._cur_ack = False
        self._txbuf = bytearray(fr.MAX_PHY_PACKET)
        self._rxbuf = bytearray(fr.MAX_PHY_PACKET)
        self._txf = fr.FrameFields()
        self._rxf = fr.FrameFields()
        self._dups = DuplicateFilter()
        # False when an upper layer rejects duplicates after authenticating the frame
        # (ZigBee NWK security runs above an unsecured MAC: recording the sequence numbers
        # of unauthenticated frames would let a forged one mask the genuine frame).
        self.dup_filter = True
        self._early_ack = -1  # sequence number of an ACK read while still on air
        self._early_pending = False
        # Statistics.
        self.rx_errors = [0] * fr.ERR_COUNT
        self.rx_frames = 0
        self.rx_acks = 0
        self.rx_duplicates = 0
        self.rx_unsecured = 0
        self.rx_security_errors = 0
        self.tx_ok = 0
        self.tx_failed = 0
        self.indirect_sent = 0
        self.indirect_expired = 0
        self.polls = 0
        radio.set_addresses(pan_id, short_addr, self.ext_addr)
        if rx_on_when_idle:
            radio.on()

    @property
    def idle(self):
        """Nothing queued, in flight or pending for indirect transmission."""
        return self._current < 0 and not self._slots.queued and not self._slots.busy()

    # --- requests ----------------------------------------------------------------------
    def send(self, dst_short, payload, length, now, indirect=False, secure=True):
        """Queue a data frame (MCPS-DATA.request); returns a handle (> 0) for on_sent, or
        0 when no slot is free or the payload is too long."""
        i = self._slots.add(payload, length, _KIND_DATA, 1 if secure and self.security else 0,
                            dst_short, None)
        return self._queue(i, indirect, now)

    def send_frame(self, frame, length, now, indirect=False, dst_short=fr.BROADCAST,
                   dst_ext=None):
        """Queue a complete unsecured frame (a MAC command or beacon built by the caller
        with sequence number 0; the MAC writes macDSN, or macBSN for a beacon). indirect:
        hold it until the destination (dst_ext, or dst_short) polls. Returns a handle for
        on_frame_sent, or 0."""
        return self._queue(self._slots.add(frame, length, _KIND_FRAME, 0, dst_short, dst_ext),
                           indirect, now)

    def _queue(self, i, indirect, now):
        # Slot i (-1: none) into the FIFO, or held until its destination polls.
        if i < 0:
            return 0
        if indirect:
            self._slots.hold(i, now)
        else:
            self._slots.push(i, False)
        return self._slots.handle[i]

    # --- transmit path -----------------------------------------------------------------
    def _build(self, i, now):
        """Build slot i's frame into the transmit buffer; length or -status."""
        s = self._slots
        if s.kind[i] == _KIND_FRAME:
            return self._build_prebuilt(i)
        f = self._txf
        f.clear()
        f.version = fr.VERSION_2006
        f.seq = self._dsn
        self._dsn = (self._dsn + 1) & 0xFF
        f.dst_mode = fr.ADDR_SHORT
        f.dst_pan = self.pan_id
        f.dst_addr = s.dst[i]
        f.pan_id_compression = True
        f.ack_request = s.dst[i] != fr.BROADCAST
        f.src_mode = fr.ADDR_SHORT
        f.src_addr = self.short_addr
        if self.short_addr >= 0xFFFE:
            # No short address yet (associating): the extended one (2006 7.3.4).
            f.src_mode = fr.ADDR_EXT
            f.src_ext[:] = self.ext_addr
        if s.kind[i] == _KIND_DATA_REQUEST:
            f.frame_type = fr.FT_CMD
        else:
            f.frame_type = fr.FT_DATA
            # More indirect data for the same device: set frame pending (2006 7.2.1.1.3).
            f.frame_pending = s.pending_for(s.dst[i]) >= 0
        if s.secure[i]:
            f.security = True
            f.sec_level = self.sec_level
            f.key_id_mode = 1
            f.key_index = self.key_index
            if self.src_ext_when_secured:
                # Lets a sniffer (tshark) that never saw an association build the nonce.
                f.src_mode = fr.ADDR_EXT
                f.src_ext[:] = self.ext_addr
            if self.security.prepare(f):
                return -COUNTER_ERROR
        buf = self._txbuf
        n = fr.encode_header(f, buf)
        if s.kind[i] == _KIND_DATA_REQUEST:
            buf[n] = cmd.CMD_DATA_REQUEST
            n += 1
        else:
            plen = s.plen[i]
            if n + plen + 2 + (16 if s.secure[i] else 0) > fr.MAX_PHY_PACKET:
                return -FRAME_TOO_LONG
            p = s.payload[i]
            for j in range(plen):
                buf[n + j] = p[j]
            n += plen
        if s.secure[i]:
            n = self.security.secure(f, buf, n)
            if n < 0:
                return -COUNTER_ERROR
        self._cur_seq = f.seq
        self._cur_ack = f.ack_request
        return n

    def _build_prebuilt(self, i):
        buf = self._txbuf
        p = self._slots.payload[i]
        n = self._slots.plen[i]
        for j in range(n):
            buf[j] = p[j]
        if buf[0] & 7 == fr.FT_BEACON:
            buf[2] = self._bsn
            self._bsn = (self._bsn + 1) & 0xFF
        else:
            buf[2] = self._dsn
            self._dsn = (self._dsn + 1) & 0xFF
        self._cur_seq = buf[2]
        self._cur_ack = bool(buf[0] & 0x20)  # acknowledgment request bit (7.2.1.1.4)
        return n

    def _finish(self, status, now):
        i = self._current
        self._current = -1
        s = self._slots
        kind = s.kind[i]
        if status == SUCCESS:
            self.tx_ok += 1
        else:
            self.tx_failed += 1
        self._report_tx(i, status, now)
        if kind == _KIND_DATA_REQUEST:
            s.free(i)
            if status == SUCCESS and self.csma.ack_pending:
                self._poll.acked_pending(now)  # data is pending: stay in receive (7.5.6.3)
            return
        if status == NO_ACK and self.short_addr == self.coordinator_short and \
                s.hold_again(i, now):
            # An indirect frame the device did not acknowledge stays pending until it polls
            # again or the transaction expires.
            return
        if s.free(i) and status == SUCCESS:
            self.indirect_sent += 1
        self._confirm(i, kind, status)

    def _confirm(self, i, kind, status):
        # MCPS-DATA.confirm (on_sent) for a data frame, on_frame_sent for a prebuilt one.
        if kind == _KIND_FRAME:
            if self.on_frame_sent:
                self.on_frame_sent(self._slots.handle[i], status)
        elif self.on_sent:
            self.on_sent(self._slots.handle[i], status)

    def expire_indirect(self, short, now):
        """Drop what is held for a device that left (NWK end-device aging)."""
        self._slots.expire_for(short, now)

    def poll(self, now):
        """Send a data request to the coordinator now (MLME-POLL, 2006 7.1.16)."""
        i = self._slots.add(None, 0, _KIND_DATA_REQUEST, 0, self.coordinator_short, None)
        if i >= 0:
            self._slots.push(i, True)
            self.polls += 1

    # --- receive path ------------------------------------------------------------------
    def _receive(self, now):
        buf = self._rxbuf
        f = self._rxf
        while self.radio.pending_packet():
            n = self.radio.read(buf)
            err = fr.decode(buf, n, f, False)
            if err:
                self.rx_errors[err] += 1
                continue
            if f.frame_type == fr.FT_ACK:
                self.rx_acks += 1
                if not self.csma.ack_received(f.seq, f.frame_pending) and self._current >= 0:
                    # Read before CSMA saw its transmission end (a step that came late,
                    # e.g. under asyncio): kept for the ACK wait that follows.
                    self._early_ack = f.seq
                    self._early_pending = f.frame_pending
                continue
            if f.frame_type == fr.FT_BEACON and not f.security:
                # Beacons carry macBSN, and every coordinator is 0x0000 in its own PAN:
                # no duplicate rejection; they go to the scan (2006 7.5.2.1.2).
                self.rx_frames += 1
                self._report(f, RX_OK, now)
                if self.on_beacon:
                    self.on_beacon(f, buf, self.radio.last_lqi())
                continue
            if self.dup_filter and self._dups.seen(f):
                # A retransmission whose ACK was lost (the radio acknowledged it again);
                # checked before CCM* so it is not mistaken for a replay attack.
                self.rx_duplicates += 1
                self._report(f, RX_DUPLICATE, now)
                continue
            if f.security:
                err = self.security.unsecure(f, buf) if self.security is not None \
                    else SEC_ERR_UNKNOWN_KEY
                if err:
                    self.rx_security_errors += 1
                    self._report(f, err, now)
                    continue
            elif f.frame_type == fr.FT_DATA and self.security is not None:
                self.rx_unsecured += 1
                self._report(f, RX_UNSECURED, now)
                continue
            if self.dup_filter:
                self._dups.remember(f)  # only now: a forged frame must not mask the genuine one
            self.rx_frames += 1
            self._report(f, RX_OK, now)
            if f.frame_type == fr.FT_CMD:
                if self._poll.waiting and self._from_coordinator(f):
                    self._poll.waiting = False  # e.g. the association response came
                self._command(f, buf, now)
            elif f.frame_type == fr.FT_DATA:
                if self._poll.waiting and f.src_mode and self._from_coordinator(f):
                    self._poll.waiting = False
                    if f.frame_pending:
                        self.poll(now)  # more is waiting: poll again at once
                if self.on_data:
                    self.on_data(f, buf, self.radio.last_lqi())

    def _report(self, f, outcome, now):
        m = self.monitor
        if m is not None:
            r = self.radio
            m.rx_frame(f, outcome, r.last_lqi(), r.last_rssi(), now)

    def _report_tx(self, i, status, now):
        m = self.monitor
        if m is not None:
            s = self._slots
            if s.dst_is_ext[i]:
                m.tx_done(-1, s.dst_ext[i], status, now)
            else:
                m.tx_done(s.dst[i], None, status, now)

    def _from_coordinator(self, f):
        return f.src_mode == fr.ADDR_EXT or f.src_addr == self.coordinator_short

    def _command(self, f, buf, now):
        c = cmd.check_command(buf, f.header_len, f.length)
        if c == cmd.CMD_DATA_REQUEST and (f.src_mode == fr.ADDR_SHORT or
                                          f.src_mode == fr.ADDR_EXT):
            # A device polls: what is held for it goes out now (7.5.6.3, indirect.py).
            self._slots.data_request(f)
        elif c > 0 and self.on_command:
            self.on_command(f, buf, c, now)

    # --- the polled machine ------------------------------------------------------------
    def step(self, now):
        self._receive(now)
        # Expire indirect transactions (macTransactionPersistenceTime).
        s = self._slots
        i = s.expired(now, 0)
        while i >= 0:
            self.indirect_expired += 1
            self._report_tx(i, TRANSACTION_EXPIRED, now)
            s.clear_ack_pending(i)
            self._confirm(i, s.kind[i], TRANSACTION_EXPIRED)
            i = s.expired(now, i + 1)
        if self._poll.due(now, self.poll_interval_us):
            self.poll(now)
        if self._current >= 0:
            r = self.csma.step(now)
            if r == csma.BUSY and self._early_ack >= 0:
                if self.csma.ack_received(self._early_ack, self._early_pending):
                    r = self.csma.step(now)
                    self._early_ack = -1
            if r != csma.BUSY:
                self._finish(SUCCESS if r == csma.SENT else
                             NO_ACK if r == csma.NO_ACK else CHANNEL_ACCESS_FAILURE, now)
        while self._current < 0 and s.queued:
            i = s.pop()
            n = self._build(i, now)
            self._current = i
            if n < 0:
                self._finish(-n, now)
                continue
            if not self.rx_on_when_idle:
                self.radio.on()
            self._early_ack = -1
            self.csma.start(self._txbuf, n, self._cur_seq, self._cur_ack, now)
            self.csma.step(now)  # a zero backoff transmits at once
        self._poll.timeout(now)
        if not self.rx_on_when_idle:
            if self._current < 0 and not self._poll.waiting and not self.hold_rx:
                self.radio.off()
            else:
                self.radio.on()
        return self._wake_in(now)

    def _wake_in(self, now):
        best = -1
        if self._current >= 0:
            best = self.csma.wake_in(now)
        # The frame wait, the next poll, the first held transaction to expire.
        best = self._min(best, self._poll.wake_in(now, self.poll_interval_us))
        return self._min(best, self._slots.wake_in(now))

    @staticmethod
    def _min(a, b):
        # The sooner of two waits, -1 meaning none.
        if b < 0:
            return a
        return b if a < 0 or b < a else a
