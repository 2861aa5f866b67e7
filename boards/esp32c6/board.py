# Board: Espressif ESP32-C6-DevKitC-1 (RISC-V, 160 MHz; natmods: rv32imc).
# Pin choices avoid the USB-serial bridge (GPIO16/17), USB (12/13) and flash (24-30).
NAME = "esp32c6"
MPY_ARCH = "rv32imc"

P1_UART = 1
P1_TX = 10  # to the P1 opto LED stage; TX inverted in the UART (no external inverter)
P1_DATA_REQUEST = 11  # from the Data Request opto, pulled down: high = reader requests
RGB_LED = 8  # WS2812 on the DevKitC
ADC_PINS = (0, 1, 2, 3, 4, 5)  # ADC1 ch0..5: V1, I1, V2, I2, V3, I3 front-end outputs
# Paced one-shot reads (hal.esp32.PacedADCBlock, docs/esp32-sampler.md). The cost of one read
# on the C6 (digital controller, no RTC controller) is not published: measure it with
# hal.esp32.report_rate before raising the rate or setting the skew.
ADC_RATE_HZ = 2000  # per channel: 40 samples per 50 Hz cycle, 15th harmonic below Nyquist
ADC_SKEW_US = 0  # not measured yet; the phase calibration absorbs it meanwhile
PHASES = 3
SPI_ID = 1
SPI_SCK, SPI_MOSI, SPI_MISO, SPI_CS = 19, 18, 20, 21  # MRF24J40MA (docs/han-mrf24j40.md)
RADIO_INT, RADIO_RESET = 22, 23
POWER_WARNING = 7  # supply monitor's early warning (comparator on the DC rail), high = failing
CLOCK_KEEPS_TIME = False  # no battery-backed RTC: time resumes from flash until a sync
WATCHDOG_MS = 8000  # machine.WDT (docs/supervision.md)
# The registers' directory on the filesystem the port mounts at / (hal.esp32.flash); the
# meter's own update goes there as fw-update.zigbee (tools.deploy --update, docs/update.md).
REGISTERS_DIR = "/meter"


def metrology_config():
    # PacedADCBlock is gapped: energy is integrated over the clock (docs/metrology.md).
    from hal import esp32
    from metrology.config import MetrologyConfig

    return MetrologyConfig(**esp32.front_end(PHASES, ADC_RATE_HZ, ADC_SKEW_US))


def make_hal():
    from hal import esp32

    return esp32.board_hal(NAME, P1_UART, P1_TX, P1_DATA_REQUEST, esp32.RgbLed(RGB_LED),
                           adc_pins=ADC_PINS, adc_rate_hz=ADC_RATE_HZ,
                           radio_pins=(SPI_ID, SPI_SCK, SPI_MOSI, SPI_MISO, SPI_CS, RADIO_RESET,
                                       RADIO_INT),
                           power_warning=POWER_WARNING, watchdog_ms=WATCHDOG_MS,
                           registers_dir=REGISTERS_DIR)


def ntp_socket_opener(ssid, psk, host):
    """The board contract's network time source (docs/boards.md): Wi-Fi station + UDP."""
    from hal import esp32

    return esp32.ntp_socket_opener(ssid, psk, host)
