# ZCL attribute data types (ZCL revision 6, 07-5123, 2.6.2 and Table 2-10): identifiers,
# lengths, analog/discrete class, the invalid value of each type, and their encoding into
# caller buffers at an offset. All multi-octet values are little endian on air (2.6.2).
#
#   put(t, out, off, v) -> end       integer-valued types (data, bool, bitmap, uint, int,
#   get(t, buf, off, end) -> value   enum, time of day, date, UTC time, cluster/attribute
#                                    id, BACnet OID); time of day and date as their four
#                                    octets packed little endian (put_tod / put_date help)
#   put_str(t, out, off, data, n=-1) -> end; put_str_invalid(t, out, off) -> end
#   str_len(t, buf, off, end) -> payload length (-1: the invalid length 0xFF / 0xFFFF);
#       the payload starts at off + str_hdr(t); get_str copies it into a caller buffer
#   put_bytes / get_bytes: IEEE address and 128-bit key, kept in written order (most
#       significant octet first, as han.mac.frame keeps addresses), reversed on air
#   value_end(t, buf, off, end) -> offset after the value of type t at buf[off:end]
#
# Every function raises ValueError (never IndexError) on a truncated value, a value out
# of its type's range, an output buffer too small, or a type it does not handle (float,
# array, structure, set, bag). Integer paths allocate nothing as long as the values are
# small ints: on a 32-bit port (31-bit small ints) that means below 2**30, which covers
# meter summations in Wh and UTC times up to 2034; on 64-bit ports every type here.
from micropython import const
from han.octets import room as _room

# Type identifiers, Table 2-10.
NODATA = const(0x00)
DATA8 = const(0x08)
DATA16 = const(0x09)
DATA24 = const(0x0A)
DATA32 = const(0x0B)
BOOL = const(0x10)
BITMAP8 = const(0x18)
BITMAP16 = const(0x19)
BITMAP24 = const(0x1A)
BITMAP32 = const(0x1B)
UINT8 = const(0x20)
UINT16 = const(0x21)
UINT24 = const(0x22)
UINT32 = const(0x23)
UINT40 = const(0x24)
UINT48 = const(0x25)
UINT56 = const(0x26)
UINT64 = const(0x27)
INT8 = const(0x28)
INT16 = const(0x29)
INT24 = const(0x2A)
INT32 = const(0x2B)
INT40 = const(0x2C)
INT48 = const(0x2D)
INT56 = const(0x2E)
INT64 = const(0x2F)
ENUM8 = const(0x30)
ENUM16 = const(0x31)
SEMI = const(0x38)
SINGLE = const(0x39)
DOUBLE = const(0x3A)
OCTET_STR = const(0x41)
CHAR_STR = const(0x42)
LONG_OCTET_STR = const(0x43)
LONG_CHAR_STR = const(0x44)
ARRAY = const(0x48)
STRUCT = const(0x4C)
SET = const(0x50)
BAG = const(0x51)
TIME_OF_DAY = const(0xE0)
DATE = const(0xE1)
UTC = const(0xE2)   # seconds since 2000-01-01 00:00:00 UTC (2.6.2.14)
CLUSTER_ID = const(0xE8)
ATTR_ID = const(0xE9)
BACNET_OID = const(0xEA)
IEEE_ADDR = const(0xF0)
KEY128 = const(0xF1)
UNKNOWN = const(0xFF)

# How a type is coded (our own classes, not the spec's).
K_NONE = const(0)      # not a type we can code or skip
K_UNSIGNED = const(1)
K_SIGNED = const(2)
K_FLOAT = const(3)     # fixed length, skipped only
K_OCTETS = const(4)    # IEEE address, key: fixed length, copied as octets
K_STR = const(5)       # one-octet length prefix
K_LSTR = const(6)      # two-octet length prefix

_SIZE = bytearray(256)
_KIND = bytearray(256)


def _fill(first, last, kind, size0):
    for t in range(first, last + 1):
        _KIND[t] = kind
        _SIZE[t] = size0 + t - first


_fill(NODATA, NODATA, K_UNSIGNED, 0)
_fill(DATA8, DATA8 + 7, K_UNSIGNED, 1)       # data8 .. data64
_fill(BOOL, BOOL, K_UNSIGNED, 1)
_fill(BITMAP8, BITMAP8 + 7, K_UNSIGNED, 1)   # bitmap8 .. bitmap64
_fill(UINT8, UINT64, K_UNSIGNED, 1)
_fill(INT8, INT64, K_SIGNED, 1)
_fill(ENUM8, ENUM16, K_UNSIGNED, 1)
_fill(SEMI, SEMI, K_FLOAT, 2)
_fill(SINGLE, SINGLE, K_FLOAT, 4)
_fill(DOUBLE, DOUBLE, K_FLOAT, 8)
_fill(OCTET_STR, CHAR_STR, K_STR, 1)
_fill(LONG_OCTET_STR, LONG_CHAR_STR, K_LSTR, 2)
_fill(TIME_OF_DAY, UTC, K_UNSIGNED, 4)
for _t in (TIME_OF_DAY, DATE, UTC):
    _SIZE[_t] = 4
