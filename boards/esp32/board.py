# Board: Espressif ESP32-DevKitC (ESP32-WROOM-32, Xtensa LX6 240 MHz; natmods: xtensawin).
NAME = "esp32"
MPY_ARCH = "xtensawin"

P1_UART = 2
P1_TX = 17  # to the P1 opto LED stage; TX inverted in the UART (no external inverter)
P1_DATA_REQUEST = 4  # from the Data Request opto, pulled down: high = reader requests
LEDS = (2, 25)  # power: the on-board LED of most DevKit clones; alert: a red LED on GPIO25
ADC_PINS = (36, 39, 34, 35, 32, 33)  # ADC1 ch0,3,6,7,4,5: V1, I1, V2, I2, V3, I3
# Paced one-shot reads (hal.esp32.PacedADCBlock, docs/esp32-sampler.md): one read costs about
# 35 us here (ESP-IDF's RTC-controller conversion), so six channels take about 210 us and the
# loop sustains about 4.5 kHz per channel at most; 2 kHz keeps the frames on their slots.
ADC_RATE_HZ = 2000  # per channel: 40 samples per 50 Hz cycle, 15th harmonic below Nyquist
ADC_SKEW_US = 35  # each current is read one read after its voltage (sources: the doc above)
PHASES = 3
SPI_ID = 2  # VSPI
SPI_SCK, SPI_MOSI, SPI_MISO, SPI_CS = 18, 23, 19, 5  # MRF24J40MA (docs/han-mrf24j40.md)
RADIO_INT, RADIO_RESET = 27, 26
POWER_WARNING = 21  # supply monitor's early warning (comparator on the DC rail), high = failing
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

    return esp32.board_hal(NAME, P1_UART, P1_TX, P1_DATA_REQUEST, esp32.PinLeds(LEDS),
                           adc_pins=ADC_PINS, adc_rate_hz=ADC_RATE_HZ,
                           radio_pins=(SPI_ID, SPI_SCK, SPI_MOSI, SPI_MISO, SPI_CS, RADIO_RESET,
                                       RADIO_INT),
                           power_warning=POWER_WARNING, watchdog_ms=WATCHDOG_MS,
                           registers_dir=REGISTERS_DIR)


def ntp_socket_opener(ssid, psk, host):
    """The board contract's network time source (docs/boards.md): Wi-Fi station + UDP."""
    from hal import esp32

    return esp32.ntp_socket_opener(ssid, psk, host)
