# Board: CircuitSetup Expandable 6 Channel ESP32 Energy Meter (main board, v1.4+) with an
# ESP32 DevKit (NodeMCU-32S / DevKitC, Xtensa LX6; natmods: xtensawin). The main board
# carries two ATM90E32AS; this firmware meters with the first (CT1-CT3 and its voltage
# inputs) and leaves the second (CS GPIO4, CT4-CT6) unused. On the main board the three
# voltage inputs of that chip are tied to the one AC transformer (VA1): three CTs against
# one voltage. A true 3-phase meter needs a voltage per phase (the board's VA2 input with
# JP12/JP13 cut, or add-on boards: CircuitSetup's README, "Measuring 3-Phase Electricity").
NAME = "esp32-atm90e32"
MPY_ARCH = "xtensawin"

# The metering IC on VSPI (CircuitSetup's README, "Communicating with the ESP32": CLK 18,
# MISO 19, MOSI 23, CS1 5 for CT1-CT3, CS2 4 for CT4-CT6). SPI mode 3 (ATM90E32AS data
# sheet, SPI interface), 1 MHz as ESPHome drives it.
SPI_ID = 2  # VSPI
SPI_SCK, SPI_MOSI, SPI_MISO = 18, 23, 19
IC_CS = 5
IC_SPI_HZ = 1000000
LINE_HZ = 50
# Gain register values at which the board reads volts and amps right (CircuitSetup's
# common calibration values): a 9 V AC transformer on boards >= v1.3, and the SCT-013-000
# 100 A / 50 mA current transformer. Calibration factors multiply these.
UGAIN = 7305
IGAIN = 27518
PHASES = 3
# Pins free of the meter and of every CS jumper choice of the add-on boards (0, 2, 12-17,
# 21, 22, 25-27, 35): P1 on UART2.
P1_UART = 2
P1_TX = 32  # to the P1 opto LED stage; TX inverted in the UART (no external inverter)
P1_DATA_REQUEST = 33  # from the Data Request opto, pulled down: high = reader requests
LEDS = (2, 25)  # the DevKit's LED (GPIO2) and a red alert LED (GPIO25: an add-on CS2 choice)
POWER_WARNING = None  # the board brings no supply monitor to the ESP32
CLOCK_KEEPS_TIME = False  # no battery-backed RTC: time resumes from flash until a sync
WATCHDOG_MS = 8000  # machine.WDT (docs/supervision.md)
REGISTERS_DIR = "/meter"


def metrology_config():
    # The IC samples and integrates on its own (8 kHz per channel): the rate and scales
    # here only have to make a valid MetrologyConfig; phases and the nominal values count.
    from metrology.config import MetrologyConfig

    return MetrologyConfig(phases=PHASES, rate_hz=8000, nominal_v=230.0, nominal_hz=LINE_HZ,
                           time_base="clock")


def meter_ic():
    """The ATM90E32AS driver on its bus (not started: the metrology calls begin())."""
    import machine

    from hal.atm90e32 import ATM90E32

    spi = machine.SPI(SPI_ID, baudrate=IC_SPI_HZ, polarity=1, phase=1,
                      sck=machine.Pin(SPI_SCK), mosi=machine.Pin(SPI_MOSI),
                      miso=machine.Pin(SPI_MISO))
    cs = machine.Pin(IC_CS, machine.Pin.OUT, value=1)
    return ATM90E32(spi, cs, line_hz=LINE_HZ, ugain=UGAIN, igain=IGAIN)


def make_hal():
    from hal import esp32

    hal = esp32.board_hal(NAME, P1_UART, P1_TX, P1_DATA_REQUEST, esp32.PinLeds(LEDS),
                          watchdog_ms=WATCHDOG_MS, registers_dir=REGISTERS_DIR)
    hal.meter_ic = meter_ic()  # main.make_metrology takes it over hal.adc (None here)
    return hal


def ntp_socket_opener(ssid, psk, host):
    """The board contract's network time source (docs/boards.md): Wi-Fi station + UDP."""
    from hal import esp32

    return esp32.ntp_socket_opener(ssid, psk, host)
