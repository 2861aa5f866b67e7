# tools.p1_emulate, the P1 device emulator (tier 1, CPython): clean output parses with
# dsmr_parser under each profile's specification with CRC checking on; each fault leaves
# exactly its defect (checked against expectations written here, with a CRC-16/ARC computed
# here); Data Request gating; the period measured on the wall clock; a reader on a pty.
import errno
import fcntl
import json
import os
import shutil
import struct
import subprocess
import termios
import threading
import time

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from dsmr_parser import telegram_specifications as specs
from dsmr_parser.parsers import TelegramParser

from tools import p1_emulate
from tools.p1emu import emulator as E
from tools.p1emu import faults as F
from support import crc16_reflected

START = 1735682330  # 2024-12-31 22:58:50 CET
KEY = bytes.fromhex("0123456789ABCDEF0123456789ABCDEF")
AK = bytes.fromhex("00112233445566778899AABBCCDDEEFF")  # Smarty 1.1.3 3.2.5
SPEC = {"nl": specs.V5, "nl4": specs.V4, "be": specs.BELGIUM_FLUVIUS,
        "lu": specs.LUXEMBOURG_SMARTY, "se": specs.SWEDEN, "lt": specs.V5}
PROFILES = sorted(SPEC)
NOMINAL = {"nl": 1, "nl4": 10, "be": 1, "lu": 10, "se": 10, "lt": 1}


def crc_arc(data):
    # CRC-16/ARC: poly 0x8005 reflected (0xA001), init 0, no final xor (DSMR 5.0.2 6.2),
    # bit by bit (tests/unit/support.py), not the firmware's code.
    return crc16_reflected(data, 0xA001)


def test_crc_helper_check_value():
    assert crc_arc(b"123456789") == 0xBB3D


def crc_ok(telegram):
    bang = telegram.rindex(b"!")
    digits = telegram[bang + 1:].rstrip(b"\r\n")
    return digits == b"%04X" % crc_arc(telegram[:bang + 1])


def parse(profile, telegram):
    return TelegramParser(SPEC[profile], apply_checksum_validation=True).parse(
        telegram.decode("ascii"), throw_ex=True)


def emulate(tmp_path, *args):
    out = tmp_path / "p1.bin"
    assert p1_emulate.main(["--port", str(out), "--start", str(START)] + list(args)) == 0
    return out.read_bytes()


def split_telegrams(stream):
    parts = stream.split(b"/MPY5")
    assert parts[0] == b""
    return [b"/MPY5" + p for p in parts[1:]]


# --- clean output ------------------------------------------------------------------------

@pytest.mark.parametrize("profile", PROFILES)
def test_clean_output_parses_with_dsmr_parser(tmp_path, profile):
    telegrams = split_telegrams(emulate(tmp_path, "--profile", profile, "--count", "5"))
    assert len(telegrams) == 5
    stamps = []
    for t in telegrams:
        assert crc_ok(t) and t.endswith(b"\r\n") and b"\n" not in t.replace(b"\r\n", b"")
        parsed = parse(profile, t)
        stamps.append(parsed.P1_MESSAGE_TIMESTAMP.value.timestamp())
    # One telegram per nominal period of the meter's clock.
    assert [b - a for a, b in zip(stamps, stamps[1:])] == [NOMINAL[profile]] * 4
    # dsmr_parser reads every TST as Amsterdam time; Lithuania's clock is an hour ahead.
    assert stamps[0] == START + (3600 if profile == "lt" else 0)


