# Integer civil-calendar arithmetic for P1 timestamps (TST = YYMMDDhhmmssX, DSMR 5.0.2 6.4).
# Works on UTC seconds since 1970-01-01 on every port: time.localtime()'s epoch differs
# between MicroPython ports (2000 on some), so it is not used. Days-to-date follows the
# proleptic Gregorian 400-year cycle (146097 days); no tuples are returned, so callers can
# format without allocating.
from micropython import const

_DAYS_PER_ERA = const(146097)  # days in 400 Gregorian years
_EPOCH_SHIFT = const(719468)  # days from 0000-03-01 to 1970-01-01
_SECONDS_PER_DAY = const(86400)


def _year_of_era(doe):
    return (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365


def civil_year(days):
    """Gregorian year of the day `days` since 1970-01-01."""
    z = days + _EPOCH_SHIFT
    era = z // _DAYS_PER_ERA  # floor division: right for days before 0000-03-01 too
    doe = z - era * _DAYS_PER_ERA
    yoe = _year_of_era(doe)
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153  # month index from March = 0
    return yoe + era * 400 + (1 if mp >= 10 else 0)


def put_yymmdd(buf, pos, days):
    """Write the date of `days` since 1970-01-01 as six ASCII digits YYMMDD at buf[pos]."""
    z = days + _EPOCH_SHIFT
    era = z // _DAYS_PER_ERA
    doe = z - era * _DAYS_PER_ERA
    yoe = _year_of_era(doe)
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    yy = (yoe + era * 400 + (1 if month <= 2 else 0)) % 100
    buf[pos] = 48 + yy // 10
    buf[pos + 1] = 48 + yy % 10
    buf[pos + 2] = 48 + month // 10
    buf[pos + 3] = 48 + month % 10
    buf[pos + 4] = 48 + day // 10
    buf[pos + 5] = 48 + day % 10


def days_from_civil(year, month, day):
    """Days since 1970-01-01 of a proleptic Gregorian date."""
    y = year - 1 if month <= 2 else year
    era = y // 400
    yoe = y - era * 400
    mp = month - 3 if month > 2 else month + 9
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * _DAYS_PER_ERA + doe - _EPOCH_SHIFT


def weekday(days):
    """0 = Sunday ... 6 = Saturday (1970-01-01 was a Thursday)."""
    return (days + 4) % 7


def _last_sunday(year, month, last_day):
    d = days_from_civil(year, month, last_day)
    return d - weekday(d)


def eu_summer_time(utc):
    """True while EU summer time is in force: from 01:00 UTC on the last Sunday of March
    to 01:00 UTC on the last Sunday of October (Directive 2000/84/EC, Articles 2 and 3)."""
    year = civil_year(utc // _SECONDS_PER_DAY)
    start = _last_sunday(year, 3, 31) * _SECONDS_PER_DAY + 3600
    end = _last_sunday(year, 10, 31) * _SECONDS_PER_DAY + 3600
    return start <= utc < end
