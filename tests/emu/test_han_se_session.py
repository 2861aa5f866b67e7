"""Tier 3, issue 12's configuration path seen on the HAN: the Belgian meter board (ZigBee
coordinator and hub), the gas meter as a second emulated board and the host display on one
medium; during the run, signed configuration lines typed on the meter's console (make run
--config-at, tools/emu_config.py) set the prices, load a calendar that holds tariff 1 all
day, then one that holds tariff 2, then set the text message:
- every P1 telegram after the first gas report carries the gas board's latest reading in
  the Belgian form (0-1:24.2.3, dsmr_parser BELGIUM_FLUVIUS, CRC checked);
- the tariff switch shows on the display as the new price tier, with tier 2's price, within
  one reporting interval (the display's demand subscription asks a report at least every
  30 s, han/se/ihd_peer.py DEMAND_REPORTING), counted in P1 telegrams (one a second);
- the message shows on the display and in P1's text line (0-0:96.13.0), the display
  confirms it and the meter writes the confirmation into its standard event log
  (EV_HAN_MESSAGE_CONFIRMED: message id, the display's short address), read back from the
  flash by booting the board again;
- the hub's diagnostics: `HUB STATUS` typed on the console near the end (make run
  --console-at) is answered with both devices' installation and live link quality and
  the transaction log (joins, verified link keys), read by tools.hub's parser.
"""
import json
import re

from board_files import event_logs
from conftest import ROOT  # noqa: F401 (puts the repository on sys.path)
from dsmr_parser.parsers import TelegramParser
from test_han_gas_p1 import (DISPLAY_EXT, GAS_BOARD_ID, SPECS, check_display,
                             check_gas_in_p1, check_power, display_lines, han_log,
                             json_lines, make_run, p1_gas, p1_kw, p1_kwh, telegrams)

from tools.hub.__main__ import parse_lines, table

EV_HAN_MESSAGE_CONFIRMED = 13  # registers/logs.py
DEMAND_MAX_INTERVAL_S = 30
SWITCH_AT, MESSAGE_AT, STATUS_AT, RUN_S = 50, 58, 80, 85
GAS_BOARD_EXT = "0004a30b0000d004"  # tools/emu_han.py GAS_BOARD_RECORD
EV_HAN_JOINED, EV_HAN_KEY_VERIFIED = 61, 63  # registers/logs.py
TEXT = "Meteropname 1 december"
PRICES = {"provider": 7, "currency": "EUR", "unit": "kWh",
          "tiers": [{"label": "Dag", "price": "0.3012"},
                    {"label": "Nacht", "price": "0.2211"}]}

def flat_calendar(cal_id, tariff):
    day = [["00:00", tariff]]
    return {"id": cal_id, "days": {"all": day}, "weeks": {"w": ["all"] * 7},
            "seasons": [{"start": "01-01", "week": "w"}], "special": []}


def write_json(path, obj):
    path.write_text(json.dumps(obj))
    return str(path)


def telegram_marks(out):
    """Offsets in make run's output of each decoded telegram's line ("[p1] #n ...")."""
    return [m.start() for m in re.finditer(r"^\[p1\] #\d+", out, re.M)]


