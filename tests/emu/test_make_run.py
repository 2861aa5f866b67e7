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


def test_profile_is_selectable(tmp_path):
    out = emu_run("--seconds", "3", "--profile", "be", "--flash",
                  str(tmp_path / "meter-flash.bin"))
    assert re.search(r"BELGIUM_VERSION_INFORMATION +50217", out)  # e-MUCS H 0-0:96.1.4
    assert "header /MPY5\\2H1-BE" in out
    assert "CRC ok" in out and "CRC bad" not in out


def test_encrypted_profile_and_its_frame_counter_across_a_power_cycle(tmp_path):
    # Luxembourg Smarty: AES-128-GCM frames (decrypted and authenticated by the host reader);
    # the frame counter lives in the registers' store, so a new boot never reuses one.
    flash = str(tmp_path / "meter-flash.bin")
    key = "000102030405060708090A0B0C0D0E0F"
    first = emu_run("--seconds", "3", "--profile", "lu", "--key", key, "--flash", flash)
    second = emu_run("--seconds", "3", "--profile", "lu", "--key", key, "--flash", flash)
    counters = []
    for out in (first, second):
        found = re.findall(r"encrypted frame, \d+ bytes, counter (\d+), tag ok", out)
        assert found, out[-2000:]
        counters.append([int(c) for c in found])
        assert "header /MPY5\\2H1-LU" in out and "CRC ok" in out
    assert min(counters[1]) > max(counters[0])


def test_no_telegram_while_data_request_is_low(tmp_path):
    capture = tmp_path / "p1.bin"
    out = emu_run("--seconds", "3", "--data-request", "0", "--uart1", str(capture))
    assert "status uptime=2s" in out and "data_request=0" in out
    assert "data_request=1" not in out
    assert os.path.getsize(capture) == 0


def _register(telegram, obis):
    m = re.search(re.escape(obis).encode() + rb"\((\d+\.\d+)\*kWh\)", telegram)
    return float(m.group(1))


def _count(telegram, obis):
    return int(re.search(re.escape(obis).encode() + rb"\((\d+)\)", telegram).group(1))


def test_registers_survive_an_emulated_power_cycle(tmp_path):
    # Two runs on the same host file as flash: the second boots with the first one's
    # registers (saved on the supply monitor's warning at the end of the first run) and
    # counts the outage between them as a power failure (0-0:96.7.21).
    flash = str(tmp_path / "meter-flash.bin")
    first = tmp_path / "first.bin"
    second = tmp_path / "second.bin"
    out = emu_run("--seconds", "6", "--flash", flash, "--uart1", str(first))
    assert "power-fail warning: registers saved" in out
    a = telegrams(first.read_bytes())
    b_out = emu_run("--seconds", "3", "--flash", flash, "--uart1", str(second))
    b = telegrams(second.read_bytes())
    assert a and b
    # about 2.5 kW for about 6 s: a few Wh, all in tariff 1 or 2 (the calendar decides)
    used_a = _register(a[-1], "1-0:1.8.1") + _register(a[-1], "1-0:1.8.2")
    used_b = _register(b[0], "1-0:1.8.1") + _register(b[0], "1-0:1.8.2")
    assert used_a >= 0.003
    assert used_b >= used_a  # nothing lost: the warning saved it
    assert _count(b[0], "0-0:96.7.21") == _count(a[-1], "0-0:96.7.21") + 1
    assert "board=emu-mps2" in b_out


def test_han_coordinator_with_a_host_gas_meter_and_display(tmp_path):
    # make run --han coordinator: the board's UART2 joins make run's own medium, where a
    # host gas meter (firmware/han/se/gasmeter.py, a sleepy ZigBee end device) and the host
    # display (tools/ihd) are registered on the board through the configuration path
    # (signed CFG lines), join by install code; the gas meter reports every 10 s and P1
    # carries its reading from the first report on; the display shows it and P1's kWh.
    from test_han_gas_p1 import (check_display, check_gas_in_p1, display_lines, json_lines,
                                 p1_gas, p1_kwh)

    pcap = tmp_path / "han.pcap"
    capture = tmp_path / "p1.bin"
    out = emu_run("--seconds", "40", "--han", "coordinator", "--gas-report-s", "10",
                  "--han-pcap", str(pcap), "--uart1", str(capture),
                  "--flash", str(tmp_path / "meter-flash.bin"))
    assert re.search(r"^han zigbee pan 0x[0-9a-f]{4} channel \d+ formed", out, re.M)
    assert len(re.findall(r"^CFG OK 8 \d+", out, re.M)) == 2
    for ext in ("0004a30b0000d003", "0004a30b0000d002"):  # gas meter, display
        assert "han registered %s" % ext in out
        assert re.search(r"^han associated %s short 0x[0-9a-f]{4}" % ext, out, re.M), ext
    readings = json_lines(out, "[gas] ")
    assert all(r["device"] == "gas" for r in readings)
    rows = p1_gas(capture.read_bytes())
    seen = check_gas_in_p1(rows, readings, b"G0099000000000003", 10)
    # make run's reader shows the M-Bus reading it decoded (dsmr_parser's MBUS_DEVICES)
    assert re.search(r"MBUS_METER_READING\s+\S+; %s m3" % re.escape(str(seen[-1][0])),
                     out), out[-3000:]
    shown = display_lines(out)
    assert all(s["device"] == "ihd" for s in shown)
    check_display(shown, readings, p1_kwh(capture.read_bytes()))
    m = re.search(r"\[emu\] HAN medium: 3 nodes, (\d+) frames on air", out)
    assert m and int(m.group(1)) >= 20 and pcap.stat().st_size > 24


