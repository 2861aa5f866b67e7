# ZCL data types (firmware/han/zcl/types.py): every type our clusters use, encoded and
# decoded at an offset in caller buffers. Expected octets worked out by hand from ZCL
# revision 6 (07-5123) 2.6.2 and Table 2-10: little endian, two's complement for the
# signed types, one (two) octet length prefix for (long) strings, 0xFF (0xFFFF) as the
# invalid string length. Tiers 1 and 2; the last tests run with the heap locked.
from han.zcl import types as zt
from support import NoAllocation, raises

# (type, value, octets on air)
CASES = [
    (zt.UINT8, 0x7F, "7F"),
    (zt.UINT8, 0, "00"),
    (zt.UINT16, 0x1234, "3412"),
    (zt.UINT24, 0x123456, "563412"),
    (zt.UINT24, 0xFFFFFF, "FFFFFF"),
    (zt.UINT32, 0x12345678, "78563412"),
    (zt.UINT40, 0x0102030405, "0504030201"),
    (zt.UINT48, 1234567, "87D612000000"),          # 1234567 = 0x12D687
    (zt.UINT48, 0xFFFFFFFFFFFF, "FFFFFFFFFFFF"),   # uint48 maximum
    (zt.INT8, -1, "FF"),
    (zt.INT8, 127, "7F"),
    (zt.INT8, -128, "80"),
    (zt.INT16, -2, "FEFF"),
    (zt.INT16, 0x1234, "3412"),
    (zt.INT24, -1, "FFFFFF"),
    (zt.INT24, -100000, "6079FE"),   # 2^24 - 100000 = 0xFE7960
    (zt.INT24, -1500, "24FAFF"),     # 2^24 - 1500 = 0xFFFA24
    (zt.INT24, 0x7FFFFF, "FFFF7F"),
    (zt.INT24, -0x800000, "000080"),
    (zt.INT24, 1500, "DC0500"),
    (zt.INT32, -2, "FEFFFFFF"),
    (zt.INT32, 3600, "100E0000"),
    (zt.ENUM8, 1, "01"),
    (zt.ENUM16, 0x0102, "0201"),
    (zt.BITMAP8, 0xA5, "A5"),
    (zt.BITMAP16, 0x8001, "0180"),
    (zt.BITMAP24, 0x123456, "563412"),
    (zt.BITMAP32, 0x80000001, "01000080"),
    (zt.BOOL, 1, "01"),
    (zt.BOOL, 0, "00"),
    (zt.BOOL, 0xFF, "FF"),
    # UTC time: 2025-01-01 00:00:00 UTC is (25 * 365 + 7 leap days) * 86400 =
    # 789004800 = 0x2F074200 seconds after 2000-01-01.
    (zt.UTC, 789004800, "0042072F"),
    (zt.ATTR_ID, 0x0400, "0004"),
    (zt.CLUSTER_ID, 0x0702, "0207"),
    # Date and time of day as their four octets packed little endian.
    (zt.DATE, 0x071E037D, "7D031E07"),
    (zt.TIME_OF_DAY, 0x321E2D0D, "0D2D1E32"),
]


def test_type_identifiers_are_table_2_10():
    ids = [zt.BOOL, zt.BITMAP8, zt.BITMAP16, zt.BITMAP24, zt.BITMAP32, zt.UINT8, zt.UINT16,
           zt.UINT24, zt.UINT32, zt.UINT40, zt.UINT48, zt.INT8, zt.INT16, zt.INT24,
           zt.INT32, zt.ENUM8, zt.ENUM16, zt.OCTET_STR, zt.CHAR_STR, zt.LONG_OCTET_STR,
           zt.TIME_OF_DAY, zt.DATE, zt.UTC, zt.CLUSTER_ID, zt.ATTR_ID, zt.IEEE_ADDR]
    assert ids == [0x10, 0x18, 0x19, 0x1A, 0x1B, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x28,
                   0x29, 0x2A, 0x2B, 0x30, 0x31, 0x41, 0x42, 0x43, 0xE0, 0xE1, 0xE2, 0xE8,
                   0xE9, 0xF0]


def test_encode_each_type_at_an_offset():
    for t, v, hexs in CASES:
        want = bytes.fromhex(hexs)
        out = bytearray(16)
        end = zt.put(t, out, 3, v)
        assert end == 3 + len(want), (t, v)
        assert bytes(out[3:end]) == want, (t, v, bytes(out[3:end]))
        assert bytes(out[:3]) == b"\0\0\0" and bytes(out[end:]) == bytes(16 - end)
        assert zt.size(t) == len(want)


def test_decode_each_type_at_an_offset():
    for t, v, hexs in CASES:
        buf = b"\xAA\xAA" + bytes.fromhex(hexs) + b"\xAA"
        assert zt.get(t, buf, 2, len(buf)) == v, (t, v)
        assert zt.value_end(t, buf, 2, len(buf)) == 2 + len(hexs) // 2


