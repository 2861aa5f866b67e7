# Indirect transmission (IEEE 802.15.4-2006 7.5.6.3) for the MAC data service (mac.py),
# and the transmit slots it works on.
#
# Coordinator side (TxSlots): a frame for a device that sleeps is held until the device
# polls with a data request (MAC command, 7.3.4) or macTransactionPersistenceTime passes.
# While a frame is held for an address, the radio's automatic ACKs to that address carry
# frame pending (7.2.1.1.3; hal/radio/__init__.py set_ack_pending). Held frames share one pool of
# slots with the frames sent directly, so a frame keeps its slot and handle from request
# to confirm, and a held frame released by a poll goes to the head of the same FIFO. Each
# slot is FREE, QUEUED (in the FIFO) or HELD; mac.py builds frames from the slots, sends
# and confirms them.
#
# Device side (PollWait): polls (periodic, or MLME-POLL), and when the ACK to a poll says
# frame pending, the receiver stays on for macMaxFrameTotalWaitTime or until the frame
# from the coordinator has come. mac.py queues the data request and switches the radio.
#
# Nothing is allocated after the constructors.
from micropython import const

from han.mac import frame as fr
from han.mac.security import same_ext

# 2006 Table 86: macTransactionPersistenceTime 0x01F4 x aBaseSuperframeDuration
# (960 symbols = 15.36 ms) = 7.68 s.
MAC_TRANSACTION_PERSISTENCE_US = const(7680000)
# 2006 Table 86, macMaxFrameTotalWaitTime for a non-beacon PAN with the defaults:
# (sum_{k<m} 2^(macMinBE+k) + (2^macMaxBE - 1)(macMaxCSMABackoffs - m)) aUnitBackoffPeriod
# + phyMaxFrameDuration, m = min(macMaxBE - macMinBE, macMaxCSMABackoffs) = 2:
# (8 + 16 + 31 x 2) x 20 + 266 = 1986 symbols = 31 776 us.
MAC_MAX_FRAME_TOTAL_WAIT_US = const(31776)

_HELD_NO_MASK = const(0x3FFFFFFF)

# Slot states.
FREE = const(0)
QUEUED = const(1)  # waiting in the transmit FIFO
HELD = const(2)  # waiting for the destination's data request


