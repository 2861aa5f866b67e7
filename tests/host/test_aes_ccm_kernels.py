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


# ZigBee NWK/APS security in C (zigbee_sec.c, han.nwk.security's C path): the auxiliary
# header against its layout written out here (ZigBee spec 4.5.1), the frame's CCM* against
# AESCCM with the ZigBee nonce built here (4.5.2.2) and against han.nwk.security's Python
# path (CPython has no natmod, so that is the path it runs).
class _ZbAux(ctypes.Structure):
    _fields_ = [("level", ctypes.c_uint8), ("key_id", ctypes.c_uint8),
                ("ext_nonce", ctypes.c_uint8), ("key_seq", ctypes.c_uint8),
                ("frame_counter", ctypes.c_uint32), ("src64", ctypes.c_uint8 * 8)]


@pytest.fixture(scope="module")
def zlib(tmp_path_factory):
    out = tmp_path_factory.mktemp("zigbee") / "libzigbee.so"
    subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-std=c99", "-shared",
                    "-fPIC", "-o", str(out)] + [os.path.join(SRC, f) for f in (
                        "aes128.c", "ccm_star.c", "zigbee_sec.c")], check=True)
    lib = ctypes.CDLL(str(out))
    size = ctypes.c_size_t
    lib.zigbee_aux_len.argtypes = [ctypes.c_uint8]
    lib.zigbee_aux_len.restype = size
    lib.zigbee_aux_parse.argtypes = [ctypes.c_char_p, size, ctypes.POINTER(_ZbAux)]
    lib.zigbee_aux_parse.restype = size
    lib.zigbee_aux_build.argtypes = [ctypes.POINTER(_ZbAux), ctypes.c_void_p, size]
    lib.zigbee_aux_build.restype = size
    for name in ("zigbee_encrypt", "zigbee_decrypt"):
        getattr(lib, name).argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p,
                                       size, size, size, size, ctypes.c_uint8]
    lib.zigbee_decrypt.restype = ctypes.c_int
    return lib


def _aux_by_hand(sc, counter, src64, key_seq):
    out = bytes([sc]) + counter.to_bytes(4, "little")
    if sc & 0x20:
        out += src64[::-1]  # kept MSB first, sent LSB first
    if (sc >> 3) & 3 == 1:
        out += bytes([key_seq])
    return out


def test_zigbee_aux_codec_against_the_layout(zlib):
    rng = random.Random(4051)
    for sc in range(64):
        counter, src64, key_seq = rng.getrandbits(32), rng.randbytes(8), rng.randrange(256)
        a = _ZbAux(sc & 7, (sc >> 3) & 3, sc >> 5, key_seq, counter,
                   (ctypes.c_uint8 * 8)(*src64))
        expected = _aux_by_hand(sc, counter, src64, key_seq)
        assert zlib.zigbee_aux_len(sc) == len(expected)
        buf = ctypes.create_string_buffer(b"\xee" * 16, 16)
        assert zlib.zigbee_aux_build(ctypes.byref(a), buf, 16) == len(expected)
        assert buf.raw[:len(expected)] == expected
        assert zlib.zigbee_aux_build(ctypes.byref(a), buf, len(expected) - 1) == 0
        g = _ZbAux()
        assert zlib.zigbee_aux_parse(expected, len(expected) - 1, ctypes.byref(g)) == 0
        assert zlib.zigbee_aux_parse(expected, len(expected), ctypes.byref(g)) == len(expected)
        assert (g.level, g.key_id, g.ext_nonce, g.frame_counter) == (sc & 7, (sc >> 3) & 3,
                                                                    sc >> 5, counter)
        if sc & 0x20:
            assert bytes(g.src64) == src64
        assert g.key_seq == (key_seq if (sc >> 3) & 3 == 1 else 0)


