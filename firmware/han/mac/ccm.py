# CCM* (IEEE 802.15.4-2020 Annex B): CCM (RFC 3610, NIST SP 800-38C) extended with M = 0,
# encryption without authentication. AES-128 from native.aes; 13-byte nonce, so L = 2
# (B.4.1: L + nonce = 15). Works in place on the caller's frame buffer:
#
#   buf[0 : a_len]                       a, the authenticated data (MHR etc.)
#   buf[a_len : a_len + m_len]           m, encrypted in place (levels 4..7)
#   buf[a_len + m_len : ... + mic_len]   the MIC (encrypted tag U), written / checked
#
# Not reentrant: one CcmStar per MAC holds the scratch blocks; nothing is allocated.
#
# Two paths, bit-identical (tests/unit/test_han_ccm_paths.py): the whole transformation in
# C where the _aes natmod carries it (native.aes.ccm_star_*_native: CBC-MAC and CTR on the
# AES kernel, about 14 times fewer instructions on the emulated board), else the Python
# CBC-MAC and CTR below around native.aes's block cipher (encrypt_python / decrypt_python).
# Both refuse impossible lengths with ValueError before touching buf.
import micropython
from micropython import const

from native.aes import aes128_encrypt_block, ccm_star_decrypt_native, ccm_star_encrypt_native

_L = const(2)  # length field size: 15 - 13-byte nonce (B.4.1)
_MAX_A_LEN = const(0xFEFF)  # l(a) < 2^16 - 2^8: the two-byte encoding of l(a) (B.4.1.2)
_MAX_M_LEN = const(0xFFFF)  # l(m) < 2^(8L) (B.4.1)

# The path CcmStar.encrypt / decrypt take; module globals so that a benchmark or a test can
# set them to None to run the Python path through the public methods.
ccm_star_encrypt = ccm_star_encrypt_native
ccm_star_decrypt = ccm_star_decrypt_native
IMPLEMENTATION = "natmod" if ccm_star_encrypt_native else "python"


def check_lengths(buf, a_len, m_len, mic_len):
    """Raise ValueError unless M is 0 or even in 4..16 (B.4.1.2), l(a) and l(m) are
    within the limits above and a, m and the MIC fit in buf."""
    if (mic_len < 0 or mic_len > 16 or mic_len & 1 or 0 < mic_len < 4 or a_len < 0
            or a_len > _MAX_A_LEN or m_len < 0 or m_len > _MAX_M_LEN
            or a_len + m_len + mic_len > len(buf)):
        raise ValueError("bad CCM* lengths")


class CcmStar:
    def __init__(self):
        self._x = bytearray(16)  # CBC-MAC chaining value
        self._a = bytearray(16)  # counter block A_i (B.4.1.3)
        self._s = bytearray(16)  # key stream block S_i

    @micropython.native  # byte loops: machine code where the port has an emitter
    def _absorb(self, ks, src, off, n, fill):
        # XOR bytes into the chaining value; encrypt at every full block (B.4.1.2).
        x = self._x
        for i in range(off, off + n):
            x[fill] ^= src[i]
            fill += 1
            if fill == 16:
                aes128_encrypt_block(ks, x, x)
                fill = 0
        return fill

    def _auth(self, ks, nonce, buf, a_len, m_len, mic_len):
        # Authentication transformation, B.4.1.2: B0 = flags || nonce || l(m), then
        # L(a) || a padded, then m padded; T = first M bytes of the last X.
        x = self._x
        x[0] = (0x40 if a_len else 0) | (((mic_len - 2) >> 1) << 3) | (_L - 1)
        for i in range(13):
            x[1 + i] = nonce[i]
        x[14] = m_len >> 8
        x[15] = m_len & 0xFF
        aes128_encrypt_block(ks, x, x)
        fill = 0
        if a_len:
            x[0] ^= a_len >> 8  # 0 < l(a) < 2^16 - 2^8: two-byte encoding (B.4.1.2)
            x[1] ^= a_len & 0xFF
            fill = self._absorb(ks, buf, 0, a_len, 2)
            if fill:
                aes128_encrypt_block(ks, x, x)
        fill = self._absorb(ks, buf, a_len, m_len, 0)
        if fill:
            aes128_encrypt_block(ks, x, x)

    @micropython.native
    def _counter_block(self, nonce, i):
        a = self._a
        a[0] = _L - 1  # flags: reserved bits 0, L' = L - 1 (B.4.1.3)
        for j in range(13):
            a[1 + j] = nonce[j]
        a[14] = i >> 8
        a[15] = i & 0xFF
        return a

    @micropython.native
    def _ctr(self, ks, nonce, buf, off, n):
        # Encryption transformation, B.4.1.3: C = m XOR (S_1 || S_2 || ...).
        s = self._s
        i = 1
        while n > 0:
            aes128_encrypt_block(ks, self._counter_block(nonce, i), s)
            k = 16 if n > 16 else n
            for j in range(k):
                buf[off + j] ^= s[j]
            off += k
            n -= k
            i += 1

    def _tag_stream(self, ks, nonce):
        # S_0 encrypts the tag: U = T XOR first M bytes of S_0.
        aes128_encrypt_block(ks, self._counter_block(nonce, 0), self._s)
        return self._s

    def encrypt(self, ks, nonce, buf, a_len, m_len, mic_len, encrypt=True):
        """Secure buf in place; return a_len + m_len + mic_len. With encrypt False
        (levels 1..3) m is only authenticated; callers then pass m_len 0 and the whole
        frame as a."""
        f = ccm_star_encrypt
        if f is not None:
            return f(ks, nonce, buf, a_len, m_len, mic_len, encrypt)
        return self.encrypt_python(ks, nonce, buf, a_len, m_len, mic_len, encrypt)

    def decrypt(self, ks, nonce, buf, a_len, c_len, mic_len, encrypted=True):
        """Open buf in place (c_len = encrypted bytes, MIC after them). Return True when
        the MIC verifies (always True for M = 0, which authenticates nothing)."""
        f = ccm_star_decrypt
        if f is not None:
            return f(ks, nonce, buf, a_len, c_len, mic_len, encrypted)
        return self.decrypt_python(ks, nonce, buf, a_len, c_len, mic_len, encrypted)

    def encrypt_python(self, ks, nonce, buf, a_len, m_len, mic_len, encrypt=True):
        """encrypt() on the Python path."""
        check_lengths(buf, a_len, m_len, mic_len)
        if mic_len:
            self._auth(ks, nonce, buf, a_len, m_len, mic_len)
            s = self._tag_stream(ks, nonce)
            x = self._x
            p = a_len + m_len
            for i in range(mic_len):
                buf[p + i] = x[i] ^ s[i]
        if encrypt:
            self._ctr(ks, nonce, buf, a_len, m_len)
        return a_len + m_len + mic_len

    def decrypt_python(self, ks, nonce, buf, a_len, c_len, mic_len, encrypted=True):
        """decrypt() on the Python path."""
        check_lengths(buf, a_len, c_len, mic_len)
        if encrypted:
            self._ctr(ks, nonce, buf, a_len, c_len)
        if not mic_len:
            return True
        self._auth(ks, nonce, buf, a_len, c_len, mic_len)
        s = self._tag_stream(ks, nonce)
        x = self._x
        p = a_len + c_len
        diff = 0
        for i in range(mic_len):  # compare every byte: no early exit on the first mismatch
            diff |= buf[p + i] ^ x[i] ^ s[i]
        return diff == 0