def test_clean_output_evolves_plausibly(tmp_path):
    telegrams = split_telegrams(emulate(tmp_path, "--profile", "nl", "--seconds", "600"))
    parsed = [parse("nl", t) for t in telegrams]
    assert len(parsed) == 600
    imported = [p.ELECTRICITY_USED_TARIFF_1.value + p.ELECTRICITY_USED_TARIFF_2.value
                for p in parsed]
    assert all(b >= a for a, b in zip(imported, imported[1:])) and imported[-1] > imported[0]
    # 23:00 local on a weekday: NL tariff 2 (normal) -> 1 (low), DSMR 5.0.2 7.1.
    assert {p.ELECTRICITY_ACTIVE_TARIFF.value for p in parsed} == {"0001", "0002"}
    assert len({p.CURRENT_ELECTRICITY_USAGE.value for p in parsed}) > 20
    volts = [p.INSTANTANEOUS_VOLTAGE_L1.value for p in parsed]
    assert 222 <= min(volts) and max(volts) <= 238
    gas = {p.HOURLY_GAS_METER_READING.datetime.timestamp() if hasattr(
        p, "HOURLY_GAS_METER_READING") else p.MBUS_METER_READING.datetime.timestamp()
        for p in parsed}
    assert len(gas) == 3 and all(t % 300 == 0 for t in gas)  # 5-minute captures
    assert parsed[0].POWER_EVENT_FAILURE_LOG.buffer_length == 3


def frames(stream):
    out = []
    while stream:
        assert stream[:2] == b"\xdb\x08" and stream[10] == 0x82
        n = 13 + (stream[11] << 8 | stream[12])
        out.append(stream[:n])
        stream = stream[n:]
    return out


def open_frame(frame, ak=AK):
    iv = frame[2:10] + frame[14:18]
    dec = Cipher(algorithms.AES(KEY), modes.GCM(iv, frame[-12:], min_tag_length=12)).decryptor()
    dec.authenticate_additional_data(b"\x30" + ak)
    return dec.update(frame[18:-12]) + dec.finalize(), int.from_bytes(frame[14:18], "big")


def test_lu_encrypted_frames_open_with_dsmr_parser_and_cryptography(tmp_path):
    stream = emulate(tmp_path, "--profile", "lu", "--count", "3", "--key", KEY.hex())
    msn = TelegramParser(specs.MSN, apply_checksum_validation=True)
    for i, frame in enumerate(frames(stream)):
        plain, counter = open_frame(frame)
        assert counter == i and crc_ok(plain) and frame[2:10] == b"MPYH1EMU"
        t = msn.parse(frame.hex(), encryption_key=KEY.hex(), authentication_key=AK.hex(),
                      throw_ex=True)
        assert t.P1_MESSAGE_TIMESTAMP.value.timestamp() == START + 10 * i


def test_the_system_title_as_characters_or_as_a_provisioning_records_hex(tmp_path):
    for given, title in (("SAG10507", b"SAG10507"), ("454D550000000001", b"EMU\0\0\0\0\x01")):
        stream = emulate(tmp_path, "--profile", "lu", "--count", "1", "--key", KEY.hex(),
                         "--system-title", given)
        frame = frames(stream)[0]
        assert frame[2:10] == title and crc_ok(open_frame(frame)[0])
    for bad in ("SAG1050", "454D55000000000G1"):
        with pytest.raises(SystemExit) as e:
            emulate(tmp_path, "--profile", "lu", "--count", "1", "--key", KEY.hex(),
                    "--system-title", bad)
        assert "--system-title" in str(e.value)


# --- faults: each leaves exactly its defect ----------------------------------------------

def slots(profile, fault, n=4, **kw):
    """(clean, faulty) Slot pairs of two emulators that differ only by the fault, which hits
    every second telegram (indexes 1, 3, ...)."""
    clean = E.Emulator(profile, {}, start_utc=START, **kw)
    faulty = E.Emulator(profile, F.parse_fault_args([fault], 2), start_utc=START, **kw)
    out = []
    for k in range(n):
        t = k * clean.period
        out.append((clean.plan(t), faulty.plan(t)))
    return out


def joined(slot):
    return b"".join(w.data for w in slot.writes)


def checked(profile, fault, expect, n=4):
    """expect(clean bytes, faulty bytes, clean slot, faulty slot) on hit telegrams; the
    others are byte for byte the clean ones."""
    hit = 0
    for k, (c, f) in enumerate(slots(profile, fault, n)):
        if k % 2 == 0:
            assert joined(f) == joined(c) and not f.applied
        elif fault in f.applied:
            expect(joined(c), joined(f), c, f)
            hit += 1
    return hit


def lines(telegram):
    return telegram.split(b"\r\n")