def test_analog_and_discrete_classes():
    analog = [zt.UINT8, zt.UINT16, zt.UINT24, zt.UINT32, zt.UINT48, zt.INT8, zt.INT16,
              zt.INT24, zt.INT32, zt.SINGLE, zt.TIME_OF_DAY, zt.DATE, zt.UTC]
    discrete = [zt.BOOL, zt.BITMAP8, zt.BITMAP16, zt.BITMAP24, zt.BITMAP32, zt.ENUM8,
                zt.ENUM16, zt.OCTET_STR, zt.CHAR_STR, zt.LONG_OCTET_STR, zt.ATTR_ID,
                zt.CLUSTER_ID, zt.IEEE_ADDR, zt.DATA8]
    for t in analog:
        assert zt.is_analog(t), hex(t)
    for t in discrete:
        assert not zt.is_analog(t), hex(t)


def test_invalid_values():
    want = {zt.UINT8: 0xFF, zt.UINT16: 0xFFFF, zt.UINT24: 0xFFFFFF, zt.UINT32: 0xFFFFFFFF,
            zt.UINT48: 0xFFFFFFFFFFFF, zt.INT8: -0x80, zt.INT16: -0x8000,
            zt.INT24: -0x800000, zt.INT32: -0x80000000, zt.ENUM8: 0xFF, zt.ENUM16: 0xFFFF,
            zt.BOOL: 0xFF, zt.UTC: 0xFFFFFFFF, zt.DATE: 0xFFFFFFFF,
            zt.TIME_OF_DAY: 0xFFFFFFFF, zt.ATTR_ID: 0xFFFF, zt.CLUSTER_ID: 0xFFFF,
            zt.OCTET_STR: -1, zt.CHAR_STR: -1, zt.LONG_OCTET_STR: -1}
    for t, v in want.items():
        assert zt.invalid(t) == v, hex(t)
    for t in (zt.BITMAP8, zt.BITMAP16, zt.BITMAP24, zt.BITMAP32, zt.DATA8):
        assert zt.invalid(t) is None
    # The signed invalid value is the most negative one: it encodes as 0x80 0x00 ...
    out = bytearray(3)
    zt.put(zt.INT24, out, 0, zt.invalid(zt.INT24))
    assert bytes(out) == bytes.fromhex("000080")


def test_out_of_range_and_truncated_refused():
    out = bytearray(8)
    for t, v in ((zt.UINT8, 256), (zt.UINT8, -1), (zt.UINT16, 0x10000),
                 (zt.UINT24, 0x1000000), (zt.UINT48, 0x1000000000000),
                 (zt.INT8, 128), (zt.INT8, -129), (zt.INT24, 0x800000),
                 (zt.INT24, -0x800001), (zt.ENUM8, 0x100), (zt.BOOL, 2),
                 (zt.BITMAP8, 0x100)):
        raises(ValueError, zt.put, t, out, 0, v)
    raises(ValueError, zt.put, zt.UINT48, out, 3, 1)          # 6 octets from 3 > 8
    raises(ValueError, zt.put, zt.OCTET_STR, out, 0, 1)       # not an integer type
    raises(ValueError, zt.put, zt.SINGLE, out, 0, 1)
    buf = bytes.fromhex("0102")
    raises(ValueError, zt.get, zt.UINT24, buf, 0, 2)
    raises(ValueError, zt.get, zt.UINT16, buf, 1, 2)
    raises(ValueError, zt.get, zt.UINT16, buf, 0, 3)          # end beyond the buffer
    raises(ValueError, zt.value_end, zt.ARRAY, buf, 0, 2)
    raises(ValueError, zt.size, zt.STRUCT)


def test_strings():
    out = bytearray(12)
    # Octet string of length 0: just the length octet 00.
    assert zt.put_str(zt.OCTET_STR, out, 1, b"") == 2
    assert out[1] == 0
    assert zt.str_len(zt.OCTET_STR, out, 1, 2) == 0
    assert zt.value_end(zt.OCTET_STR, out, 1, 2) == 2
    # Character string "kWh": 03 6B 57 68.
    end = zt.put_str(zt.CHAR_STR, out, 0, b"kWh")
    assert bytes(out[:end]) == bytes.fromhex("036B5768")
    dst = bytearray(8)
    assert zt.get_str(zt.CHAR_STR, out, 0, end, dst) == 3 and bytes(dst[:3]) == b"kWh"
    # The invalid string: length 0xFF and no octets.
    assert zt.put_str_invalid(zt.CHAR_STR, out, 4) == 5 and out[4] == 0xFF
    assert zt.str_len(zt.CHAR_STR, out, 4, 5) == -1
    assert zt.value_end(zt.CHAR_STR, out, 4, 5) == 5
    assert zt.get_str(zt.CHAR_STR, out, 4, 5, dst) == -1
    # Long octet string: two-octet length 03 00, then AA BB CC; invalid FF FF.
    end = zt.put_str(zt.LONG_OCTET_STR, out, 0, b"\xAA\xBB\xCC\xDD", 3)
    assert bytes(out[:end]) == bytes.fromhex("0300AABBCC")
    assert zt.str_len(zt.LONG_OCTET_STR, out, 0, end) == 3
    assert zt.put_str_invalid(zt.LONG_OCTET_STR, out, 0) == 2
    assert bytes(out[:2]) == b"\xFF\xFF" and zt.str_len(zt.LONG_OCTET_STR, out, 0, 2) == -1
    # Length 0xFF would read as invalid: 254 is the longest string.
    big = bytearray(300)
    assert zt.put_str(zt.OCTET_STR, big, 0, bytes(254)) == 255 and big[0] == 0xFE
    raises(ValueError, zt.put_str, zt.OCTET_STR, big, 0, bytes(255))
    raises(ValueError, zt.put_str, zt.CHAR_STR, out, 8, b"kWhkWh")   # no room
    # A length that runs past the end is truncation.
    raises(ValueError, zt.str_len, zt.OCTET_STR, bytes.fromhex("05010203"), 0, 4)
    raises(ValueError, zt.str_len, zt.LONG_OCTET_STR, bytes.fromhex("01"), 0, 1)
    raises(ValueError, zt.get_str, zt.CHAR_STR, bytes.fromhex("03414243"), 0, 4,
           bytearray(2))
    raises(ValueError, zt.put_str, zt.UINT8, out, 0, b"")