SPECS = {"nl": "V5", "nl4": "V4", "be": "BELGIUM_FLUVIUS", "lu": "LUXEMBOURG_SMARTY",
         "se": "SWEDEN", "lt": "V5"}
SIM_IDENTITY = b"MPY-H1-SIM-000001".hex().upper().encode()  # what the old stand-in sent
SIM_TEXT = b"H1 simulation".hex().upper().encode()


def _total_kw(telegram):
    return float(re.search(rb"\n1-0:1\.7\.0\((\d+\.\d+)\*kW\)", telegram).group(1))


def test_every_profile_sends_measured_values_only(tmp_path):
    # Each profile from a fresh flash: the default provisioning of the emulated board
    # (boards/emu-mps2/device.json) is written first, so the identity is the provisioned
    # one; there is no text message and no gas reading (nothing relays one yet), and the
    # first telegram already carries what the metrology measured in its first period.
    for name, spec in sorted(SPECS.items()):
        capture = tmp_path / ("p1-%s.bin" % name)
        out = emu_run("--seconds", "2", "--profile", name, "--uart1", str(capture),
                      "--flash", str(tmp_path / name / "meter-flash.bin"))
        found = telegrams(capture.read_bytes())
        assert found, (name, out[-2000:])
        parser = TelegramParser(getattr(telegram_specifications, spec),
                                apply_checksum_validation=True)
        for t in found:
            parser.parse(t.decode(), throw_ex=True)
            assert SIM_IDENTITY not in t and SIM_TEXT not in t, name
            assert b"0-1:24.2." not in t and b"0-1:96.1." not in t, name  # no M-Bus gas
        if name in ("nl", "nl4", "be", "lt"):  # profiles that print the identifier
            assert b"E0099000000000001".hex().upper().encode() in found[0], name
        meter = [ln for ln in out.splitlines() if ln.startswith("meter L1 ")]
        watts = sum(int(w) for w in re.findall(r"(\d+)W PF", meter[0]))
        assert abs(_total_kw(found[0]) * 1000 - watts) <= 3, (name, found[0], meter[0])


def _children(pid):
    """Process ids whose parent is pid (from /proc)."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/%s/stat" % name) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(name))
    return out


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_sigterm_stops_the_run_as_a_power_cut_and_leaves_no_emulator(tmp_path):
    # A supervisor (a CI job's timeout, systemd, kill) ends make run with SIGTERM: the
    # run ends as Ctrl-C ends it (the power-fail warning saves the registers) and the
    # emulator, in its own session so that the terminal's Ctrl-C does not reach it, is
    # stopped with it instead of left running.
    import signal
    import threading
    import time

    proc = subprocess.Popen([sys.executable, "-m", "tools.emu", "run", "--flash",
                             str(tmp_path / "meter-flash.bin")], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines = []

    def read():
        for ln in proc.stdout:
            lines.append(ln.decode(errors="replace"))
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        qemu = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (
                qemu and any(ln.startswith("meter L1 ") for ln in list(lines))):
            qemu = qemu or [p for p in _children(proc.pid) if _alive(p)]
            time.sleep(0.2)
        assert qemu, "no emulator started"
        assert any(ln.startswith("meter L1 ") for ln in lines), "".join(lines)[-2000:]
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        reader.join(10)
        out = "".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-2000:]
    assert "power-fail warning: registers saved" in out, out[-2000:]
    assert "[emu] stopped" in out
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in qemu) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in qemu), "the emulator outlived the run"