class TxSlots:
    """Room for `slots` frames of up to max_payload bytes. Per slot i: payload[i][:plen[i]],
    the destination (dst[i]: short address, -1 for an extended one in dst_ext[i], dst_is_ext[i]
    set), kind[i] and secure[i] (the MAC's), handle[i], state[i]."""

    def __init__(self, radio, clock, slots, max_payload):
        self._radio = radio
        self._clock = clock
        self.payload = [bytearray(max_payload) for _ in range(slots)]
        self.plen = [0] * slots
        self.dst = [0] * slots
        self.dst_ext = [bytearray(8) for _ in range(slots)]
        self.dst_is_ext = bytearray(slots)
        self.kind = bytearray(slots)
        self.secure = bytearray(slots)
        self.state = bytearray(slots)
        self.handle = [0] * slots
        # When each held slot's transaction expires; 0 for every slot not held since it was
        # last freed (that is how a sent frame is known to have been an indirect one).
        self._expiry = [0] * slots
        # The order in which slots were first held (a count that wraps in 30 bits): the
        # frames for one device leave in that order. Expiry times cannot tell it, since
        # frames queued with one loop time share theirs.
        self._held_no = [0] * slots
        self._next_held_no = 0
        self._fifo = bytearray(slots)
        self._fifo_head = 0
        self.queued = 0  # slots in the FIFO
        self._next_handle = 1

    # --- the pool and the FIFO ---------------------------------------------------------
    def busy(self):
        """Some slot is queued, held or being sent."""
        for i in range(len(self.state)):
            if self.state[i] != FREE:
                return True
        return False

    def add(self, data, length, kind, secure, dst, dst_ext):
        """A free slot with a new handle (> 0) holding a copy of data[:length] for short
        address dst, or for extended address dst_ext when not None; -1 when no slot is
        free or length is too long. Neither queued nor held yet."""
        if length > len(self.payload[0]):
            return -1
        for i in range(len(self.state)):
            if self.state[i] == FREE:
                break
        else:
            return -1
        self.handle[i] = self._next_handle
        self._next_handle = (self._next_handle + 1) & 0x3FFFFFFF or 1
        p = self.payload[i]
        for j in range(length):
            p[j] = data[j]
        self.plen[i] = length
        self.kind[i] = kind
        self.secure[i] = secure
        if dst_ext is None:
            self.dst_is_ext[i] = 0
            self.dst[i] = dst
        else:
            self.dst_is_ext[i] = 1
            self.dst[i] = -1  # matches no short address
            e = self.dst_ext[i]
            for j in range(8):
                e[j] = dst_ext[j]
        return i

    def push(self, i, front):
        """Queue slot i for transmission, at the FIFO's head when front."""
        n = len(self._fifo)
        if front:
            self._fifo_head = (self._fifo_head - 1) % n
            self._fifo[self._fifo_head] = i
        else:
            self._fifo[(self._fifo_head + self.queued) % n] = i
        self.queued += 1
        self.state[i] = QUEUED

    def pop(self):
        """The slot at the FIFO's head (queued > 0), taken out of the FIFO."""
        i = self._fifo[self._fifo_head]
        self._fifo_head = (self._fifo_head + 1) % len(self._fifo)
        self.queued -= 1
        return i

    # --- indirect transmission ---------------------------------------------------------
    def hold(self, i, now):
        """Hold slot i (destination set) until its destination polls or the transaction
        expires; from now on ACKs to that destination say frame pending."""
        self.state[i] = HELD
        self._expiry[i] = self._clock.ticks_add(now, MAC_TRANSACTION_PERSISTENCE_US)
        self._held_no[i] = self._next_held_no
        self._next_held_no = (self._next_held_no + 1) & _HELD_NO_MASK
        self._set_ack_pending(i, True)

    def hold_again(self, i, now):
        """Slot i was sent after a poll and its destination did not acknowledge it: held
        again for the next poll unless the transaction has expired (or slot i was never
        held). True when held."""
        e = self._expiry[i]
        if e and self._clock.ticks_diff(e, now) > 0:
            self.state[i] = HELD
            self._set_ack_pending(i, True)
            return True
        return False

    def free(self, i):
        """Slot i's transmission is over; True when it had been held (an indirect frame)."""
        held = self._expiry[i] != 0
        self.state[i] = FREE
        self._expiry[i] = 0
        return held

    def _older(self, i, best):
        # Held first: its number is below best's, counting modulo 2^30 (fewer slots than
        # half the range are ever held at once).
        return best < 0 or \
            (self._held_no[i] - self._held_no[best]) & _HELD_NO_MASK > _HELD_NO_MASK >> 1

    def expire_for(self, dst, now):
        """Frames held for short address dst expire now (their device is gone): they end
        at the MAC's next step as expired ones do, confirms and frame-pending bits
        included."""
        for i in range(len(self.state)):
            if self.state[i] == HELD and not self.dst_is_ext[i] and self.dst[i] == dst:
                self._expiry[i] = now

    def pending_for(self, dst):
        """The slot held longest for short address dst, or -1: frames leave in the order
        they were queued (ZigBee's frame counters refuse one that arrives after a newer)."""
        best = -1
        for i in range(len(self.state)):
            if self.state[i] == HELD and not self.dst_is_ext[i] and self.dst[i] == dst \
                    and self._older(i, best):
                best = i
        return best

    def pending_for_ext(self, ext):
        """The slot held longest for extended address ext, or -1."""
        best = -1
        for i in range(len(self.state)):
            if self.state[i] == HELD and self.dst_is_ext[i] and \
                    same_ext(self.dst_ext[i], ext) and self._older(i, best):
                best = i
        return best

    def data_request(self, f):
        """A data request from f's source, by short address or, before association (to
        fetch the association response, 7.5.3.1), by extended address: the first frame
        held for it goes to the FIFO's head, to be sent at once (7.5.6.3). When nothing
        else is held for that source its ACKs stop saying frame pending."""
        if f.src_mode == fr.ADDR_SHORT:
            i = self.pending_for(f.src_addr)
            if i >= 0:
                self.push(i, True)
                if self.pending_for(f.src_addr) < 0:
                    self._radio.set_ack_pending(f.src_addr, False)
        elif f.src_mode == fr.ADDR_EXT:
            i = self.pending_for_ext(f.src_ext)
            if i >= 0:
                self.push(i, True)
                if self.pending_for_ext(f.src_ext) < 0:
                    self._radio.set_ack_pending(f.src_ext, False)

    def expired(self, now, start):
        """The first held slot from index start on whose transaction has expired
        (macTransactionPersistenceTime), now FREE; -1 when none. Call clear_ack_pending(i)
        for it once the expiry is reported."""
        for i in range(start, len(self.state)):
            if self.state[i] == HELD and self._clock.ticks_diff(now, self._expiry[i]) >= 0:
                self.state[i] = FREE
                self._expiry[i] = 0
                return i
        return -1

    def clear_ack_pending(self, i):
        """Slot i is no longer held: ACKs to its destination stop saying frame pending
        unless another frame is held for it."""
        if self.dst_is_ext[i]:
            if self.pending_for_ext(self.dst_ext[i]) < 0:
                self._set_ack_pending(i, False)
        elif self.pending_for(self.dst[i]) < 0:
            self._set_ack_pending(i, False)

    def wake_in(self, now):
        """Microseconds until the first held transaction expires (0 when overdue), -1 when
        nothing is held."""
        best = -1
        for i in range(len(self.state)):
            if self.state[i] == HELD:
                d = self._clock.ticks_diff(self._expiry[i], now)
                if d < 0:
                    d = 0
                if best < 0 or d < best:
                    best = d
        return best

    def _set_ack_pending(self, i, on):
        if self.dst_is_ext[i]:
            self._radio.set_ack_pending(self.dst_ext[i], on)
        else:
            self._radio.set_ack_pending(self.dst[i], on)


