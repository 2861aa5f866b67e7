# Backends for ESP32-family boards (classic ESP32, ESP32-C6) on MicroPython's esp32 port.
import machine

from hal.clock import SystemClock


def p1_uart(uart_id, tx_pin, baudrate=115200):
    """The H1 port's UART: 115200 8N1 with TX inverted in the UART peripheral, so an
    open-collector opto stage (DSMR 5.0.2 P1 CS 4.2) sees idle = low (ESP32 `invert` flag)."""
    return machine.UART(uart_id, baudrate=baudrate, bits=8, parity=None, stop=1,
                        tx=tx_pin, rx=None, invert=machine.UART.INV_TX)


def input_pin(number, pull_down=True):
    return machine.Pin(number, machine.Pin.IN, machine.Pin.PULL_DOWN if pull_down else None)


class PinLeds:
    """Status LEDs on plain GPIOs (active high unless listed in active_low)."""

    def __init__(self, numbers, active_low=()):
        self._pins = [machine.Pin(n, machine.Pin.OUT) for n in numbers]
        self._active_low = active_low
        self.count = len(self._pins)

    def set(self, index, on):
        self._pins[index].value((not on) if index in self._active_low else bool(on))


class RgbLed:
    """One addressable RGB LED (WS2812 on the ESP32-C6-DevKitC-1, GPIO8) as status LEDs:
    index 0 lights green, index 1 red, both amber."""

    count = 2

    def __init__(self, pin_number, level=32):
        import neopixel

        self._np = neopixel.NeoPixel(machine.Pin(pin_number, machine.Pin.OUT), 1)
        self._on = [False, False]
        self._level = level

    def set(self, index, on):
        self._on[index] = bool(on)
        red = self._level if self._on[1] else 0
        green = self._level if self._on[0] else 0
        self._np[0] = (red, green, 0)
        self._np.write()


def flash(label="vfs"):
    """The data partition the firmware's filesystem lives on (esp32.Partition speaks the
    extended block protocol that vfs.VfsLfs2 mounts)."""
    import esp32

    parts = esp32.Partition.find(esp32.Partition.TYPE_DATA, label=label)
    if not parts:
        raise OSError("no data partition labelled " + label)
    return parts[0]


def clock():
    return SystemClock()


def board_hal(name, p1_uart_id, p1_tx, data_request, leds):
    """The Hal of an ESP32-family board from its pin choices (boards/esp32*/board.py)."""
    from hal import Hal

    return Hal(name, clock=clock(), p1_uart=p1_uart(p1_uart_id, p1_tx),
               data_request=input_pin(data_request), leds=leds, flash=flash())
