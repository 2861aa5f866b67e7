# The long scenario of issue 12 (tools/han/se_day.py, python -m tools.han se-day) for a
# slice of the day: the meter and hub over real registers, the sleepy gas meter and three
# displays, from 05:00 to 08:00 CET on Thursday 2026-11-26, so that the nl calendar's
# switch to tariff 2 (normal) at 07:00 falls inside. Expected values are worked out here
# from the scenario's rules (5-minute marks, 10 s P1 schedule, the calendar), not taken
# from the tool. The whole day (about 40 s, more than the 30 s a test may take here) is
# `make soak`. Tier 1 only (host: dsmr_parser, tracemalloc).
import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest

from tools.han import se_day

DAY_START = 1795647600  # 2026-11-26 00:00:00 CET (23:00 UTC on the 25th), by hand
START = DAY_START + 5 * 3600  # 05:00 CET
HOURS = 3
END = START + HOURS * 3600  # 08:00 CET
SWITCH = DAY_START + 7 * 3600  # 07:00 CET: low (1) -> normal (2) on a weekday
MARKS = HOURS * 3600 // 300  # 36 five-minute marks: 05:00, 05:05 ... 07:55
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def day():
    return se_day.run(hours=HOURS, displays=3, start_utc=START, trace=True)


def _failures(r, prefix):
    return [f for f in r["failures"] if f.startswith(prefix)]


def test_every_gas_report_reaches_the_mailbox_and_p1_in_order(day):
    r = day
    # The mark of every 5 minutes in the slice, plus the report that follows the time sync
    # after the join (before 05:00).
    assert r["gas_reports_in_day"] == MARKS == 36
    assert r["gas_reports_sent"] == MARKS + 1
    assert START - se_day.WARMUP_S < r["gas_first"][1] < START
    assert r["gas_last"][1] == END - 300  # 07:55 CET, the last mark before 08:00
    # Each of them in the mailbox and in P1 (dsmr_parser, CRC on), in order, once each.
    assert r["gas_mailbox"] == r["gas_in_p1"] == MARKS + 1
    assert r["gas_acked"] == MARKS + 1 and r["gas_lost"] == 0 and r["gas_duplicates"] == 0
    assert _failures(r, "gas: mailbox") == _failures(r, "gas: P1") == []
    assert _failures(r, "P1") == []
    # A telegram every 10 s from the warm-up on, one after each reading reached the
    # mailbox, and one at the last second of each hour.
    assert r["p1_telegrams"] == (HOURS * 3600 + se_day.WARMUP_S) // 10 + (MARKS + 1) + HOURS


def test_the_gas_meter_sleeps_between_polls(day):
    r = day
    # Slow polls every 7 s (10 800 s / 7 = 1 543) plus a few fast ones around each
    # exchange; its transceiver on well under 0.1 % of the time.
    slow = r["gas_polls"] - r["gas_fast_polls"]
    assert 1500 <= slow <= 1560
    assert 0 < r["gas_fast_polls"] <= 4 * (MARKS + HOURS)
    assert 0 < r["gas_duty_cycle_pct"] < 0.1
    # Each poll is a frame it sends; little else comes to it (APS acks, time answers).
    assert r["gas_frames_tx"] >= r["gas_polls"] + MARKS
    assert r["gas_frames_rx"] < 3 * (MARKS + HOURS)
    assert 2 <= r["gas_time_syncs"] <= 4  # once an hour


def test_each_display_shows_p1s_values_at_the_end_of_each_hour(day):
    r = day
    rows = r["hourly"]
    # 05:59:59, 06:59:59, 07:59:59 CET: tariff 1 twice, then 2 after the 07:00 switch.
    assert [h["utc"] for h in rows] == [START + 3599, START + 7199, START + 10799]
    assert [h["tariff"] for h in rows] == [h["p1_tier"] for h in rows] == [1, 1, 2]
    assert [h["displays_ok"] for h in rows] == [3, 3, 3]
    assert _failures(r, "hour") == []
    # P1's kWh (tariffs 1 + 2) counts up from 1 234.567 kWh; the load is a multiple of
    # 360 W.
    kwh = [Decimal(h["kwh"]) for h in rows]
    assert Decimal("1234.567") < kwh[0] < kwh[1] < kwh[2]
    assert all(Decimal(h["kw"]) % Decimal("0.360") == 0 for h in rows)


def test_a_tariff_switch_reaches_every_display_in_time(day):
    r = day
    (sw,) = r["tariff_switches"]
    assert (sw["utc"], sw["from"], sw["to"]) == (SWITCH, 1, 2)
    assert sorted(sw["latency_ms"]) == ["ihd1", "ihd2", "ihd3"]
    assert all(0 <= ms <= 30000 for ms in sw["latency_ms"].values())


def test_the_heap_stays_flat(day):
    r = day
    g = r["heap_growth"]
    assert set(g) == {"retained", "firmware"}  # both measures, tracemalloc on
    assert g["retained"] <= se_day.HEAP_GROWTH_MAX and g["firmware"] <= se_day.HEAP_GROWTH_MAX
    assert _failures(r, "heap") == []


def test_every_display_takes_every_gas_reading_and_no_check_fails(day):
    r = day
    for d in r["display_frames"]:
        assert d["gas_readings_taken"] == MARKS and d["resubscribed"] == 0, d
    assert r["failures"] == [] and r["ok"]


def test_the_command_line(tmp_path):
    # One display, one hour, a capture: the exit status and the JSON summary.
    pcap = tmp_path / "day.pcap"
    p = subprocess.run([sys.executable, "-m", "tools.han", "se-day", "--hours", "1",
                        "--displays", "1", "--start", str(START), "--pcap", str(pcap),
                        "--json"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert p.returncode == 0, p.stdout + p.stderr
    r = json.loads(p.stdout)
    assert r["ok"] and r["gas_reports_in_day"] == 12 and r["displays"] == 1
    assert pcap.stat().st_size > 24 + 16 * r["air_transmissions"]  # header + records
