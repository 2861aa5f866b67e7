# AES-128-GCM (NIST SP 800-38D) over caller buffers, for the DLMS security suite 0 framing
# of encrypted P1 telegrams (Luxembourg Smarty 1.1.3 3.2.5) and the Green Book's glo-APDUs.
#
#   gcm_key(key16) -> key object (AES key schedule + GHASH table; build once per key)
#   gcm_encrypt(gk, iv12, aad, src, length, dst, dst_off, tag)
#       encrypts src[0:length] into dst[dst_off:dst_off+length]; writes len(tag) (<= 16)
#       bytes of the authentication tag into tag (DLMS truncates it to 12)
#   gcm_decrypt(gk, iv12, aad, src, src_off, length, dst, tag) -> True if tag verifies
#       decrypts src[src_off:src_off+length] into dst[0:length], checks len(tag) bytes
#
# Only 96-bit IVs (SP 800-38D 7.1: J0 = IV || 0^31 || 1), which DLMS always uses
# (system title || invocation counter). No per-call allocation: module-level scratch blocks,
# so not reentrant. GHASH multiplies by H a byte at a time with a 256-entry table of
# multiples of H and a 256-entry reduction table, in 16-bit words so that every
# intermediate stays a small int on 32-bit ports.
import array

import micropython
from micropython import const
from native.aes import aes128_encrypt_block, aes128_key_schedule, KEY_SCHEDULE_SIZE

_WORDS = const(8)  # 128 bits as 8 big-endian 16-bit words
_R = const(0xE100)  # SP 800-38D 6.3: R = 11100001 || 0^120, as the first word


def _shift_right_1(w):
    # Multiply by alpha (SP 800-38D 6.3, Algorithm 1 step 3): shift right one bit, reduce.
    carry_out = w[7] & 1
    for j in range(7, 0, -1):
        w[j] = (w[j] >> 1) | ((w[j - 1] & 1) << 15)
    w[0] >>= 1
    if carry_out:
        w[0] ^= _R


def _make_reduction_table():
    # R8[o]: what a byte o shifted out past bit 127 folds back into the first word when the
    # accumulator moves 8 bits right. Computed with the bitwise rule itself.
    table = array.array("H", bytes(512))
    w = array.array("H", bytes(16))
    for o in range(256):
        for j in range(_WORDS):
            w[j] = 0
        w[7] = o
        for _ in range(8):
            _shift_right_1(w)
        table[o] = w[0]
    return table


_R8 = _make_reduction_table()


class GcmKey:
    """AES-128 key schedule plus the GHASH table for H = E(K, 0^128)."""

    def __init__(self, key):
        self.ks = bytearray(KEY_SCHEDULE_SIZE)
        aes128_key_schedule(key, self.ks)
        h = bytearray(16)
        aes128_encrypt_block(self.ks, h, h)
        # table[8*b : 8*b+8] = (byte b as the first byte of a block) * H. The byte 0x80 is
        # alpha^0 = 1, 0x40 is alpha, ... so single bits are H shifted right; the rest XOR.
        t = array.array("H", bytes(2 * 256 * _WORDS))
        w = array.array("H", bytes(16))
        for j in range(_WORDS):
            w[j] = (h[2 * j] << 8) | h[2 * j + 1]
        bit = 0x80
        while bit:
            for j in range(_WORDS):
                t[bit * _WORDS + j] = w[j]
            _shift_right_1(w)
            bit >>= 1
        for b in range(256):
            low = b & (b - 1)  # b without its lowest set bit
            if low:
                single = b ^ low
                for j in range(_WORDS):
                    t[b * _WORDS + j] = t[low * _WORDS + j] ^ t[single * _WORDS + j]
        self.table = t


def gcm_key(key):
    return GcmKey(key)


_y = array.array("H", bytes(16))  # GHASH accumulator
_w = array.array("H", bytes(16))  # product being formed
_counter = bytearray(16)
_stream = bytearray(16)
_j0_block = bytearray(16)


