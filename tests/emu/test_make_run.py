"""Tier 3: `make run`'s runner (python -m tools.emu run) boots the meter on the emulated
board, shows the console, stops by itself after --seconds and keeps UART1's bytes."""
import os
import subprocess
import sys

from conftest import ROOT


def test_run_for_a_few_seconds_with_uart1_capture(tmp_path):
    capture = tmp_path / "u1.bin"
    proc = subprocess.run([sys.executable, "-m", "tools.emu", "run", "--seconds", "4",
                           "--uart1", str(capture)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "MicroPython v1.25" in out
    assert "import main; main.run()" in out
    assert "meter-fw " in out and "board=emu-mps2" in out
    assert "status uptime=1s" in out and "data_request=1" in out
    assert os.path.exists(capture)
    assert "[emu] stopped; UART1 sent %d bytes" % capture.stat().st_size in out


def test_run_with_data_request_low():
    proc = subprocess.run([sys.executable, "-m", "tools.emu", "run", "--seconds", "3",
                           "--data-request", "0"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "status uptime=1s" in proc.stdout and "data_request=0" in proc.stdout
    assert "data_request=1" not in proc.stdout
