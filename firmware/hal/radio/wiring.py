# The HAN transceiver on a real board: a Microchip MRF24J40MA on SPI mode 0 with chip select,
# reset and interrupt lines (docs/han-mrf24j40.md), through the port's `machine` module
# (esp32 and stm32 ports alike). None when no module answers: a board without one fitted
# still runs the meter, and main.run(han=...) then says the board has no HAN radio.
_SPI_HZ = 8000000  # MRF24J40: SPI up to 10 MHz (data sheet, electrical characteristics)


def mrf24j40(spi_id, cs, reset, int_pin, sck=None, mosi=None, miso=None):
    """(radio or None, spi). sck/mosi/miso: pin numbers where the port routes SPI through
    its GPIO matrix (ESP32); None where the bus has fixed pins (pyboard SPI1: X6, X7, X8)."""
    import machine
    import time

    from hal.radio.mrf24j40 import Mrf24j40

    sleep_us = getattr(time, "sleep_us", None) or (lambda us: time.sleep(us / 1000000))

    if sck is None:
        spi = machine.SPI(spi_id, baudrate=_SPI_HZ, polarity=0, phase=0)
    else:
        spi = machine.SPI(spi_id, baudrate=_SPI_HZ, polarity=0, phase=0,
                          sck=machine.Pin(sck), mosi=machine.Pin(mosi), miso=machine.Pin(miso))
    try:
        radio = Mrf24j40(spi, machine.Pin(cs, machine.Pin.OUT, value=1), sleep_us,
                         reset=machine.Pin(reset, machine.Pin.OUT, value=1),
                         int_pin=machine.Pin(int_pin, machine.Pin.IN, machine.Pin.PULL_UP))
    except OSError:  # "MRF24J40 does not answer on SPI": no module fitted
        radio = None
    return radio, spi
