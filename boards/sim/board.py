# Board: the host simulation (CPython and the MicroPython unix port). Everything is
# deterministic and reachable from tests: inject P1 Data Request, read what P1 sent.
NAME = "sim"
MPY_ARCH = "x64"

LED_POWER = 0
LED_ALERT = 1
CLOCK_KEEPS_TIME = True  # the host's clock
PHASES = 3
RATE_HZ = 4000


def metrology_config():
    from metrology.config import MetrologyConfig

    return MetrologyConfig(phases=PHASES, rate_hz=RATE_HZ, v_scale=0.25, i_scale=0.05)


def make_hal():
    import time

    from hal import Hal
    from hal.adc_sim import ScenarioADC, household
    from hal.clock import SystemClock
    from hal.radio import NullRadio
    from hal.sim import RamBlockDevice, SimLeds, SimPin, SimUART

    return Hal(
        NAME,
        clock=SystemClock(utc_at_boot=int(time.time())),  # the host's clock is the RTC
        console=None,
        p1_uart=SimUART(115200, invert_tx=True),
        data_request=SimPin(1),
        leds=SimLeds(2),
        adc=ScenarioADC(household(RATE_HZ)),
        flash=RamBlockDevice(block_count=128),  # 512 KiB, room for the load profile
        radio=NullRadio(),
    )
