# Install code -> link key (firmware/han/tc/keys.py) against zigpy (PyPI, pinned in
# tools/requirements.txt): `zigpy.util.convert_install_code` for install codes of every
# length the standard allows (6, 8, 12, 16 octets + CRC-16/X-25), with CRCs computed by
# zigpy's own CRC (crccheck's CrcX25), and zigpy's `aes_mmo_hash` for short messages around
# every padding boundary. Tier 1 only.
import random

import pytest
import zigpy.util
from crccheck.crc import CrcX25

from han.tc import keys
from native.crc16 import crc16_x25


def _with_zigpy_crc(code):
    crc = CrcX25()
    crc.process(code)
    return bytes(code) + crc.finalbytes(byteorder="little")


def _codes():
    rng = random.Random(11)
    out = []
    for n in (6, 8, 12, 16):
        for _ in range(8):
            out.append(bytes(rng.getrandbits(8) for _ in range(n)))
        out.append(bytes(n))
        out.append(b"\xff" * n)
    return out


@pytest.mark.parametrize("code", _codes(), ids=lambda c: "%d-%s" % (len(c), c.hex()[:8]))
def test_install_code_link_key_equals_zigpy(code):
    full = _with_zigpy_crc(code)
    # zigpy returns a KeyData (a list of uint8): serialize() gives its 16 octets in order.
    expected = zigpy.util.convert_install_code(full).serialize()
    assert len(expected) == 16
    assert keys.install_code_link_key(full) == expected
    # Our CRC agrees with zigpy's.
    assert full[-2:] == bytes((crc16_x25(code) & 0xFF, crc16_x25(code) >> 8))


def test_reference_install_code_with_zigpy():
    full = bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")  # HAN.md vector
    assert zigpy.util.convert_install_code(full).serialize() == bytes.fromhex(
        "66B6900981E1EE3CA4206B6B861C02BB")
    assert keys.install_code_link_key(full) == bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB")


def test_bad_install_codes_rejected_like_zigpy():
    rng = random.Random(12)
    for n in (6, 8, 12, 16):
        full = bytearray(_with_zigpy_crc(bytes(rng.getrandbits(8) for _ in range(n))))
        full[rng.randrange(len(full))] ^= 1 << rng.randrange(8)
        for f in (zigpy.util.convert_install_code, keys.install_code_link_key):
            with pytest.raises(ValueError):
                f(bytes(full))
    for n in (4, 7, 9, 11, 13, 15, 17, 19, 20):  # valid CRC, wrong length
        full = _with_zigpy_crc(bytes(rng.getrandbits(8) for _ in range(n)))
        for f in (zigpy.util.convert_install_code, keys.install_code_link_key):
            with pytest.raises(ValueError):
                f(full)


def test_mmo_hash_equals_zigpy_short_messages():
    # zigpy writes the bit length in 16 bits only, so it is a reference below 8192 octets;
    # the lengths 0..80 cross every block and padding boundary (13/14 octets mod 16).
    rng = random.Random(13)
    for n in list(range(81)) + [255, 256, 1000, 8191]:
        m = bytes(rng.getrandbits(8) for _ in range(n))
        assert keys.mmo_hash(m) == zigpy.util.aes_mmo_hash(m).serialize(), n