_fill(CLUSTER_ID, ATTR_ID, K_UNSIGNED, 2)
for _t in (CLUSTER_ID, ATTR_ID):
    _SIZE[_t] = 2
_fill(BACNET_OID, BACNET_OID, K_UNSIGNED, 4)
_fill(IEEE_ADDR, IEEE_ADDR, K_OCTETS, 8)
_fill(KEY128, KEY128, K_OCTETS, 16)


def kind(t):
    """How type t is coded (K_*); K_NONE for types this codec does not handle."""
    return _KIND[t & 0xFF]


def size(t):
    """Fixed length of a value of type t in octets; -1 for the strings. ValueError for
    a type this codec does not handle."""
    k = _KIND[t & 0xFF]
    if k == K_NONE:
        raise ValueError("unsupported ZCL data type")
    if k >= K_STR:
        return -1
    return _SIZE[t]


def is_int(t):
    """True when put/get code values of type t as integers."""
    k = _KIND[t & 0xFF]
    return k == K_UNSIGNED or k == K_SIGNED


def is_analog(t):
    """Analog class of Table 2-10 (unsigned and signed integers, floats, time of day,
    date, UTC time): only these carry a reportable change (2.5.7.1)."""
    return UINT8 <= t <= INT64 or SEMI <= t <= DOUBLE or TIME_OF_DAY <= t <= UTC


def invalid(t):
    """The invalid (non-)value of type t (Table 2-10) as put/get code it, or None when
    the type has none (data, bitmap, the fixed types copied as octets). For the strings
    it is the length -1, which put_str_invalid writes as 0xFF / 0xFFFF."""
    k = _KIND[t & 0xFF]
    if k == K_UNSIGNED:
        if DATA8 <= t < BOOL or BITMAP8 <= t < UINT8 or t == NODATA:
            return None
        if t == BOOL:
            return 0xFF
        return (1 << (8 * _SIZE[t])) - 1   # all ones: uint, enum, dates, ids (not hot)
    if k == K_SIGNED:
        return -(1 << (8 * _SIZE[t] - 1))  # the most negative value
    if k == K_STR or k == K_LSTR:
        return -1
    return None


def _have(buf, off, end, n):
    if off < 0 or end > len(buf) or off + n > end:
        raise ValueError("ZCL value truncated")


def put(t, out, off, v):
    """Encode the integer v as type t at out[off:]; return the end offset."""
    k = _KIND[t & 0xFF]
    n = _SIZE[t & 0xFF]
    if k == K_UNSIGNED:
        if v < 0 or v >> (8 * n):
            raise ValueError("value out of range of its ZCL type")
        if t == BOOL and v > 1 and v != 0xFF:
            raise ValueError("value out of range of its ZCL type")
    elif k == K_SIGNED:
        s = v >> (8 * n - 1)
        if s != 0 and s != -1:
            raise ValueError("value out of range of its ZCL type")
    else:
        raise ValueError("not an integer ZCL type")
    _room(out, off, n)
    for i in range(n):
        out[off + i] = v & 0xFF   # & on a negative int gives two's complement octets
        v >>= 8
    return off + n


def get(t, buf, off, end):
    """Decode the integer value of type t at buf[off:end] (its first size(t) octets)."""
    k = _KIND[t & 0xFF]
    n = _SIZE[t & 0xFF]
    if k != K_UNSIGNED and k != K_SIGNED:
        raise ValueError("not an integer ZCL type")
    _have(buf, off, end, n)
    v = 0
    if k == K_SIGNED and buf[off + n - 1] & 0x80:
        # Negative: build the magnitude from the complemented octets, so no
        # intermediate value exceeds the result's own size.
        for i in range(n - 1, -1, -1):
            v = (v << 8) | (buf[off + i] ^ 0xFF)
        return -v - 1
    for i in range(n - 1, -1, -1):
        v = (v << 8) | buf[off + i]
    return v


def str_hdr(t):
    """Octets of the length prefix of string type t: 1 or 2."""
    k = _KIND[t & 0xFF]
    if k == K_STR:
        return 1
    if k == K_LSTR:
        return 2
    raise ValueError("not a ZCL string type")


