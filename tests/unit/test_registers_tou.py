# TOU calendar codec and lookup (firmware/registers/tou.py). Days checked by hand against
# a wall calendar: 2025-01-01 Wednesday, 2025-04-05 Saturday, 2025-12-25 Thursday.
from registers import civil, tou
from registers.memfs import MemoryFs
from registers.store import RecordStore
from support import NoAllocation, raises

WEEKDAY, WEEKEND, SUMMER_WEEKDAY = 0, 1, 2
CAL = tou.build(
    seasons=[(1, 1, 0), (4, 1, 1), (10, 1, 0)],
    weeks=[(WEEKDAY,) * 5 + (WEEKEND,) * 2, (SUMMER_WEEKDAY,) * 5 + (WEEKEND,) * 2],
    days=[[(0, 1), (7 * 60, 2), (23 * 60, 1)], [(0, 1)],
          [(0, 1), (6 * 60 + 30, 2), (21 * 60, 3), (23 * 60 + 30, 1)]],
    special=[(0, 12, 25, WEEKEND), (2025, 4, 21, WEEKEND)],
    calendar_id=7)


def local(y, m, d, hh, mm):
    return civil.days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60


def test_header_fields():
    c = tou.Calendar(CAL)
    assert c.calendar_id == 7 and c.seasons == 3 and c.special == 2
    assert CAL[:5] == bytes([1, 3, 2, 3, 2])


def test_winter_weekday_switches():
    c = tou.Calendar(CAL)
    assert c.tariff_at(local(2025, 1, 1, 6, 59)) == 1  # Wednesday
    assert c.tariff_at(local(2025, 1, 1, 7, 0)) == 2
    assert c.tariff_at(local(2025, 1, 1, 22, 59)) == 2
    assert c.tariff_at(local(2025, 1, 1, 23, 0)) == 1


def test_weekend_season_and_special_days():
    c = tou.Calendar(CAL)
    assert c.tariff_at(local(2025, 4, 5, 12, 0)) == 1  # Saturday
    assert c.tariff_at(local(2025, 4, 7, 6, 30)) == 2  # summer Monday
    assert c.tariff_at(local(2025, 4, 7, 21, 15)) == 3
    assert c.tariff_at(local(2025, 4, 7, 23, 30)) == 1
    assert c.tariff_at(local(2025, 4, 21, 12, 0)) == 1  # special day, this year only
    assert c.tariff_at(local(2026, 4, 21, 12, 0)) == 2  # 2026-04-21 is a Tuesday
    assert c.tariff_at(local(2025, 12, 25, 12, 0)) == 1  # every year
    assert c.tariff_at(local(2025, 10, 1, 21, 15)) == 2  # back to the winter week


def test_lookup_allocates_nothing():
    c = tou.Calendar(CAL)
    t = local(2025, 6, 3, 22, 0)
    with NoAllocation():
        tariff = c.tariff_at(t)
    assert tariff == 3


def test_invalid_calendars_are_refused():
    raises(ValueError, tou.Calendar, b"\x02" + CAL[1:])  # version
    raises(ValueError, tou.Calendar, CAL[:-1])  # truncated
    raises(ValueError, tou.Calendar, CAL + b"\x00")  # trailing bytes
    raises(ValueError, tou.Calendar, tou.build([(1, 1, 0)], [(0,) * 7], [[(60, 1)]]))  # 01:00
    raises(ValueError, tou.Calendar, tou.build([(1, 1, 0)], [(0,) * 7], [[(0, 1), (0, 2)]]))
    raises(ValueError, tou.Calendar, tou.build([(4, 1, 0), (1, 1, 0)], [(0,) * 7], [[(0, 1)]]))
    raises(ValueError, tou.Calendar, tou.build([(1, 1, 1)], [(0,) * 7], [[(0, 1)]]))
    raises(ValueError, tou.Calendar, tou.build([(1, 1, 0)], [(0,) * 7], [[(0, 5)]]), 4)


def test_schedule_persists_active_and_passive():
    store = RecordStore(MemoryFs())
    s = tou.TariffSchedule(store, tou.single_tariff(1), 4)
    raises(ValueError, s.set_passive, b"\x00", 100)  # refused before anything changes
    assert s.passive is None
    s.set_passive(CAL, 1756677600)
    again = tou.TariffSchedule(store, tou.single_tariff(1), 4)
    assert again.load()
    assert again.passive.calendar_id == 7 and again.activation_utc == 1756677600
    assert not again.due(1756677599) and again.due(1756677600)
    assert again.activate() == 7
    third = tou.TariffSchedule(store, tou.single_tariff(1), 4)
    third.load()
    assert third.active.calendar_id == 7 and third.passive is None


def _big(tariff):
    """A valid calendar of 609 octets (16 day profiles of 12 switches)."""
    days = [[(m * 60, tariff) for m in range(12)] for _ in range(16)]
    return tou.build([(1, 1, 0)], [(0, 1, 2, 3, 4, 5, 6)], days, calendar_id=tariff)


def test_a_schedule_that_does_not_fit_changes_nothing():
    """The record holds 1016 octets of calendars: a passive calendar that would not fit next
    to the active one is refused before it is assigned, and so never activates."""
    store = RecordStore(MemoryFs())
    s = tou.TariffSchedule(store, tou.single_tariff(1), 4)
    big = _big(2)
    assert len(big) == 609
    s.set_active(big)
    assert s.fits(s.active, tou.Calendar(tou.single_tariff(3))) and not s.fits(s.active, s.active)
    raises(ValueError, s.set_passive, _big(3), 100)
    assert s.passive is None and s.activation_utc == 0 and not s.due(200)
    again = tou.TariffSchedule(store, tou.single_tariff(1), 4)
    assert again.load() and again.active.calendar_id == 2 and again.passive is None
    # The other way round: a big passive calendar leaves no room for a big active one.
    again.set_active(tou.single_tariff(1))
    again.set_passive(_big(3), 5000)
    raises(ValueError, again.set_active, _big(4))
    assert again.active.data == tou.single_tariff(1) and again.passive.calendar_id == 3


class _FailingFs(MemoryFs):
    def __init__(self):
        super().__init__()
        self.fail = False

    def open(self, name, mode="rb"):
        if self.fail and "w" in mode:
            raise OSError(28)
        return super().open(name, mode)


def test_a_failed_write_leaves_the_schedule_as_it_was():
    fs = _FailingFs()
    s = tou.TariffSchedule(RecordStore(fs), tou.single_tariff(1), 4)
    s.set_passive(CAL, 1000)
    fs.fail = True
    raises(OSError, s.set_passive, tou.single_tariff(2), 2000)
    assert s.passive.calendar_id == 7 and s.activation_utc == 1000
    raises(OSError, s.set_active, tou.single_tariff(2))
    assert s.active.calendar_id == 0 and s.active.tariff_at(0) == 1
    raises(OSError, s.activate)  # retried at the next minute
    assert s.passive.calendar_id == 7 and s.active.calendar_id == 0
    fs.fail = False
    assert s.activate() == 7 and s.passive is None


def test_a_stored_schedule_that_does_not_decode_is_ignored_at_boot():
    store = RecordStore(MemoryFs())
    s = tou.TariffSchedule(store, tou.single_tariff(1), 16)
    s.set_active(tou.single_tariff(9))  # valid for 16 tariffs, not for 4
    four = tou.TariffSchedule(store, tou.single_tariff(1), 4)
    assert not four.load()
    assert four.active.tariff_at(0) == 1
