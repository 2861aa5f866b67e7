# Board: the host simulation (CPython and the MicroPython unix port). Everything is
# deterministic and reachable from tests: inject P1 Data Request, read what P1 sent.
NAME = "sim"
MPY_ARCH = "x64"

LED_POWER = 0
LED_ALERT = 1


def make_hal():
    from hal import Hal
    from hal.clock import SystemClock
    from hal.radio import NullRadio
    from hal.adc_sim import Scenario, ScenarioADC
    from hal.sim import RamBlockDevice, SimLeds, SimPin, SimUART

    return Hal(
        NAME,
        clock=SystemClock(),
        console=None,
        p1_uart=SimUART(115200, invert_tx=True),
        data_request=SimPin(1),
        leds=SimLeds(2),
        adc=ScenarioADC(Scenario()),
        flash=RamBlockDevice(block_count=32),
        radio=NullRadio(),
    )
