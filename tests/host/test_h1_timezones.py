"""Tier 1: each P1 profile stamps its telegrams (0-0:1.0.0, YYMMDDhhmmssX) in its market's
local time, checked against the IANA time zone database (zoneinfo) on both sides of the EU
summer-time changes: the profile carries the zone into the registers' clock, and the
whole chain (registers -> view -> MeterSource -> telegram builder) follows it."""
import datetime
import re
from zoneinfo import ZoneInfo

import pytest

from tools import fwpath

fwpath.setup()

from app.source import MeterSource  # noqa: E402
from h1 import profiles  # noqa: E402
from h1.builder import TelegramBuilder  # noqa: E402
from h1.snapshot import MeterSnapshot  # noqa: E402
from hal.clock import FakeClock  # noqa: E402
from registers.memfs import MemoryFs  # noqa: E402
from registers.meter import MeterRegisters  # noqa: E402
from registers.view import RegistersView  # noqa: E402

ZONES = {"nl": "Europe/Amsterdam", "nl4": "Europe/Amsterdam", "be": "Europe/Brussels",
         "lu": "Europe/Luxembourg", "lt": "Europe/Vilnius"}


def instants():
    out = []
    for year in (2026, 2027):
        for month, last_day in ((3, 31), (10, 31)):
            day = last_day
            while datetime.date(year, month, day).weekday() != 6:  # last Sunday
                day -= 1
            change = datetime.datetime(year, month, day, 1, 0, tzinfo=datetime.timezone.utc)
            for delta in (-3601, -1, 0, 1, 3599, 3600, 7200):
                out.append(int(change.timestamp()) + delta)
    out += [1767225600, 1782864000, 1798761599]  # 2026-01-01, 2026-07-01, 2026-12-31 23:59:59
    return out


def telegram_tst(profile_name, utc):
    profile = profiles.by_name(profile_name)
    clock = FakeClock(utc=utc)
    regs = MeterRegisters(clock, MemoryFs(), std_offset_s=profile.std_offset_s,
                          dst_rule=profile.dst_rule, calendar=profile.default_calendar())
    regs.boot(utc)
    source = MeterSource(clock, RegistersView(regs))
    snap = MeterSnapshot()
    source.capture(snap, utc)
    builder = TelegramBuilder(profile)
    text = bytes(builder.buf[:builder.build(snap)]).decode("ascii")
    return re.search(r"0-0:1\.0\.0\((\d{12}[SW])\)", text).group(1)


def expected_tst(zone, utc):
    local = datetime.datetime.fromtimestamp(utc, ZoneInfo(zone))
    summer = bool(local.dst())
    return local.strftime("%y%m%d%H%M%S") + ("S" if summer else "W")


@pytest.mark.parametrize("profile_name", sorted(ZONES))
def test_timestamps_are_the_markets_local_time(profile_name):
    for utc in instants():
        assert telegram_tst(profile_name, utc) == expected_tst(ZONES[profile_name], utc), utc


def test_sweden_keeps_standard_time_all_year():
    # SE HAN H1 2.0: "Svensk normaltid", UTC+1 all year, always W.
    for utc in instants():
        local = datetime.datetime.fromtimestamp(utc + 3600, datetime.timezone.utc)
        assert telegram_tst("se", utc) == local.strftime("%y%m%d%H%M%S") + "W", utc


def test_lithuania_is_an_hour_ahead_of_the_netherlands():
    utc = 1796004251  # 2026-11-30 02:04:11 UTC: the example
    assert telegram_tst("lt", utc) == "261130040411W"
    assert telegram_tst("nl", utc) == "261130030411W"
