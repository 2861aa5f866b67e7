# Fake of MicroPython's `neopixel` module: keeps the last colour written.


class NeoPixel:
    def __init__(self, pin, n):
        self.pin, self.pixels, self.writes = pin, [(0, 0, 0)] * n, 0

    def __setitem__(self, i, colour):
        self.pixels[i] = colour

    def write(self):
        self.writes += 1
