"""A host clock for real-time runs on the simulated medium: the clock interface of
firmware/hal/clock.py (ticks_us, ticks_diff, ticks_add) in absolute microseconds from
time.monotonic, starting at 0 as the medium's time base does; no wrap (host runs last
minutes, not the 2**30 of a board's ticks)."""
import time


class MonotonicClock:
    """Microsecond ticks from time.monotonic since the start (the medium's time base)."""

    def __init__(self):
        self._t0 = time.monotonic_ns()

    def ticks_us(self):
        return (time.monotonic_ns() - self._t0) // 1000

    @staticmethod
    def ticks_diff(a, b):
        return a - b

    @staticmethod
    def ticks_add(a, d):
        return a + d
