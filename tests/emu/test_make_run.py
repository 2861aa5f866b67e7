"""Tier 3: `make run`'s runner (python -m tools.emu run) boots the meter on the emulated
board, shows the console and the metering, and P1 telegrams arrive on UART1: checked with
dsmr_parser (PyPI), CRC on, one telegram per emulated second."""
import os
import re
import subprocess
import sys

from dsmr_parser import telegram_specifications
from dsmr_parser.parsers import TelegramParser

from conftest import ROOT


def emu_run(*args):
    proc = subprocess.run([sys.executable, "-m", "tools.emu", "run"] + list(args), cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def telegrams(data):
    return [m.group(0) for m in re.finditer(rb"/[^!]*![0-9A-F]{4}\r\n", data)]


def test_ten_seconds_leave_nine_telegrams_one_per_second(tmp_path):
    capture = tmp_path / "p1.bin"
    out = emu_run("--seconds", "10", "--uart1", str(capture))
    assert "MicroPython v1.25" in out and "board=emu-mps2" in out
    # live metering of the simulated 3-phase front end (boards/emu-mps2/board.py scenario)
    meter = [ln for ln in out.splitlines() if ln.startswith("meter L1 ")]
    assert len(meter) >= 8
    m = re.match(r"meter L1 ([\d.]+)V ([\d.]+)A (\d+)W PF\+([\d.]+) \| L2 ([\d.]+)V", meter[-1])
    assert m and abs(float(m.group(1)) - 231.0) < 0.5 and abs(float(m.group(2)) - 6.5) < 0.05
    assert abs(int(m.group(3)) - 1502) < 10 and float(m.group(4)) > 0.99
    data = capture.read_bytes()
    found = telegrams(data)
    assert len(found) >= 9
    assert b"".join(found) == data  # nothing else on the line, nothing partial
    parser = TelegramParser(telegram_specifications.V5, apply_checksum_validation=True)
    stamps = []
    for t in found:
        parsed = parser.parse(t.decode(), throw_ex=True)
        stamps.append(parsed.P1_MESSAGE_TIMESTAMP.value)
        # what the metrology measured is what P1 reports (L1 voltage, 231.0 V)
        assert abs(float(parsed.INSTANTANEOUS_VOLTAGE_L1.value) - 231.0) < 0.5
    gaps = [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:])]
    assert gaps == [1.0] * len(gaps)
    assert "[emu] stopped; UART1 sent %d bytes" % len(data) in out


def test_profile_is_selectable():
    out = emu_run("--seconds", "3", "--profile", "be")
    assert "[p1]   0-0:96.1.4(50217)" in out  # Fluvius e-MUCS H version line
    assert "CRC ok" in out and "CRC BAD" not in out


def test_no_telegram_while_data_request_is_low(tmp_path):
    capture = tmp_path / "p1.bin"
    out = emu_run("--seconds", "3", "--data-request", "0", "--uart1", str(capture))
    assert "status uptime=2s" in out and "data_request=0" in out
    assert "data_request=1" not in out
    assert os.path.getsize(capture) == 0
