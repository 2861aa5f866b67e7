"""Data Request on a real modem line, end to end on the host (issue 14: "the serial target
runs here ... with Data Request on a modem line, as it would on a USB-serial adapter").
Linux ptys carry no modem lines, so the cable is tools.nullmodem: two RFC 2217 servers,
end A's RTS is end B's CTS. tools.p1_emulate --data-request rts sits on end A as the meter;
the reader on end B raises and drops its RTS:
- by hand (pyserial): silence while RTS is low, a telegram a second while high, silence
  again after the drop with the telegram under way whole;
- through the BAIOP runner, target serial:rfc2217://...,data-request=rts: every case of
  h1_data_request passes; with --fault dr-ignore (the emulator sends while the line is
  low) the cases that state "no telegram starts while low" fail, and only those.
- the cable alone: data both ways (0xFF included), RTS -> CTS, DTR -> DSR and CD, the
  lines dropped when a client leaves, a baud-rate mismatch reported, exit 0 on SIGTERM.
Each rig (cable + emulator) is its own; the two runner runs go in parallel with the
other tests (about 40 s in all)."""
import os
import re
import select
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import serial

from support import crc16_reflected

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TELEGRAM = re.compile(rb"/[^/!]*![0-9A-F]{4}\r\n")
DR_CASES = {"Silent_While_Low", "High_Again_Resumes", "First_Telegram_Within_One_Second",
            "Low_Mid_Telegram_Completes", "Glitch_Mid_Telegram", "Glitch_While_Idle"}
# dr-ignore keeps sending while Data Request is low: the two cases that watch for a
# telegram starting after the line fell must fail (docs/bap/h1.md H1-FUN-003, H1-COM-012);
# the others raise the line again before they look, and see what a good meter sends.
DR_IGNORE_FAILS = {"h1_data_request.Silent_While_Low",
                   "h1_data_request.Low_Mid_Telegram_Completes"}


def crc_ok(telegram):
    # CRC-16/ARC (DSMR 5.0.2 6.2), bit by bit in tests/unit/support.py.
    bang = telegram.rindex(b"!")
    return telegram[bang + 1:bang + 5] == b"%04X" % crc16_reflected(telegram[:bang + 1],
                                                                    0xA001)


class Rig:
    """tools.nullmodem, and tools.p1_emulate (profile nl, Data Request on RTS) on end A."""

    def __init__(self, tmp, faults=()):
        self.procs = []
        self.nm = self._start([sys.executable, "-m", "tools.nullmodem", "0", "0"],
                              tmp / "nullmodem.err", stdout=subprocess.PIPE)
        ready, _, _ = select.select([self.nm.stdout], [], [], 20)
        line = self.nm.stdout.readline().decode() if ready else ""
        ports = re.findall(r"rfc2217://127\.0\.0\.1:(\d+)", line)
        assert len(ports) == 2, "tools.nullmodem printed %r" % line
        self.a, self.b = ("rfc2217://127.0.0.1:%s" % p for p in ports)
        args = [sys.executable, "-m", "tools.p1_emulate", "--port", self.a, "--profile",
                "nl", "--data-request", "rts"]
        for f in faults:
            args += ["--fault", f]
        self.emu_err = tmp / "emulate.err"
        self.emu = self._start(args, self.emu_err)

    def _start(self, args, err, stdout=subprocess.DEVNULL):
        with open(err, "wb") as f:
            p = subprocess.Popen(args, cwd=ROOT, stdout=stdout, stderr=f)
        self.procs.append(p)
        return p

    def why(self):
        return "tools.p1_emulate: %s" % self.emu_err.read_text(errors="replace")[-2000:]

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                p.wait(10)
            if p.stdout is not None:
                p.stdout.close()


def reader(rig):
    """End B opened with RTS and DTR low from the start; returns once the emulator is on
    end A (its port raised its own RTS on opening: our CTS)."""
    port = serial.serial_for_url(rig.b, 115200, timeout=0.02, do_not_open=True)
    port.rts = port.dtr = False
    port.open()
    end = time.monotonic() + 20
    while not port.cts:
        assert rig.emu.poll() is None and time.monotonic() < end, rig.why()
        time.sleep(0.02)
    return port


def read_for(port, seconds):
    """(bytes, [(monotonic time, offset of each chunk)])."""
    data, marks = bytearray(), []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        chunk = port.read(4096)
        if chunk:
            marks.append((time.monotonic(), len(data)))
            data += chunk
    return bytes(data), marks


def starts(data, marks):
    """Arrival time of each telegram's '/' (the chunk it came in)."""
    out = []
    for m in re.finditer(rb"/", data):
        out.append(max(t for t, off in marks if off <= m.start()))
    return out


def baiop(out, target):
    proc = subprocess.run([sys.executable, "-m", "tools.baiop", "run", "--target", target,
                           "--profile", "nl", "--suite", "h1_data_request", "--out",
                           str(out)], cwd=ROOT, capture_output=True, timeout=120)
    return proc.returncode, (proc.stdout + proc.stderr).decode(errors="replace")


