# OTA upgrade files for the OTA tests of both tiers, built by the test's own code with the
# hashes of han.tc.keys.mmo_hash (AES-MMO) and registers.config.hmac_sha256, not with
# firmware/han/ota (under test) nor tools/ota (CPython and `cryptography` only: tier 1
# compares the two in test_han_ota_transfer.py). Layout: docs/han.md "Firmware images for
# the HAN (OTA)".
import struct

from han.tc.keys import mmo_hash
from registers.config import hmac_sha256

KEY = bytes(range(0x20, 0x40))  # the gas meter kind's signing key (32 octets)
MANUFACTURER = 0x1234
IMAGE_TYPE = 0x0002


def archive(entries):
    out = bytearray(b"MFW1")
    for name, data in entries:
        out += bytes([len(name)]) + name + struct.pack("<I", len(data)) + data
    return bytes(out)


def _el(tag, data):
    return struct.pack("<HI", tag, len(data)) + bytes(data)


def build(entries, version, key=KEY, manufacturer=MANUFACTURER, image_type=IMAGE_TYPE):
    body = _el(0x0000, archive(entries))
    total = 56 + len(body) + 38 + 22
    out = bytearray(struct.pack("<IHHHHHIH32sI", 0x0BEEF11E, 0x0100, 56, 0, manufacturer,
                                image_type, version, 2, b"gas-fw", total)) + body
    out += _el(0xF100, hmac_sha256(key, bytes(out)))
    out += _el(0x0003, mmo_hash(bytes(out)))
    return bytes(out)
