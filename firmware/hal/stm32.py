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


def flash():
    """The internal flash filesystem region as a block device (pyb.Flash, extended protocol)."""
    return pyb.Flash(start=0)


def clock():
    """The STM32 RTC keeps time while VBAT is supplied; its reading seeds the wall clock."""
    import time

    return SystemClock(utc_at_boot=time.time() + 946684800)  # stm32 epoch is 2000-01-01
