# Board: MicroPython pyboard v1.1 (STM32F405RG, Cortex-M4F 168 MHz; natmods: armv7emsp).
NAME = "pyboard"
MPY_ARCH = "armv7emsp"
# Its Cortex-M4 runs the armv7m natmods built here (MicroPython loads native code of an
# older ARM architecture of the family: py/persistentcode.h MPY_FEATURE_ARCH_TEST).
NATMOD_ARCH = "armv7m"

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
POWER_WARNING = "Y6"  # supply monitor's early warning (comparator on the DC rail), high = failing
# The STM32 RTC runs from VBAT: with a cell fitted it keeps time through a power cut. Without
# one it restarts at 2000-01-01, which the registers see as no time (before the persisted
# one) and resume from flash, unsynchronised.
CLOCK_KEEPS_TIME = True
# The registers' directory on the internal flash the port mounts at /flash (hal.stm32.flash);
# the meter's own update goes there as fw-update.zigbee (tools.deploy --update).
REGISTERS_DIR = "/flash/meter"


def metrology_config():
    # Front-end scales of the reference design (docs/metrology.md); the sampler is gapped.
    from metrology.config import MetrologyConfig

    return MetrologyConfig(phases=PHASES, rate_hz=ADC_RATE_HZ, v_scale=0.2, i_scale=0.05,
                           time_base="clock")


def make_hal():
    from hal import Hal
    from hal import stm32
    from hal.radio.wiring import mrf24j40

    radio, spi = mrf24j40(SPI_ID, SPI_CS, RADIO_RESET, RADIO_INT)
    return Hal(
        NAME,
        clock=stm32.clock(),
        p1_uart=stm32.p1_uart(P1_UART),
        data_request=stm32.input_pin(P1_DATA_REQUEST),
        power_warning=stm32.input_pin(POWER_WARNING),
        watchdog=_watchdog(),  # machine.WDT: the IWDG (docs/supervision.md)
        leds=stm32.BoardLeds(LEDS),
        flash=stm32.flash(REGISTERS_DIR),
        adc=stm32.TimedADCBlock(ADC_PINS, ADC_RATE_HZ, ADC_TIMER, frames=200),
        spi=spi,
        radio=radio,
    )


def _watchdog():
    from hal.watchdog import STM32_MAX_TIMEOUT_MS, MachineWatchdog

    return MachineWatchdog(8000, STM32_MAX_TIMEOUT_MS)