def runner_against(tmp, faults):
    tmp.mkdir()
    rig = Rig(tmp, faults)
    try:
        port = reader(rig)  # the emulator is connected: then hand end B to the runner
        port.close()
        rc, log = baiop(tmp / "out", "serial:%s,data-request=rts" % rig.b)
    finally:
        rig.stop()
    from tools.baiop.__main__ import results_of

    xml = tmp / "out" / "output.xml"
    assert xml.exists(), log + rig.why()
    return rc, log, results_of(str(xml)), (tmp / "out" / "junit.xml").read_text()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The two runner runs, started at once (each mostly waits for its telegrams)."""
    base = tmp_path_factory.mktemp("modem-lines")
    pool = ThreadPoolExecutor(2)
    jobs = {"clean": pool.submit(runner_against, base / "clean", ()),
            "dr-ignore": pool.submit(runner_against, base / "dr-ignore", ("dr-ignore",))}
    yield jobs
    pool.shutdown(wait=True)


def test_rts_gates_the_emulator_over_the_null_modem_cable(runs, tmp_path):
    rig = Rig(tmp_path)
    try:
        port = reader(rig)
        # RTS low: nothing at all.
        data, _ = read_for(port, 2.5)
        assert data == b"", data[:80]
        # RTS high: the first telegram at the next whole second, then one a second.
        port.rts = True
        t_high = time.monotonic()
        data, marks = read_for(port, 3.6)
        found = TELEGRAM.findall(data)
        assert b"".join(found) == data, data[:200]  # whole telegrams, nothing between
        assert 3 <= len(found) <= 5 and all(crc_ok(t) for t in found), len(found)
        assert all(t.startswith(b"/MPY5\\2H1-NL\r\n\r\n") for t in found), found[0][:20]
        t = starts(data, marks)
        assert t[0] - t_high < 1.3, t[0] - t_high
        gaps = [b - a for a, b in zip(t, t[1:])]
        assert all(0.8 < g < 1.2 for g in gaps), gaps
        # RTS dropped as a telegram begins: that one arrives whole, no other starts.
        head = b""
        end = time.monotonic() + 3
        while b"/" not in head and time.monotonic() < end:
            head += port.read(4096)
        port.rts = False
        data, _ = read_for(port, 2.5)
        tail = head[head.find(b"/"):] + data
        assert TELEGRAM.fullmatch(tail) and crc_ok(tail), tail[-200:]
        port.close()
        assert rig.emu.poll() is None, rig.why()
    finally:
        rig.stop()


def test_the_nullmodem_crosses_data_and_modem_lines():
    nm = subprocess.Popen([sys.executable, "-m", "tools.nullmodem", "0", "0"], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ports = re.findall(rb"rfc2217://127\.0\.0\.1:(\d+)", nm.stdout.readline())
        a = serial.serial_for_url("rfc2217://127.0.0.1:%s" % ports[0].decode(), 115200,
                                  timeout=1)
        b = serial.serial_for_url("rfc2217://127.0.0.1:%s" % ports[1].decode(), 9600,
                                  timeout=1, do_not_open=True)
        b.rts = b.dtr = False
        b.open()
        # pyserial opens with RTS and DTR high (a's outputs), b's as set before opening.
        assert (b.cts, b.dsr, b.cd, a.cts, a.dsr, a.cd) == (True, True, True,
                                                            False, False, False)
        block = bytes(range(256)) * 8  # 0xFF goes as IAC IAC both ways
        a.write(block)
        assert b.read(len(block)) == block
        b.write(b"\xff\x00/P1\r\n")
        assert a.read(7) == b"\xff\x00/P1\r\n"
        b.rts = True  # returns after the server's SET-CONTROL reply; a's notification
        time.sleep(0.05)  # was sent before that reply
        assert (a.cts, a.dsr, a.cd) == (True, False, False)
        b.dtr = True
        time.sleep(0.05)
        assert (a.cts, a.dsr, a.cd) == (True, True, True)
        b.rts = False
        time.sleep(0.05)
        assert (a.cts, a.dsr) == (False, True)
        b.close()  # a closed port drops its outputs
        time.sleep(0.1)
        assert (a.cts, a.dsr, a.cd) == (False, False, False)
        a.close()
    finally:
        nm.terminate()
        assert nm.wait(10) == 0
    # b opened at 9600 while a ran at 115200: reported, not refused.
    assert b"baudrate: B 9600, A 115200" in nm.stderr.read()


def test_the_runner_passes_data_request_over_rfc2217(runs):
    rc, log, verdicts, junit = runs["clean"].result()
    dr = {c.split(".", 1)[1]: v for c, v in verdicts.items()
          if c.startswith("h1_data_request.")}
    assert dr == dict.fromkeys(DR_CASES, "PASS"), log
    assert rc == 0, log
    assert 'failures="0"' in junit and "Silent_While_Low" in junit


def test_the_runner_catches_dr_ignore_over_rfc2217(runs):
    rc, log, verdicts, junit = runs["dr-ignore"].result()
    failed = {c for c, v in verdicts.items() if v == "FAIL"}
    assert failed == DR_IGNORE_FAILS, log
    assert {c for c, v in verdicts.items() if v == "PASS"} == \
        {"h1_data_request." + c for c in DR_CASES} - DR_IGNORE_FAILS
    assert rc == 1, log
