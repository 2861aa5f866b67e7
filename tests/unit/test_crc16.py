# CRC-16/ARC (firmware/native/crc16.py): the fallback and, where it loads, the natmod.
# Runs on CPython (tier 1) and MicroPython (tier 2; the x64 natmod is on the path there,
# so crc16 is the native one and is compared with the fallback).
from native import crc16 as crc16_module
from support import NoAllocation, lcg_bytes, raises

VECTOR_DIR = "tests/vectors/p1/"
VECTORS = ("telegram_v5", "telegram_v4_2", "telegram_fluvius_v171",
           "telegram_fluvius_v171_alt", "telegram_iskra_ie", "telegram_sagemcom_t210_d_r",
           "telegram_v5_eon_hu", "telegram_v5_two_mbus", "telegram_unpadded_crc")
IMPLEMENTATIONS = [crc16_module.crc16_python]
if crc16_module.crc16_native:
    IMPLEMENTATIONS.append(crc16_module.crc16_native)


def test_check_value():
    # The catalogue check value of CRC-16/ARC.
    for crc16 in IMPLEMENTATIONS:
        assert crc16(b"123456789") == 0xBB3D


def test_empty_input_keeps_initial_value():
    for crc16 in IMPLEMENTATIONS:
        assert crc16(b"") == 0
        assert crc16(b"", 0x1234) == 0x1234


def test_known_small_values():
    # Bit-by-bit by hand: one 0x01 byte shifted through the reflected polynomial gives
    # 0xC0C1 (the second table entry of every published CRC-16/ARC table).
    for crc16 in IMPLEMENTATIONS:
        assert crc16(b"\x01") == 0xC0C1
        assert crc16(b"\x00") == 0


def test_dsmr_parser_telegram_vectors():
    for name in VECTORS:
        with open(VECTOR_DIR + name + ".txt", "rb") as f:
            telegram = f.read()
        bang = telegram.rindex(b"!")
        expected = int(telegram[bang + 1:].strip(), 16)
        for crc16 in IMPLEMENTATIONS:
            assert crc16(telegram[:bang + 1]) == expected, name


def test_incremental_equals_whole():
    data = lcg_bytes(1000, seed=7)
    for crc16 in IMPLEMENTATIONS:
        whole = crc16(data)
        part = crc16(data[:333])
        assert crc16(data[333:], part) == whole


def test_length_limits_the_input():
    data = bytearray(b"123456789xxxxxxx")
    for crc16 in IMPLEMENTATIONS:
        assert crc16(data, 0, 9) == 0xBB3D
        assert crc16(memoryview(data), 0, 9) == 0xBB3D
        assert crc16(data, 0, 0) == 0


def test_bad_arguments_are_rejected():
    for crc16 in IMPLEMENTATIONS:
        raises(ValueError, crc16, b"abc", 0, 4)
        raises(ValueError, crc16, b"abc", 0x10000)
        raises(ValueError, crc16, b"abc", -1)
        raises(TypeError, crc16, 12345)


def test_native_and_fallback_identical():
    if not crc16_module.crc16_native:
        # CPython: the C kernel itself is compared in tests/host/test_native_kernels.py.
        assert crc16_module.IMPLEMENTATION == "python"
        return
    assert crc16_module.IMPLEMENTATION == "natmod"
    for seed in range(1, 40):
        data = lcg_bytes(seed * 13, seed)
        init = (seed * 4099) & 0xFFFF
        assert crc16_module.crc16_native(data, init) == crc16_module.crc16_python(data, init)


def test_no_allocation_with_length():
    buf = bytearray(b"/ISK5\\2M550T-1012\r\n\r\n1-3:0.2.8(50)\r\n!")
    crc16 = crc16_module.crc16
    expected = crc16(buf, 0, len(buf))
    with NoAllocation():
        got = crc16(buf, 0, len(buf))
    assert got == expected
