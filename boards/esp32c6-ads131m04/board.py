# Board: Espressif ESP32-C6-DevKitC-1 (RISC-V, 160 MHz; natmods: rv32imc) with a TI ADS131M04
# sigma-delta ADC as the metrology front end: one phase, V and I on channels 0 and 1, the
# neutral current on channel 2 (read with every frame for the firmware's neutral/phase
# comparison, not metered), channel 3 unused and disabled (docs/boards.md).
#
# The C6 has one general-purpose SPI host (SPI2, MicroPython's SPI(1)). The ADS131M04 needs
# it in mode 1 (CPOL 0, CPHA 1) for a frame every 500 us; the MRF24J40MA wants mode 0, and
# machine.SPI re-initialises the host on every mode change, so this variant carries no HAN
# radio (the esp32c6 board keeps it).
NAME = "esp32c6-ads131m04"
MPY_ARCH = "rv32imc"

P1_UART = 1
P1_TX = 10  # to the P1 opto LED stage; TX inverted in the UART (no external inverter)
P1_DATA_REQUEST = 11  # from the Data Request opto, pulled down: high = reader requests
RGB_LED = 8  # WS2812 on the DevKitC
PHASES = 1
# ADS131M04 on SPI(1), routed through the GPIO matrix (pins as the esp32c6 board's radio).
ADC_SPI_ID = 1
ADC_SPI_HZ = 8192000  # SCLK: an 18-byte frame in 18 us; the chip takes up to 25 MHz
ADC_SCK, ADC_MOSI, ADC_MISO = 19, 18, 20
ADC_CS = 21
ADC_DRDY = 22  # DRDY, active low (push-pull: the chip drives it high when idle)
ADC_SYNC_RESET = 23  # SYNC/RESET, active low: held low >= 250 us resets the chip
# The chip's 8.192 MHz CLKIN from a crystal oscillator; OSR 2048: fMOD 4.096 MHz / 2048 =
# 2000 SPS per channel, 40 samples per 50 Hz cycle (15th harmonic below Nyquist).
ADC_OSR = 2048
ADC_RATE_HZ = 2000
ADC_CHANNEL_MAP = (0, 1)  # block order V1, I1 <- chip channels 0, 1
ADC_ENABLED = (True, True, True, False)  # V, I, neutral I, unused
ADC_GAINS = (1, 1, 1, 1)
POWER_WARNING = 7  # supply monitor's early warning (comparator on the DC rail), high = failing
CLOCK_KEEPS_TIME = False  # no battery-backed RTC: time resumes from flash until a sync
WATCHDOG_MS = 8000  # machine.WDT (docs/supervision.md)
REGISTERS_DIR = "/meter"

# Front end, +-1.2 V full scale at gain 1, 2^23 codes each way (1 LSB = 143.05 nV):
# - voltage: divider 4 x 220 kOhm (series, for the voltage rating) over 2.49 kOhm, ratio
#   882.49 / 2.49 = 354.41: 325 V peak at 230 V gives 0.917 V (76 % of full scale), full
#   scale is 425 V peak (301 V rms): v_scale = 1.2 / 2^23 * 354.41 = 5.070e-5 V per code.
# - current: CT 2000:1 into a 24.9 Ohm burden: 60 A rms (84.9 A peak) gives 1.056 V peak,
#   full scale is 96.4 A peak (68.2 A rms): i_scale = 1.2 / 2^23 * 2000 / 24.9 = 1.149e-5 A
#   per code; 5 % of Ib (0.25 A) is still 30 700 codes peak.
# The channels sample simultaneously (one modulator per channel): no sequential skew.
DIVIDER_RATIO = 882.49 / 2.49
CT_RATIO = 2000
BURDEN_OHMS = 24.9
LSB_V = 1.2 / (1 << 23)
V_SCALE = LSB_V * DIVIDER_RATIO
I_SCALE = LSB_V * CT_RATIO / BURDEN_OHMS


def metrology_config():
    # Signed 24-bit codes (the wide kernel); the sampler is gapped: energy over the clock.
    from metrology.config import MetrologyConfig

    return MetrologyConfig(phases=PHASES, rate_hz=ADC_RATE_HZ, v_scale=V_SCALE,
                           i_scale=I_SCALE, skew_us=0.0, adc_bits=24, adc_signed=True,
                           time_base="clock")


def make_adc(clock):
    """The ADS131M04 block sampler on the board's pins. The chip is reset and configured
    when the metrology reads its first block (an absent chip then raises OSError there)."""
    import machine
    import time

    from hal.ads131m04 import ADS131M04
    from hal.ads131m04_block import ADS131M04Block

    spi = machine.SPI(ADC_SPI_ID, baudrate=ADC_SPI_HZ, polarity=0, phase=1,
                      sck=machine.Pin(ADC_SCK), mosi=machine.Pin(ADC_MOSI),
                      miso=machine.Pin(ADC_MISO))
    chip = ADS131M04(spi, machine.Pin(ADC_CS, machine.Pin.OUT, value=1),
                     machine.Pin(ADC_DRDY, machine.Pin.IN), clock,
                     getattr(time, "sleep_us", None) or (lambda us: time.sleep(us / 1e6)),
                     reset=machine.Pin(ADC_SYNC_RESET, machine.Pin.OUT, value=1),
                     osr=ADC_OSR, gains=ADC_GAINS, enabled=ADC_ENABLED)
    return ADS131M04Block(chip, channel_map=ADC_CHANNEL_MAP)


def make_hal():
    from hal import esp32

    hal = esp32.board_hal(NAME, P1_UART, P1_TX, P1_DATA_REQUEST, esp32.RgbLed(RGB_LED),
                          power_warning=POWER_WARNING, watchdog_ms=WATCHDOG_MS,
                          registers_dir=REGISTERS_DIR)
    hal.adc = make_adc(hal.clock)
    return hal


def ntp_socket_opener(ssid, psk, host):
    """The board contract's network time source (docs/boards.md): Wi-Fi station + UDP."""
    from hal import esp32

    return esp32.ntp_socket_opener(ssid, psk, host)
