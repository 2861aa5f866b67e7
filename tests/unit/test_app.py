# Application skeleton: status indication (seed 003 section 9) and main.run on the sim board.
import main
from app.status import StatusIndicator, status_line
from hal.clock import FakeClock
from hal.sim import SimLeds, SimPin


def test_power_led_on_alert_led_blinks_only_with_alerts():
    leds = SimLeds(2)
    ind = StatusIndicator(leds)
    assert leds.state == [True, False]
    seen = []
    for _ in range(4):
        ind.tick()
        seen.append(leds.state[1])
    assert seen == [False, False, False, False]
    ind.raise_alert("adc")
    seen = []
    for _ in range(4):
        ind.tick()
        seen.append(leds.state[1])
    assert seen == [True, False, True, False] or seen == [False, True, False, True]
    ind.clear_alert("adc")
    ind.tick()
    ind.tick()
    assert leds.state == [True, False]
    assert ind.alerts == []


def test_single_led_blinks_for_alert():
    leds = SimLeds(1)
    ind = StatusIndicator(leds)
    ind.tick()
    ind.tick()
    assert leds.state == [True]  # steady: powered, no alert
    ind.raise_alert("adc")
    seen = []
    for _ in range(4):
        ind.tick()
        seen.append(leds.state[0])
    assert sorted(seen) == [False, False, True, True]


def test_status_line_fields():
    clock = FakeClock(utc=1700000000)
    ind = StatusIndicator(None)
    ind.raise_alert("tamper")
    line = status_line(7, clock, SimPin(1), ind)
    assert line.startswith("status uptime=7s utc=1700000000 heap_free=")
    assert "data_request=1" in line and "alerts=tamper" in line


def test_main_runs_on_sim_board():
    import board

    lines = []
    hal = main.run(seconds=3, board_module=board, out=lines.append)
    assert lines[0].startswith("meter-fw ")
    assert "board=sim" in lines[0]
    status = [ln for ln in lines if ln.startswith("status ")]
    assert [ln.split()[1] for ln in status] == ["uptime=1s", "uptime=2s", "uptime=3s"]
    # A fresh sim board has no provisioning record: it says so, and invents nothing.
    assert "alerts=unprovisioned" in status[0] and status[0].endswith("id=unprovisioned")
    metering = [ln for ln in lines if ln.startswith("meter ")]
    assert len(metering) >= 1 and " | L3 " in metering[-1]  # the sim board has 3 phases
    sent = bytes(hal.p1_uart.written())
    assert sent.count(b"!") >= 1  # a telegram went out, after the first metering period
    assert b"0-0:96.1.1" not in sent  # no identity line without a provisioned identity
    assert b"0-0:96.13.0()" in sent  # no text message configured: the line is empty
    assert b"0-1:24.2.1" not in sent  # no gas reading: no M-Bus lines
    assert hal.leds.state[0] is True  # power indication
