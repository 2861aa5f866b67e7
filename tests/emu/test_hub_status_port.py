"""Tier 3, issue 13's diagnostics read from outside the running emulated board: make run
--han coordinator --console-port PORT (tools/emu_console_port.py) runs in the background
with the host gas meter joining; once it has joined, `python -m tools.hub status --port
socket://127.0.0.1:PORT` (a separate process, as a user runs it) types HUB STATUS on the
board's console through the port and reads the hub's answer amid the meter's other output:
the gas meter with its installation and current link quality, frames both ways, and the
transaction log with its join and its verified link key; the plain table shows the same.
Then Ctrl-C stops make run the way a user does (a power-fail warning first).
"""
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time

from conftest import ROOT

GAS_EXT = "0004a30b0000d003"  # tools/emu_han.py HOST_GAS_EXT
GAS_LOW32 = 0x0000D003  # its low 32 bits: the log entries' device field (han/diag.py)
EV_HAN_JOINED, EV_HAN_KEY_VERIFIED = 61, 63  # registers/logs.py


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Run:
    """make run in the background; its output lines collected by a thread."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([sys.executable, "-m", "tools.emu", "run"] + list(args),
                                     cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, errors="replace")
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def out(self):
        return "\n".join(self.lines)

    def wait_for(self, pattern, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.out(), re.M)
            if m:
                return m
            assert self.proc.poll() is None, self.out()[-4000:]
            time.sleep(0.2)
        raise AssertionError("no %r in make run's output:\n%s" % (pattern, self.out()[-4000:]))

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # Ctrl-C: make run's own power cut
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(5)
        return self.proc.returncode


def hub_status(port, *args):
    proc = subprocess.run([sys.executable, "-m", "tools.hub", "status", "--port",
                           "socket://127.0.0.1:%d" % port, "--timeout", "15"] + list(args),
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_tools_hub_status_against_the_running_emulated_board(tmp_path):
    port = free_port()
    run = Run("--seconds", "120", "--han", "coordinator", "--console-port", str(port),
              "--flash", str(tmp_path / "meter-flash.bin"))
    try:
        run.wait_for(r"^\[emu\] console on socket://127\.0\.0\.1:%d" % port, 10)
        run.wait_for(r"^\[gas\] han zigbee joined short 0x[0-9a-f]{4} tclk verified", 90)
        short = int(run.wait_for(r"^han associated %s short 0x([0-9a-f]{4})" % GAS_EXT,
                                 1).group(1), 16)
        status = json.loads(hub_status(port, "--json"))
        text = hub_status(port)
    finally:
        rc = run.stop()
    out = run.out()
    assert rc == 0 and "Traceback" not in out, out[-4000:]

    assert status["complete"], status
    devices = {d["eui64"].lower().replace(":", ""): d for d in status["devices"]}
    gas = devices[GAS_EXT]
    assert gas["state"] == "verified" and gas["short"] == "0x%04x" % short, gas
    for d in status["devices"]:  # every device that has joined, the gas meter among them
        if d["state"] in ("joined", "verified"):  # the display may be half way through
            assert 0 < d["install_lqi"] <= 255 and d["install_utc"] is not None, d
            assert d["lqi"] is None or 0 < d["lqi"] <= 255, d
        if d["state"] == "verified":
            assert 0 < d["lqi"] <= 255 and d["frames_in"] > 0 and d["frames_out"] > 0, d
    entries = [(e["code"], e["a"], e["b"]) for e in status["log"]]
    assert (EV_HAN_JOINED, GAS_LOW32, short) in entries, entries
    assert (EV_HAN_KEY_VERIFIED, GAS_LOW32, short) in entries, entries
    # The plain table: the same device, its short address, the decoded log.
    assert re.search(r"^%s\s+0x%04x\s" % (GAS_EXT, short),
                     text.replace(":", "").lower(), re.M), text
    assert "joined" in text and "link key verified" in text, text
    # make run showed the two HUB STATUS lines the port typed, and the hub answered both.
    assert len(re.findall(r"^\[emu\] console port [0-9.:]+: HUB STATUS$", out, re.M)) == 2
    assert len(re.findall(r"^HUB END \d+ \d+", out, re.M)) == 2, out[-4000:]
    print(text)
