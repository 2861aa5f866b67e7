# The factory two-rate calendars (registers/tou.py day_night) and main's choice per market,
# checked against hand-picked local times (2025-01-06 is a Monday).
import main
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


def test_main_picks_the_calendar_of_the_profile():
    assert main.tariff_calendar("be") == tou.day_night(1, 2, 420, 1320)
    assert main.tariff_calendar("nl") == tou.day_night(2, 1)
    assert main.tariff_calendar("se") == tou.single_tariff(1)
