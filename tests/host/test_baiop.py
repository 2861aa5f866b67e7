"""The BAIOP runner (python -m tools.baiop, issue 14) on the host: against tools.p1_emulate
with each fault, every case the fault must break fails and nothing else does (the table
below is this test's statement of which checks each fault defeats, from the fault's
definition in tools/p1_emulate.py and the cases' statements in docs/bap/h1.md); the clean
emulator passes every case it can run; a replayed capture runs the offline cases only and
reports the others NOT RUN; a serial target on a socat pty pair with Data Request on the
emulator's file line; the coverage table lists every BAP statement. The emulated board is
tier 3's (tests/emu/test_baiop_emu.py)."""
import csv
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OBSERVING = ["h1_framing", "h1_obis", "h1_timing", "h1_registers"]
WORKERS = 8  # live runs at once (each mostly waits for its telegrams)

# fault (on every 3rd telegram unless it says otherwise) -> the cases it must fail.
FAULT_TABLE = {
    "crc:3": {"h1_framing.Crc_Valid", "h1_obis.Dsmr_Parser_Reads_All"},
    "crc-lower:3": {"h1_framing.Crc_Valid", "h1_framing.Telegram_Layout",
                    "h1_obis.Dsmr_Parser_Reads_All"},
    "crc-short:3": {"h1_framing.Crc_Valid", "h1_framing.Telegram_Layout",
                    "h1_obis.Dsmr_Parser_Reads_All"},
    "no-crc:3": {"h1_framing.Crc_Valid", "h1_framing.Telegram_Layout",
                 "h1_obis.Dsmr_Parser_Reads_All"},
    "no-final-crlf:3": {"h1_framing.Crc_Valid", "h1_framing.Telegram_Layout"},
    "no-blank:3": {"h1_framing.Telegram_Layout"},
    "lf:3": {"h1_framing.Crc_Valid", "h1_framing.Header_Identification",
             "h1_framing.Line_Endings_Crlf", "h1_framing.Telegram_Layout"},
    # A telegram cut short, or one that lost its "/", is stray octets and a missing
    # telegram (its period slot stays empty).
    "partial:3": {"h1_framing.No_Stray_Bytes", "h1_timing.Period_Jitter",
                  "h1_timing.Period_Per_Profile"},
    "drop-slash:3": {"h1_framing.No_Stray_Bytes", "h1_timing.Period_Jitter",
                     "h1_timing.Period_Per_Profile"},
    "7e1:3": {"h1_framing.No_Stray_Bytes", "h1_timing.Period_Jitter",
              "h1_timing.Period_Per_Profile"},
    "garbage:3": {"h1_framing.No_Stray_Bytes"},
    "long-line:3": {"h1_framing.Max_Length"},
    # The emulator's seeded telegrams: the line it cuts, or puts a NUL in, is a power line.
    "truncate-line:3": {"h1_framing.Line_Syntax", "h1_obis.Dsmr_Parser_Reads_All",
                        "h1_obis.Power_Format"},
    "nul:3": {"h1_framing.Line_Endings_Crlf", "h1_obis.Dsmr_Parser_Reads_All",
              "h1_obis.Power_Format"},
    "bad-obis:3": {"h1_obis.Dsmr_Parser_Reads_All", "h1_obis.Object_Set_Nl"},
    "tst-flag:3": {"h1_obis.Timestamp_Zone", "h1_obis.Past_Timestamps"},
    "backwards:3": {"h1_registers.Monotonic_Across_Reboot"},
    "period": {"h1_timing.Period_Jitter", "h1_timing.Period_Per_Profile"},
    "late:3": {"h1_timing.Period_Jitter"},
    "duplicate:3": {"h1_timing.Period_Jitter", "h1_timing.Period_Per_Profile"},
    "drop:3": {"h1_timing.Period_Jitter", "h1_timing.Period_Per_Profile"},
    "slow:3": {"h1_timing.Period_Jitter", "h1_timing.Telegram_Within_Period"},
    # Repeating values is no fault of the format: a meter without consumption does so.
    "stale:3": set(),
}
# The encrypted profile's faults (lu, 10 s period: a shorter session of 4 periods).
LU_SUITES = OBSERVING + ["h1_security"]
LU_FAULT_TABLE = {
    "counter-repeat:3": {"h1_security.Frame_Counter_Increments"},
    # A frame whose tag fails does not open: no plaintext for dsmr_parser either.
    "bad-tag:3": {"h1_security.Decrypt_With_Key", "h1_obis.Dsmr_Parser_Reads_All"},
}