def put_str(t, out, off, data, n=-1):
    """Encode data[0:n] (all of data by default; bytes-like) as string type t at out[off:];
    return the end offset. Longer than 254 (65534) octets is refused: 0xFF (0xFFFF)
    is the invalid length."""
    h = str_hdr(t)
    if n < 0:
        n = len(data)
    if n > len(data) or n >= (0xFF if h == 1 else 0xFFFF):
        raise ValueError("ZCL string too long")
    _room(out, off, h + n)
    out[off] = n & 0xFF
    if h == 2:
        out[off + 1] = n >> 8
    p = off + h
    for i in range(n):
        out[p + i] = data[i]
    return p + n


def put_str_invalid(t, out, off):
    """Write the invalid string of type t (length 0xFF or 0xFFFF, no octets)."""
    h = str_hdr(t)
    _room(out, off, h)
    out[off] = 0xFF
    if h == 2:
        out[off + 1] = 0xFF
    return off + h


def str_len(t, buf, off, end):
    """Length of the string of type t at buf[off:end], -1 when it is the invalid string
    (no octets follow). Its octets start at off + str_hdr(t)."""
    h = str_hdr(t)
    _have(buf, off, end, h)
    if h == 1:
        n = buf[off]
        if n == 0xFF:
            return -1
    else:
        n = buf[off] | (buf[off + 1] << 8)
        if n == 0xFFFF:
            return -1
    _have(buf, off, end, h + n)
    return n


def get_str(t, buf, off, end, dst):
    """Copy the string of type t at buf[off:end] into dst; return its length (-1:
    invalid, nothing copied). ValueError when dst is too small."""
    n = str_len(t, buf, off, end)
    if n > len(dst):
        raise ValueError("ZCL string longer than its destination")
    p = off + str_hdr(t)
    for i in range(n):
        dst[i] = buf[p + i]
    return n


def put_bytes(t, out, off, src):
    """IEEE address (8) or key (16) of type t from src in written order into out[off:],
    least significant octet first; return the end offset."""
    if _KIND[t & 0xFF] != K_OCTETS:
        raise ValueError("not an octet ZCL type")
    n = _SIZE[t]
    if len(src) < n:
        raise ValueError("ZCL value truncated")
    _room(out, off, n)
    for i in range(n):
        out[off + i] = src[n - 1 - i]
    return off + n


def get_bytes(t, buf, off, end, dst):
    """IEEE address or key of type t at buf[off:end] into dst in written order; return
    the offset after it."""
    if _KIND[t & 0xFF] != K_OCTETS:
        raise ValueError("not an octet ZCL type")
    n = _SIZE[t]
    _have(buf, off, end, n)
    if len(dst) < n:
        raise ValueError("ZCL destination too small")
    for i in range(n):
        dst[n - 1 - i] = buf[off + i]
    return off + n


def value_end(t, buf, off, end):
    """Offset after the value of type t at buf[off:end]: walks records of any type this
    module knows, floats and octet types included."""
    k = _KIND[t & 0xFF]
    if k == K_NONE:
        raise ValueError("unsupported ZCL data type")
    if k >= K_STR:
        n = str_len(t, buf, off, end)
        return off + str_hdr(t) + (n if n > 0 else 0)
    n = _SIZE[t]
    _have(buf, off, end, n)
    return off + n


def put_date(out, off, year, month, day, weekday):
    """Date (2.6.2.13): year - 1900, month 1-12, day 1-31, weekday 1-7 (Monday 1); any
    field 0xFF means unused (year 0xFF + 1900)."""
    y = 0xFF if year == 0xFF + 1900 or year == 0xFF else year - 1900
    _room(out, off, 4)
    if not (0 <= y <= 0xFF and (1 <= month <= 12 or month == 0xFF)
            and (1 <= day <= 31 or day == 0xFF) and (1 <= weekday <= 7 or weekday == 0xFF)):
        raise ValueError("date field out of range")
    out[off] = y
    out[off + 1] = month
    out[off + 2] = day
    out[off + 3] = weekday
    return off + 4


def put_tod(out, off, hours, minutes, seconds, hundredths):
    """Time of day (2.6.2.12): hours 0-23, minutes 0-59, seconds 0-59, hundredths 0-99;
    any field 0xFF means unused."""
    _room(out, off, 4)
    if not ((hours <= 23 or hours == 0xFF) and (minutes <= 59 or minutes == 0xFF)
            and (seconds <= 59 or seconds == 0xFF)
            and (hundredths <= 99 or hundredths == 0xFF)
            and min(hours, minutes, seconds, hundredths) >= 0):
        raise ValueError("time of day field out of range")
    out[off] = hours
    out[off + 1] = minutes
    out[off + 2] = seconds
    out[off + 3] = hundredths
    return off + 4
