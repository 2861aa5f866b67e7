# Board: MicroPython pyboard v1.1 (STM32F405RG, Cortex-M4F 168 MHz; natmods: armv7emsp).
NAME = "pyboard"
MPY_ARCH = "armv7emsp"

P1_UART = 6  # TX on Y1; the STM32 USART cannot invert: see README.md for the output stage
P1_DATA_REQUEST = "Y3"  # from the Data Request opto, pulled down: high = reader requests
LEDS = (2, 1)  # pyb.LED: green = power, red = alert
ADC_PINS = ("X19", "X20", "X21", "X22", "X11", "X12")  # PC0..PC5, ADC123_IN10..15
ADC_TIMER = 6  # paces pyb.ADC.read_timed_multi
ADC_RATE_HZ = 8000  # per channel
PHASES = 3
SPI_ID = 1  # X6 SCK, X7 MISO, X8 MOSI: the MRF24J40MA (docs/han-mrf24j40.md)
SPI_CS = "X5"
RADIO_INT, RADIO_RESET = "Y4", "Y5"


def metrology_config():
    # Front-end scales of the reference design (docs/metrology.md); the sampler is gapped.
    from metrology.config import MetrologyConfig

    return MetrologyConfig(phases=PHASES, rate_hz=ADC_RATE_HZ, v_scale=0.2, i_scale=0.05,
                           time_base="clock")


def make_hal():
    from hal import Hal
    from hal import stm32
    from hal.han_radio import mrf24j40

    radio, spi = mrf24j40(SPI_ID, SPI_CS, RADIO_RESET, RADIO_INT)
    return Hal(
        NAME,
        clock=stm32.clock(),
        p1_uart=stm32.p1_uart(P1_UART),
        data_request=stm32.input_pin(P1_DATA_REQUEST),
        leds=stm32.BoardLeds(LEDS),
        flash=stm32.flash(),
        adc=stm32.TimedADCBlock(ADC_PINS, ADC_RATE_HZ, ADC_TIMER, frames=200),
        spi=spi,
        radio=radio,
    )
