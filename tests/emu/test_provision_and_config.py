"""Tier 3: the user's path on the emulated board, as on a real one. python -m tools.provision
writes the identity and keys over mpremote; the meter then starts with them (console,
P1 identifier); python -m tools.config delivers a signed command through the console while
the meter runs (the text message appears in P1), and a replay of it is refused."""
import json
import os
import re
import subprocess
import sys
import time

from conftest import ROOT
from tools.emu import PROMPT, EmulatedBoard

CONFIG_KEY = "a5" * 32
DEVICE = {"serial": "TST-0042", "p1_equipment_id": "E0099000000000042",
          "config_key": CONFIG_KEY}


def tool(*args, timeout=120):
    proc = subprocess.run([sys.executable, "-m"] + list(args), cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


def test_provision_then_configure_through_the_console(tmp_path):
    device = tmp_path / "device.json"
    device.write_text(json.dumps(DEVICE))
    counters = str(tmp_path / "counter")
    board = EmulatedBoard(flash_dir=str(tmp_path / "flash")).start()
    try:
        board.open_console()
        board.wait_console(PROMPT, timeout=30)
        os.close(board.console_fd)  # the REPL goes to mpremote
        board.console_fd = None
        rc, out = tool("tools.provision", "--file", str(device), "--port", board.pty)
        assert rc == 0 and "provisioned: serial=TST-0042 keys=config_key" in out, out

        board.open_console()
        board.write_console(b"\r")
        board.wait_console(PROMPT, timeout=30)
        board.set_data_request(1)
        start = len(board.console_log)
        board.write_console("import main; main.run(seconds=30, utc=%d)\r" % int(time.time()))
        board.wait_console(b"provisioning: serial=TST-0042", timeout=30, start=start)
        board.wait_console(b"status uptime=3s", timeout=30, start=start)
        status = board.console_log[start:].decode(errors="replace")
        assert "id=TST-0042" in status and "alerts=none" in status

        # The configuration channel: the tool types a signed CFG line on the console.
        os.close(board.console_fd)
        board.console_fd = None
        text_cmd = ("tools.config", "--key", CONFIG_KEY, "--counter-file", counters,
                    "--port", board.pty, "set-text", "Storing 12/2026")
        rc, out = tool(*text_cmd)
        assert rc == 0 and "CFG OK 6" in out, out
        # QEMU's pty drops what the guest writes until it notices a reader again (it looks
        # about once a second after the last one closed): a real serial port needs no pause.
        time.sleep(1.5)
        # The same counter again: refused as a replay, nothing changes.
        rc, out = tool("tools.config", "--key", CONFIG_KEY, "--counter", "1",
                       "--port", board.pty, "set-text", "forged replay")
        assert "CFG REJECTED replay" in out, out

        board.open_console()
        board.wait_console(b"status uptime=29s", timeout=60, start=start)
        text_hex = b"Storing 12/2026".hex().upper().encode()
        forged_hex = b"forged replay".hex().upper().encode()
        telegrams = re.findall(rb"/[^!]*![0-9A-F]{4}\r\n", bytes(board.uart1_bytes))
        assert telegrams
        assert b"E0099000000000042".hex().upper().encode() in telegrams[0]
        assert any(b"0-0:96.13.0(" + text_hex + b")" in t for t in telegrams)
        assert not any(forged_hex in t for t in telegrams)
    finally:
        board.stop()
