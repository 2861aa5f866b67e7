# A year of tariff switching (issue 3 "must show"): EU summer time changes, special days and
# a passive calendar that activates at its date, through the authenticated configuration
# path, checked against an independent calculation: CPython's zoneinfo (the IANA database
# for Europe/Amsterdam) for local time and plain datetime rules for the tariffs.
import datetime
import zoneinfo

from hal.clock import FakeClock
from registers import config, logs, tou
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from registers.view import RegistersView

AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")
UTC = datetime.timezone.utc
KEY = bytes(range(32))
STEP_S = 300  # every switch time below is on a 5-minute boundary

ACTIVE = tou.build(
    seasons=[(1, 1, 0), (4, 1, 1), (10, 1, 0)],
    weeks=[(0,) * 5 + (1,) * 2, (2,) * 5 + (1,) * 2],
    days=[[(0, 1), (7 * 60, 2), (23 * 60, 1)], [(0, 1)],
          [(0, 1), (6 * 60 + 30, 2), (21 * 60, 3), (23 * 60 + 30, 1)]],
    special=[(0, 1, 1, 1), (0, 12, 25, 1), (2025, 4, 21, 1), (2025, 5, 29, 1)],
    calendar_id=1)
PASSIVE = tou.build(
    seasons=[(1, 1, 0)], weeks=[(0,) * 7],
    days=[[(0, 1), (8 * 60, 2), (20 * 60, 1)], [(0, 1)]],
    special=[(0, 12, 25, 1), (0, 12, 26, 1)], calendar_id=2)
ACTIVATION = datetime.datetime(2025, 9, 1, 0, 0, tzinfo=AMS)  # local midnight


def expected_tariff(utc_seconds):
    """The calendars above, restated as datetime rules."""
    t = datetime.datetime.fromtimestamp(utc_seconds, UTC)
    lt = t.astimezone(AMS)
    d, minute = lt.date(), lt.hour * 60 + lt.minute
    if t >= ACTIVATION:
        if (d.month, d.day) in ((12, 25), (12, 26)):
            return 1
        return 2 if 8 * 60 <= minute < 20 * 60 else 1
    if (d.month, d.day) in ((1, 1), (12, 25)) or d in (datetime.date(2025, 4, 21),
                                                      datetime.date(2025, 5, 29)):
        return 1
    if d.weekday() >= 5:
        return 1
    if datetime.date(2025, 4, 1) <= d < datetime.date(2025, 10, 1):
        if minute < 6 * 60 + 30 or minute >= 23 * 60 + 30:
            return 1
        return 2 if minute < 21 * 60 else 3
    return 2 if 7 * 60 <= minute < 23 * 60 else 1


def test_a_year_of_switching_matches_the_independent_calculation():
    start = int(datetime.datetime(2024, 12, 31, 23, 0, tzinfo=UTC).timestamp())  # 00:00 local
    end = int(datetime.datetime(2025, 12, 31, 23, 0, tzinfo=UTC).timestamp())
    clock = FakeClock(utc=start)
    fs = MemoryFs()
    regs = MeterRegisters(clock, fs, calendar=ACTIVE)
    regs.boot(start)
    session = config.ConfigSession(regs, KEY)
    activation = int(ACTIVATION.timestamp())
    cmd = config.command(config.OP_SET_PASSIVE_CALENDAR, 1,
                         activation.to_bytes(4, "little") + PASSIVE)
    session.execute(cmd, config.hmac_sha256(KEY, cmd), start)
    view = RegistersView(regs)
    per_tariff = {1: 0, 2: 0, 3: 0}
    mismatches = []
    dst_seen = set()
    utc = start
    while utc < end:
        want = expected_tariff(utc)
        if view.tariff_indicator() != want:
            mismatches.append((utc, view.tariff_indicator(), want))
        # 1 Wh for the 5 minutes that start now, under the tariff in force now
        regs.add_energy(1000, 0, 0, 0, 0, 0)
        per_tariff[want] += 1
        utc += STEP_S
        clock.advance_ms(STEP_S * 1000)
        regs.step(utc)
        lt = datetime.datetime.fromtimestamp(utc, UTC).astimezone(AMS)
        assert view.utc_offset_s(utc) == lt.utcoffset().total_seconds()
        dst_seen.add(view.dst(utc))
    assert mismatches == []
    assert dst_seen == {0, 1}
    for tariff, wh in per_tariff.items():
        assert view.import_wh(tariff) == wh
    assert view.total_import_wh() == sum(per_tariff.values())
    standard = regs.logs.log(logs.STANDARD)
    codes = [standard.entry(age)[2] for age in range(standard.count)]
    assert logs.EV_CALENDAR_ACTIVATED in codes and logs.EV_CONFIG in codes
    activated = [standard.entry(a) for a in range(standard.count)
                 if standard.entry(a)[2] == logs.EV_CALENDAR_ACTIVATED][0]
    assert activated[4] == activation and activated[5] == 2
    # Billing and profile kept their configured sizes and order over the year.
    assert regs.monthly.count() >= 12 and regs.monthly.read_utc(0) > regs.monthly.read_utc(1)
    assert regs.daily.count() >= 40
    assert regs.profile.count() >= 40 * 96
    newest = regs.profile.read(0)
    assert newest[0] == end - end % 900 and newest[3] == sum(per_tariff.values())
    assert regs.profile.read(40 * 96 - 1)[0] == newest[0] - (40 * 96 - 1) * 900
    # A reboot finds the same state: passive calendar active, nothing pending.
    again = MeterRegisters(clock, fs, calendar=ACTIVE)
    again.boot(end)
    assert again.tariffs.active.calendar_id == 2 and again.tariffs.passive is None
    assert RegistersView(again).tariff_indicator() == expected_tariff(end)
    assert again.profile.count() == regs.profile.count()
