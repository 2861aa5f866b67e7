# Fake of MicroPython's `machine` module (esp32 port flavour): records constructions; its ADC
# converts on a Bench (a fake time base with signals at the pins) when a test sets one.
created = []


class Pin:
    IN = 1
    OUT = 3
    PULL_DOWN = 2
    PULL_UP = 1

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id, self.mode, self.pull = id, mode, pull
        self._value = 1 if value else 0
        created.append(self)

    def value(self, v=None):
        if v is None:
            return self._value
        self._value = 1 if v else 0


class SPI:
    """A bus with nothing on it: every byte read is 0 (MISO held low)."""

    def __init__(self, id, baudrate=1000000, polarity=0, phase=0, sck=None, mosi=None,
                 miso=None):
        self.id, self.baudrate, self.polarity, self.phase = id, baudrate, polarity, phase
        self.sck, self.mosi, self.miso = sck, mosi, miso
        created.append(self)

    def write(self, buf):
        pass

    def readinto(self, buf, write=0):
        for i in range(len(buf)):
            buf[i] = 0

    def write_readinto(self, wbuf, rbuf):
        self.readinto(rbuf)


class UART:
    INV_TX = 1 << 5
    INV_RX = 1 << 2

    def __init__(self, id, baudrate=115200, bits=8, parity=None, stop=1, tx=None, rx=None,
                 invert=0):
        self.id, self.baudrate, self.bits, self.parity, self.stop = id, baudrate, bits, parity, stop
        self.tx, self.rx, self.invert = tx, rx, invert
        created.append(self)


class Bench:
    """The fake chip's time base and the signals at its ADC pins, for the ADC sampler.

    Time moves only through the chip's own work: each ticks_us() call costs tick_cost_us,
    each conversion read_cost_us (the ESP32's one-shot read is tens of microseconds, see
    docs/esp32-sampler.md), advance_us() stands in for the firmware's processing. It has the
    clock interface (hal.clock), so the sampler and the metrology can both run on it.
    signals: {gpio: f(t_us) -> code}, the analog input sampled at the instant a conversion
    starts; a pin without one reads gpio * 100 + (its read count), modulo 4096."""

    PERIOD = 1 << 30  # MicroPython's ticks wrap (32-bit ports)

    def __init__(self, read_cost_us=0, tick_cost_us=1, signals=None, start_us=0, utc=0):
        self.now_us = start_us
        self.read_cost_us = read_cost_us
        self.tick_cost_us = tick_cost_us
        self.signals = dict(signals or {})
        self.utc0 = utc
        self.conversions = []  # (gpio, t_us) of every conversion, in order

    def advance_us(self, us):
        self.now_us += us

    def ticks_us(self):
        t = self.now_us
        self.now_us += self.tick_cost_us
        return t & (self.PERIOD - 1)

    def ticks_ms(self):
        return (self.now_us // 1000) & (self.PERIOD - 1)

    def ticks_diff(self, end, start):
        half = self.PERIOD >> 1
        return ((end - start + half) & (self.PERIOD - 1)) - half

    def ticks_add(self, t, delta):
        return (t + delta) & (self.PERIOD - 1)

    def time(self):
        return self.utc0 + self.now_us // 1000000

    def time_ms(self):
        return self.utc0 * 1000 + self.now_us // 1000

    def convert(self, gpio, count):
        t = self.now_us
        self.conversions.append((gpio, t))
        self.now_us += self.read_cost_us
        signal = self.signals.get(gpio)
        return signal(t) if signal else (gpio * 100 + count) % 4096


bench = None  # the Bench the fake ADCs convert on (set by a test); None: no time passes


class ADC:
    """machine.ADC of the esp32 port: ADC(Pin(gpio), atten=...) on ADC1/ADC2 pins, read()
    raw 12-bit, read_u16() scaled as the port does (ports/esp32/machine_adc.c)."""

    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
    # ESP32 ADC1 GPIOs 32-39, ADC2 0, 2, 4, 12-15, 25-27; ESP32-C6 ADC1 GPIOs 0-6.
    PINS = frozenset((32, 33, 34, 35, 36, 37, 38, 39, 0, 1, 2, 3, 4, 5, 6, 12, 13, 14, 15,
                      25, 26, 27))

    def __init__(self, pin, atten=None):
        gpio = pin.id if isinstance(pin, Pin) else pin
        if gpio not in self.PINS:
            raise ValueError("invalid pin")
        self.gpio, self.atten = gpio, atten
        self.count = 0
        created.append(self)

    def read(self):
        self.count += 1
        if bench is None:
            return (self.gpio * 100 + self.count - 1) % 4096
        return bench.convert(self.gpio, self.count - 1)

    def read_u16(self):
        raw = self.read()
        return (raw << 4) | (raw >> 8)  # the port's 12 -> 16 bit expansion


# Reset causes, esp32 port numbering (ports/esp32/modmachine.c: PWRON 1 .. SOFT 5); the
# stm32 port numbers them differently (SOFT 0, PWRON 1, HARD 2, WDT 3, DEEPSLEEP 4).
PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5
cause = PWRON_RESET  # what reset_cause() answers (a test sets it)


def reset_cause():
    return cause


class WDT:
    """machine.WDT(id=0, timeout=5000): starts at construction and cannot be stopped (no
    deinit on esp32 or stm32); records its feeds."""

    def __init__(self, id=0, timeout=5000):
        if timeout <= 0:
            raise ValueError("WDT timeout too short")
        self.id, self.timeout = id, timeout
        self.feeds = 0
        created.append(self)

    def feed(self):
        self.feeds += 1
