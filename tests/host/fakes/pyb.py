# Fake of MicroPython's `pyb` module (stm32 port): UART, Pin, LED, Flash.
created = []


class UART:
    def __init__(self, id, baudrate=9600, bits=8, parity=None, stop=1):
        self.id, self.baudrate, self.bits, self.parity, self.stop = id, baudrate, bits, parity, stop
        created.append(self)


class Pin:
    IN = 0
    PULL_NONE = 0
    PULL_DOWN = 2

    def __init__(self, name, mode=None, pull=0):  # pyb.Pin(name) alone is valid
        self.name, self.mode, self.pull = name, mode, pull
        self.level = 0
        created.append(self)

    def value(self, v=None):  # pyb.Pin.value([value]): read an input, drive an output
        if v is None:
            return self.level
        self.level = 1 if v else 0


class LED:
    def __init__(self, n):
        self.n, self.lit = n, False

    def on(self):
        self.lit = True

    def off(self):
        self.lit = False


class Timer:
    def __init__(self, id, freq=0):
        self.id, self.freq = id, freq


class ADC:
    """read_timed_multi fills each array with its channel's number * 1000 + sample index,
    so interleaving can be checked exactly."""

    calls = 0

    def __init__(self, pin):
        self.pin = pin

    @staticmethod
    def read_timed_multi(adcs, bufs, timer):
        assert len(adcs) == len(bufs) and timer.freq > 0
        assert len({len(b) for b in bufs}) == 1  # the port requires equal lengths
        ADC.calls += 1
        for c, buf in enumerate(bufs):
            for n in range(len(buf)):
                buf[n] = c * 1000 + n
        return True


class Flash:
    def __init__(self, start=-1, len=-1):
        self.start = start
