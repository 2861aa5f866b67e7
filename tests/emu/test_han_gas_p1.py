"""Tier 3, issue 12's end to end: the meter board (ZigBee coordinator and hub) and the gas
meter as a second emulated board on one simulated medium, with the in-home display on the
host: `make run RUN_ARGS="--han coordinator --gas-board --gas-report-s 10"` (tools/emu_run.py,
tools/emu_han.py).

The gas board is provisioned with its own identity (EUI-64, install code, P1 equipment
identifier, config key) and registered on the hub through the configuration path (a
signed OP_HAN_JOINER line on the hub's console); it joins by install code, takes the hub's
time and reports its volume register every 10 s on the hub clock's multiples of 10 s,
printing each reading as a JSON line. Every P1 telegram after the first report (dsmr_parser,
CRC checked) carries the gas board's latest reading with its capture time, its device
type and its equipment identifier, and the display shows the same reading.
"""
import json
import re
import subprocess
import sys
from datetime import datetime, timezone
from decimal import Decimal

from dsmr_parser import telegram_specifications
from dsmr_parser.parsers import TelegramParser

from conftest import ROOT

GAS_BOARD_EXT = "0004a30b0000d004"  # tools/emu_han.py GAS_BOARD_RECORD
GAS_BOARD_ID = b"G0099000000000004"
DISPLAY_EXT = "0004a30b0000d002"  # tools/ihd/display.py DEFAULT_EXT
SPECS = {"nl": telegram_specifications.V5, "be": telegram_specifications.BELGIUM_FLUVIUS}


