# Key primitives of the ZigBee trust centre (ZigBee specification 05-3474, Annex B):
#
#   mmo_hash(data)                  Matyas-Meyer-Oseas hash on AES-128 (B.6), 16 bytes
#   hmac_mmo(key, message)          keyed hash for message authentication (B.1.4), 16 bytes
#   key_transport_key(link_key)     HMAC-MMO(link key, 0x00) (4.5.3 / B.1.4)
#   key_load_key(link_key)          HMAC-MMO(link key, 0x02) (4.5.3 / B.1.4)
#   verify_key_hash(link_key)       HMAC-MMO(link key, 0x03): the APS Verify Key hash
#   install_code_link_key(code)     link key of an install code with its CRC (BDB 10.1)
#
# None of these is a hot path: they run when an install code is registered or a device joins
# or changes keys. Each call allocates its 16-byte result (the caller keeps it as a key) and,
# in install_code_link_key, one memoryview to checksum the code without copying it. The
# hashing itself works in module-level scratch buffers, so it is not reentrant: do not call
# it from an interrupt handler (native.aes has the same rule).
from micropython import const

from native import aes
from native.crc16 import crc16_x25

KEY_SIZE = const(16)  # AES-128 key and MMO hash length (B.6: hash length = block size)
_BLOCK = const(16)  # AES-128 block size in octets (B.6: n = 128 bits)
# B.6 padding: the bit length l is written in 16 bits when l < 2^16, otherwise in 32 bits
# followed by 16 zero bits; l must stay below 2^32 bits.
_SHORT_LIMIT_BITS = const(0x10000)
_SHORT_TAIL = const(3)  # 0x80 octet + 16-bit length
_LONG_TAIL = const(7)  # 0x80 octet + 32-bit length + 2 zero octets
_MAX_BYTES = const(0x1FFFFFFF)  # (2^32 - 1) bits, rounded down to whole octets
_IPAD = const(0x36)  # B.1.4 / FIPS 198: inner pad octet
_OPAD = const(0x5C)  # B.1.4 / FIPS 198: outer pad octet
KEY_TRANSPORT_INPUT = const(0x00)  # 4.5.3 / B.1.4: key-transport key = HMAC(LK, 0x00)
KEY_LOAD_INPUT = const(0x02)  # 4.5.3 / B.1.4: key-load key = HMAC(LK, 0x02)
VERIFY_KEY_INPUT = const(0x03)  # APS Verify Key command: hash = HMAC(TC link key, 0x03)
# Install code lengths including the 2-octet CRC: 6, 8, 12 or 16 octets + CRC (BDB 10.1).
INSTALL_CODE_LENGTHS = (8, 10, 14, 18)

_ks = bytearray(aes.KEY_SCHEDULE_SIZE)
_m = bytearray(_BLOCK)  # current message block
_c = bytearray(_BLOCK)  # its encryption
_k0 = bytearray(_BLOCK)  # HMAC key padded (or hashed) to the block size
_pad = bytearray(_BLOCK)  # K0 xor ipad / opad
_inner = bytearray(_BLOCK)  # inner HMAC hash
_one = bytearray(1)  # one-octet message of the derived keys


def _mmo_into(h, a, b):
    """MMO hash of the concatenation a || b (b may be None) into h (16-byte bytearray),
    without building the concatenation: H0 = 0, Hj = E(Hj-1, Mj) xor Mj (B.6)."""
    la = len(a)
    total = la + (len(b) if b is not None else 0)
    if total > _MAX_BYTES:
        raise ValueError("message too long for the MMO hash")
    bits = total * 8
    if bits < _SHORT_LIMIT_BITS:
        padded = (total + _SHORT_TAIL + _BLOCK - 1) // _BLOCK * _BLOCK
        len_at = padded - 2
        len_octets = 2
    else:
        padded = (total + _LONG_TAIL + _BLOCK - 1) // _BLOCK * _BLOCK
        len_at = padded - 6
        len_octets = 4
    for i in range(_BLOCK):
        h[i] = 0
    m = _m
    pos = 0
    while pos < padded:
        for j in range(_BLOCK):
            i = pos + j
            if i < la:
                v = a[i]
            elif i < total:
                v = b[i - la]
            elif i == total:
                v = 0x80  # the single 1 bit that ends the message
            elif len_at <= i < len_at + len_octets:
                # Bit length, most significant octet first.
                v = (bits >> (8 * (len_at + len_octets - 1 - i))) & 0xFF
            else:
                v = 0
            m[j] = v
        aes.aes128_key_schedule(h, _ks)
        aes.aes128_encrypt_block(_ks, m, _c)
        for j in range(_BLOCK):
            h[j] = _c[j] ^ m[j]
        pos += _BLOCK


def mmo_hash(data):
    """Matyas-Meyer-Oseas hash of data (bytes-like) on AES-128 (ZigBee spec B.6): 16 bytes."""
    h = bytearray(KEY_SIZE)
    _mmo_into(h, data, None)
    return bytes(h)


def hmac_mmo(key, message):
    """Keyed hash for message authentication (ZigBee spec B.1.4): HMAC (FIPS 198) with the
    MMO hash and a block size of 16 octets. A key longer than the block is hashed first, a
    shorter one padded with zeros (FIPS 198 step 1-3); ZigBee keys are exactly 16 octets."""
    k0 = _k0
    if len(key) > _BLOCK:
        _mmo_into(k0, key, None)
    else:
        for i in range(_BLOCK):
            k0[i] = key[i] if i < len(key) else 0
    pad = _pad
    for i in range(_BLOCK):
        pad[i] = k0[i] ^ _IPAD
    _mmo_into(_inner, pad, message)
    for i in range(_BLOCK):
        pad[i] = k0[i] ^ _OPAD
    out = bytearray(KEY_SIZE)
    _mmo_into(out, pad, _inner)
    return bytes(out)


def _derived(link_key, octet):
    if len(link_key) != KEY_SIZE:
        raise ValueError("link key must be 16 octets")
    _one[0] = octet
    return hmac_mmo(link_key, _one)


def key_transport_key(link_key):
    """Key that secures APS Transport Key commands sent under link_key (4.5.3 / B.1.4)."""
    return _derived(link_key, KEY_TRANSPORT_INPUT)


def key_load_key(link_key):
    """Key that secures a Transport Key carrying a new link key (4.5.3 / B.1.4)."""
    return _derived(link_key, KEY_LOAD_INPUT)


def verify_key_hash(link_key):
    """Hash carried in the APS Verify Key command for the trust-centre link key."""
    return _derived(link_key, VERIFY_KEY_INPUT)


def install_code_link_key(code_with_crc):
    """Link key of an install code given with its CRC-16/X-25 (2 octets, little endian, as
    printed on the device): MMO hash of code || CRC. ValueError for a length other than
    8, 10, 14 or 18 octets or a CRC that does not match."""
    n = len(code_with_crc)
    if n not in INSTALL_CODE_LENGTHS:
        raise ValueError("install code must be 6, 8, 12 or 16 octets + 2 CRC octets")
    crc = code_with_crc[n - 2] | (code_with_crc[n - 1] << 8)
    if crc16_x25(memoryview(code_with_crc)[:n - 2]) != crc:
        raise ValueError("install code CRC-16/X-25 does not match")
    return mmo_hash(code_with_crc)
