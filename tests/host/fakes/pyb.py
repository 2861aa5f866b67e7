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

    def __init__(self, name, mode, pull=0):
        self.name, self.mode, self.pull = name, mode, pull
        created.append(self)


class LED:
    def __init__(self, n):
        self.n, self.lit = n, False

    def on(self):
        self.lit = True

    def off(self):
        self.lit = False


class Flash:
    def __init__(self, start=-1, len=-1):
        self.start = start
