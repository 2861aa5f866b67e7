# Board: emulated ARM MPS2-AN385 (Cortex-M3, 25 MHz) in qemu-system-arm.
# UART0 REPL/console, UART1 P1 (H1) output, UART2 HAN bridge (HAN issue),
# UART3 host-driven input lines (tools/emu.py), two FPGAIO user LEDs.
NAME = "emu-mps2"
MPY_ARCH = "armv7m"

P1_UART = 1
HAN_UART = 2
LINES_UART = 3
LINE_DATA_REQUEST = 0  # host line 0: P1 Data Request (RTS of the reader)
LED_POWER = 0
LED_ALERT = 1
# The simulated front end: three phases at 2 kHz per channel, replayed from a table (the
# emulated core synthesizes nothing per sample in real time).
PHASES = 3
RATE_HZ = 2000


def metrology_config():
    from metrology.config import MetrologyConfig

    return MetrologyConfig(phases=PHASES, rate_hz=RATE_HZ, v_scale=0.25, i_scale=0.05)


def make_hal():
    from hal import Hal
    from hal.clock import SystemClock
    from hal.emu_mps2 import CmsdkUart, FpgaLeds, HostLines
    from hal.radio import NullRadio
    from hal.adc_sim import TableADC, household
    from hal.sim import RamBlockDevice

    lines = HostLines(CmsdkUart(LINES_UART))
    return Hal(
        NAME,
        clock=SystemClock(),
        p1_uart=CmsdkUart(P1_UART, 115200),
        data_request=lines.pin(LINE_DATA_REQUEST),
        leds=FpgaLeds(),
        # No ADC and no flash are modelled by QEMU for this board: the simulated front end
        # and a RAM block device stand in (persistent flash comes with the registers issue).
        adc=TableADC(household(RATE_HZ), cycles=4),
        flash=RamBlockDevice(block_count=8),
        radio=NullRadio(),
    )
