# Civil calendar and EU summer time against CPython's datetime and zoneinfo (independent
# implementations: the proleptic Gregorian calendar and the IANA time zone database).
import datetime
import zoneinfo

from hal.clock import FakeClock
from registers import civil
from registers.clock import MeterClock

EPOCH = datetime.date(1970, 1, 1)


def test_dates_match_datetime_from_1900_to_2200():
    for days in range(-25567, 84000, 7):
        d = EPOCH + datetime.timedelta(days=days)
        packed = civil.civil_from_days(days)
        assert (civil.year_of(packed), civil.month_of(packed), civil.day_of(packed)) == \
            (d.year, d.month, d.day)
        assert civil.days_from_civil(d.year, d.month, d.day) == days
        assert civil.weekday(days) == d.weekday()


def test_offsets_match_the_tz_database_hourly_2020_to_2040():
    zones = (("Europe/Amsterdam", 3600), ("Europe/Lisbon", 0), ("Europe/Helsinki", 7200))
    start = int(datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc).timestamp())
    end = int(datetime.datetime(2040, 1, 1, tzinfo=datetime.timezone.utc).timestamp())
    for name, std in zones:
        zone = zoneinfo.ZoneInfo(name)
        clock = MeterClock(FakeClock(), std_offset_s=std)
        for utc in range(start, end, 3600):
            t = datetime.datetime.fromtimestamp(utc, datetime.timezone.utc).astimezone(zone)
            assert clock.offset(utc) == t.utcoffset().total_seconds(), (name, utc)
            assert clock.is_dst(utc) == bool(t.dst())
