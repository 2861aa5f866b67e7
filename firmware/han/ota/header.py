# The ZigBee OTA upgrade file's header (09-5264 6.3.2 / ZCL 07-5123 11.4.2) and the tags
# and sizes the rest of the file uses; image.py documents the whole layout.
#
# HeaderFields is the read side for a parser holding the header octets in self._hdr: every
# field is read on demand from those octets (file_version can pass 2^30 and so would be a
# long int on a 32-bit port: reading it only when asked keeps the parser allocation-free).
from micropython import const

FILE_ID = const(0x0BEEF11E)  # 09-5264 6.3.2: OTA upgrade file identifier
HEADER_VERSION = const(0x0100)  # 6.3.2: major 0x01, minor 0x00
STACK_PRO = const(2)  # 6.3.2 ZigBee stack version: 0x0002 ZigBee PRO
FC_CREDENTIAL = const(0x0001)  # 6.3.2 field control bit 0: security credential version
FC_DESTINATION = const(0x0002)  # bit 1: device-specific file (destination EUI-64)
FC_HW_VERSIONS = const(0x0004)  # bit 2: minimum and maximum hardware versions
FC_RESERVED = const(0xFFF8)  # bits 3-15 reserved: refused, we would misread the header
BASE_HEADER = const(56)  # 6.3.2: fixed part of the header
MAX_HEADER = const(69)  # 56 + 1 + 8 + 2 + 2
ELEMENT_HEADER = const(6)  # 6.3.3: tag u16 + length u32
TAG_UPGRADE_IMAGE = const(0x0000)  # 6.3.4
TAG_INTEGRITY = const(0x0003)  # 6.3.10 image integrity code
TAG_SIGNATURE = const(0xF100)  # ours (6.3.4: 0xF000-0xFFFF manufacturer specific)
INTEGRITY_SIZE = const(16)  # AES-MMO hash length
SIGNATURE_SIZE = const(32)  # HMAC-SHA256 length
MAX_IMAGE = const(0x1000000)  # our limit (16 MiB): sizes stay small ints everywhere
SHA_BLOCK = const(64)  # SHA-256 block (RFC 2104 B)


def u16(b, i):
    return b[i] | (b[i + 1] << 8)


def u32(b, i):  # a long int on 32-bit ports from 2^30 on: check the top octet first
    return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)


def header_length(field_control):
    """Header length that field control implies (6.3.2)."""
    n = BASE_HEADER
    if field_control & FC_CREDENTIAL:
        n += 1
    if field_control & FC_DESTINATION:
        n += 8
    if field_control & FC_HW_VERSIONS:
        n += 4
    return n


class HeaderFields:
    @property
    def field_control(self):
        return u16(self._hdr, 8)

    @property
    def manufacturer(self):
        return u16(self._hdr, 10)

    @property
    def image_type(self):
        return u16(self._hdr, 12)

    @property
    def file_version(self):
        return u32(self._hdr, 14)

    @property
    def stack_version(self):
        return u16(self._hdr, 18)

    @property
    def header_string(self):
        return bytes(self._hdr[20:52])

    def _optional(self, bit):
        # Offset of an optional field, or -1 when the header lacks it (6.3.2 order:
        # credential version, destination, hardware versions).
        fc = self.field_control
        if not fc & bit:
            return -1
        at = BASE_HEADER
        if bit != FC_CREDENTIAL and fc & FC_CREDENTIAL:
            at += 1
        if bit == FC_HW_VERSIONS and fc & FC_DESTINATION:
            at += 8
        return at

    @property
    def credential_version(self):
        at = self._optional(FC_CREDENTIAL)
        return None if at < 0 else self._hdr[at]

    @property
    def destination(self):
        at = self._optional(FC_DESTINATION)
        return None if at < 0 else bytes(self._hdr[at:at + 8])

    @property
    def hw_versions(self):
        at = self._optional(FC_HW_VERSIONS)
        return None if at < 0 else (u16(self._hdr, at), u16(self._hdr, at + 2))
