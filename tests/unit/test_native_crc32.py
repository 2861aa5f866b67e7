# CRC-32 front (firmware/native/crc32.py): check value from the CRC catalogue
# (reveng "CRC-32/ISO-HDLC": check=0xcbf43926), fallback vs binascii.
from native import crc32 as crc32_mod
from support import lcg_bytes, raises


def test_check_value():
    assert crc32_mod.crc32(b"123456789") == 0xCBF43926
    assert crc32_mod.crc32_python(b"123456789") == 0xCBF43926


def test_empty_and_continuation():
    assert crc32_mod.crc32_python(b"") == 0
    first = crc32_mod.crc32_python(b"12345")
    assert crc32_mod.crc32_python(b"6789", first) == 0xCBF43926


def test_known_strings():
    # zlib.crc32 values quoted widely (e.g. RFC 1952 implementations' test suites)
    assert crc32_mod.crc32_python(b"a") == 0xE8B7BE43
    assert crc32_mod.crc32_python(b"The quick brown fox jumps over the lazy dog") == 0x414FA339


def test_fallback_matches_selected_implementation():
    data = lcg_bytes(1000, seed=7)
    assert crc32_mod.crc32_python(data) == crc32_mod.crc32(data)
    mv = memoryview(data)
    assert crc32_mod.crc32_python(mv[10:500]) == crc32_mod.crc32(mv[10:500])
    assert crc32_mod.IMPLEMENTATION in ("binascii", "python")


def test_bad_initial_value():
    raises(ValueError, crc32_mod.crc32_python, b"x", -1)
