# The factory two-rate calendars (registers/tou.py day_night) and each market profile's choice,
# checked against hand-picked local times (2025-01-06 is a Monday).
from h1 import profiles
from registers import civil, tou


def local(y, m, d, hh, mm):
    return civil.days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60


def test_nl_low_and_normal():
    c = tou.Calendar(tou.day_night(2, 1))  # DSMR 5.0.2 7.1: 1 = low, 2 = normal
    assert c.tariff_at(local(2025, 1, 6, 6, 59)) == 1
    assert c.tariff_at(local(2025, 1, 6, 7, 0)) == 2
    assert c.tariff_at(local(2025, 1, 10, 22, 59)) == 2  # Friday
    assert c.tariff_at(local(2025, 1, 10, 23, 0)) == 1
    assert c.tariff_at(local(2025, 1, 11, 12, 0)) == 1  # Saturday
    assert c.tariff_at(local(2025, 12, 25, 12, 0)) == 1  # Christmas, a Thursday
    assert c.tariff_at(local(2026, 1, 1, 12, 0)) == 1  # New Year, a Thursday


def test_be_day_and_night():
    c = tou.Calendar(tou.day_night(1, 2, 420, 1320))  # e-MUCS H: 1 = day, 2 = night
    assert c.tariff_at(local(2025, 1, 6, 8, 0)) == 1
    assert c.tariff_at(local(2025, 1, 6, 22, 0)) == 2
    assert c.tariff_at(local(2025, 1, 12, 12, 0)) == 2  # Sunday


def test_each_market_profile_carries_its_calendar_and_time_zone():
    assert profiles.by_name("be").default_calendar() == tou.day_night(1, 2, 420, 1320)
    assert profiles.by_name("nl").default_calendar() == tou.day_night(2, 1)
    assert profiles.by_name("se").default_calendar() == tou.single_tariff(1)
    assert profiles.by_name("lt").default_calendar() == tou.single_tariff(1)
    # (standard offset s, EU summer time): LT keeps Eastern European Time, SE no DST
    zones = [(p.name, p.std_offset_s, p.dst_rule) for p in profiles.PROFILES]
    assert zones == [("nl", 3600, 1), ("nl4", 3600, 1), ("be", 3600, 1), ("lu", 3600, 1),
                     ("se", 3600, 0), ("lt", 7200, 1)]
