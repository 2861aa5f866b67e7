"""Tier 3 fixtures: one emulated board (QEMU MPS2-AN385 running build/emu-mps2/firmware.elf)
per test module, its REPL on a pty that mpremote connects to. QEMU or the image missing is a
failure, not a skip."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from tools.emu import PROMPT, EmulatedBoard, EmulatorError  # noqa: E402

MPREMOTE = os.path.join(ROOT, ".venv", "bin", "mpremote")


@pytest.fixture(scope="module")
def board():
    try:
        b = EmulatedBoard().start()
    except EmulatorError as e:
        pytest.fail("tier 3 cannot run: %s" % e)
    try:
        b.open_console()
        b.wait_console(PROMPT, timeout=30)
        b.banner = b.console_log.decode(errors="replace")
        os.close(b.console_fd)  # hand the REPL over to mpremote
        b.console_fd = None
        yield b
    finally:
        b.stop()


def mpremote(board, *args, timeout=120):
    """Run mpremote against the board's REPL pty; return its stdout (fails on error)."""
    proc = subprocess.run([MPREMOTE, "connect", board.pty] + list(args), cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, "mpremote %s failed:\n%s\n%s" % (args, proc.stdout, proc.stderr)
    return proc.stdout


def device_exec(board, code, timeout=120):
    return mpremote(board, "exec", code, timeout=timeout)
