# Millisecond/microsecond ticks with MicroPython's wrap-around semantics on every runtime:
# MicroPython's own time.ticks_* where they exist (unix port, boards, the emulated board
# through its C tick source), an equivalent over time.monotonic_ns() on CPython.
import time

try:
    ticks_ms = time.ticks_ms
    ticks_us = time.ticks_us
    ticks_diff = time.ticks_diff
    ticks_add = time.ticks_add
except AttributeError:
    # MicroPython's ticks period on 32-bit ports (MICROPY_PY_TIME_TICKS_PERIOD = 2**30).
    _PERIOD = 1 << 30
    _HALF = _PERIOD >> 1

    def ticks_ms():
        return (time.monotonic_ns() // 1000000) & (_PERIOD - 1)

    def ticks_us():
        return (time.monotonic_ns() // 1000) & (_PERIOD - 1)

    def ticks_diff(end, start):
        return ((end - start + _HALF) & (_PERIOD - 1)) - _HALF

    def ticks_add(ticks, delta):
        return (ticks + delta) & (_PERIOD - 1)
