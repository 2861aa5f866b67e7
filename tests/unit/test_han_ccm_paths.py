# CCM* (firmware/han/mac/ccm.py): the C path (the _aes natmod's ccm_star_encrypt/decrypt,
# where it loads: tier 2 runs the x64 one) and the Python path (CcmStar.encrypt_python /
# decrypt_python) give the same bytes on the IEEE 802.15.4 Annex C frames and the ZigBee
# CCM* vector (expected values from tests/vectors/han/ieee802154_ccm_vectors.json) and on
# pseudo-random frames with MIC 0/4/8/16 and payloads of 0..127 bytes; both refuse
# impossible lengths without touching the buffer and allocate nothing.
# Portable: tier 1 (Python path; tests/host/test_aes_ccm_kernels.py compiles the C one) and
# tier 2 (both).
import json

import han.mac.ccm as ccm
from han.mac.ccm import CcmStar
from native import aes
from support import NoAllocation, lcg_bytes, raises

DATA = json.load(open("tests/vectors/han/ieee802154_ccm_vectors.json"))
NATIVE = aes.ccm_star_encrypt_native is not None


def _ks(key):
    ks = bytearray(aes.KEY_SCHEDULE_SIZE)
    aes.aes128_key_schedule(key, ks)
    return ks


def _paths():
    # (name, encrypt, decrypt) for each path available on this runtime.
    c = CcmStar()
    out = [("python", c.encrypt_python, c.decrypt_python)]
    if NATIVE:
        out.append(("natmod", aes.ccm_star_encrypt_native, aes.ccm_star_decrypt_native))
    return out


def test_front_uses_the_c_path_where_the_natmod_has_it():
    assert ccm.IMPLEMENTATION == ("natmod" if NATIVE else "python")
    assert (ccm.ccm_star_encrypt is not None) == NATIVE


def test_annex_c_vectors_on_every_path():
    key = bytes.fromhex(DATA["vectors"][0]["key"])
    for v in DATA["vectors"]:
        plain = bytes.fromhex(v["plaintext_frame_no_fcs"])
        secured = bytes.fromhex(v["secured_frame_no_fcs"])
        a_len = v["auth_data_len"]
        m_len = v["private_payload_len"]
        mic = v["mic_length"]
        enc = v["security_level"] >= 4
        for name, encrypt, decrypt in _paths():
            buf = bytearray(plain + bytes(mic))
            n = encrypt(_ks(key), bytes.fromhex(v["nonce"]), buf, a_len, m_len, mic, enc)
            assert n == len(secured) and buf == secured, (v["name"], name)
            assert decrypt(_ks(key), bytes.fromhex(v["nonce"]), buf, a_len, m_len, mic, enc)
            assert buf[:len(plain)] == plain, (v["name"], name)


def test_zigbee_ccm_star_vector_on_every_path():
    v = DATA["zigbee_spec_ccm_star"][0]
    a = bytes.fromhex(v["a_data"])
    m = bytes.fromhex(v["plaintext"])
    mic = v["mic_length"]
    for name, encrypt, decrypt in _paths():
        buf = bytearray(a + m + bytes(mic))
        ks = _ks(bytes.fromhex(v["key"]))
        nonce = bytes.fromhex(v["nonce"])
        assert encrypt(ks, nonce, buf, len(a), len(m), mic, True) == len(buf)
        assert buf[len(a):] == bytes.fromhex(v["expected_ciphertext_and_mic"]), name
        assert decrypt(ks, nonce, buf, len(a), len(m), mic, True)
        assert buf[len(a):len(a) + len(m)] == m


