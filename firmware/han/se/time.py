# Time cluster 0x000A (ZCL revision 6, 07-5123, 3.12): the hub is the time master of its
# network (SE 1.4: the ESI serves time), and end devices such as the gas meter keep their
# clock from it.
#
#   TimeServer(clock, std_offset_s=3600, dst_rule=DST_EU, last_set=None, valid_s=86400,
#              superseding=True)
#       clock.utc() -> UTC seconds since 1970 (registers.clock.MeterClock, or any clock);
#       clock.synced (optional, MeterClock has it): False while the time is only resumed
#       from flash; the server then claims nothing (TimeStatus 0, ValidUntilTime invalid).
#       std_offset_s and dst_rule are the market profile's (h1.profiles.Profile), the
#       same data the meter's own clock follows; the EU rule is registers.civil's.
#       last_set() -> UTC seconds of the clock's last setting, or None.
#   TimeClient(std_offset_s=0, drift_ppm=100, max_error_s=10, max_error_ms=None)
#       build_read(out, seq) -> frame length; take_ms(h, buf, off, end, local_ms,
#       asked_ms=-1) -> True when a Read Attributes Response from a time source set the
#       clock (local_ms: the device's own milliseconds, from its ticks, when the response
#       came; asked_ms: when the request went out); take(..., local_now) the same with
#       whole local seconds. utc_ms(local_ms), utc_now(local_ms), utc(local_now),
#       local(utc), error_ms(local_ms), error_s(local_now), needs_sync(local_now),
#       wait_ms(utc, local_ms). Reported: last_error_ms, worst_error_ms, drift_ppb,
#       drift_known, syncs, steps (see the class).
#
# Attribute values (3.12.2.2), all times in seconds since 2000-01-01 00:00 UTC (2.6.2.14):
#   StandardTime = Time + TimeZone; LocalTime = StandardTime + DstShift while
#   DstStart <= Time <= DstEnd (3.12.2.2.7), so DstEnd is the last second of summer time.
#   DstStart/DstEnd describe the summer time in force, or the next one once this year's
#   has ended. A zone without summer time: DstShift 0, DstStart/DstEnd invalid (all ones).
# Every attribute is read only here: the meter's clock is legally relevant and is set only
# through the configuration path, never from the HAN (ZCL lets a non-master's Time be
# written; the hub is master).
from micropython import const

from han.se.server import ClusterServer
from han.zcl import dispatch as zd
from han.zcl import frame as zf
from han.zcl import general as zg
from han.zcl import types as zt
from registers import civil
from registers.clock import DST_EU

CLUSTER = const(0x000A)

# Attributes, 3.12.2.2 (Table 3-63).
TIME = const(0x0000)              # UTCTime
TIME_STATUS = const(0x0001)       # bitmap8
TIME_ZONE = const(0x0002)         # int32, seconds
DST_START = const(0x0003)         # uint32
DST_END = const(0x0004)           # uint32
DST_SHIFT = const(0x0005)         # int32, seconds
STANDARD_TIME = const(0x0006)     # uint32
LOCAL_TIME = const(0x0007)        # uint32
LAST_SET_TIME = const(0x0008)     # UTCTime
VALID_UNTIL_TIME = const(0x0009)  # UTCTime

# TimeStatus bits, 3.12.2.2.2.
STATUS_MASTER = const(0x01)
STATUS_SYNCHRONIZED = const(0x02)   # set over the network; 0 on a master
STATUS_MASTER_ZONE_DST = const(0x04)
STATUS_SUPERSEDING = const(0x08)    # clients prefer a superseding server

ZCL_EPOCH_UNIX = const(946684800)   # 2000-01-01T00:00:00Z in seconds since 1970
INVALID_U32 = 0xFFFFFFFF            # uint32 / UTCTime invalid value (Table 2-10)
_SUMMER_SHIFT_S = const(3600)       # Directive 2000/84/EC: one hour
_DAY = const(86400)


