# A device's own crystal in a simulation (issue 13, time): ticks that run ppm parts per
# million fast (> 0) or slow (< 0) against the medium's clock (hal.clock.FakeClock, which
# the hub reads), and that behave as a board's ticks: period 2**30, ticks_add refuses
# |delta| >= 2**29. Portable (tiers 1 and 2); tools/han/se_day.py uses it too.
#
#   c = DriftClock(fake_clock, ppm=80, start_us=123456)
#   c.ticks_us() / ticks_ms() / ticks_diff() / ticks_add(); c.to_base_us(local_us): the
#   medium microseconds in which the device's clock counts local_us (rounded up).
#   time() / time_ms() are the medium's: a HAN device keeps no wall clock of its own.

_PERIOD = 1 << 30
_M = 1000000


class DriftClock:
    def __init__(self, base, ppm, start_us=0):
        self.base = base
        self.ppm = ppm
        self.start_us = start_us  # the device's ticks at the medium's time 0

    def _local_us(self):
        # The base's absolute microseconds (FakeClock keeps them unwrapped).
        b = self.base._us
        return b + b * self.ppm // _M + self.start_us

    def ticks_us(self):
        return self._local_us() & (_PERIOD - 1)

    def ticks_ms(self):
        return (self._local_us() // 1000) & (_PERIOD - 1)

    def ticks_diff(self, end, start):
        half = _PERIOD >> 1
        return ((end - start + half) & (_PERIOD - 1)) - half

    def ticks_add(self, t, delta):
        half = _PERIOD >> 1
        if not -half < delta < half:
            raise OverflowError("ticks interval overflow")
        return (t + delta) & (_PERIOD - 1)

    def to_base_us(self, local_us):
        d = _M + self.ppm
        return (local_us * _M + d - 1) // d

    def time(self):
        return self.base.time()

    def time_ms(self):
        return self.base.time_ms()
