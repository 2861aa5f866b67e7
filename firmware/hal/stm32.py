# Backends for STM32 boards on MicroPython's stm32 port (pyboard v1.1, STM32F405).
import pyb

from hal.clock import SystemClock


def p1_uart(uart_id, baudrate=115200):
    """The H1 port's UART, 115200 8N1. The STM32F4 USART cannot invert TX, so the board
    carries the inversion in its output stage (boards/pyboard/README.md)."""
    return pyb.UART(uart_id, baudrate=baudrate, bits=8, parity=None, stop=1)


def input_pin(name, pull_down=True):
    return pyb.Pin(name, pyb.Pin.IN, pyb.Pin.PULL_DOWN if pull_down else pyb.Pin.PULL_NONE)


class BoardLeds:
    """pyb.LED(1..4): red, green, yellow, blue on the pyboard."""

    def __init__(self, numbers=(2, 1)):
        self._leds = [pyb.LED(n) for n in numbers]
        self.count = len(self._leds)

    def set(self, index, on):
        if on:
            self._leds[index].on()
        else:
            self._leds[index].off()


def flash(path="/flash/meter"):
    """The registers' directory on the internal flash filesystem the port mounts at /flash
    (hal.fsdir: never a second mount of the same blocks). That filesystem is FAT on a
    stock pyboard, which can tear a file on a power cut; the record store's two slots with
    sequence and CRC keep the previous record whole (registers/store.py)."""
    from hal.fsdir import DirFs

    return DirFs(path)


def clock():
    """The STM32 RTC keeps time while VBAT is supplied; its reading seeds the wall clock."""
    import time

    return SystemClock(utc_at_boot=time.time() + 946684800)  # stm32 epoch is 2000-01-01


class TimedADCBlock:
    """The front end sampled by pyb.ADC.read_timed_multi: every channel converted on one
    timer's trigger into its own array (pyboard docs, ADC.read_timed_multi), then
    interleaved into the caller's block (V1, I1, V2, I2, ...). read_timed_multi returns when
    its arrays are full, and nothing is sampled while the firmware works on a block: the
    sampler is gapped, so the metrology integrates energy over the clock's time, not the
    samples' (MetrologyConfig(time_base="clock")). Cost: the interleaving copy, about 1200
    element moves per 200-frame block of 6 channels."""

    gapped = True

    def __init__(self, pin_names, rate_hz, timer_id, frames=200):
        from array import array

        self.channels = len(pin_names)
        self.rate_hz = rate_hz
        self.bits = 12
        self._adcs = tuple(pyb.ADC(pyb.Pin(name)) for name in pin_names)
        self._bufs = tuple(array("H", bytes(2 * frames)) for _ in pin_names)
        self._timer = pyb.Timer(timer_id, freq=rate_hz)
        self._frames = frames

    def read_block(self, samples):
        frames = min(len(samples) // self.channels, self._frames)
        pyb.ADC.read_timed_multi(self._adcs, self._bufs, self._timer)
        ch = self.channels
        for c in range(ch):
            buf = self._bufs[c]
            k = c
            for n in range(frames):
                samples[k] = buf[n]
                k += ch
        return frames
