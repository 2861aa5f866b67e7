# Civil calendar and EU summer time (firmware/registers/civil.py, clock.py). Expected
# instants: Directive 2000/84/EC (01:00 UTC, last Sunday of March/October), dates worked
# out with CPython's datetime (tests/host/test_registers_clock_host.py sweeps it fully).
from hal.clock import FakeClock
from registers import civil
from registers.clock import DST_NONE, MeterClock


def test_day_numbers_of_known_dates():
    assert civil.days_from_civil(1970, 1, 1) == 0
    assert civil.days_from_civil(1969, 12, 31) == -1
    assert civil.days_from_civil(2000, 3, 1) == 11017
    assert civil.days_from_civil(2024, 2, 29) == 19782
    assert civil.days_from_civil(2100, 3, 1) == 47541  # 2100 is not a leap year


def test_dates_from_day_numbers():
    d = civil.civil_from_days(19782)
    assert (civil.year_of(d), civil.month_of(d), civil.day_of(d)) == (2024, 2, 29)
    d = civil.civil_from_days(47541)
    assert (civil.year_of(d), civil.month_of(d), civil.day_of(d)) == (2100, 3, 1)
    d = civil.civil_from_days(-1)
    assert (civil.year_of(d), civil.month_of(d), civil.day_of(d)) == (1969, 12, 31)


def test_weekday_and_month_lengths():
    assert civil.weekday(0) == 3  # 1970-01-01 was a Thursday
    assert civil.weekday(civil.days_from_civil(2025, 3, 30)) == 6  # a Sunday
    assert civil.days_in_month(2024, 2) == 29
    assert civil.days_in_month(2100, 2) == 28
    assert civil.days_in_month(2025, 12) == 31


def test_eu_summer_time_instants():
    expected = {
        2024: (1711846800, 1729990800),  # 31 March, 27 October
        2025: (1743296400, 1761440400),  # 30 March, 26 October
        2026: (1774746000, 1792890000),
        2037: (2121901200, 2140045200),
    }
    for year, (start, end) in expected.items():
        assert civil.eu_summer_time_start(year) == start
        assert civil.eu_summer_time_end(year) == end


def test_local_time_around_the_spring_change():
    clock = MeterClock(FakeClock(), std_offset_s=3600)
    start = 1743296400  # 2025-03-30 01:00 UTC = 02:00 CET -> 03:00 CEST
    assert clock.offset(start - 1) == 3600 and not clock.is_dst(start - 1)
    assert clock.offset(start) == 7200 and clock.is_dst(start)
    assert clock.local(start) - clock.local(start - 1) == 3601  # 01:59:59 -> 03:00:00


def test_local_time_around_the_autumn_change():
    clock = MeterClock(FakeClock(), std_offset_s=3600)
    end = 1761440400  # 2025-10-26 01:00 UTC = 03:00 CEST -> 02:00 CET
    assert clock.is_dst(end - 1) and not clock.is_dst(end)
    assert clock.local(end) - clock.local(end - 1) == -3599


def test_other_zones_and_no_dst():
    portugal = MeterClock(FakeClock(), std_offset_s=0)
    assert portugal.offset(1750000000) == 3600  # June: WEST
    finland = MeterClock(FakeClock(), std_offset_s=7200)
    assert finland.offset(1735689600) == 7200  # January: EET
    fixed = MeterClock(FakeClock(), std_offset_s=3600, dst_rule=DST_NONE)
    assert fixed.offset(1750000000) == 3600 and not fixed.is_dst(1750000000)


def test_set_utc_logs_old_and_new_time():
    seen = []

    class Logs:
        def clock_set(self, old, new):
            seen.append((old, new))

    fake = FakeClock(utc=1700000000)
    clock = MeterClock(fake)
    assert clock.set_utc(1700003600, Logs()) == 1700000000
    assert fake.time() == 1700003600
    assert seen == [(1700000000, 1700003600)]
