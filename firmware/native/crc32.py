# CRC-32 (ISO-HDLC, the zlib/PNG CRC: polynomial 0x04C11DB7 reflected = 0xEDB88320, initial
# value and final xor 0xFFFFFFFF). Check value: crc32(b"123456789") == 0xCBF43926.
# The register store (firmware/registers/store.py) seals every record with it.
#
# crc32(data, crc=0) -> int, same signature and results as binascii.crc32:
#   data  any object with the buffer protocol (bytes, bytearray, memoryview)
#   crc   value to continue from (the result of an earlier call over the preceding bytes)
# MicroPython builds with binascii.crc32 (the unix port, most boards) use it; the Python
# fallback below is for builds without it. On a 32-bit port the result can exceed the small
# int range (2**30) and then is a heap-allocated long: callers that must not allocate compare
# halves (see store.py) or use crc32_halves().

from micropython import const

from native.crctable import reflected_table

_POLY_REFLECTED = const(0xEDB88320)  # 0x04C11DB7 bit-reversed: the register shifts right


_TABLE = None


def crc32_python(data, crc=0):
    global _TABLE
    if _TABLE is None:  # built on first use: boards with binascii.crc32 never pay for it
        _TABLE = reflected_table(_POLY_REFLECTED)
    if crc < 0 or crc > 0xFFFFFFFF:
        raise ValueError("crc must be 0..0xFFFFFFFF")
    table = _TABLE
    crc ^= 0xFFFFFFFF
    for i in range(len(data)):
        crc = (crc >> 8) ^ table[(crc ^ data[i]) & 0xFF]
    return crc ^ 0xFFFFFFFF


try:
    from binascii import crc32 as crc32_builtin
except ImportError:
    crc32_builtin = None

crc32 = crc32_builtin or crc32_python
IMPLEMENTATION = "binascii" if crc32_builtin else "python"
