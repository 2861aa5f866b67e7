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
#   TimeClient(std_offset_s=0, drift_ppm=100, max_error_s=10)
#       build_read(out, seq) -> frame length; take(h, buf, off, end, local_now) -> True
#       when a Read Attributes Response from a time source set the offset;
#       utc(local_now), local(utc), error_s(local_now), needs_sync(local_now).
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


class TimeClient:
    """An end device's clock kept from the network's time server: its own seconds
    (local_now, a clock that does not jump) plus an offset taken from the server's Time.
    The offset's error grows with the crystal's drift since the last sync (drift_ppm), so
    needs_sync() says when to ask again; utc() never goes backwards (a reading's capture
    time must not precede the previous one)."""

    def __init__(self, std_offset_s=0, drift_ppm=100, max_error_s=10):
        self.std_offset_s = std_offset_s
        self.dst_start = INVALID_U32
        self.dst_end = INVALID_U32
        self.dst_shift = 0
        self.drift_ppm = drift_ppm
        self.max_error_s = max_error_s
        self.synced = False
        self.offset_s = 0
        self.synced_at = 0
        self.valid_until = INVALID_U32
        self.seq = -1
        self.refused = 0
        self._last = 0
        self._h = zf.ZclHeader()
        self._rec = zg.AttrRecord()

    def build_read(self, out, seq):
        """Read Attributes of CLIENT_ATTRS at out[0:], client -> server; the frame's
        length. The response is matched by seq."""
        zf.set_header(self._h, zf.FT_GLOBAL, zf.TO_SERVER, seq, zg.READ_ATTRIBUTES)
        self.seq = seq
        return zg.build_read_attributes(out, zf.build(self._h, out, 0), CLIENT_ATTRS)

    def take(self, h, buf, off, end, local_now):
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
        self.offset_s = time + ZCL_EPOCH_UNIX - local_now
        self.synced = True
        self.synced_at = local_now
        self.valid_until = until
        if status & STATUS_MASTER_ZONE_DST and zone is not None and shift is not None:
            self.std_offset_s = zone
            self.dst_shift = shift
            self.dst_start = start if start >= 0 else INVALID_U32
            self.dst_end = stop if stop >= 0 else INVALID_U32
        return True

    def utc(self, local_now):
        """UTC seconds since 1970 now; never less than the last value returned."""
        t = local_now + self.offset_s
        if t < self._last:
            return self._last
        self._last = t
        return t

    def local(self, utc):
        """Local time (seconds since 1970, local) of utc, by the server's zone and DST."""
        z = utc - ZCL_EPOCH_UNIX
        t = utc + self.std_offset_s
        if self.dst_start != INVALID_U32 and self.dst_start <= z <= self.dst_end:
            t += self.dst_shift
        return t

    def error_s(self, local_now):
        """Bound of the clock's error: one second of resolution plus the drift since the
        last sync."""
        return 1 + (local_now - self.synced_at) * self.drift_ppm // 1000000

    def needs_sync(self, local_now):
        if not self.synced or self.error_s(local_now) > self.max_error_s:
            return True
        return self.valid_until != INVALID_U32 \
            and local_now + self.offset_s - ZCL_EPOCH_UNIX >= self.valid_until
