# Unslotted CSMA-CA with acknowledgement wait and retransmission, one frame at a time
# (IEEE 802.15.4-2006 7.5.1.4 and Figure 69; 7.5.6.4 retransmissions). A polled state
# machine: start() a frame, then call step(now) until it returns a result; ACK frames read
# by the MAC are handed in with ack_received().
#
# A radio whose tx_waits_ack() is True (hal/radio/mrf24j40.py) runs CSMA-CA, the ACK wait
# and the retransmissions itself and never hands ACK frames to the host: the frame then
# goes to the radio at once and the outcome is read from it when it is done (tx_status(),
# tx_ack_pending(), tx_retries()).
#
# Times are the clock's ticks_us values; every comparison goes through ticks_diff so the
# 2**30 us wrap of the ticks is harmless.
from micropython import const

from hal.radio import TX_NOACK, TX_OK

# MAC constants and PIB defaults (2006 Table 85 and Table 86; 2020 Table 8-94).
A_UNIT_BACKOFF_US = const(320)  # aUnitBackoffPeriod = 20 symbols x 16 us
MAC_MIN_BE = const(3)  # macMinBE default
MAC_MAX_BE = const(5)  # macMaxBE default
MAC_MAX_CSMA_BACKOFFS = const(4)  # macMaxCSMABackoffs default
MAC_MAX_FRAME_RETRIES = const(3)  # macMaxFrameRetries default
# macAckWaitDuration = aUnitBackoffPeriod + aTurnaroundTime + phySHRDuration
#   + ceil(6 * phySymbolsPerOctet) = 20 + 12 + 10 + 12 = 54 symbols (2006 Table 86).
MAC_ACK_WAIT_US = const(864)

# step() results.
BUSY = const(0)
SENT = const(1)  # transmitted; acknowledged when an ACK was requested
NO_ACK = const(2)  # retries exhausted without ACK
CHANNEL_ACCESS_FAILURE = const(3)  # NB exceeded macMaxCSMABackoffs

_IDLE = const(0)
_BACKOFF = const(1)
_ON_AIR = const(2)
_ACK_WAIT = const(3)


class CsmaTx:
    """rand_bits(n) -> uniform integer in 0 .. 2**n - 1: random.getrandbits on MicroPython
    (allocation-free for small n), random.Random(seed).getrandbits on the host."""

    def __init__(self, radio, clock, rand_bits, min_be=MAC_MIN_BE, max_be=MAC_MAX_BE,
                 max_backoffs=MAC_MAX_CSMA_BACKOFFS, max_retries=MAC_MAX_FRAME_RETRIES,
                 extra_wait_us=0):
        self._radio = radio
        self._clock = clock
        self._rand_bits = rand_bits
        self.min_be = min_be
        self.max_be = max_be
        self.max_backoffs = max_backoffs
        self.max_retries = max_retries
        # A bridged radio (han/radio_bridge.py) hands over frames some milliseconds late:
        # the ACK wait grows by that latency (0 for a transceiver on the board).
        self.ack_wait_us = MAC_ACK_WAIT_US + extra_wait_us
        waits = getattr(radio, "tx_waits_ack", None)
        self._in_radio = bool(waits and waits())
        self._state = _IDLE
        self._buf = None
        self._len = 0
        self._seq = 0
        self._ack_request = False
        self._deadline = 0
        self._nb = 0
        self._be = 0
        self._retries = 0
        self._acked = False
        self.ack_pending = False  # frame pending bit of the ACK that ended the last frame
        self.last_backoff = 0  # backoff periods drawn last (statistics, tests)
        # Statistics.
        self.retries = 0
        self.cca_busy = 0
        self.access_failures = 0
        self.no_acks = 0

    @property
    def idle(self):
        return self._state == _IDLE

    def start(self, buf, length, seq, ack_request, now):
        self._buf = buf
        self._len = length
        self._seq = seq
        self._ack_request = ack_request
        self._retries = 0
        self.ack_pending = False
        if self._in_radio:
            # No backoff here: the radio draws its own before its CCA.
            self._deadline = now
            self._state = _BACKOFF
            return
        self._begin_csma(now)

    def _begin_csma(self, now):
        # 7.5.1.4 step (1): NB = 0, BE = macMinBE.
        self._nb = 0
        self._be = self.min_be
        self._draw_backoff(now)

    def _draw_backoff(self, now):
        # Step (2): delay random(2^BE - 1) unit backoff periods, all values equally likely.
        n = self._rand_bits(self._be)
        self.last_backoff = n
        self._deadline = self._clock.ticks_add(now, n * A_UNIT_BACKOFF_US)
        self._state = _BACKOFF

    def wake_in(self, now):
        """Microseconds until step() has something to do; -1 when it waits for the radio
        only (on air) or is idle."""
        if self._state == _BACKOFF or self._state == _ACK_WAIT:
            d = self._clock.ticks_diff(self._deadline, now)
            return d if d > 0 else 0
        return -1

    def ack_received(self, seq, pending):
        """An ACK frame came in; True when it acknowledges the frame in flight."""
        if self._state == _ACK_WAIT and seq == self._seq:
            self._acked = True
            self.ack_pending = pending
            return True
        return False

    def step(self, now):
        st = self._state
        if st == _BACKOFF:
            if self._clock.ticks_diff(now, self._deadline) < 0:
                return BUSY
            # Step (3): CCA; idle -> transmit (the radio turns around, then sends).
            if self._in_radio or self._radio.channel_clear():
                self._radio.prepare(self._buf, self._len)
                if self._radio.transmit() == TX_OK:
                    self._state = _ON_AIR
                    return BUSY
            self.cca_busy += 1
            # Step (4): busy -> NB += 1, BE = min(BE + 1, macMaxBE); fail past the limit.
            self._nb += 1
            self._be = self._be + 1 if self._be < self.max_be else self.max_be
            if self._nb > self.max_backoffs:
                self._state = _IDLE
                self.access_failures += 1
                return CHANNEL_ACCESS_FAILURE
            self._draw_backoff(now)
            return BUSY
        if st == _ON_AIR:
            if self._radio.tx_busy():
                return BUSY
            if self._in_radio:
                return self._radio_outcome()
            if not self._ack_request:
                self._state = _IDLE
                return SENT
            self._acked = False
            self._deadline = self._clock.ticks_add(now, self.ack_wait_us)
            self._state = _ACK_WAIT
            return BUSY
        if st == _ACK_WAIT:
            if self._acked:
                self._state = _IDLE
                return SENT
            if self._clock.ticks_diff(now, self._deadline) < 0:
                return BUSY
            # No ACK within macAckWaitDuration: retransmit, at most macMaxFrameRetries
            # times, each with a fresh CSMA-CA (7.5.6.4.2).
            if self._retries >= self.max_retries:
                self._state = _IDLE
                self.no_acks += 1
                return NO_ACK
            self._retries += 1
            self.retries += 1
            self._begin_csma(now)
            return BUSY
        return BUSY

    def _radio_outcome(self):
        # The radio's own CSMA-CA, ACK wait and retries have ended (tx_waits_ack radios).
        self._state = _IDLE
        r = self._radio
        self.retries += r.tx_retries()
        status = r.tx_status()
        if status == TX_OK:
            self.ack_pending = self._ack_request and r.tx_ack_pending()
            return SENT
        if status == TX_NOACK:
            self.no_acks += 1
            return NO_ACK
        self.access_failures += 1
        return CHANNEL_ACCESS_FAILURE
