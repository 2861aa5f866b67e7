# Time-of-use tariff calendar (seed 001 Annex A 3.b.1: active and passive calendars, the
# passive one activated at a date-time), shaped like the DLMS activity calendar: seasons ->
# week profiles -> day profiles (switch times -> tariff), plus special days. The calendar
# travels and is stored as bytes (the format below, docs/registers.md); Calendar parses and
# validates it once and answers tariff_at(local_seconds) without allocating.
#
#   0  version (1)          1  seasons S (1..12)     2  week profiles W (1..8)
#   3  day profiles D (1..16)                        4  special days P (0..64)
#   5  calendar id u16 LE (set by the issuer; reported in the activation event)
#   7  S x (start month, start day, week profile)   ascending by date; the last season
#                                                   of a year runs on into the next year
#      W x 7 day profile ids (Monday .. Sunday)
#      D x (switch count N (1..12), N x (minute of day u16 LE, tariff)); the first switch
#          is at minute 0 and switches ascend (a day profile covers the whole day)
#      P x (year u16 LE (0: every year), month, day, day profile)
#
# Switch times are local wall time (EN 62056-6-2 activity calendars work in local time):
# across the spring-forward hour a switch inside the missing hour takes effect at 03:00;
# in the repeated autumn hour the profile gives the same tariff both times.
import struct

from micropython import const

from registers import civil

_VERSION = const(1)
_HEADER = const(7)
_MAX_SEASONS = const(12)
_MAX_WEEKS = const(8)
_MAX_DAYS = const(16)
_MAX_SWITCHES = const(12)
_MAX_SPECIAL = const(64)
_MINUTES_PER_DAY = const(1440)
MAX_CALENDAR_BYTES = const(_HEADER + 3 * _MAX_SEASONS + 7 * _MAX_WEEKS
                           + _MAX_DAYS * (1 + 3 * _MAX_SWITCHES) + 5 * _MAX_SPECIAL)


class Calendar:
    def __init__(self, data, max_tariff=16):
        data = bytes(data)
        if len(data) < _HEADER or data[0] != _VERSION:
            raise ValueError("calendar version")
        seasons, weeks, days, special = data[1], data[2], data[3], data[4]
        if not (1 <= seasons <= _MAX_SEASONS and 1 <= weeks <= _MAX_WEEKS
                and 1 <= days <= _MAX_DAYS and special <= _MAX_SPECIAL):
            raise ValueError("calendar counts")
        self.data = data
        self.calendar_id = data[5] | (data[6] << 8)
        self.seasons = seasons
        self.special = special
        pos = _HEADER
        self.season_at = pos
        previous = 0
        for i in range(seasons):
            month, day, week = data[pos], data[pos + 1], data[pos + 2]
            if not (1 <= month <= 12 and 1 <= day <= 31) or week >= weeks:
                raise ValueError("season")
            if month * 32 + day <= previous:
                raise ValueError("seasons not ascending")
            previous = month * 32 + day
            pos += 3
        self.week_at = pos
        for i in range(7 * weeks):
            if data[pos + i] >= days:
                raise ValueError("week profile")
        pos += 7 * weeks
        # Offsets of each day profile, kept in a bytes-free form: a tuple built once.
        offsets = []
        self.max_used = 1  # the highest tariff any day profile switches to
        for i in range(days):
            if pos >= len(data):
                raise ValueError("truncated day profile")
            count = data[pos]
            if not 1 <= count <= _MAX_SWITCHES or pos + 1 + 3 * count > len(data):
                raise ValueError("day profile switches")
            offsets.append(pos)
            last = -1
            for k in range(count):
                minute, tariff = struct.unpack_from("<HB", data, pos + 1 + 3 * k)
                if minute >= _MINUTES_PER_DAY or minute <= last:
                    raise ValueError("switch times")
                if k == 0 and minute != 0:
                    raise ValueError("day profile must start at 00:00")
                if not 1 <= tariff <= max_tariff:
                    raise ValueError("tariff")
                if tariff > self.max_used:
                    self.max_used = tariff
                last = minute
            pos += 1 + 3 * count
        self.day_at = tuple(offsets)
        self.special_at = pos
        for i in range(special):
            if pos + 5 > len(data):
                raise ValueError("truncated special days")
            month, day, profile = data[pos + 2], data[pos + 3], data[pos + 4]
            if not (1 <= month <= 12 and 1 <= day <= 31) or profile >= days:
                raise ValueError("special day")
            pos += 5
        if pos != len(data):
            raise ValueError("calendar length")

    def day_profile(self, days):
        """Day profile id for a local day number (days since 1970-01-01)."""
        data = self.data
        date = civil.civil_from_days(days)
        year = civil.year_of(date)
        month = civil.month_of(date)
        day = civil.day_of(date)
        pos = self.special_at
        for i in range(self.special):
            sy = data[pos] | (data[pos + 1] << 8)
            if data[pos + 2] == month and data[pos + 3] == day and (sy == 0 or sy == year):
                return data[pos + 4]
            pos += 5
        key = month * 32 + day
        pos = self.season_at
        week = data[pos + 3 * (self.seasons - 1) + 2]  # before the first start: last season
        for i in range(self.seasons):
            if data[pos] * 32 + data[pos + 1] <= key:
                week = data[pos + 2]
            pos += 3
        return data[self.week_at + 7 * week + civil.weekday(days)]

    def tariff_at(self, local_seconds):
        days = local_seconds // 86400
        minute = (local_seconds - days * 86400) // 60
        data = self.data
        pos = self.day_at[self.day_profile(days)]
        tariff = data[pos + 3]
        for k in range(data[pos]):
            at = pos + 1 + 3 * k
            if data[at] | (data[at + 1] << 8) > minute:
                break
            tariff = data[at + 2]
        return tariff