class PollWait:
    """Device side: when a periodic poll is due, and how long the receiver stays on after
    a poll the coordinator acknowledged with frame pending (waiting)."""

    def __init__(self, clock, extra_wait_us):
        self._clock = clock
        # A bridged radio's hand-over latency comes on top of the standard's wait, which
        # assumes a transceiver on the board.
        self._frame_wait_us = MAC_MAX_FRAME_TOTAL_WAIT_US + extra_wait_us
        self._due = None  # the next periodic poll; None: poll at the first chance
        self._until = 0
        self.waiting = False  # receiver on for a frame the coordinator has for us

    def _left(self, now, interval_us):
        # Microseconds to the next poll; 0 when due. A schedule further away than one
        # interval is stale (the interval shrank, or it was set more than half the ticks'
        # period ago and now reads as the future: a start at tick 0 made a device that
        # booted with the counter in its upper half skip its polls for minutes).
        if self._due is None:
            return 0
        d = self._clock.ticks_diff(self._due, now)
        return 0 if d < 0 or d > interval_us else d

    def due(self, now, interval_us):
        """True when the poll every interval_us (0: none) is due; schedules the next."""
        if interval_us and self._left(now, interval_us) == 0:
            self._due = self._clock.ticks_add(now, interval_us)
            return True
        return False

    def acked_pending(self, now):
        """The ACK to our data request said frame pending: stay in receive for
        macMaxFrameTotalWaitTime (7.5.6.3)."""
        self.waiting = True
        self._until = self._clock.ticks_add(now, self._frame_wait_us)

    def timeout(self, now):
        """No frame within macMaxFrameTotalWaitTime: stop waiting."""
        if self.waiting and self._clock.ticks_diff(now, self._until) >= 0:
            self.waiting = False

    def wake_in(self, now, interval_us):
        """Microseconds until the wait ends or the next poll is due (0 when overdue), -1
        when neither applies."""
        best = -1
        if self.waiting:
            best = self._clock.ticks_diff(self._until, now)
            if best < 0:
                best = 0
        if interval_us:
            d = self._left(now, interval_us)
            if best < 0 or d < best:
                best = d
        return best