def test_ieee_address_and_dates():
    ieee = bytes.fromhex("000D6F000A0B0C0D")
    out = bytearray(10)
    assert zt.put_bytes(zt.IEEE_ADDR, out, 1, ieee) == 9
    assert bytes(out[1:9]) == bytes.fromhex("0D0C0B0A006F0D00")
    back = bytearray(8)
    assert zt.get_bytes(zt.IEEE_ADDR, out, 1, 9, back) == 9 and bytes(back) == ieee
    raises(ValueError, zt.get_bytes, zt.IEEE_ADDR, out, 3, 10, back)
    assert zt.invalid(zt.IEEE_ADDR) is None and zt.size(zt.IEEE_ADDR) == 8
    # 2025-03-30, a Sunday (7): 125 03 30 07; 13:45:30.50: 0D 2D 1E 32.
    assert zt.put_date(out, 0, 2025, 3, 30, 7) == 4
    assert bytes(out[:4]) == bytes.fromhex("7D031E07")
    assert zt.put_tod(out, 0, 13, 45, 30, 50) == 4
    assert bytes(out[:4]) == bytes.fromhex("0D2D1E32")
    zt.put_date(out, 0, 0xFF, 0xFF, 0xFF, 0xFF)
    assert bytes(out[:4]) == b"\xFF\xFF\xFF\xFF"
    raises(ValueError, zt.put_date, out, 0, 2025, 13, 1, 1)
    raises(ValueError, zt.put_tod, out, 0, 24, 0, 0, 0)


def _numeric_round(out, res):
    p = zt.put(zt.UINT8, out, 0, 200)
    p = zt.put(zt.UINT16, out, p, 0xBEEF)
    p = zt.put(zt.UINT24, out, p, 0x123456)
    p = zt.put(zt.UINT32, out, p, 100000000)
    p = zt.put(zt.UINT40, out, p, 0x0102030405)
    p = zt.put(zt.UINT48, out, p, 0xFFFFFFFFFFFF)
    p = zt.put(zt.INT8, out, p, -5)
    p = zt.put(zt.INT16, out, p, -300)
    p = zt.put(zt.INT24, out, p, -100000)
    p = zt.put(zt.INT32, out, p, -7)
    p = zt.put(zt.ENUM8, out, p, 1)
    p = zt.put(zt.ENUM16, out, p, 2)
    p = zt.put(zt.BITMAP8, out, p, 0x81)
    p = zt.put(zt.BITMAP16, out, p, 0x8001)
    p = zt.put(zt.BITMAP24, out, p, 0x800001)
    p = zt.put(zt.BOOL, out, p, 1)
    p = zt.put(zt.UTC, out, p, 789004800)
    p = zt.put(zt.ATTR_ID, out, p, 0x0400)
    s = zt.get(zt.UINT8, out, 0, p) + zt.get(zt.UINT48, out, 15, p)
    s += zt.get(zt.INT24, out, 24, p) + zt.get(zt.INT16, out, 22, p)
    res[0] = p
    res[1] = s
    res[2] = zt.value_end(zt.UINT32, out, 6, p)


def test_numeric_paths_allocate_nothing():
    out = bytearray(64)
    lstr = bytearray(8)
    data = b"kWh"
    res = [0, 0, 0]
    _numeric_round(out, res)  # warm-up
    with NoAllocation():
        _numeric_round(out, res)
        p = res[0]
        q = zt.put_str(zt.CHAR_STR, out, p, data)
        n = zt.str_len(zt.CHAR_STR, out, p, q)
        m = zt.get_str(zt.CHAR_STR, out, p, q, lstr)
    # 1+2+3+4+5+6 + 1+2+3+4 + 1+2 + 1+2+3 + 1+4+2 = 47 octets.
    p, s, e = res
    assert p == 47 and e == 10 and n == 3 and m == 3 and q == 51
    assert s == 200 + 0xFFFFFFFFFFFF - 100000 - 300