def test_prices_tariff_switch_and_message_through_the_configuration_path(tmp_path):
    prices = write_json(tmp_path / "prices.json", PRICES)
    day = write_json(tmp_path / "tariff1.json", flat_calendar(301, 1))
    night = write_json(tmp_path / "tariff2.json", flat_calendar(302, 2))
    capture = tmp_path / "p1.bin"
    out = make_run("--seconds", str(RUN_S), "--profile", "be", "--han", "coordinator",
                   "--gas-board", "--gas-report-s", "10", "--uart1", str(capture),
                   "--flash", str(tmp_path / "meter-flash.bin"),
                   "--config-at", "1 set-prices %s" % prices,
                   "--config-at", "2 set-calendar --active --tariffs 4 %s" % day,
                   "--config-at", "%d set-calendar --active %s" % (SWITCH_AT, night),
                   "--config-at", "%d set-text '%s'" % (MESSAGE_AT, TEXT),
                   "--console-at", "%d HUB STATUS" % STATUS_AT, timeout=300)
    log = han_log(out)
    # Every command accepted: two registrations, prices, two calendars, the text.
    for op, n in ((8, 2), (9, 1), (3, 2), (6, 1)):
        assert len(re.findall(r"^CFG OK %d \d+" % op, out, re.M)) == n, (op, log)
    data = capture.read_bytes()

    # The gas board's readings in the Belgian lines of every telegram after the first.
    readings = json_lines(out, "[gas-board] ")
    check_gas_in_p1(p1_gas(data, "be"), readings, GAS_BOARD_ID, 10)
    assert b"0-1:24.2.3(" in data and b"0-1:24.2.1(" not in data
    # The display's power and energy: P1's, to P1's last digit.
    check_display(display_lines(out), readings, p1_kwh(data, "be"))
    check_power(display_lines(out), p1_kw(data, "be"))

    # P1: tariff 1 after the first calendar, 2 after the second, the text after set-text.
    parser = TelegramParser(SPECS["be"], apply_checksum_validation=True)
    parsed = [parser.parse(t.decode(), throw_ex=True) for t in telegrams(data)]
    tariffs = [int(p.ELECTRICITY_ACTIVE_TARIFF.value) for p in parsed]
    assert tariffs[-1] == 2 and 1 in tariffs, tariffs
    switched = tariffs.index(2, max(i for i, t in enumerate(tariffs) if t == 1))
    assert all(t == 2 for t in tariffs[switched:])
    texts = [getattr(p, "TEXT_MESSAGE", None) for p in parsed]
    hex_text = TEXT.encode().hex().upper()  # P1 carries the octets in hex (DSMR 5.0.2 6.12)
    shown = [i for i, t in enumerate(texts) if t is not None and (t.value or "").upper() == hex_text]
    assert shown and shown[-1] == len(parsed) - 1, texts[-3:]

    # The display: tier 2 with its price within one reporting interval of the switch,
    # counted in the telegrams make run decoded between the CFG OK and the display's line.
    cfg_ok = [m.start() for m in re.finditer(r"^CFG OK 3 \d+", out, re.M)][-1]
    ihd = [(m.start(), json.loads(m.group(1))) for m in
           re.finditer(r"^\[ihd\] (\{.*\})$", out, re.M)]
    before = [s for at, s in ihd if at < cfg_ok]
    assert before and before[-1]["tier"] == 1 and before[-1]["price"] == 0.3012, before[-1:]
    after = [(at, s) for at, s in ihd if at > cfg_ok and s["tier"] == 2]
    assert after, log
    at, first = after[0]
    assert first["price"] == 0.2211 and first["currency"] == "EUR"
    elapsed = sum(1 for t in telegram_marks(out) if cfg_ok < t < at)
    assert elapsed <= DEMAND_MAX_INTERVAL_S, elapsed
    # The message on the display, and its confirmation by the display logged by the meter.
    assert any(s["message"] == TEXT for _, s in ihd), log
    short = int(re.search(r"^han associated %s short 0x([0-9a-f]{4})" % DISPLAY_EXT, out,
                          re.M).group(1), 16)
    m = re.search(r"^han message (\d+) confirmed by 0x([0-9a-f]{4})", out, re.M)
    assert m and int(m.group(2), 16) == short, log
    message_id = int(m.group(1))
    entries = [e for e in event_logs(tmp_path)[0] if e[0] == EV_HAN_MESSAGE_CONFIRMED]
    assert entries and entries[0][2:] == (message_id, short), entries

    # The hub's diagnostics, as tools.hub reads them: both devices, their link quality at
    # installation and now (LQI 0..255), the joins and verified keys in the log.
    status = parse_lines(out.splitlines())
    assert status["complete"], log
    devices = {d["eui64"].lower().replace(":", ""): d for d in status["devices"]}
    for ext in (GAS_BOARD_EXT, DISPLAY_EXT):
        d = devices[ext]
        assert d["state"] == "verified" and 0 < d["install_lqi"] <= 255, d
        assert 0 < d["lqi"] <= 255 and d["frames_in"] > 0 and d["frames_out"] > 0, d
    codes = [e["code"] for e in status["log"]]
    assert codes.count(EV_HAN_JOINED) >= 2 and codes.count(EV_HAN_KEY_VERIFIED) >= 2, codes
    print(table(status))
    print("be session: %d telegrams; tariff 2 on the display %d telegrams after the switch; "
          "message %d confirmed by 0x%04x" % (len(parsed), elapsed, message_id, short))
