# Clocks: monotonic ticks plus a UTC wall clock (seconds since 1970-01-01, as DSMR's
# timestamps and the TOU calendar need), for boards with or without an RTC.
from micropython import const

from hal import ticks

_REBASE_MS = const(86400000)  # move the wall-clock base forward daily: ticks wrap at 2**30 ms


class SystemClock:
    """Ticks from the runtime; wall time kept as an offset from a tick base.

    On a board without a battery-backed RTC the wall time starts at `utc_at_boot` and is
    corrected by set_time() (configuration, H1/HAN time sync). time() must be called at
    least every few days so the tick base can follow the ticks' wrap-around; the firmware's
    status task calls it every second.
    """

    def __init__(self, utc_at_boot=0):
        self.ticks_ms = ticks.ticks_ms
        self.ticks_us = ticks.ticks_us
        self.ticks_diff = ticks.ticks_diff
        self.ticks_add = ticks.ticks_add
        self._base_ticks = ticks.ticks_ms()
        self._base_utc_ms = utc_at_boot * 1000

    def time_ms(self):
        now = self.ticks_ms()
        elapsed = self.ticks_diff(now, self._base_ticks)
        if elapsed >= _REBASE_MS:
            self._base_ticks = now
            self._base_utc_ms += elapsed
            elapsed = 0
        return self._base_utc_ms + elapsed

    def time(self):
        return self.time_ms() // 1000

    def set_time(self, utc_seconds):
        self._base_ticks = self.ticks_ms()
        self._base_utc_ms = utc_seconds * 1000


class FakeClock:
    """A clock that moves only when told to: tests step state machines with it."""

    _PERIOD = 1 << 30

    def __init__(self, utc=0, ticks_ms=0):
        self._us = ticks_ms * 1000
        self._utc_us = utc * 1000000

    def advance_ms(self, ms):
        self.advance_us(ms * 1000)

    def advance_us(self, us):
        if us < 0:
            raise ValueError("time does not run backwards")
        self._us += us
        self._utc_us += us

    def ticks_ms(self):
        return (self._us // 1000) & (self._PERIOD - 1)

    def ticks_us(self):
        return self._us & (self._PERIOD - 1)

    def ticks_diff(self, end, start):
        half = self._PERIOD >> 1
        return ((end - start + half) & (self._PERIOD - 1)) - half

    def ticks_add(self, t, delta):
        # As on the boards (ticks period 2**30): a delta ticks_diff could not give back
        # (|delta| >= half the period) is refused, and one beyond a small int would not
        # even convert there (OverflowError) - long waits must be taken in steps.
        half = self._PERIOD >> 1
        if not -half < delta < half:
            raise OverflowError("ticks interval overflow")
        return (t + delta) & (self._PERIOD - 1)

    def time_ms(self):
        return self._utc_us // 1000

    def time(self):
        return self._utc_us // 1000000

    def set_time(self, utc_seconds):
        self._utc_us = utc_seconds * 1000000
