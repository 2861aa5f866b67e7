# CCM* (firmware/han/mac/ccm.py) against peer software: `cryptography`'s AESCCM for MIC
# lengths 4, 8, 16 (security levels 1..3 and 5..7) and AES-CTR for the encryption-only
# level 4 (M = 0: C = m XOR E(A_1) || E(A_2) ..., A_i = 0x01 || nonce || i, 802.15.4-2020
# B.4.1.3). Tier 1 only.
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from hypothesis import given, settings, strategies as st

from han.mac.ccm import CcmStar
from native import aes


def _ks(key):
    ks = bytearray(aes.KEY_SCHEDULE_SIZE)
    aes.aes128_key_schedule(key, ks)
    return ks


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(min_size=16, max_size=16), st.binary(min_size=13, max_size=13),
       st.binary(max_size=40), st.binary(max_size=90), st.sampled_from([4, 8, 16]),
       st.booleans())
def test_ccm_star_equals_aesccm(key, nonce, a, m, mic, encrypt):
    if not encrypt:  # levels 1..3: everything authenticated, nothing encrypted
        a, m = a + m, b""
    buf = bytearray(a + m + bytes(mic))
    n = CcmStar().encrypt(_ks(key), nonce, buf, len(a), len(m), mic, encrypt)
    expected = AESCCM(key, tag_length=mic).encrypt(nonce, m, a)  # ciphertext || tag
    assert bytes(buf[len(a):n]) == expected
    assert CcmStar().decrypt(_ks(key), nonce, buf, len(a), len(m), mic, encrypt)
    assert bytes(buf[len(a):len(a) + len(m)]) == m
    buf[-1] ^= 1
    assert not CcmStar().decrypt(_ks(key), nonce, buf, len(a), len(m), mic, encrypt)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.binary(min_size=16, max_size=16), st.binary(min_size=13, max_size=13),
       st.binary(max_size=30), st.binary(max_size=100))
def test_level4_equals_aes_ctr(key, nonce, a, m):
    buf = bytearray(a + m)
    n = CcmStar().encrypt(_ks(key), nonce, buf, len(a), len(m), 0, True)
    assert n == len(a) + len(m)
    ctr = Cipher(algorithms.AES(key), modes.CTR(b"\x01" + nonce + b"\x00\x01")).encryptor()
    assert bytes(buf[len(a):]) == ctr.update(m) + ctr.finalize()
    assert bytes(buf[:len(a)]) == a
