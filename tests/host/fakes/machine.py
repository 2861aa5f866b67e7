# Fake of MicroPython's `machine` module (esp32 port flavour): records constructions.
created = []


class Pin:
    IN = 1
    OUT = 3
    PULL_DOWN = 2
    PULL_UP = 1

    def __init__(self, id, mode=-1, pull=-1):
        self.id, self.mode, self.pull = id, mode, pull
        self._value = 0
        created.append(self)

    def value(self, v=None):
        if v is None:
            return self._value
        self._value = 1 if v else 0


class UART:
    INV_TX = 1 << 5
    INV_RX = 1 << 2

    def __init__(self, id, baudrate=115200, bits=8, parity=None, stop=1, tx=None, rx=None,
                 invert=0):
        self.id, self.baudrate, self.bits, self.parity, self.stop = id, baudrate, bits, parity, stop
        self.tx, self.rx, self.invert = tx, rx, invert
        created.append(self)
