# The P1 telegram builder: one profile table + one MeterSnapshot -> one complete telegram
# in one preallocated bytearray (DSMR 5.0.2 6.2: "/XXX5Ident CR LF CR LF Data ! CRC CR LF").
#
# Integer fixed-point formatting only; after construction build() allocates nothing (the
# tier-2 tests run it under micropython.heap_lock()). Values wider than their format are
# clamped to all nines rather than wrapped, at every width (F10 and the Swedish 11-digit
# formats too): a reader then sees "full scale", never a small wrong number. Negative values
# print as zero: no format of any profile has a sign (see put_fixed). Division to a coarser
# resolution rounds half up.
import micropython
from micropython import const

from h1.profiles import (DST_EU, K_CONST, K_FIXED, K_HEX, K_MBUS, K_PEAK, K_PEAK_HISTORY,
                         K_PFLOG, K_TST)
from native.crc16 import crc16
from registers import civil

_HEX = b"0123456789ABCDEF"
# 10**n for every width a profile uses (Sweden's "8.3" is 11 digits). Built once at import:
# on 32-bit ports 10**10 and up are long ints, and put_fixed only compares with them.
_POW10 = tuple(10 ** n for n in range(13))
_NINE = const(57)
_SECONDS_PER_DAY = const(86400)
_CR = const(13)
_LF = const(10)
_OPEN = const(40)  # (
_CLOSE = const(41)  # )
_STAR = const(42)  # *
_POINT = const(46)
_ZERO = const(48)
_PF_LOG_MAX = const(10)  # DSMR 5.0.2 6.11: z max 10
_PF_EVENT_ID = b"0-0:96.7.19"  # DSMR 5.0.2 Table 6-3: capture object of the failure log
_PEAK_ID = b"1-0:1.6.0"
_TST_LEN = const(13)


@micropython.native
def _put(buf, pos, src):
    for i in range(len(src)):
        buf[pos + i] = src[i]
    return pos + len(src)


@micropython.native
def _next_value(buf, pos):
    # ")(" between the values of one line
    buf[pos] = _CLOSE
    buf[pos + 1] = _OPEN
    return pos + 2


@micropython.native
def put_fixed(buf, pos, value, n, d, div=1):
    """Write value / div as Fn(x,y) with n digits, d of them decimals; return the end.

    Always exactly n digits (+ the point when d): at or above 10**n after rounding, all
    nines; at or below zero, all zeros. No sign is ever printed: DSMR 5.0.2 6.4 Table 5-1
    defines Fn(x,y) and In as digits only (YYYY.YYY), every numeric object of Table 6-3 is
    an unsigned COSEM type (tags 6, 17, 18), and P1 carries import and export as separate
    registers (1.8.x / 2.8.x, 1.7.0 / 2.7.0). The same holds for the Fluvius, Smarty,
    Swedish (Bilaga 3: double-long-unsigned, long-unsigned) and Lithuanian objects we
    print; Smarty's only signed format (1-1:34.4.0, Table 3.1) is not in its profile.

    Both limits are tested by comparison before any arithmetic, so a value out of range,
    however large (long ints included), prints without allocating. Only an in-range value
    that is a long int (>= 2**30 on 32-bit ports: possible in the F10/F11 fields) costs
    long-int arithmetic for its digits, as every long int does (see snapshot.py)."""
    if value <= 0:
        value = 0
    else:
        top = _POW10[n]
        if div > 1:
            half = div // 2
            if value >= top * div - half:  # rounds to 10**n or more
                value = top
            else:
                value = (value + half) // div
        if value >= top:
            p = pos
            for i in range(n):
                if i == n - d and d:
                    buf[p] = _POINT
                    p += 1
                buf[p] = _NINE
                p += 1
            return p
    end = pos + n + (1 if d else 0)
    p = end - 1
    for i in range(n):
        if i == d and d:
            buf[p] = _POINT
            p -= 1
        buf[p] = _ZERO + value % 10
        value //= 10
        p -= 1
    return end