class TimeServer(ClusterServer):
    def __init__(self, clock, std_offset_s=3600, dst_rule=DST_EU, last_set=None,
                 valid_s=86400, superseding=True):
        self.clock = clock
        self.std_offset_s = std_offset_s
        self.dst_rule = dst_rule
        self._last_set = last_set
        self.valid_s = valid_s
        self.superseding = superseding
        self._has_synced = hasattr(clock, "synced")
        self._utc = 0            # the instant of the frame being answered
        self._from = 0           # UTC range in which _start/_end are the answer
        self._to = -1
        self._start = 0
        self._end = 0
        r = zd.READ
        ClusterServer.__init__(self, CLUSTER, zd.AttrTable([
            zd.Attr(TIME, zt.UTC, r, getter=self.time),
            zd.Attr(TIME_STATUS, zt.BITMAP8, r, getter=self.status),
            zd.Attr(TIME_ZONE, zt.INT32, r, getter=self.time_zone),
            zd.Attr(DST_START, zt.UINT32, r, getter=self.dst_start),
            zd.Attr(DST_END, zt.UINT32, r, getter=self.dst_end),
            zd.Attr(DST_SHIFT, zt.INT32, r, getter=self.dst_shift),
            zd.Attr(STANDARD_TIME, zt.UINT32, r, getter=self.standard_time),
            zd.Attr(LOCAL_TIME, zt.UINT32, r, getter=self.local_time),
            zd.Attr(LAST_SET_TIME, zt.UTC, r, getter=self.last_set_time),
            zd.Attr(VALID_UNTIL_TIME, zt.UTC, r, getter=self.valid_until),
        ]))

    def handle(self, h, buf, off, end, out, unicast, src=-1):
        # One instant for every attribute of the response: Time and LocalTime read a
        # second apart would disagree.
        self._utc = self.clock.utc()
        return ClusterServer.handle(self, h, buf, off, end, out, unicast)

    def at(self, utc):
        """Answer the attribute getters for the instant utc (tests, reports)."""
        self._utc = utc

    def _synced(self):
        return self.clock.synced if self._has_synced else True

    def _window(self):
        # The summer time in force at _utc, or the next one: this year's until it ends,
        # then next year's (registers.civil's EU rule, as the meter's own clock).
        utc = self._utc
        if self._from <= utc < self._to:
            return
        year = civil.year_of(civil.civil_from_days(utc // _DAY))
        start = civil.eu_summer_time_start(year)
        end = civil.eu_summer_time_end(year)
        if utc < end:
            self._from = civil.days_from_civil(year, 1, 1) * _DAY
            self._to = end
        else:
            self._from = end
            self._to = civil.days_from_civil(year + 1, 1, 1) * _DAY
            start = civil.eu_summer_time_start(year + 1)
            end = civil.eu_summer_time_end(year + 1)
        self._start = start
        self._end = end

    def time(self):
        return self._utc - ZCL_EPOCH_UNIX

    def status(self):
        if not self._synced():
            return 0
        s = STATUS_MASTER | STATUS_MASTER_ZONE_DST
        return s | STATUS_SUPERSEDING if self.superseding else s

    def time_zone(self):
        return self.std_offset_s

    def dst_start(self):
        if self.dst_rule != DST_EU:
            return INVALID_U32
        self._window()
        return self._start - ZCL_EPOCH_UNIX

    def dst_end(self):
        if self.dst_rule != DST_EU:
            return INVALID_U32
        self._window()
        return self._end - 1 - ZCL_EPOCH_UNIX

    def dst_shift(self):
        return _SUMMER_SHIFT_S if self.dst_rule == DST_EU else 0

    def standard_time(self):
        return self._utc + self.std_offset_s - ZCL_EPOCH_UNIX

    def local_time(self):
        t = self.standard_time()
        if self.dst_rule == DST_EU:
            self._window()
            if self._start <= self._utc < self._end:
                t += _SUMMER_SHIFT_S
        return t

    def last_set_time(self):
        v = self._last_set() if self._last_set is not None else None
        return INVALID_U32 if v is None else v - ZCL_EPOCH_UNIX

    def valid_until(self):
        if not self._synced():
            return INVALID_U32
        return self._utc + self.valid_s - ZCL_EPOCH_UNIX


# What an end device asks its time server (3.12.2.2), in this order.
CLIENT_ATTRS = (TIME, TIME_STATUS, TIME_ZONE, DST_START, DST_END, DST_SHIFT,
                VALID_UNTIL_TIME)

_HALF_S_MS = const(500)          # Time is whole seconds: its value is taken mid-second
_STEP_SLACK_MS = const(250)      # an error beyond its bound by this much: the hub was set
_FIT_MIN_SPAN_MS = const(21600000)   # 6 h: the drift fit is used from this span on
_FIT_MAX_SPAN_MS = const(172800000)  # 2 days: then a new fit starts (temperature, ageing)
_FIT_MAX_N = const(64)
_PPB = 1000000000


class TimeClient:
    """An end device's clock kept from the network's time server: the device's own
    milliseconds (local_ms, from its ticks, a count that does not jump) plus an offset
    taken from the server's Time.

    Time is whole seconds (3.12.2.2.1): the server's value was taken somewhere in that
    second, at some instant between our request and its response. The offset is taken at
    the middle of both ranges (+ 500 ms + half the round trip), so right after a sync the
    error is at most sync_w_ms = 500 ms + half the round trip. It then grows with the
    crystal's drift: error_ms() bounds it by drift_ppm (the crystal's tolerance, assumed)
    and needs_sync() says to ask again before the bound reaches max_error_ms (100 ppm,
    900 ms: every ~65 min).

    Drift: at each sync the error accumulated since the last one (predicted - server's,
    last_error_ms; worst_error_ms the largest magnitude) is measured; a least-squares line
    through the offsets of the syncs of the last <= 2 days gives the crystal's rate
    (drift_ppb, parts per billion, > 0: the device's clock runs fast). Once the fit spans
    6 h (even the worst quantization then gives < 100 ppm of slope error, typically a
    few) utc_ms() corrects the rate by it, clamped to +-drift_ppm; the error bound stays
    the conservative one. A sync whose error is beyond any drift (the hub's clock was set)
    counts in steps and starts a new fit.

    utc() / utc_now() never go backwards (a reading's capture time must not precede the
    previous one); utc_ms() is the best estimate, for comparisons."""

    def __init__(self, std_offset_s=0, drift_ppm=100, max_error_s=10, max_error_ms=None):
        self.std_offset_s = std_offset_s
        self.dst_start = INVALID_U32
        self.dst_end = INVALID_U32
        self.dst_shift = 0
        self.drift_ppm = drift_ppm
        self.max_error_ms = max_error_s * 1000 if max_error_ms is None else max_error_ms
        self.synced = False
        self.offset_ms = 0       # server UTC ms - local ms at the last sync
        self.offset_s = 0        # the same in whole seconds (floor)
        self.synced_ms = 0       # local ms of the last sync
        self.synced_at = 0       # ... in whole local seconds
        self.sync_w_ms = 0       # half-width of the last sync's uncertainty
        self.valid_until = INVALID_U32
        self.seq = -1
        self.refused = 0
        self.syncs = 0
        self.last_error_ms = 0   # predicted - server's at the last resync (+: ahead)
        self.worst_error_ms = 0
        self.drift_ppb = 0       # the fit's rate (the crystal's), valid when drift_known
        self.drift_known = False
        self.steps = 0           # syncs that found the server's clock set (not drift)
        self._rate = 0           # ppb applied by utc_ms
        self._last = 0
        self._fit_reset()
        self._h = zf.ZclHeader()
        self._rec = zg.AttrRecord()

    def build_read(self, out, seq):
        """Read Attributes of CLIENT_ATTRS at out[0:], client -> server; the frame's
        length. The response is matched by seq."""
        zf.set_header(self._h, zf.FT_GLOBAL, zf.TO_SERVER, seq, zg.READ_ATTRIBUTES)
        self.seq = seq
        return zg.build_read_attributes(out, zf.build(self._h, out, 0), CLIENT_ATTRS)

    def take(self, h, buf, off, end, local_now):
        """take_ms with whole local seconds and no round trip known."""
        return self.take_ms(h, buf, off, end, local_now * 1000)

    def take_ms(self, h, buf, off, end, local_ms, asked_ms=-1):
        """A frame for the Time client: True when it was the awaited Read Attributes
        Response from a time source (Master or Synchronized) and set the clock. False for
        anything else (counted in refused when it was a response we could not use)."""
        if h.frame_type != zf.FT_GLOBAL or h.command != zg.READ_ATTRIBUTES_RSP \
                or h.direction != zf.TO_CLIENT or h.seq != self.seq:
            return False
        rec = self._rec
        time = status = start = stop = -1
        zone = shift = None
        until = INVALID_U32
        try:
            p = off
            while p < end:
                p = zg.next_read_record(buf, p, end, rec)
                if rec.status != zg.SUCCESS:
                    continue
                a, t, v = rec.attr_id, rec.type, rec.value
                if a == TIME and t == zt.UTC:
                    time = v
                elif a == TIME_STATUS and t == zt.BITMAP8:
                    status = v
                elif a == TIME_ZONE and t == zt.INT32:
                    zone = v
                elif a == DST_START and t == zt.UINT32:
                    start = v
                elif a == DST_END and t == zt.UINT32:
                    stop = v
                elif a == DST_SHIFT and t == zt.INT32:
                    shift = v
                elif a == VALID_UNTIL_TIME and t == zt.UTC:
                    until = v
        except ValueError:
            self.refused += 1
            return False
        if time < 0 or time == INVALID_U32 or status < 0 \
                or not status & (STATUS_MASTER | STATUS_SYNCHRONIZED):
            self.refused += 1
            return False
        self.seq = -1
        rtt = local_ms - asked_ms if 0 <= asked_ms <= local_ms else 0
        self._set((time + ZCL_EPOCH_UNIX) * 1000 + _HALF_S_MS + rtt // 2 - local_ms,
                  local_ms, _HALF_S_MS + rtt // 2)
        self.valid_until = until
        if status & STATUS_MASTER_ZONE_DST and zone is not None and shift is not None:
            self.std_offset_s = zone
            self.dst_shift = shift
            self.dst_start = start if start >= 0 else INVALID_U32
            self.dst_end = stop if stop >= 0 else INVALID_U32
        return True

    # --- the clock -----------------------------------------------------------------------
    def _set(self, offset, local_ms, w):
        if self.synced:
            err = self.utc_ms(local_ms) - local_ms - offset
            bound = self.error_ms(local_ms) + w + _STEP_SLACK_MS  # both syncs' + drift
            self.last_error_ms = err
            if -bound <= err <= bound:
                a = -err if err < 0 else err
                if a > self.worst_error_ms:
                    self.worst_error_ms = a
            else:
                self.steps += 1      # the server's clock was set: no drift to learn
                self._fit_reset()
        self._fit(local_ms, offset)
        self.offset_ms = offset
        self.offset_s = offset // 1000
        self.synced_ms = local_ms
        self.synced_at = local_ms // 1000
        self.sync_w_ms = w
        self.synced = True
        self.syncs += 1

    def _fit_reset(self):
        self._n = 0
        self._x0 = self._y0 = 0
        self._sx = self._sy = self._sxx = self._sxy = 0
        self._span = 0

    def _fit(self, local_ms, offset):
        # Least squares of the offset against local time: offset = a + b * local; the
        # crystal's rate is -b. x and y relative to the fit's first sync (smaller ints).
        if self._n >= _FIT_MAX_N or self._span >= _FIT_MAX_SPAN_MS:
            self._fit_reset()        # the rate in use stays until the new fit spans 6 h
        if self._n == 0:
            self._x0 = local_ms
            self._y0 = offset
        x = local_ms - self._x0
        y = offset - self._y0
        n = self._n = self._n + 1
        self._sx += x
        self._sy += y
        self._sxx += x * x
        self._sxy += x * y
        self._span = x
        den = n * self._sxx - self._sx * self._sx
        if n < 3 or x < _FIT_MIN_SPAN_MS or den <= 0:
            return
        num = n * self._sxy - self._sx * self._sy
        b = (-2 * num * _PPB + den) // (2 * den)   # rounded
        self.drift_ppb = b
        self.drift_known = True
        lim = self.drift_ppm * 1000
        self._rate = lim if b > lim else -lim if b < -lim else b

    def utc_ms(self, local_ms):
        """The server's UTC in milliseconds since 1970 at local_ms (the best estimate; may
        step back at a sync)."""
        return local_ms + self.offset_ms \
            - (local_ms - self.synced_ms) * self._rate // _PPB

    def utc_now(self, local_ms):
        """UTC seconds since 1970 at local_ms; never less than the last value returned."""
        t = self.utc_ms(local_ms) // 1000
        if t < self._last:
            return self._last
        self._last = t
        return t

    def utc(self, local_now):
        """utc_now at whole local seconds."""
        return self.utc_now(local_now * 1000)

    def wait_ms(self, utc, local_ms):
        """Local milliseconds from local_ms until the server's clock reaches the second
        utc (0 when passed), by the rate in use."""
        d = utc * 1000 - self.utc_ms(local_ms)
        if d <= 0:
            return 0
        return d + d * self._rate // (_PPB - self._rate)

    def local(self, utc):
        """Local time (seconds since 1970, local) of utc, by the server's zone and DST."""
        z = utc - ZCL_EPOCH_UNIX
        t = utc + self.std_offset_s
        if self.dst_start != INVALID_U32 and self.dst_start <= z <= self.dst_end:
            t += self.dst_shift
        return t

    def error_ms(self, local_ms):
        """Bound of the clock's error: the last sync's half-width plus the drift bound
        since (an elapsed time with the rate corrected stays under it: see the class)."""
        return self.sync_w_ms + (local_ms - self.synced_ms) * self.drift_ppm // 1000000

    def error_s(self, local_now):
        """error_ms in whole seconds, rounded up."""
        return (self.error_ms(local_now * 1000) + 999) // 1000

    def needs_sync(self, local_now):
        ms = local_now * 1000
        if not self.synced or self.error_ms(ms) >= self.max_error_ms:
            return True
        return self.valid_until != INVALID_U32 \
            and self.utc_ms(ms) // 1000 - ZCL_EPOCH_UNIX >= self.valid_until
