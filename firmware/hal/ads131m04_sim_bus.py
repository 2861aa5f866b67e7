# The wiring of the ADS131M04 fake (hal/ads131m04_sim.py): the time that the chip and its
# host share, and the SPI bus and pins the driver is given. The chip model there knows
# registers, commands, frames and conversions; what is here knows none of them and hands
# each transfer and pin change to the chip behind it, through its hooks _shift, _pin_read
# and _pin_edge (private to the fake, of which these two modules are the two halves).
# The clock moves only with what the chip and its host do (bytes shifted, DRDY polled,
# sleeps), in a unit that makes fMOD and CLKIN periods and microseconds all whole.

U_PER_US = 4096  # time unit: 1 / 4.096 GHz, so fMOD periods and microseconds are whole
_PERIOD = 1 << 30  # MicroPython ticks period


class SimClock:
    """The chip's and its host's time: hal.clock interface plus sleep_us/advance_us."""

    def __init__(self, utc=0):
        self.u = 0
        self.utc0 = utc

    def advance_us(self, us):
        self.u += us * U_PER_US

    sleep_us = advance_us

    def ticks_us(self):
        return (self.u // U_PER_US) & (_PERIOD - 1)

    def ticks_ms(self):
        return (self.u // (U_PER_US * 1000)) & (_PERIOD - 1)

    def ticks_diff(self, end, start):
        half = _PERIOD >> 1
        return ((end - start + half) & (_PERIOD - 1)) - half

    def ticks_add(self, t, delta):
        return (t + delta) & (_PERIOD - 1)

    def time_ms(self):
        return self.utc0 * 1000 + self.u // (U_PER_US * 1000)

    def time(self):
        return self.time_ms() // 1000

    def set_time(self, utc):
        self.utc0 = utc - self.u // (U_PER_US * 1000000)


class SimPin:
    """machine.Pin-like: a read asks the chip (DRDY is its output), a change of level is
    an edge the chip sees (CS frames a transfer, SYNC/RESET resets or resynchronises)."""

    def __init__(self, chip, name, level):
        self._chip = chip
        self.name = name
        self._level = level

    def value(self, v=None):
        if v is None:
            return self._chip._pin_read(self)
        v = 1 if v else 0
        if v != self._level:
            self._level = v
            self._chip._pin_edge(self, v)


class SimBus:
    """machine.SPI-like: bytes move only while CS is low."""

    def __init__(self, chip):
        self._chip = chip

    def write(self, buf):
        self._chip._shift(buf, None)

    def readinto(self, buf, write=0):
        self._chip._shift(None, buf, write)

    def write_readinto(self, wbuf, rbuf):
        self._chip._shift(wbuf, rbuf)