def baiop(out, target, profile="nl", suites=(), timeout=240, periods=8):
    args = [sys.executable, "-m", "tools.baiop", "run", "--target", target, "--profile",
            profile, "--out", str(out), "--periods", str(periods)]
    for s in suites:
        args += ["--suite", s]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, timeout=timeout)
    return proc.returncode, proc.stdout.decode(errors="replace") + \
        proc.stderr.decode(errors="replace")


def verdicts(out):
    from tools.baiop.__main__ import results_of

    return results_of(os.path.join(str(out), "output.xml"))


def failed(out):
    return {c for c, v in verdicts(out).items() if v == "FAIL"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every live run at once (each mostly waits for its telegrams): the faults, the clean
    emulator, the serial target on a socat pty pair."""
    base = tmp_path_factory.mktemp("baiop")

    def fault(f):
        out = base / f.replace(":", "-")
        return f, baiop(out, "emulate:" + f, suites=OBSERVING), out

    def clean():
        return "clean", baiop(base / "clean", "emulate"), base / "clean"

    def lu(f):
        out = base / ("lu-" + (f or "clean").replace(":", "-"))
        target = "emulate:" + f if f else "emulate"
        return "lu " + f, baiop(out, target, "lu", LU_SUITES, periods=4), out

    def staggered(i, job, *args):
        # The first wave starts 0.8 s apart: ten Robot runs importing at once on two
        # cores delayed the emulators' writes by up to 0.15 s (the jitter cases' limit is
        # 0.1 s); later jobs start as earlier ones end, spread out by then.
        time.sleep(0.8 * i if i < WORKERS else 0)
        return job(*args)

    work = [(lu, f) for f in [""] + sorted(LU_FAULT_TABLE)]  # first: they take longest
    work += [(fault, f) for f in sorted(FAULT_TABLE)]
    work += [(clean,), (serial_run, base / "serial")]
    with ThreadPoolExecutor(WORKERS) as pool:
        jobs = [pool.submit(staggered, i, *w) for i, w in enumerate(work)]
        return {name: (rc_log, out) for name, rc_log, out in (j.result() for j in jobs)}


def test_each_fault_fails_exactly_its_cases(runs):
    wrong = []
    for fault in sorted(FAULT_TABLE):
        (rc, log), out = runs[fault]
        assert os.path.exists(out / "output.xml"), log
        got = failed(out)
        if got != FAULT_TABLE[fault] or rc != (1 if got else 0):
            wrong.append((fault, sorted(got ^ FAULT_TABLE[fault]), rc))
    assert not wrong, wrong  # (fault, cases failed or passed against the table, exit)


def test_each_encrypted_fault_fails_exactly_its_cases(runs):
    wrong = []
    for fault in sorted(LU_FAULT_TABLE):
        (rc, log), out = runs["lu " + fault]
        assert os.path.exists(out / "output.xml"), log
        got = failed(out)
        if got != LU_FAULT_TABLE[fault] or rc != 1:
            wrong.append((fault, sorted(got ^ LU_FAULT_TABLE[fault]), rc))
    assert not wrong, wrong


def test_the_clean_encrypted_emulator_passes_the_security_cases(runs):
    (rc, log), out = runs["lu "]
    assert rc == 0, log
    v = verdicts(out)
    sec = {c: s for c, s in v.items() if c.startswith("h1_security.")}
    # Everything but the reboot (tools.p1_emulate cannot be rebooted) ran and passed.
    assert sec.pop("h1_security.Frame_Counter_Across_Reboot") == "SKIP"
    assert len(sec) == 8 and set(sec.values()) == {"PASS"}, sec
    assert v["h1_obis.Object_Set_Lu"] == "PASS" and v["h1_obis.Dsmr_Parser_Reads_All"] == "PASS"


def test_the_clean_emulator_passes_every_case_it_can_run(runs):
    (rc, log), out = runs["clean"]
    assert rc == 0, log
    v = verdicts(out)
    assert "FAIL" not in v.values()
    # Data Request through the emulator's file line: all six cases ran.
    dr = {c: s for c, s in v.items() if c.startswith("h1_data_request.")}
    assert len(dr) == 6 and set(dr.values()) == {"PASS"}, dr
    assert (out / "period-histogram.png").stat().st_size > 1000


def test_the_serial_target_over_a_socat_pty_pair(runs):
    (rc, log), out = runs["serial"]
    assert rc == 0, log
    v = verdicts(out)
    assert v["h1_data_request.Silent_While_Low"] == "PASS"
    assert v["h1_framing.Serial_115200_8N1"] == "PASS"


def test_a_replayed_capture_runs_the_offline_cases_only(tmp_path):
    cap = tmp_path / "p1.bin"
    subprocess.run([sys.executable, "-m", "tools.p1", "emulate", "--port", str(cap),
                    "--profile", "be", "--count", "6", "--data-request", "always"],
                   cwd=ROOT, check=True, capture_output=True, timeout=60)
    out = tmp_path / "out"
    rc, log = baiop(out, "replay:%s" % cap, profile="be")
    assert rc == 0, log
    v = verdicts(out)
    assert v["h1_framing.Crc_Valid"] == "PASS" and v["h1_obis.Object_Set_Be"] == "PASS"
    # No times, no Data Request on a file: skipped, never passed.
    assert v["h1_timing.Period_Jitter"] == "SKIP"
    assert v["h1_data_request.Silent_While_Low"] == "SKIP"
    # The coverage table: one row per BAP statement, each case's verdict, none passed
    # that did not run.
    from tools.baiop import bap

    statements = bap.load()
    with open(out / "coverage.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == [s.id for s in statements]
    by_id = {r["id"]: r for r in rows}
    assert by_id["H1-COM-004"]["verdict"] == "PASS"
    assert by_id["H1-FUN-003"]["verdict"] == "NOT RUN"
    assert all(r["verdict"] == "INSPECTION" for r in rows if r["kind"] == "inspection")
    # Each case carries the IDs of the statements that name it, as Robot tags.
    xml = (out / "output.xml").read_text()
    assert "<tag>H1-COM-004</tag>" in xml and "<tag>H1-FUN-003</tag>" in xml
    assert (out / "junit.xml").exists() and (out / "log.html").exists()


def serial_run(tmp_path):
    # A Linux pty has no modem lines (tests/host/test_p1_emulate.py): Data Request is the
    # emulator's file line, which the serial target writes (data-request=file:PATH).
    assert shutil.which("socat"), "socat (Debian package, tools/bootstrap.sh) is missing"
    tmp_path.mkdir()
    meter, reader, dr = tmp_path / "meter", tmp_path / "reader", tmp_path / "dr"
    socat = subprocess.Popen(["socat", "pty,raw,echo=0,link=%s" % meter,
                              "pty,raw,echo=0,link=%s" % reader])
    emu = None
    try:
        for _ in range(100):
            if meter.exists() and reader.exists():
                break
            time.sleep(0.05)
        dr.write_text("1")
        emu = subprocess.Popen([sys.executable, "-m", "tools.p1", "emulate", "--port",
                                str(meter), "--profile", "nl", "--data-request",
                                "file:%s" % dr], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        out = tmp_path / "out"
        return "serial", baiop(out, "serial:%s,data-request=file:%s" % (reader, dr),
                               suites=["h1_framing", "h1_data_request"]), out
    finally:
        for p in (emu, socat):
            if p is not None:
                p.terminate()
                p.wait(10)
