# Civil calendar arithmetic on UTC seconds since 1970-01-01 (the hal Clock's time base) and
# EU summer time (Directive 2000/84/EC, Art. 2 and 3: from 01:00 UTC on the last Sunday of
# March to 01:00 UTC on the last Sunday of October).
#
# The device's own `time` module cannot be used: embedded MicroPython ports count from
# 2000-01-01 and the unix port from 1970, and gmtime() returns a fresh tuple per call. These
# functions return plain ints; a date comes back packed as (year << 9) | (month << 5) | day
# so that no tuple is allocated (use year_of/month_of/day_of to unpack).
from micropython import const

_SECONDS_PER_DAY = const(86400)
_DAYS_PER_ERA = const(146097)  # 400 Gregorian years
_DAYS_1970_FROM_0000_03_01 = const(719468)  # days from 0000-03-01 to 1970-01-01
_EU_SWITCH_UTC_S = const(3600)  # Directive 2000/84/EC Art. 2/3: 01:00 GMT/UTC


def days_from_civil(year, month, day):
    """Days since 1970-01-01 of a proleptic Gregorian date (years counted from March so
    that the leap day ends the year)."""
    if month <= 2:
        year -= 1
    era = year // 400
    year_of_era = year - era * 400
    shifted_month = month - 3 if month > 2 else month + 9  # March = 0 .. February = 11
    day_of_year = (153 * shifted_month + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * _DAYS_PER_ERA + day_of_era - _DAYS_1970_FROM_0000_03_01


def civil_from_days(days):
    """Packed date (year << 9 | month << 5 | day) of a day number since 1970-01-01."""
    z = days + _DAYS_1970_FROM_0000_03_01
    era = z // _DAYS_PER_ERA
    day_of_era = z - era * _DAYS_PER_ERA
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524
                   - day_of_era // 146096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = shifted_month + 3 if shifted_month < 10 else shifted_month - 9
    year = year_of_era + era * 400 + (1 if month <= 2 else 0)
    return (year << 9) | (month << 5) | day


def year_of(packed):
    return packed >> 9


def month_of(packed):
    return (packed >> 5) & 15


def day_of(packed):
    return packed & 31


def weekday(days):
    """0 = Monday .. 6 = Sunday (1970-01-01 was a Thursday)."""
    return (days + 3) % 7


def days_in_month(year, month):
    if month == 12:
        return 31
    return days_from_civil(year, month + 1, 1) - days_from_civil(year, month, 1)


def last_sunday(year, month):
    """Day number of the last Sunday of a month."""
    last = days_from_civil(year, month, days_in_month(year, month))
    return last - (weekday(last) + 1) % 7


def eu_summer_time_start(year):
    """UTC seconds when EU summer time starts in `year`."""
    return last_sunday(year, 3) * _SECONDS_PER_DAY + _EU_SWITCH_UTC_S


def eu_summer_time_end(year):
    return last_sunday(year, 10) * _SECONDS_PER_DAY + _EU_SWITCH_UTC_S



def eu_summer_time(utc):
    """True while EU summer time is in force at `utc` (seconds since 1970-01-01 UTC)."""
    year = year_of(civil_from_days(utc // _SECONDS_PER_DAY))
    return eu_summer_time_start(year) <= utc < eu_summer_time_end(year)
