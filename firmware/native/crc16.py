# CRC-16/ARC, the P1 telegram checksum (DSMR 5.0.2 P1 Companion Standard 6.4.2:
# polynomial x^16 + x^15 + x^2 + 1, LSB first, initial value 0). Check value:
# crc16(b"123456789") == 0xBB3D.
#
# crc16(data, crc=0, length=-1) -> int
#   data    any object with the buffer protocol (bytes, bytearray, memoryview)
#   crc     value to continue from (the result of an earlier call over the preceding bytes)
#   length  number of leading bytes of data to use; -1 for all of them. Lets a caller
#           checksum part of a preallocated buffer without slicing (which would allocate).
# Uses the _crc16 natmod (firmware/native/_crc16) when it can be imported, otherwise the
# Python fallback below; both give the same integers for the same input.

from micropython import const

from native.crctable import reflected_table

_POLY_REFLECTED = const(0xA001)  # 0x8005 bit-reversed: the register shifts right (LSB first)


_TABLE = reflected_table(_POLY_REFLECTED)


def crc16_python(data, crc=0, length=-1):
    if length < 0:
        length = len(data)
    elif length > len(data):
        raise ValueError("length past end of data")
    if crc < 0 or crc > 0xFFFF:
        raise ValueError("crc must be 0..0xFFFF")
    table = _TABLE
    for i in range(length):
        crc = (crc >> 8) ^ table[(crc ^ data[i]) & 0xFF]
    return crc


try:
    from _crc16 import crc16 as crc16_native
except ImportError:
    crc16_native = None

crc16 = crc16_native or crc16_python
IMPLEMENTATION = "natmod" if crc16_native else "python"


_X25_TABLE = None


def crc16_x25(data):
    """CRC-16/X-25 (polynomial 0x1021 reflected, initial 0xFFFF, final XOR 0xFFFF): the
    check value of ZigBee install codes (ZigBee 3.0 BDB 10.1; check value 0x906E for
    b"123456789"). Not a hot path: used when an install code is provisioned or joined."""
    global _X25_TABLE
    if _X25_TABLE is None:
        _X25_TABLE = reflected_table(0x8408)
    crc = 0xFFFF
    table = _X25_TABLE
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFF
