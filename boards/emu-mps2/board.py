# Board: emulated ARM MPS2-AN385 (Cortex-M3, 25 MHz) in qemu-system-arm.
# UART0 REPL/console, UART1 P1 (H1) output, UART2 HAN bridge (HAN issue),
# UART3 host-driven input lines (tools/emu.py), two FPGAIO user LEDs.
NAME = "emu-mps2"
MPY_ARCH = "armv7m"

P1_UART = 1
HAN_UART = 2
LINES_UART = 3
LINE_DATA_REQUEST = 0  # host line 0: P1 Data Request (RTS of the reader)
LINE_POWER_WARNING = 1  # host line 1: the supply monitor's power-fail early warning
LED_POWER = 0
LED_ALERT = 1
# No RTC: the time resumes from flash at each boot, unsynchronised, unless the runner sets
# it from the host before the meter starts (make run passes main.run(utc=...): a sync).
CLOCK_KEEPS_TIME = False
# The simulated front end: three phases at 2 kHz per channel, replayed from a table (the
# emulated core synthesizes nothing per sample in real time). FRONT_END "atm90e32" or
# "ade7953" meters instead with that metering IC's driver over its fake chip, loaded with
# the same household (one phase of it for the ADE7953): the runner sets it before main.run
# (`make run RUN_ARGS="--front-end atm90e32"`).
FRONT_END = "table"
RATE_HZ = 2000


def _phases():
    return 1 if FRONT_END == "ade7953" else 3
# CMSDK APB watchdog: lost 4 s after the last feed, reset 4 s later (docs/supervision.md).
WATCHDOG_MS = 4000


def metrology_config():
    from metrology.config import MetrologyConfig

    return MetrologyConfig(phases=_phases(), rate_hz=RATE_HZ, v_scale=0.25, i_scale=0.05)


def _front_end(clock):
    """(adc, meter_ic) of the chosen front end."""
    from hal.adc_sim import household

    load = household(RATE_HZ)
    if FRONT_END == "table":
        from hal.adc_sim import TableADC

        return TableADC(load, cycles=4), None
    from hal.meter_ic_sim import meter_ic

    return None, meter_ic(FRONT_END, clock, load.phases[:_phases()])


def _flash(host_file_flash, ram_block_device):
    # The host file through semihosting (QEMU -semihosting, as tools/emu.py starts it);
    # RAM that forgets at power-off where the emulator offers no semihosting.
    try:
        return host_file_flash("meter-flash.bin", block_size=4096, block_count=128)
    except OSError:
        return ram_block_device(block_size=4096, block_count=128)


def make_hal():
    from hal import Hal
    from hal.clock import SystemClock
    from hal.emu_mps2 import (CmsdkUart, CmsdkWatchdog, ConsoleRx, FpgaLeds, HostFileFlash,
                              HostLines)
    from han.radio_bridge import BridgeRadio
    from hal.sim import RamBlockDevice

    lines = HostLines(CmsdkUart(LINES_UART))
    clock = SystemClock()
    adc, chip = _front_end(clock)
    return Hal(
        NAME,
        clock=clock,
        console=ConsoleRx(),  # the configuration channel's input (app/console.py)
        p1_uart=CmsdkUart(P1_UART, 115200),
        data_request=lines.pin(LINE_DATA_REQUEST),
        power_warning=lines.pin(LINE_POWER_WARNING),
        leds=FpgaLeds(),
        # QEMU models no ADC for this board: the simulated front end (or a metering IC's
        # fake) stands in. The flash is a file on the host (see _flash).
        adc=adc,
        meter_ic=chip,
        flash=_flash(HostFileFlash, RamBlockDevice),
        # The HAN radio: UART2 bridged to the simulated medium's server (tools/emu.py
        # connects it when asked to; otherwise QEMU discards what goes out).
        radio=BridgeRadio(CmsdkUart(HAN_UART, 115200)),
        watchdog=CmsdkWatchdog(WATCHDOG_MS),
    )
