# What the Metering servers serve, read from the registers (ARCHITECTURE: the HAN reads
# the meter through registers.view.RegistersView and never writes it). Each class is a
# source as han.se.metering describes it.
#
#   ElectricitySource(view, power_w=None): the hub's own meter in Wh and W. Summations are
#       the P1 registers themselves (1-0:1.8.0 / 2.8.0, tariff t = tier t: 1-0:1.8.t /
#       2.8.t), so a display and P1 agree to the Wh. power_w() -> signed W (import > 0)
#       from the metrology, given by main; without it there is no InstantaneousDemand.
#       Day / week / month consumption come from the import total at the last local
#       midnight, Monday and 1st of the month (the meter's own zone and DST, from the
#       view): step(utc) must see every local midnight (call it each minute); after a
#       boot the bases are unknown (the value is "invalid") until the next boundary, or
#       until restore() gives persisted ones.
#   MirrorSource(view): the gas meter as the hub last heard it (the registers' gas
#       mailbox): volume in litres (units.gas(3)) with its own capture time; no reading
#       yet: the invalid values.
from micropython import const

from registers import civil

_DAY = const(86400)
_ROLLOVER_WH = const(1000000000)   # registers.energy: registers roll over like the display

# han.se.metering's periods (duplicated, not imported: a source needs no server).
_CUR_DAY = const(0)
_PREV_DAY = const(1)
_WEEK = const(2)
_MONTH = const(3)


def _since(total, base):
    d = total - base
    return d + _ROLLOVER_WH if d < 0 else d


class ElectricitySource:
    directions = 2

    def __init__(self, view, power_w=None):
        self.view = view
        self.tier_count = view.tariff_count
        if power_w is not None:
            self.demand = power_w
        self._day = -1          # local day number last seen by step
        self._week = -1
        self._month = -1
        self.day_base = None    # import total (Wh) at the start of the period, or None
        self.week_base = None
        self.month_base = None
        self.previous_day = None

    def summation(self, direction):
        v = self.view
        return v.total_import_wh() if direction == 0 else v.total_export_wh()

    def tier(self, n, direction):
        v = self.view
        return v.import_wh(n) if direction == 0 else v.export_wh(n)

    def restore(self, day_base=None, week_base=None, month_base=None, previous_day=None,
                utc=None):
        """Bases kept across a reboot (Wh totals at the start of the current day, week,
        month of utc, and yesterday's consumption): the caller vouches they belong to
        the periods that hold utc."""
        self._mark(self.view.utc() if utc is None else utc)
        self.day_base = day_base
        self.week_base = week_base
        self.month_base = month_base
        self.previous_day = previous_day

    @property
    def day(self):
        """The local day number last seen (-1: none yet)."""
        return self._day

    def pack(self, out):
        """The periods' bases for the record store (Hub keeps them across a reboot): the
        local day, week and month they belong to, the three bases and yesterday's
        consumption (-1: unknown), 7 x int32 little endian; returns 28."""
        vals = (self._day, self._week, self._month, self.day_base, self.week_base,
                self.month_base, self.previous_day)
        for k in range(7):
            v = -1 if vals[k] is None else vals[k]
            for j in range(4):
                out[4 * k + j] = (v >> (8 * j)) & 0xFF
        return 28

    def unpack(self, buf, n, utc):
        """Take back what pack wrote, keeping only the bases of the periods that still
        hold utc (a reboot within the same day keeps today's energy; one across midnight
        starts the day unknown, as a power cut over midnight must)."""
        if n != 28:
            return
        vals = []
        for k in range(7):
            v = buf[4 * k] | buf[4 * k + 1] << 8 | buf[4 * k + 2] << 16 | buf[4 * k + 3] << 24
            vals.append(v - (1 << 32) if v >= 1 << 31 else v)
        day, week, month = vals[0], vals[1], vals[2]
        self._mark(utc)

        def kept(v, same):
            return v if same and v >= 0 else None

        self.day_base = kept(vals[3], day == self._day)
        self.week_base = kept(vals[4], week == self._week)
        self.month_base = kept(vals[5], month == self._month)
        self.previous_day = kept(vals[6], day == self._day)

    def _mark(self, utc):
        day = (utc + self.view.utc_offset_s(utc)) // _DAY
        packed = civil.civil_from_days(day)
        self._day = day
        self._week = (day + 3) // 7          # weeks from Monday (1970-01-01: Thursday)
        self._month = (packed >> 5) & 0x3FFFF   # year and month
        return day

    def step(self, utc):
        """See the local period boundaries up to utc (UTC s since 1970)."""
        old_day, old_week, old_month = self._day, self._week, self._month
        day = (utc + self.view.utc_offset_s(utc)) // _DAY
        if day == old_day:
            return
        self._mark(utc)
        if old_day < 0:
            return                  # first sight after boot: no base known
        total = self.view.total_import_wh()
        if day == old_day + 1 and self.day_base is not None:
            self.previous_day = _since(total, self.day_base)
        else:
            self.previous_day = None   # days passed unseen (a power cut): unknown
        self.day_base = total
        if self._week != old_week:
            self.week_base = total
        if self._month != old_month:
            self.month_base = total

    def consumption(self, period):
        """Wh delivered in the current day / week / month, or yesterday; None if unknown."""
        self.step(self.view.utc())
        if period == _PREV_DAY:
            return self.previous_day
        base = self.day_base if period == _CUR_DAY else (
            self.week_base if period == _WEEK else self.month_base)
        if base is None:
            return None
        return _since(self.view.total_import_wh(), base)


class MirrorSource:
    directions = 1
    tier_count = 0

    def __init__(self, view):
        self.view = view

    def summation(self, direction):
        v = self.view
        return v.gas_litres() if v.gas_valid() else None

    def tier(self, n, direction):
        return None

    def capture_utc(self):
        v = self.view
        return v.gas_capture_utc() if v.gas_valid() else None