@micropython.native  # machine code where the port has an emitter: GHASH is the hot loop
def _ghash_update(t, data, off, n):
    # Y = (Y xor X) * H for the block X = data[off:off+n] padded with zeros (n <= 16).
    y = _y
    w = _w
    r8 = _R8
    for i in range(n):
        k = i >> 1
        if i & 1:
            y[k] ^= data[off + i]
        else:
            y[k] ^= data[off + i] << 8
    # Horner over the 16 bytes of Y, last byte first: W = W * alpha^8 xor T[byte].
    base = (y[7] & 0xFF) * _WORDS
    for j in range(_WORDS):
        w[j] = t[base + j]
    for k in range(14, -1, -1):
        yk = y[k >> 1]
        byte = yk & 0xFF if k & 1 else yk >> 8
        out = w[7] & 0xFF
        w[7] = (w[7] >> 8) | ((w[6] & 0xFF) << 8)
        w[6] = (w[6] >> 8) | ((w[5] & 0xFF) << 8)
        w[5] = (w[5] >> 8) | ((w[4] & 0xFF) << 8)
        w[4] = (w[4] >> 8) | ((w[3] & 0xFF) << 8)
        w[3] = (w[3] >> 8) | ((w[2] & 0xFF) << 8)
        w[2] = (w[2] >> 8) | ((w[1] & 0xFF) << 8)
        w[1] = (w[1] >> 8) | ((w[0] & 0xFF) << 8)
        w[0] = (w[0] >> 8) ^ r8[out]
        base = byte * _WORDS
        w[0] ^= t[base]
        w[1] ^= t[base + 1]
        w[2] ^= t[base + 2]
        w[3] ^= t[base + 3]
        w[4] ^= t[base + 4]
        w[5] ^= t[base + 5]
        w[6] ^= t[base + 6]
        w[7] ^= t[base + 7]
    for j in range(_WORDS):
        y[j] = w[j]


def _ghash_bytes(t, data, off, length):
    end = off + length
    while off < end:
        n = end - off
        _ghash_update(t, data, off, n if n < 16 else 16)
        off += 16


def _start(gk, iv, aad):
    if len(iv) != 12:
        raise ValueError("GCM IV must be 12 bytes")
    for j in range(_WORDS):
        _y[j] = 0
    for i in range(12):
        _counter[i] = iv[i]
    _counter[12] = 0
    _counter[13] = 0
    _counter[14] = 0
    _counter[15] = 1  # J0
    aes128_encrypt_block(gk.ks, _counter, _j0_block)  # E(K, J0) masks the tag
    _ghash_bytes(gk.table, aad, 0, len(aad))


def _next_keystream(ks):
    # inc32 (SP 800-38D 6.2): the last 32 bits count modulo 2^32.
    i = 15
    while i >= 12:
        v = (_counter[i] + 1) & 0xFF
        _counter[i] = v
        if v:
            break
        i -= 1
    aes128_encrypt_block(ks, _counter, _stream)


def _put_bits(block, pos, nbytes):
    bits = nbytes * 8
    for i in range(4):  # 32 bits are plenty: the high half of the 64-bit field stays 0
        block[pos - i] = bits & 0xFF
        bits >>= 8


def _finish(gk, aad_len, length, out, n):
    # The length block: bit lengths of AAD and ciphertext, 64 bits each (SP 800-38D 7.1).
    block = _stream
    for i in range(16):
        block[i] = 0
    _put_bits(block, 7, aad_len)
    _put_bits(block, 15, length)
    _ghash_update(gk.table, block, 0, 16)
    for i in range(n):
        word = _y[i >> 1]
        out[i] = (word & 0xFF if i & 1 else word >> 8) ^ _j0_block[i]


@micropython.native
def _ctr_ghash(gk, src, src_off, dst, dst_off, length, encrypting):
    # CTR keystream over the data, GHASH over the ciphertext: after XOR when encrypting,
    # before it when decrypting (SP 800-38D 7.1, 7.2).
    ks = gk.ks
    t = gk.table
    done = 0
    while done < length:
        _next_keystream(ks)
        n = length - done
        if n > 16:
            n = 16
        if not encrypting:
            _ghash_update(t, src, src_off + done, n)
        for i in range(n):
            dst[dst_off + done + i] = src[src_off + done + i] ^ _stream[i]
        if encrypting:
            _ghash_update(t, dst, dst_off + done, n)
        done += n


def gcm_encrypt(gk, iv, aad, src, length, dst, dst_off, tag):
    _start(gk, iv, aad)
    _ctr_ghash(gk, src, 0, dst, dst_off, length, True)
    _finish(gk, len(aad), length, tag, len(tag))


_tag_check = bytearray(16)


def gcm_decrypt(gk, iv, aad, src, src_off, length, dst, tag):
    _start(gk, iv, aad)
    _ctr_ghash(gk, src, src_off, dst, 0, length, False)
    n = len(tag)
    check = _tag_check
    _finish(gk, len(aad), length, check, n)
    diff = 0
    for i in range(n):
        diff |= check[i] ^ tag[i]  # no early exit: the time does not tell where it differs
    return diff == 0
