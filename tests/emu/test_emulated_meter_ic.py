"""Tier 3: the meter on the emulated board with a metering IC as its front end
(`make run RUN_ARGS="--front-end atm90e32"`): the ATM90E32AS driver reads the chip's fake
(hal/atm90e32_sim.py, advanced by the board's clock) once a second through ICMetrology, and
P1, read by dsmr_parser with its CRC checked, shows the household load of
boards/emu-mps2/board.py: per-phase power equal to V * I * cos (plus L3's 3rd harmonic)
computed here, and the import register growing by that power times the time."""
import math
import re
import subprocess
import sys

from dsmr_parser import telegram_specifications
from dsmr_parser.parsers import TelegramParser

from conftest import ROOT

# hal.adc_sim.household(): (V, I, lag degrees, 3rd harmonic V and I fractions) per phase
LOAD = ((231.0, 6.5, 0.0, 0.0, 0.0), (229.0, 3.2, 35.0, 0.0, 0.0),
        (232.5, 1.8, -20.0, 0.02, 0.35))


def expected_w(v, i, lag, vf3, if3):
    # The fundamental and the 3rd harmonic, whose current lags by 3 times the fundamental's.
    return v * i * (math.cos(math.radians(lag)) + vf3 * if3 * math.cos(math.radians(3 * lag)))


def test_the_meter_with_an_atm90e32_front_end_reports_its_load_on_p1(tmp_path):
    capture = tmp_path / "p1.bin"
    proc = subprocess.run([sys.executable, "-m", "tools.emu", "run", "--front-end", "atm90e32",
                           "--seconds", "8", "--uart1", str(capture), "--flash",
                           str(tmp_path / "meter-flash.bin")],
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = capture.read_bytes()
    found = [m.group(0) for m in re.finditer(rb"/[^!]*![0-9A-F]{4}\r\n", data)]
    assert len(found) >= 6
    parser = TelegramParser(telegram_specifications.V5, apply_checksum_validation=True)
    parsed = [parser.parse(t.decode(), throw_ex=True) for t in found]
    powers = ("INSTANTANEOUS_ACTIVE_POWER_L1_POSITIVE", "INSTANTANEOUS_ACTIVE_POWER_L2_POSITIVE",
              "INSTANTANEOUS_ACTIVE_POWER_L3_POSITIVE")
    total = 0.0
    for name, load in zip(powers, LOAD):
        want = expected_w(*load)
        total += want
        got = float(getattr(parsed[-1], name).value) * 1000
        assert abs(got - want) <= want * 0.01 + 1.0, (name, got, want)
    assert abs(float(parsed[-1].CURRENT_ELECTRICITY_USAGE.value) * 1000 - total) <= total * 0.01
    # The import register over the telegrams' span (Wh in P1; the first and last telegram
    # may each sit up to 1 Wh off the exact energy).
    def import_wh(t):
        return float(t.ELECTRICITY_USED_TARIFF_1.value + t.ELECTRICITY_USED_TARIFF_2.value) * 1000
    span = (parsed[-1].P1_MESSAGE_TIMESTAMP.value
            - parsed[0].P1_MESSAGE_TIMESTAMP.value).total_seconds()
    grown = import_wh(parsed[-1]) - import_wh(parsed[0])
    assert abs(grown - total * span / 3600) <= 2.0, (grown, total * span / 3600)
    assert "meter L1 231.0V 6.500A 1502W" in proc.stdout
