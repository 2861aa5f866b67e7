# Helpers for the portable unit tests: these modules run under pytest on CPython (tier 1)
# and under the MicroPython unix port (tier 2, tests/mpy/runner.py), so they use plain
# functions and asserts, no pytest imports.
import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"
if IS_MICROPYTHON:
    import micropython


def raises(exc_type, func, *args, **kwargs):
    """Assert that func(*args, **kwargs) raises exc_type; return the exception."""
    try:
        func(*args, **kwargs)
    except exc_type as e:
        return e
    raise AssertionError("%s not raised by %s" % (exc_type.__name__, func))


class NoAllocation:
    """`with NoAllocation():` locks the heap on MicroPython, so any allocation inside raises
    MemoryError. On CPython it has no effect (allocation-free paths are proven on tier 2)."""

    def __enter__(self):
        if IS_MICROPYTHON:
            micropython.heap_lock()
        return self

    def __exit__(self, exc_type, exc, tb):  # no *args: that tuple would be an allocation
        if IS_MICROPYTHON:
            micropython.heap_unlock()
        return False


def lcg_bytes(n, seed=1):
    """Deterministic pseudo-random bytes (same on every runtime: a 32-bit LCG,
    Numerical Recipes constants)."""
    out = bytearray(n)
    x = seed
    for i in range(n):
        x = (x * 1664525 + 1013904223) & 0xFFFFFFFF
        out[i] = x >> 24
    return out


def crc16_reflected(data, poly_reflected):
    """A reflected CRC-16 with initial value 0, bit by bit (independent of the firmware's
    table code): poly 0xA001 gives CRC-16/ARC, 0x8408 CRC-16/KERMIT."""
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ poly_reflected if crc & 1 else crc >> 1
    return crc


class UtcClock:
    """UTC seconds since 1970, as registers.clock.MeterClock.utc() gives them; set t."""

    def __init__(self):
        self.t = 0

    def utc(self):
        return self.t


def at_zcl_utc(server, utc):
    """Set a server's UtcClock to ZCL UTC utc (seconds since 2000-01-01); the server."""
    server.clock.t = utc + 946684800
    return server


class EnergySink:
    """What the metrology hands the registers (the sink interface of metrology/energy.py
    and metrology/events.py), recorded: whole mWh per register (import, export, QI..QIV,
    each hand-over checked non-negative), the number of hand-overs, sags and swells per
    phase, and power failures as (end UTC, duration s)."""

    def __init__(self):
        self.mwh = [0] * 6
        self.calls = 0
        self.sags = []
        self.swells = []
        self.failures = []

    def add_energy(self, *mwh):
        self.calls += 1
        for k in range(6):
            assert mwh[k] >= 0
            self.mwh[k] += mwh[k]

    def record_sag(self, phase):
        self.sags.append(phase)

    def record_swell(self, phase):
        self.swells.append(phase)

    def record_power_failure(self, end_utc, duration_s):
        self.failures.append((end_utc, duration_s))