def make_run(*args, timeout=240):
    proc = subprocess.run([sys.executable, "-m", "tools.emu", "run"] + list(args), cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout[-4000:]
    return proc.stdout


def json_lines(out, prefix):
    """The JSON objects of the lines starting with prefix, numbers as Decimal (the very
    digits printed)."""
    found = []
    for line in out.splitlines():
        if line.startswith(prefix + "{"):
            found.append(json.loads(line[len(prefix):], parse_float=Decimal))
    return found


def han_log(out):
    """The HAN's part of make run's output (for failure messages)."""
    keep = ("[gas", "[ihd", "[emu", "han ", "CFG")
    return "\n".join(ln for ln in out.splitlines() if ln.startswith(keep))[-6000:]


def telegrams(data):
    return [m.group(0) for m in re.finditer(rb"/[^!]*![0-9A-F]{4}\r\n", data)]


def utc_dt(utc):
    return datetime.fromtimestamp(utc, timezone.utc)


def p1_gas(capture, profile="nl"):
    """[(telegram time, (m3, capture datetime) or None, device type, identifier)] of each
    telegram of a UART1 capture, parsed by dsmr_parser with its CRC checked."""
    found = telegrams(capture)
    assert found and b"".join(found) == capture  # whole telegrams, nothing else
    parser = TelegramParser(SPECS[profile], apply_checksum_validation=True)
    rows = []
    for t in found:
        parsed = parser.parse(t.decode(), throw_ex=True)
        reading = getattr(parsed, "MBUS_METER_READING", None)
        if reading is None:
            assert b"0-1:" not in t  # no reading: no gas lines at all
            rows.append((parsed.P1_MESSAGE_TIMESTAMP.value, None, None, None))
            continue
        assert reading.unit == "m3"
        rows.append((parsed.P1_MESSAGE_TIMESTAMP.value, (reading.value, reading.datetime),
                     parsed.MBUS_DEVICE_TYPE.value, parsed.MBUS_EQUIPMENT_IDENTIFIER.value))
    return rows


def p1_kwh(capture, profile="nl"):
    """Delivered energy of each telegram: 1-0:1.8.1 + 1-0:1.8.2 (kWh, as printed)."""
    parser = TelegramParser(SPECS[profile], apply_checksum_validation=True)
    totals = []
    for t in telegrams(capture):
        parsed = parser.parse(t.decode(), throw_ex=True)
        totals.append(parsed.ELECTRICITY_USED_TARIFF_1.value +
                      parsed.ELECTRICITY_USED_TARIFF_2.value)
    return totals


def p1_kw(capture, profile="nl"):
    """The power delivered of each telegram: 1-0:1.7.0 (kW, as printed)."""
    parser = TelegramParser(SPECS[profile], apply_checksum_validation=True)
    return [parser.parse(t.decode(), throw_ex=True).CURRENT_ELECTRICITY_USAGE.value
            for t in telegrams(capture)]


def check_gas_in_p1(rows, readings, equipment_id, report_s):
    """Every telegram after the first gas report carries the latest reading: the
    telegrams without one come first, then each shows one of the gas meter's printed
    readings (value and capture time), never an older one than the telegram before, and
    every reading but possibly the last (sent as the run stopped) reached P1. Returns the
    readings seen in P1."""
    assert len(readings) >= 3, readings
    # The gas meter's own schedule: after the first (at its first time sync), captures on
    # the hub clock's multiples of the interval, one interval apart; the volume never
    # goes back.
    captured = [r["captured"] for r in readings]
    assert all(c % report_s == 0 for c in captured[1:]), captured
    assert all(b - a == report_s for a, b in zip(captured[1:], captured[2:])), captured
    assert all(a["m3"] <= b["m3"] for a, b in zip(readings, readings[1:]))
    printed = [(r["m3"], utc_dt(r["captured"])) for r in readings]
    first = next(i for i, row in enumerate(rows) if row[1] is not None)
    assert first > 0  # the meter sent telegrams before the gas meter had joined
    seen = []
    for stamp, gas, device_type, ident in rows[first:]:
        assert gas is not None  # once there, in every telegram
        assert gas in printed, (gas, printed)
        assert device_type == 3 and ident == equipment_id.hex().upper()
        assert stamp >= gas[1]  # captured before the telegram that shows it
        if not seen or seen[-1] != gas:
            seen.append(gas)
    # P1 showed the readings in the order they were taken, up to the last or the one
    # before (sent as the run stopped); one the hub had not relayed yet when a newer one
    # came (it reads the meter's units first) may be skipped: P1 carries the latest.
    it = iter(printed)
    assert all(g in it for g in seen), (seen, printed)
    assert seen[-1] in printed[-2:] and len(seen) >= len(printed) - 2, (seen, printed)
    return seen


def display_lines(out):
    """The display's JSON lines printed before make run decoded the last telegram of its
    capture (P1 stops before the run does; the display does not)."""
    return json_lines(out[:out.rfind("[p1] #")], "[ihd] ")


def check_power(shown, p1_powers):
    """The display's kW: P1's digits (W), within what P1 showed during the run; equal to
    it when P1's power held still (the emulated load is steady: a display that truncates
    where P1 rounds, or is 10x off, differs). Returns the values shown."""
    kw = [s["kw"] for s in shown if s["kw"] is not None]
    assert kw
    assert all(v.as_tuple().exponent == -3 for v in kw)  # P1's resolution: 1 W
    low, high = min(p1_powers), max(p1_powers)
    assert all(low <= v <= high for v in kw), (kw, low, high)
    return kw


def check_display(shown, readings, p1_totals):
    """The display's gas is the gas meter's reading; its kWh one P1 showed."""
    gas = [s["gas_m3"] for s in shown if s["gas_m3"] is not None]
    assert gas, shown[-3:]
    assert set(gas) <= {r["m3"] for r in readings}
    kwh = [s["kwh"] for s in shown if s["kwh"] is not None]
    assert kwh
    assert all(v.as_tuple().exponent == -3 for v in kwh)  # P1's digits: Wh
    # Read at its own moment, the display's energy is one P1 showed or one between two
    # telegrams a second apart (never 10x, 100x or 1000x off); the last one may come
    # after the last telegram of the capture.
    totals = list(p1_totals) + [p1_totals[-1] + max(
        b - a for a, b in zip(p1_totals, p1_totals[1:]))]
    for v in kwh:
        assert any(a <= v <= b for a, b in zip(totals, totals[1:])), (v, totals[0],
                                                                      totals[-1])
    exact = sum(1 for v in kwh if v in p1_totals)
    return gas, kwh, exact


def test_the_gas_board_reading_in_every_p1_telegram_and_on_the_display(tmp_path):
    capture = tmp_path / "p1.bin"
    out = make_run("--seconds", "50", "--han", "coordinator", "--gas-board",
                   "--gas-report-s", "10", "--uart1", str(capture),
                   "--flash", str(tmp_path / "meter-flash.bin"))
    # Both registered through the signed configuration line, both joined by install code.
    log = han_log(out)
    assert len(re.findall(r"^CFG OK 8 \d+", out, re.M)) == 2, log
    for ext in (GAS_BOARD_EXT, DISPLAY_EXT):
        assert "han registered %s" % ext in out
        assert re.search(r"^han associated %s short 0x[0-9a-f]{4}" % ext, out, re.M), log
    assert re.search(r"^\[gas-board\] han zigbee joined short 0x[0-9a-f]{4} tclk verified",
                     out, re.M), log
    readings = json_lines(out, "[gas-board] ")
    assert all(r["device"] == "gas" for r in readings)
    rows = p1_gas(capture.read_bytes())
    try:
        seen = check_gas_in_p1(rows, readings, GAS_BOARD_ID, 10)
    except AssertionError as e:
        raise AssertionError("%s\n%s" % (e, log))
    gas, _, exact = check_display(display_lines(out), readings, p1_kwh(capture.read_bytes()))
    check_power(display_lines(out), p1_kw(capture.read_bytes()))
    assert gas[-1] in {m3 for m3, _ in seen}
    print("gas board: %d readings, %d shown in P1; %d telegrams, %d with gas; display: %d "
          "gas values, kWh equal to a telegram's %d times" % (
              len(readings), len(seen), len(rows), sum(1 for r in rows if r[1]), len(gas),
              exact))
