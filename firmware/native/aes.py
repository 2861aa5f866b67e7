# AES-128 block encryption (FIPS 197), the forward direction only: GCM (P1 encryption) and
# CCM* (the HAN's IEEE 802.15.4 security) both use the block cipher in encrypt direction.
#
#   aes128_key_schedule(key, ks)        key: 16 bytes; ks: caller's bytearray(176), filled
#                                       with the 11 round keys (FIPS 197 5.2, byte order)
#   aes128_encrypt_block(ks, src, dst)  encrypts the 16 bytes of src into dst (may be src)
#
# A C natmod (_aes) with the same two functions and the same key-schedule layout can replace
# this fallback; the front picks it when it imports. The natmod also carries CCM* over a
# frame (ccm_star_encrypt_native / ccm_star_decrypt_native below, used by han.mac.ccm).
# The Python version allocates nothing per call: it works in two module-level 16-byte
# scratch blocks (so it is not reentrant: do not call it from an interrupt handler).
from micropython import const

KEY_SCHEDULE_SIZE = const(176)  # (10 rounds + 1) * 16 bytes, FIPS 197 5.2 with Nk = 4
_ROUNDS = const(10)  # FIPS 197 Table 4: Nr = 10 for a 128-bit key


def _xtime(a):
    # Multiplication by x in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1 (FIPS 197 4.2.1).
    a <<= 1
    return (a ^ 0x11B) if a & 0x100 else a


def _make_tables():
    # S-box from its definition (FIPS 197 5.1.1): multiplicative inverse, then the affine
    # map. The inverse comes from walking the field with generator 3 (exp/log tables).
    exp = bytearray(256)
    log = bytearray(256)
    x = 1
    for i in range(255):
        exp[i] = x
        log[x] = i
        x ^= _xtime(x)  # x * 3
    sbox = bytearray(256)
    for a in range(256):
        inv = exp[(255 - log[a]) % 255] if a else 0
        s = inv
        for shift in range(1, 5):
            s ^= ((inv << shift) | (inv >> (8 - shift))) & 0xFF
        sbox[a] = s ^ 0x63
    mul2 = bytearray(256)
    mul3 = bytearray(256)
    for a in range(256):
        mul2[a] = _xtime(sbox[a])
        mul3[a] = mul2[a] ^ sbox[a]
    # bytes: immutable, and indexing them allocates nothing.
    return bytes(sbox), bytes(mul2), bytes(mul3)


SBOX, _S2, _S3 = _make_tables()
_RCON = b"\x01\x02\x04\x08\x10\x20\x40\x80\x1b\x36"  # FIPS 197 5.2: x^(i-1) in GF(2^8)

_state_a = bytearray(16)
_state_b = bytearray(16)


def aes128_key_schedule_python(key, ks):
    if len(key) != 16 or len(ks) < KEY_SCHEDULE_SIZE:
        raise ValueError("need a 16-byte key and a 176-byte schedule")
    sbox = SBOX
    for i in range(16):
        ks[i] = key[i]
    for i in range(16, KEY_SCHEDULE_SIZE, 4):
        t0 = ks[i - 4]
        t1 = ks[i - 3]
        t2 = ks[i - 2]
        t3 = ks[i - 1]
        if i % 16 == 0:
            # RotWord, SubWord and Rcon (FIPS 197 Figure 11).
            t0, t1, t2, t3 = (sbox[t1] ^ _RCON[i // 16 - 1], sbox[t2], sbox[t3], sbox[t0])
        ks[i] = ks[i - 16] ^ t0
        ks[i + 1] = ks[i - 15] ^ t1
        ks[i + 2] = ks[i - 14] ^ t2
        ks[i + 3] = ks[i - 13] ^ t3


def aes128_encrypt_block_python(ks, src, dst):
    sbox = SBOX
    s2 = _S2
    s3 = _S3
    s = _state_a
    t = _state_b
    for i in range(16):
        s[i] = src[i] ^ ks[i]
    k = 16
    for _ in range(_ROUNDS - 1):
        # SubBytes, ShiftRows and MixColumns at once (FIPS 197 5.1.1-5.1.3): column c takes
        # row r from column c + r; the MixColumns matrix rows are (2 3 1 1) rotated.
        for c in (0, 4, 8, 12):
            a0 = s[c]
            a1 = s[(c + 5) & 15]
            a2 = s[(c + 10) & 15]
            a3 = s[(c + 15) & 15]
            t[c] = s2[a0] ^ s3[a1] ^ sbox[a2] ^ sbox[a3] ^ ks[k + c]
            t[c + 1] = sbox[a0] ^ s2[a1] ^ s3[a2] ^ sbox[a3] ^ ks[k + c + 1]
            t[c + 2] = sbox[a0] ^ sbox[a1] ^ s2[a2] ^ s3[a3] ^ ks[k + c + 2]
            t[c + 3] = s3[a0] ^ sbox[a1] ^ sbox[a2] ^ s2[a3] ^ ks[k + c + 3]
        s, t = t, s
        k += 16
    # Final round: no MixColumns (FIPS 197 5.1).
    for c in (0, 4, 8, 12):
        dst[c] = sbox[s[c]] ^ ks[k + c]
        dst[c + 1] = sbox[s[(c + 5) & 15]] ^ ks[k + c + 1]
        dst[c + 2] = sbox[s[(c + 10) & 15]] ^ ks[k + c + 2]
        dst[c + 3] = sbox[s[(c + 15) & 15]] ^ ks[k + c + 3]


try:
    from _aes import aes128_encrypt_block as aes128_encrypt_block_native
    from _aes import aes128_key_schedule as aes128_key_schedule_native
except ImportError:
    aes128_encrypt_block_native = None
    aes128_key_schedule_native = None

# CCM* over a whole frame in C (_aes's ccm_star.c), the signatures of han.mac.ccm.CcmStar's
# encrypt and decrypt with the key schedule above; None where the natmod lacks them (an
# older _aes image), and han.mac.ccm then keeps its Python CBC-MAC and CTR.
try:
    from _aes import ccm_star_decrypt as ccm_star_decrypt_native
    from _aes import ccm_star_encrypt as ccm_star_encrypt_native
except ImportError:
    ccm_star_decrypt_native = None
    ccm_star_encrypt_native = None

# ZigBee NWK/APS security over a frame in C (_aes's zigbee_sec.c): the auxiliary header codec
# and CCM* with the ZigBee nonce, for han.nwk.security (which holds the Python fallback and
# documents the signatures); None where the natmod lacks them.
try:
    from _aes import zigbee_build_aux as zigbee_build_aux_native
    from _aes import zigbee_ccm as zigbee_ccm_native
    from _aes import zigbee_parse_aux as zigbee_parse_aux_native
except ImportError:
    zigbee_build_aux_native = None
    zigbee_ccm_native = None
    zigbee_parse_aux_native = None

aes128_key_schedule = aes128_key_schedule_native or aes128_key_schedule_python
aes128_encrypt_block = aes128_encrypt_block_native or aes128_encrypt_block_python
IMPLEMENTATION = "natmod" if aes128_encrypt_block_native else "python"
