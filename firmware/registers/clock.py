# Meter clock: UTC from a hal Clock (RTC on the board, FakeClock in tests), local time with
# a configurable standard offset and EU summer time, and clock setting that logs the old and
# new time (seed 001 Annex A 2.b.1; seed 003 11.6: changes leave an event).
from micropython import const

from registers import civil

_SUMMER_SHIFT_S = const(3600)  # Directive 2000/84/EC: summer time is one hour ahead
_SECONDS_PER_DAY = const(86400)

DST_NONE = const(0)
DST_EU = const(1)

# The times the meter accepts (issue 10): 2000-01-01 .. 2099-12-31, UTC. A clock reading
# outside them at boot is no time at all; a command setting one is refused.
MIN_UTC = const(946684800)  # 2000-01-01T00:00:00Z
MAX_UTC = 4102444799  # 2099-12-31T23:59:59Z (above 2**30: not a const on 32-bit ports)


class MeterClock:
    """Local time = UTC + std_offset_s (+ 1 h during EU summer time when dst_rule is DST_EU).

    The summer-time window of the current year is cached, so is_dst()/offset() at the same
    year cost two comparisons and allocate nothing on the unix port.
    """

    def __init__(self, hal_clock, std_offset_s=3600, dst_rule=DST_EU):
        self.hal_clock = hal_clock
        self.std_offset_s = std_offset_s
        self.dst_rule = dst_rule
        # False while the time is only resumed from the persisted one (no RTC kept it
        # through the power cut): registers/meter.py files nothing by it until a sync.
        self.synced = True
        self._window_year = -1
        self._window_start = 0
        self._window_end = 0
        self._window_from = 0  # UTC range in which the cached window is valid
        self._window_to = -1

    def utc(self):
        return self.hal_clock.time()

    def _load_window(self, utc):
        days = utc // _SECONDS_PER_DAY
        year = civil.year_of(civil.civil_from_days(days))
        self._window_year = year
        self._window_start = civil.eu_summer_time_start(year)
        self._window_end = civil.eu_summer_time_end(year)
        self._window_from = civil.days_from_civil(year, 1, 1) * _SECONDS_PER_DAY
        self._window_to = civil.days_from_civil(year + 1, 1, 1) * _SECONDS_PER_DAY

    def is_dst(self, utc):
        if self.dst_rule != DST_EU:
            return False
        if utc < self._window_from or utc >= self._window_to:
            self._load_window(utc)
        return self._window_start <= utc < self._window_end

    def offset(self, utc):
        """Seconds to add to UTC for local time."""
        if self.is_dst(utc):
            return self.std_offset_s + _SUMMER_SHIFT_S
        return self.std_offset_s

    def local(self, utc):
        """Local time in seconds since 1970-01-01 00:00 local."""
        return utc + self.offset(utc)

    def set_utc(self, new_utc, logs=None):
        """Set the time source; logs a clock-set event with the old and new time. Only the
        configuration path (registers.config) calls this."""
        old = self.hal_clock.time()
        self.hal_clock.set_time(new_utc)
        if logs is not None:
            logs.clock_set(old, new_utc)
        return old