def build(seasons, weeks, days, special=(), calendar_id=0):
    """Encode a calendar from Python structures (for configuration tools and tests):
    seasons [(month, day, week)], weeks [(7 day ids)], days [[(minute, tariff), ...]],
    special [(year or 0, month, day, day id)]."""
    out = bytearray([_VERSION, len(seasons), len(weeks), len(days), len(special),
                     calendar_id & 0xFF, calendar_id >> 8])
    for month, day, week in seasons:
        out.extend(bytes([month, day, week]))
    for week in weeks:
        out.extend(bytes(week))
    for switches in days:
        out.append(len(switches))
        for minute, tariff in switches:
            out.extend(struct.pack("<HB", minute, tariff))
    for year, month, day, profile in special:
        out.extend(struct.pack("<HBBB", year, month, day, profile))
    return bytes(out)


def single_tariff(tariff=1):
    """A calendar that always gives one tariff (the factory default)."""
    return build([(1, 1, 0)], [(0,) * 7], [[(0, tariff)]])


class TariffSchedule:
    """Active and passive calendars; the passive one becomes active at its activation time
    (UTC seconds). Persisted as one record: activation u32, active length u16, passive
    length u16, then both calendars; the record store caps it (1024 octets of payload), so
    the two calendars together hold at most 1016 octets (fits() tells). Every change is
    written first and used only once the write succeeded: a calendar that does not fit, or
    a flash error, leaves the schedule as it was, in RAM and in flash."""

    def __init__(self, store, default_calendar, max_tariff=16):
        self.max_tariff = max_tariff
        self.active = Calendar(default_calendar, max_tariff)
        self.passive = None
        self.activation_utc = 0
        self.slots = store.slots("tariffs", 0x40, 8 + 2 * MAX_CALENDAR_BYTES)
        self.buf = bytearray(self.slots.max_payload)

    def parse(self, data):
        """A validated Calendar for this meter's tariffs (ValueError when malformed)."""
        return Calendar(data, self.max_tariff)

    def fits(self, active, passive):
        """True when the record holding these calendars (passive may be None) fits."""
        size = 8 + len(active.data) + (len(passive.data) if passive is not None else 0)
        return size <= self.slots.max_payload

    def _calendar(self, data):
        return data if isinstance(data, Calendar) else self.parse(data)

    def set_passive(self, data, activation_utc):
        passive = self._calendar(data)  # validates before anything changes
        self._write(self.active, passive, activation_utc)
        self.passive = passive
        self.activation_utc = activation_utc

    def set_active(self, data):
        active = self._calendar(data)
        self._write(active, self.passive, self.activation_utc)
        self.active = active

    def due(self, utc):
        """True when the passive calendar should be activated now."""
        return self.passive is not None and utc >= self.activation_utc

    def activate(self):
        self._write(self.passive, None, self.activation_utc)
        self.active = self.passive
        self.passive = None
        return self.active.calendar_id

    def save(self):
        self._write(self.active, self.passive, self.activation_utc)

    def _write(self, active, passive, activation_utc):
        """Persist a schedule; ValueError (record too long) or OSError before any change."""
        if not self.fits(active, passive):
            raise ValueError("record too long")
        buf = self.buf
        a = active.data
        p = passive.data if passive is not None else b""
        struct.pack_into("<IHH", buf, 0, activation_utc, len(a), len(p))
        buf[8:8 + len(a)] = a
        buf[8 + len(a):8 + len(a) + len(p)] = p
        self.slots.save(buf, 8 + len(a) + len(p))

    def load(self):
        """Restore the stored schedule; False (factory calendar kept) when there is none or
        it does not decode (e.g. written for more tariffs than this meter has)."""
        buf = self.buf
        n = self.slots.load(buf)
        if n < 8:
            return False
        activation, la, lp = struct.unpack_from("<IHH", buf, 0)
        if 8 + la + lp > n:
            return False
        try:
            active = Calendar(buf[8:8 + la], self.max_tariff)
            passive = Calendar(buf[8 + la:8 + la + lp], self.max_tariff) if lp else None
        except ValueError:
            return False
        self.active = active
        self.passive = passive
        self.activation_utc = activation
        return True


# Fixed-date public holidays kept as special days (every year): 1 January, 25 and 26
# December. Moveable feasts (Easter, Ascension, Whit Monday) are configured per year.
_FIXED_HOLIDAYS = ((0, 1, 1), (0, 12, 25), (0, 12, 26))


def day_night(day_tariff, night_tariff, day_start_min=420, day_end_min=1380,
              calendar_id=1):
    """The two-rate calendar of the Benelux: `day_tariff` on weekdays from day_start_min to
    day_end_min (local minutes; 07:00-23:00 by default), `night_tariff` otherwise, all day at
    weekends and on the fixed public holidays. NL numbers them 1 = low (night), 2 = normal
    (DSMR 5.0.2 7.1: day_night(2, 1)); BE 1 = day, 2 = night (e-MUCS H: day_night(1, 2,
    420, 1320), day 07:00-22:00)."""
    weekday = [(0, night_tariff), (day_start_min, day_tariff), (day_end_min, night_tariff)]
    weekend = [(0, night_tariff)]
    special = [(year, month, day, 1) for year, month, day in _FIXED_HOLIDAYS]
    return build([(1, 1, 0)], [(0, 0, 0, 0, 0, 1, 1)], [weekday, weekend], special,
                 calendar_id)
