# IEEE 802.15.4 frame check sequence (IEEE 802.15.4-2020 7.2.10): the ITU-T CRC-16,
# G(x) = x^16 + x^12 + x^5 + 1, over the MHR and MAC payload, bits taken least significant
# first, register starting at zero and not inverted; that is the CRC-16/KERMIT of the
# catalogue (check value 0x2189 for b"123456789"). It goes on air least significant byte
# first.
from micropython import const

from native.crctable import reflected_table

_POLY_REFLECTED = const(0x8408)  # 0x1021 bit-reversed: the register shifts right
FCS_LEN = const(2)

_TABLE = reflected_table(_POLY_REFLECTED)


def fcs16(buf, length, start=0):
    """CRC-16/KERMIT of buf[start:start+length] (no slicing: nothing allocated)."""
    table = _TABLE
    crc = 0
    for i in range(start, start + length):
        crc = (crc >> 8) ^ table[(crc ^ buf[i]) & 0xFF]
    return crc


def append_fcs(buf, length):
    """Write the FCS of buf[0:length] at buf[length:length+2]; return the new length."""
    crc = fcs16(buf, length)
    buf[length] = crc & 0xFF
    buf[length + 1] = crc >> 8
    return length + FCS_LEN


def fcs_ok(buf, length):
    """True when the last two of `length` bytes are the FCS of the ones before them."""
    if length < FCS_LEN:
        return False
    crc = fcs16(buf, length - FCS_LEN)
    return buf[length - 2] == (crc & 0xFF) and buf[length - 1] == (crc >> 8)