def test_random_frames_both_paths_identical():
    if not NATIVE:
        return  # tier 1: tests/host/test_aes_ccm_kernels.py compares the C kernel
    c = CcmStar()
    seed = 1
    for mic in (0, 4, 8, 16):
        for m_len in range(0, 128):
            a_len = (m_len * 7 + mic) % (128 - m_len)  # 0 .. 127 - m_len
            if mic == 0 and seed % 3 == 0:
                a_len = 0
            n = a_len + m_len + mic
            enc = mic == 0 or m_len % 5 != 0  # some MIC-only frames (levels 1..3)
            if not enc:
                a_len, m_len = a_len + m_len, 0
            key = lcg_bytes(16, seed)
            nonce = lcg_bytes(13, seed + 1)
            frame = lcg_bytes(n, seed + 2)
            seed += 3
            ks = _ks(key)
            b_py = bytearray(frame) + bytearray(3)  # spare bytes after the frame stay
            b_c = bytearray(b_py)
            assert c.encrypt_python(ks, nonce, b_py, a_len, m_len, mic, enc) == n
            assert aes.ccm_star_encrypt_native(ks, nonce, b_c, a_len, m_len, mic, enc) == n
            assert b_c == b_py, (mic, a_len, m_len)
            assert b_c[:a_len] == frame[:a_len] and b_c[n:] == bytes(3)
            secured = bytes(b_c)
            assert c.decrypt_python(ks, nonce, b_py, a_len, m_len, mic, enc)
            assert aes.ccm_star_decrypt_native(ks, nonce, b_c, a_len, m_len, mic, enc)
            assert b_c == b_py and b_c[:n - mic] == frame[:n - mic]
            if mic:
                # One flipped bit anywhere in a, c or the MIC fails on both paths.
                pos = (seed * 31) % n
                for b in (b_py, b_c):
                    b[:] = secured
                    b[pos] ^= 0x10
                assert not c.decrypt_python(ks, nonce, b_py, a_len, m_len, mic, enc)
                assert not aes.ccm_star_decrypt_native(ks, nonce, b_c, a_len, m_len, mic,
                                                       enc)
                assert b_c == b_py


def test_memoryview_inside_a_larger_frame():
    # APS security hands CCM* a memoryview that starts inside the MAC frame.
    ks = _ks(lcg_bytes(16, 71))
    nonce = lcg_bytes(13, 72)
    frame = lcg_bytes(60, 73)
    results = []
    for name, encrypt, decrypt in _paths():
        big = bytearray(5) + bytearray(frame) + bytearray(4)
        view = memoryview(big)[5:]
        with NoAllocation():
            n = encrypt(ks, nonce, view, 17, 43, 4, True)
            ok = decrypt(ks, nonce, view, 17, 43, 4, True)
        assert n == 64 and ok and big[5:65] == frame and big[:5] == bytes(5)
        encrypt(ks, nonce, view, 17, 43, 4, True)
        results.append(bytes(big))
    assert results[-1] == results[0]


def test_bad_lengths_refused_and_buffer_untouched():
    ks = _ks(bytes(16))
    nonce = bytes(13)
    for name, encrypt, decrypt in _paths():
        buf = bytearray(range(40))
        for a_len, m_len, mic in ((10, 20, 12 + 4), (0, 41, 0), (-1, 4, 4), (4, -1, 4),
                                  (4, 4, 3), (4, 4, 2), (4, 4, 18), (4, 4, 5)):
            raises(ValueError, encrypt, ks, nonce, buf, a_len, m_len, mic, True)
            raises(ValueError, decrypt, ks, nonce, buf, a_len, m_len, mic, True)
        assert buf == bytes(range(40)), name


def test_public_methods_allocate_nothing():
    c = CcmStar()
    ks = _ks(lcg_bytes(16, 81))
    nonce = lcg_bytes(13, 82)
    buf = bytearray(lcg_bytes(127, 83))
    for path in (ccm.ccm_star_encrypt, None):
        saved = (ccm.ccm_star_encrypt, ccm.ccm_star_decrypt)
        if path is None:
            ccm.ccm_star_encrypt = ccm.ccm_star_decrypt = None  # the Python path
        try:
            with NoAllocation():
                n = c.encrypt(ks, nonce, buf, 23, 100, 4)
                ok = c.decrypt(ks, nonce, buf, 23, 100, 4)
        finally:
            ccm.ccm_star_encrypt, ccm.ccm_star_decrypt = saved
        assert n == 127 and ok and buf[:123] == lcg_bytes(127, 83)[:123]
