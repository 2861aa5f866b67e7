"""Tier 1: the C kernels of the _aes natmod (firmware/native/_aes/aes128.c, ccm_star.c)
compiled with the host compiler and called through ctypes: the one 256-word table against
the S-box of the Python fallback, the block cipher against `cryptography`, and CCM* against
`cryptography`'s AESCCM (MIC 4..16), AES-CTR (MIC 0) and the Python path of
han.mac.ccm.CcmStar, on random frames of every length up to 127 bytes."""
import ctypes
import os
import random
import re
import subprocess

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from han.mac.ccm import CcmStar
from native import aes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(ROOT, "firmware", "native", "_aes")


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    out = tmp_path_factory.mktemp("kernels") / "libaesccm.so"
    subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-std=c99", "-shared",
                    "-fPIC", "-o", str(out), os.path.join(SRC, "aes128.c"),
                    os.path.join(SRC, "ccm_star.c")], check=True)
    lib = ctypes.CDLL(str(out))
    size = ctypes.c_size_t
    for name in ("ccm_star_encrypt", "ccm_star_decrypt"):
        getattr(lib, name).argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p,
                                       size, size, size, ctypes.c_int]
    lib.ccm_star_decrypt.restype = ctypes.c_int
    lib.ccm_star_mic_len_valid.argtypes = [size]
    return lib


def _xtime(a):
    a <<= 1
    return a ^ 0x11B if a & 0x100 else a


def test_table_entries_from_the_sbox():
    # Every entry is (S, 3S, 2S, S) from byte 0 up, S from the fallback's S-box (which
    # test_native_aes.py holds to FIPS 197).
    with open(os.path.join(SRC, "aes128.c")) as f:
        text = f.read()
    body = text[text.index("static const uint32_t te[256] = {"):]
    body = body[:body.index("};")]
    words = [int(w, 16) for w in re.findall(r"0x([0-9a-f]{8})u", body)]
    assert len(words) == 256
    for x, w in enumerate(words):
        s = aes.SBOX[x]
        assert w == s | (_xtime(s) ^ s) << 8 | _xtime(s) << 16 | s << 24, x


def test_block_matches_cryptography(lib):
    rng = random.Random(38)
    for _ in range(300):
        key = rng.randbytes(16)
        block = rng.randbytes(16)
        ks = ctypes.create_string_buffer(176)
        out = ctypes.create_string_buffer(16)
        lib.aes128_key_schedule(key, ks)
        lib.aes128_encrypt_block(ks, block, out)
        enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
        assert out.raw == enc.update(block) + enc.finalize()


def test_mic_lengths(lib):
    assert [m for m in range(20) if lib.ccm_star_mic_len_valid(m)] == [0, 4, 6, 8, 10, 12,
                                                                     14, 16]


def test_ccm_star_matches_aesccm_ctr_and_python_path(lib):
    rng = random.Random(3610)
    py = CcmStar()
    for mic in (0, 4, 6, 8, 16):
        for m_len in range(0, 128 - mic):
            a_len = rng.randrange(0, 128 - mic - m_len)
            encrypt = mic == 0 or rng.random() < 0.8
            if not encrypt:
                a_len, m_len = a_len + m_len, 0
            key, nonce = rng.randbytes(16), rng.randbytes(13)
            a, m = rng.randbytes(a_len), rng.randbytes(m_len)
            ks = bytearray(176)
            aes.aes128_key_schedule_python(key, ks)
            buf = ctypes.create_string_buffer(a + m + bytes(mic) + b"\xee\xee", a_len + m_len
                                              + mic + 2)
            lib.ccm_star_encrypt(bytes(ks), nonce, buf, a_len, m_len, mic, encrypt)
            if mic:
                expected = AESCCM(key, tag_length=mic).encrypt(nonce, m, a)
                if not encrypt:
                    expected = m + expected[m_len:]
            else:
                ctr = Cipher(algorithms.AES(key),
                             modes.CTR(b"\x01" + nonce + b"\x00\x01")).encryptor()
                expected = ctr.update(m) + ctr.finalize()
            assert buf.raw[:a_len] == a and buf.raw[-2:] == b"\xee\xee"
            assert buf.raw[a_len:a_len + m_len + mic] == expected, (mic, a_len, m_len)
            mine = bytearray(a + m + bytes(mic))
            py.encrypt_python(ks, nonce, mine, a_len, m_len, mic, encrypt)
            assert bytes(mine) == buf.raw[:-2]
            assert lib.ccm_star_decrypt(bytes(ks), nonce, buf, a_len, m_len, mic, encrypt) == 1
            assert buf.raw[:a_len + m_len] == a + m
            if mic:
                lib.ccm_star_encrypt(bytes(ks), nonce, buf, a_len, m_len, mic, encrypt)
                flip = rng.randrange(a_len + m_len + mic)
                raw = bytearray(buf.raw)
                raw[flip] ^= 1 << rng.randrange(8)
                bad = ctypes.create_string_buffer(bytes(raw), len(raw))
                assert lib.ccm_star_decrypt(bytes(ks), nonce, bad, a_len, m_len, mic,
                                            encrypt) == 0