@pytest.mark.parametrize("profile", PROFILES)
def test_fault_crc(profile):
    def expect(c, f, *_):
        assert f[:-6] == c[:-6] and f[-2:] == b"\r\n"
        digits = f[-6:-2]
        assert digits == digits.upper() and int(digits, 16) != crc_arc(f[:-6])
    assert checked(profile, "crc", expect) == 2


def test_fault_crc_lower():
    hits = 0
    for profile in PROFILES:
        def expect(c, f, *_):
            assert f == c[:-6] + c[-6:-2].lower() + b"\r\n" and f != c
            assert int(f[-6:-2], 16) == crc_arc(f[:-6])
        hits += checked(profile, "crc-lower", expect, n=8)
    assert hits >= 6  # a CRC of four decimal digits cannot show the fault: skipped


def test_fault_crc_short_and_no_crc():
    def short(c, f, *_):
        assert f == c[:-6] + c[-5:-2] + b"\r\n"

    def none(c, f, *_):
        assert f == c[:-6] + b"\r\n" and f.endswith(b"!\r\n")
    assert checked("nl", "crc-short", short) == 2
    assert checked("nl", "no-crc", none) == 2


@pytest.mark.parametrize("profile", ["nl", "se"])
def test_fault_partial_drop_slash_no_final_crlf_7e1(profile):
    assert checked(profile, "partial", lambda c, f, *_: f == c[:len(c) // 2]) == 2
    assert checked(profile, "drop-slash",
                   lambda c, f, *_: (f == c[1:], c[:1] == b"/")[0]) == 2
    assert checked(profile, "no-final-crlf", lambda c, f, *_: f + b"\r\n" == c) == 2

    def parity(c, f, *_):
        assert len(f) == len(c)
        for a, b in zip(c, f):
            assert b & 0x7F == a and bin(b).count("1") % 2 == 0
        assert any(b & 0x80 for b in f)
    assert checked(profile, "7e1", parity) == 2


def same_but(c, f, changed):
    """Both CRCs valid; the lines differ only as changed(clean lines) says."""
    assert crc_ok(c) and crc_ok(f)
    assert lines(f[:f.rindex(b"!")]) == changed(lines(c[:c.rindex(b"!")]))


@pytest.mark.parametrize("profile", PROFILES)
def test_fault_truncate_line(profile):
    def expect(c, f, *_):
        def cut(ls):
            i = [j for j, x in enumerate(ls) if x.startswith(b"1-0:1.7.0(")][0]
            value = ls[i][len(b"1-0:1.7.0("):]  # e.g. b"00.393*kW)"
            return ls[:i] + [b"1-0:1.7.0(" + value[:(len(value) - 1) // 2]] + ls[i + 1:]
        same_but(c, f, cut)
        assert b")" not in [x for x in lines(f) if x.startswith(b"1-0:1.7.0(")][0]
    assert checked(profile, "truncate-line", expect) == 2


@pytest.mark.parametrize("profile", PROFILES)
def test_fault_bad_obis_and_nul(profile):
    def after_timestamp(ls, line):
        i = [j for j, x in enumerate(ls) if x.startswith(b"0-0:1.0.0(")][0]
        return ls[:i + 1] + [line] + ls[i + 1:]

    def bad(c, f, *_):
        same_but(c, f, lambda ls: after_timestamp(ls, b"0-0:96.99.9(00000042)"))

    def nul(c, f, *_):
        same_but(c, f, lambda ls: [x.replace(b"1-0:1.7.0(", b"1-0:1.7.0(\x00") for x in ls])
    assert checked(profile, "bad-obis", bad) == 2
    assert checked(profile, "nul", nul) == 2


@pytest.mark.parametrize("profile", PROFILES)
def test_fault_long_line(profile):
    long_text = b"0-0:96.13.0(" + b"54" * 2050 + b")"

    def expect(c, f, *_):
        def grow(ls):
            if any(x.startswith(b"0-0:96.13.0(") for x in ls):
                return [long_text if x.startswith(b"0-0:96.13.0(") else x for x in ls]
            i = [j for j, x in enumerate(ls) if x.startswith(b"0-0:1.0.0(")][0]
            return ls[:i + 1] + [long_text] + ls[i + 1:]
        same_but(c, f, grow)
        assert max(len(x) for x in lines(f)) == 12 + 4100 + 1
    assert checked(profile, "long-line", expect) == 2


@pytest.mark.parametrize("profile", ["nl", "se"])
def test_fault_tst_flag_and_no_blank(profile):
    def flag(c, f, *_):
        def swap(ls):
            return [x[:-2] + (b"S" if x[-2:-1] == b"W" else b"W") + b")"
                    if x.startswith(b"0-0:1.0.0(") else x for x in ls]
        same_but(c, f, swap)
        stamp = [x for x in lines(f) if x.startswith(b"0-0:1.0.0(")][0]
        assert stamp.endswith(b"S)")  # 31 December: winter time (and SE keeps it all year)
    assert checked(profile, "tst-flag", flag) == 2

    def blank(c, f, *_):
        same_but(c, f, lambda ls: ls[:1] + ls[2:])
        assert f.count(b"\r\n\r\n") == 0 and c.count(b"\r\n\r\n") == 1
    assert checked(profile, "no-blank", blank) == 2


@pytest.mark.parametrize("profile", PROFILES)
def test_fault_lf(profile):
    def expect(c, f, *_):
        assert b"\r" not in f and f.endswith(b"\n")
        bang = f.rindex(b"!")
        assert f[:bang + 1] == c[:c.rindex(b"!") + 1].replace(b"\r\n", b"\n")
        assert f[bang + 1:] == b"%04X\n" % crc_arc(f[:bang + 1])
    assert checked(profile, "lf", expect) == 2


def register(telegram, obis):
    for x in lines(telegram):
        if x.startswith(obis + b"("):
            return int(x[len(obis) + 1:x.index(b"*")].replace(b".", b""))
    return None


@pytest.mark.parametrize("profile", PROFILES)
def test_fault_backwards(profile):
    pairs = slots(profile, "backwards", 4)
    for k in (1, 3):
        prev, f = joined(pairs[k - 1][1]), joined(pairs[k][1])
        c = joined(pairs[k][0])
        assert crc_ok(f) and "backwards" in pairs[k][1].applied
        changed = []
        for obis in [b"1-0:1.8.%d" % t for t in range(5)]:
            before, now, clean = register(prev, obis), register(f, obis), register(c, obis)
            if before is not None and now != clean:
                assert now == before - 1000  # Wh: 1.000 kWh below the last telegram
                changed.append(obis)
        assert changed  # the active tariff, and 1-0:1.8.0 where printed
        others = [x for x in lines(f)[:-2] if x[:8] != b"1-0:1.8."]
        assert others == [x for x in lines(c)[:-2] if x[:8] != b"1-0:1.8."]


@pytest.mark.parametrize("profile", ["nl", "be", "se"])
def test_fault_stale(profile):
    pairs = slots(profile, "stale", 4)
    for k in (1, 3):
        prev, f, c = joined(pairs[k - 1][1]), joined(pairs[k][1]), joined(pairs[k][0])
        assert crc_ok(f) and joined(pairs[k - 1][0]) != c  # the meter itself moved on

        def body(t):
            return [x for x in lines(t[:t.rindex(b"!")]) if not x.startswith(b"0-0:1.0.0(")]
        assert body(f) == body(prev)
        stamp = [x for x in lines(f) if x.startswith(b"0-0:1.0.0(")]
        assert stamp == [x for x in lines(c) if x.startswith(b"0-0:1.0.0(")]


def test_timing_faults_plan():
    for c, f in slots("nl", "drop")[1::2]:
        assert f.writes == [] and "drop" in f.applied
    for c, f in slots("nl", "duplicate")[1::2]:
        assert [w.data for w in f.writes] == [joined(c)] * 2
    for c, f in slots("nl", "late")[1::2]:
        assert [(w.offset, w.data) for w in f.writes] == [(0.5, joined(c))]
    for c, f in slots("nl", "garbage")[1::2]:
        assert f.writes[0].data == joined(c) and len(f.writes[1].data) == 32
        assert not set(f.writes[1].data) & {0x2F, 0x21, 0xDB}
    for c, f in slots("be", "slow")[1::2]:
        assert joined(f) == joined(c) and len(f.writes) > 10
        assert f.writes[-1].offset == pytest.approx(1.2) and not f.writes[1].starts
    assert E.Emulator("nl4", {"period": 1}).period == 15.0
    assert E.Emulator("nl", {"period": 1}, period=2.5).period == 2.5


def test_encryption_faults():
    def run(fault):
        emu = E.Emulator("lu", F.parse_fault_args([fault], 2), start_utc=START, key=KEY)
        return [joined(emu.plan(10.0 * k)) for k in range(4)]
    counters = [int.from_bytes(f[14:18], "big") for f in run("counter-repeat")]
    assert counters == [0, 0, 1, 1]
    tags = run("bad-tag")
    for k, frame in enumerate(tags):
        if k % 2:
            with pytest.raises(Exception):
                open_frame(frame)
            assert open_frame(frame[:-1] + bytes([frame[-1] ^ 1]))[1] == k
        else:
            assert open_frame(frame)[1] == k
    with pytest.raises(ValueError):
        E.Emulator("lu", {"bad-tag": 1})  # needs --key


def test_unknown_fault_is_refused(tmp_path):
    with pytest.raises(SystemExit):
        emulate(tmp_path, "--profile", "nl", "--count", "1", "--fault", "nope")


def test_cli_fault_every_and_trace(tmp_path):
    trace = tmp_path / "trace.jsonl"
    stream = emulate(tmp_path, "--profile", "nl", "--count", "6", "--fault", "no-crc",
                     "--fault-every", "3", "--fault", "crc-short:2", "--trace", str(trace))
    telegrams = split_telegrams(stream)
    kinds = [len(t[t.rindex(b"!") + 1:]) - 2 for t in telegrams]  # CRC digits
    # no-crc on telegrams 3 and 6, crc-short on 2, 4 and 6 (no-crc wins on 6).
    assert kinds == [4, 3, 0, 3, 4, 0]
    applied = [json.loads(x)["faults"] for x in trace.read_text().splitlines()]
    assert applied == [[], ["crc-short"], ["no-crc"], ["crc-short"], [], ["crc-short", "no-crc"]]


# --- Data Request and timing on the wall clock ----------------------------------------

class Recorder:
    def __init__(self):
        self.items = []

    def write(self, data):
        self.items.append((time.monotonic(), data))


def test_data_request_file_gates_sending(tmp_path):
    line = tmp_path / "dr"
    line.write_text("0")
    emu = E.Emulator("nl", {}, start_utc=START)
    sink = Recorder()
    runner = threading.Thread(target=E.run, args=(emu, sink, E.FileLine(str(line))),
                              kwargs={"seconds": 30, "scale": 0.05})
    t0 = time.monotonic()
    runner.start()
    time.sleep(0.4)
    assert sink.items == []  # low: silence
    line.write_text("1")
    t_high = time.monotonic()
    time.sleep(0.5)
    line.write_text("0")
    t_low = time.monotonic()
    time.sleep(0.4)
    n_after = len(sink.items)
    runner.join()
    assert t0 < t_high
    sent = [t for t, _ in sink.items]
    assert 6 <= len(sent) <= 12  # every 0.05 s while high for 0.5 s
    # The first telegram at the next whole emulated second (0.05 s) after the rise.
    assert 0 <= sent[0] - t_high < 0.05 + 0.05
    assert sent[-1] < t_low + 0.05  # nothing new starts once the line is low
    assert len(sink.items) == n_after  # and it stays silent until the end (1.5 s)
    assert all(d.startswith(b"/MPY5") for _, d in sink.items)


def test_data_request_low_with_dr_ignore_still_sends(tmp_path):
    line = tmp_path / "dr"  # missing file: low
    emu = E.Emulator("nl", {"dr-ignore": 2}, start_utc=START)
    sink = Recorder()
    E.run(emu, sink, E.FileLine(str(line)), seconds=8, scale=0.02)
    assert len(sink.items) == 4  # slots 2, 4, 6, 8 of 8
    sink = Recorder()
    E.run(E.Emulator("nl", {}, start_utc=START), sink, E.FileLine(str(line)), seconds=8,
          scale=0.02)
    assert sink.items == []


def intervals(profile, faults=None, count=8, scale=0.1, **kw):
    emu = E.Emulator(profile, faults or {}, start_utc=START, **kw)
    sink = Recorder()
    E.run(emu, sink, E.Always(), count=count, scale=scale)
    t = [x for x, _ in sink.items]
    return [b - a for a, b in zip(t, t[1:])]


def test_period_on_the_wall_clock():
    # Slots are on a fixed grid: a late wake-up does not shift the following ones, so the
    # mean is tight even on a loaded machine; single intervals get a wider margin.
    def near(gaps, period):
        return abs(sum(gaps) / len(gaps) - period) < 0.01 and \
            all(abs(g - period) < 0.04 for g in gaps)
    gaps = intervals("nl")
    assert len(gaps) == 7 and near(gaps, 0.1), gaps
    assert near(intervals("nl", {"period": 1}), 0.15)
    assert near(intervals("nl4", scale=0.01), 0.1)  # 10 s nominal


def test_late_is_jitter_around_the_nominal_period():
    gaps = intervals("nl", {"late": 2})
    # Telegrams 2, 4, 6, 8 go 0.5 period late: intervals alternate 1.5 and 0.5 periods.
    expected = [0.15, 0.05, 0.15, 0.05, 0.15, 0.05, 0.15]
    assert all(abs(g - e) < 0.03 for g, e in zip(gaps, expected)), gaps


# --- a reader on the other side of a pty -------------------------------------------------

def test_ptys_carry_no_modem_lines():
    """The finding behind --data-request file:PATH (Linux: ENOTTY on both ends)."""
    master, slave = os.openpty()
    try:
        for fd in (master, slave):
            try:
                fcntl.ioctl(fd, termios.TIOCMGET, struct.pack("I", 0))
            except OSError as e:
                assert e.errno in (errno.ENOTTY, errno.EINVAL)
            else:
                pytest.skip("this kernel's ptys report modem lines")
    finally:
        os.close(master)
        os.close(slave)


def read_for(fd, seconds):
    import select

    data = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            data += os.read(fd, 65536)
    return data


def test_reader_on_an_openpty_gets_telegrams():
    master, slave = os.openpty()
    tty = os.ttyname(slave)
    try:
        emulator = threading.Thread(target=p1_emulate.main, args=(
            ["--port", tty, "--profile", "be", "--count", "4", "--scale", "0.1",
             "--start", str(START)],))
        emulator.start()
        data = read_for(master, 1.0)
        emulator.join()
    finally:
        os.close(master)
        os.close(slave)
    telegrams = split_telegrams(data)
    assert len(telegrams) == 4
    for t in telegrams:
        assert parse("be", t).P1_MESSAGE_TIMESTAMP.value.timestamp() >= START


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat not installed")
def test_reader_on_a_socat_pty_pair(tmp_path):
    import serial

    a, b = str(tmp_path / "meter"), str(tmp_path / "reader")
    socat = subprocess.Popen(["socat", "pty,raw,echo=0,link=" + a, "pty,raw,echo=0,link=" + b])
    try:
        for _ in range(100):
            if os.path.exists(a) and os.path.exists(b):
                break
            time.sleep(0.02)
        reader = serial.Serial(b, 115200, timeout=0.05)
        proc = subprocess.run(
            [os.path.join(".venv", "bin", "python"), "-m", "tools.p1_emulate", "--port", a,
             "--profile", "nl", "--count", "3", "--scale", "0.1", "--start", str(START)],
            capture_output=True, timeout=20)
        assert proc.returncode == 0, proc.stderr
        data = b""
        while True:
            chunk = reader.read(65536)
            if not chunk:
                break
            data += chunk
        reader.close()
    finally:
        socat.terminate()
        socat.wait()
    telegrams = split_telegrams(data)
    assert len(telegrams) == 3 and all(crc_ok(t) for t in telegrams)
    assert parse("nl", telegrams[2]).P1_MESSAGE_TIMESTAMP.value.timestamp() == START + 2
