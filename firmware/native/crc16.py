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