def put_yymmdd(buf, pos, days):
    """Write the date of `days` since 1970-01-01 as six ASCII digits YYMMDD at buf[pos]
    (civil's packed date is a small int: nothing is allocated)."""
    packed = civil.civil_from_days(days)
    yy = civil.year_of(packed) % 100
    month = civil.month_of(packed)
    day = civil.day_of(packed)
    buf[pos] = _ZERO + yy // 10
    buf[pos + 1] = _ZERO + yy % 10
    buf[pos + 2] = _ZERO + month // 10
    buf[pos + 3] = _ZERO + month % 10
    buf[pos + 4] = _ZERO + day // 10
    buf[pos + 5] = _ZERO + day % 10


@micropython.native
def put_tst(buf, pos, utc, offset_s, dst):
    """Write YYMMDDhhmmssX for utc in a zone offset_s east of UTC, + 1 h while dst."""
    local = utc + offset_s + (3600 if dst else 0)
    days = local // _SECONDS_PER_DAY
    sod = local - days * _SECONDS_PER_DAY
    put_yymmdd(buf, pos, days)
    hh = sod // 3600
    mm = (sod // 60) % 60
    ss = sod % 60
    buf[pos + 6] = _ZERO + hh // 10
    buf[pos + 7] = _ZERO + hh % 10
    buf[pos + 8] = _ZERO + mm // 10
    buf[pos + 9] = _ZERO + mm % 10
    buf[pos + 10] = _ZERO + ss // 10
    buf[pos + 11] = _ZERO + ss % 10
    buf[pos + 12] = 83 if dst else 87  # 'S' / 'W' (DSMR 5.0.2 Table 5-1)
    return pos + _TST_LEN


@micropython.native
def put_hex(buf, pos, octets, n):
    for i in range(n):
        b = octets[i]
        buf[pos] = _HEX[b >> 4]
        buf[pos + 1] = _HEX[b & 15]
        pos += 2
    return pos


def _entry_max(e):
    obis, kind, source, index, n, d, div, unit, source2, cond, cond_min = e
    # The longest line of entry e, exactly: every value at full width, every count at its
    # maximum (put_fixed never prints a sign, so n digits + point is the widest value).
    size = len(obis) + 4  # ( ) CR LF
    if kind == K_FIXED:
        size += n + (1 if d else 0) + (1 + len(unit) if unit else 0)
    elif kind == K_CONST:
        size += len(source)
    elif kind == K_TST:
        size += _TST_LEN
    elif kind == K_HEX:
        size += 2 * n
    elif kind == K_MBUS:
        size += _TST_LEN + 2 + n + (1 if d else 0) + 1 + len(unit)
    elif kind == K_PFLOG:
        size += 2 + 2 + len(_PF_EVENT_ID) + _PF_LOG_MAX * (_TST_LEN + 2 + 10 + 4)
    elif kind == K_PEAK:
        size += _TST_LEN + 2 + 6 + 3
    elif kind == K_PEAK_HISTORY:
        size += 2 + 2 * (2 + len(_PEAK_ID)) + 13 * (2 * (_TST_LEN + 2) + 2 + 6 + 3)
    return size


def max_telegram_length(profile, header):
    """The buffer size for the longest telegram of profile: all optional lines present, the
    hex strings at their maxima, 10 power failures, 13 peaks, every value at full width."""
    size = 1 + len(header) + 4 + 1 + 4 + 2  # / header CR LF CR LF ... ! CRC CR LF
    for e in profile.entries:
        size += _entry_max(e)
    return size


class TelegramBuilder:
    """Builds telegrams of one profile into self.buf; build() returns the length."""

    def __init__(self, profile, header=None):
        self.profile = profile
        self.header = header if header is not None else profile.header
        self.buf = bytearray(max_telegram_length(profile, self.header))
        self.length = 0
        self._eu_dst = profile.dst_rule == DST_EU

    def _past_tst(self, buf, p, utc, offset):
        dst = self._eu_dst and civil.eu_summer_time(utc)
        return put_tst(buf, p, utc, offset, dst)

    @micropython.native
    def build(self, snap):
        buf = self.buf
        buf[0] = 47  # '/'
        p = _put(buf, 1, self.header)
        buf[p] = _CR
        buf[p + 1] = _LF
        buf[p + 2] = _CR
        buf[p + 3] = _LF
        p += 4
        offset = snap.utc_offset_s
        for e in self.profile.entries:
            obis, kind, source, index, n, d, div, unit, source2, cond, cond_min = e
            if cond is not None and getattr(snap, cond) <= cond_min:
                continue
            p = _put(buf, p, obis)
            buf[p] = _OPEN
            p += 1
            if kind == K_FIXED:
                value = getattr(snap, source)
                if index >= 0:
                    value = value[index]
                p = put_fixed(buf, p, value, n, d, div)
                if unit:
                    buf[p] = _STAR
                    p = _put(buf, p + 1, unit)
            elif kind == K_TST:
                p = put_tst(buf, p, snap.utc, offset, self._eu_dst and snap.dst)
            elif kind == K_HEX:
                count = getattr(snap, source2)
                p = put_hex(buf, p, getattr(snap, source), count if count < n else n)
            elif kind == K_CONST:
                p = _put(buf, p, source)
            elif kind == K_MBUS:
                p = self._past_tst(buf, p, getattr(snap, source2), offset)
                p = _next_value(buf, p)
                p = put_fixed(buf, p, getattr(snap, source), n, d, div)
                buf[p] = _STAR
                p = _put(buf, p + 1, unit)
            elif kind == K_PFLOG:
                p = self._put_pf_log(buf, p, snap, offset)
            elif kind == K_PEAK:
                p = self._past_tst(buf, p, snap.peak_month_utc, offset)
                p = self._put_kw(buf, p, snap.peak_month_w)
            elif kind == K_PEAK_HISTORY:
                p = self._put_peak_history(buf, p, snap, offset)
            buf[p] = _CLOSE
            buf[p + 1] = _CR
            buf[p + 2] = _LF
            p += 3
        buf[p] = 33  # '!'
        p += 1
        crc = crc16(buf, 0, p)  # from '/' up to and including '!' (DSMR 5.0.2 6.2)
        buf[p] = _HEX[crc >> 12]
        buf[p + 1] = _HEX[(crc >> 8) & 15]
        buf[p + 2] = _HEX[(crc >> 4) & 15]
        buf[p + 3] = _HEX[crc & 15]
        buf[p + 4] = _CR
        buf[p + 5] = _LF
        self.length = p + 6
        return self.length

    def _put_kw(self, buf, p, watts):
        # ")(" value "*kW" -- the caller closes the last parenthesis.
        p = _next_value(buf, p)
        p = put_fixed(buf, p, watts, 5, 3)
        buf[p] = _STAR
        buf[p + 1] = 107  # k
        buf[p + 2] = 87  # W
        return p + 3

    def _put_pf_log(self, buf, p, snap, offset):
        # (z)(0-0:96.7.19)(TST)(duration*s)... most recent first (DSMR 5.0.2 6.11).
        z = snap.pf_log_count
        if z > _PF_LOG_MAX:
            z = _PF_LOG_MAX
        elif z < 0:
            z = 0
        p = put_fixed(buf, p, z, 1 if z < 10 else 2, 0)
        p = _next_value(buf, p)
        p = _put(buf, p, _PF_EVENT_ID)
        ends = snap.pf_log_end_utc
        durations = snap.pf_log_duration_s
        for i in range(z):
            p = _next_value(buf, p)
            p = self._past_tst(buf, p, ends[i], offset)
            p = _next_value(buf, p)
            p = put_fixed(buf, p, durations[i], 10, 0)  # F10(0,0), Table 6-3
            buf[p] = _STAR
            buf[p + 1] = 115  # s
            p += 2
        return p

    def _put_peak_history(self, buf, p, snap, offset):
        # (z)(1-0:1.6.0)(1-0:1.6.0)((month TST)(peak TST)(kW))*z as the Fluvius meters send.
        z = snap.peak_hist_count
        if z > 13:
            z = 13
        elif z < 0:
            z = 0
        p = put_fixed(buf, p, z, 1 if z < 10 else 2, 0)
        for _ in range(2):
            p = _next_value(buf, p)
            p = _put(buf, p, _PEAK_ID)
        months = snap.peak_hist_month_utc
        times = snap.peak_hist_utc
        values = snap.peak_hist_w
        for i in range(z):
            p = _next_value(buf, p)
            p = self._past_tst(buf, p, months[i], offset)
            p = _next_value(buf, p)
            p = self._past_tst(buf, p, times[i], offset)
            p = self._put_kw(buf, p, values[i])
        return p