def test_zigbee_frames_against_aesccm_and_python_path(zlib):
    from han.nwk import security as ns

    assert ns.IMPLEMENTATION == "python"
    rng = random.Random(53474)
    sec = ns.NwkSecurity()
    for _ in range(400):
        level = rng.choice((5, 5, 6, 7))
        mic = {5: 4, 6: 8, 7: 16}[level]
        hdr_len = rng.randrange(0, 30)
        sc = rng.choice((0x28, 0x20, 0x08, 0x00, 0x30, 0x38))  # as on air: level 0
        counter, src64, key_seq = rng.getrandbits(32), rng.randbytes(8), rng.randrange(256)
        aux = _aux_by_hand(sc, counter, src64, key_seq)
        m = rng.randbytes(rng.randrange(0, 127 - hdr_len - len(aux) - mic + 1))
        key = rng.randbytes(16)
        hdr = rng.randbytes(hdr_len)
        ks = bytearray(176)
        aes.aes128_key_schedule_python(key, ks)
        a_len = hdr_len + len(aux)
        n = a_len + len(m) + mic
        buf = ctypes.create_string_buffer(hdr + aux + m + bytes(mic) + b"\xee", n + 1)
        zlib.zigbee_encrypt(bytes(ks), src64, buf, hdr_len, a_len, len(m), mic, level)
        sc5 = sc | level
        nonce = src64[::-1] + counter.to_bytes(4, "little") + bytes([sc5])
        expected = AESCCM(key, tag_length=mic).encrypt(nonce, m, hdr + bytes([sc5]) + aux[1:])
        assert buf.raw == hdr + aux + expected + b"\xee"  # control byte sent with level 0
        # The Python path, through NwkSecurity.encrypt from the same fields.
        pa = ns.AuxHeader()
        pa.key_id, pa.ext_nonce, pa.frame_counter = (sc >> 3) & 3, bool(sc & 0x20), counter
        pa.src64[:] = src64
        pa.key_seq = key_seq
        out = bytearray(hdr + bytes(127 - hdr_len))
        assert sec.encrypt(out, hdr_len, m, len(m), key, pa, level) == n
        assert bytes(out[:n]) == buf.raw[:n]
        assert zlib.zigbee_decrypt(bytes(ks), src64, buf, hdr_len, a_len, len(m), mic,
                                   level) == 1
        assert buf.raw == hdr + aux + m + buf.raw[a_len + len(m):]
        zlib.zigbee_encrypt(bytes(ks), src64, buf, hdr_len, a_len, len(m), mic, level)
        raw = bytearray(buf.raw)
        raw[rng.randrange(n)] ^= 1 << rng.randrange(8)
        bad = ctypes.create_string_buffer(bytes(raw), len(raw))
        ok = zlib.zigbee_decrypt(bytes(ks), src64, bad, hdr_len, a_len, len(m), mic, level)
        assert ok == (raw[hdr_len] & 0xf8 == buf.raw[hdr_len] & 0xf8 and  # the level bits
                      raw[:hdr_len] + raw[hdr_len + 1:] == buf.raw[:hdr_len]  # are not sent
                      + buf.raw[hdr_len + 1:])


def test_zigbee_nwk_aps_vector_of_the_unit_test():
    # tests/unit/test_han_nwk_sec_paths.py's frame, from AESCCM and the layout by hand.
    import test_han_nwk_sec_paths as t

    src64 = t.SRC64
    aps_aux = _aux_by_hand(0x20, 0x33, src64, 0)
    aps_nonce = src64[::-1] + (0x33).to_bytes(4, "little") + b"\x25"
    aps = t.APS_HDR + aps_aux + AESCCM(bytes(range(16, 32)), tag_length=4).encrypt(
        aps_nonce, t.PAYLOAD, t.APS_HDR + b"\x25" + aps_aux[1:])
    assert aps == t.APS_SECURED
    nwk_aux = _aux_by_hand(0x28, 0x101, src64, 0)
    nwk_nonce = src64[::-1] + (0x101).to_bytes(4, "little") + b"\x2d"
    frame = t.NWK_HDR + nwk_aux + AESCCM(bytes(range(16)), tag_length=4).encrypt(
        nwk_nonce, aps, t.NWK_HDR + b"\x2d" + nwk_aux[1:])
    assert frame == t.FRAME
