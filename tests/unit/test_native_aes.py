# AES-128 and AES-128-GCM fallbacks (firmware/native/aes.py, gcm.py) against published
# vectors: FIPS 197 Appendix C.1, the GCM specification's test cases (McGrew and Viega,
# "The Galois/Counter Mode of Operation", Appendix B, cases 1, 2 and 4), the DLMS Green Book
# vectors in tests/vectors/p1/dlms_gcm_vectors.json and the Smarty encrypted P1 frame.
# Portable: tier 1 and tier 2.
import json

from native import aes, gcm
from native.crc16 import crc16
from support import NoAllocation, lcg_bytes

VECTORS = "tests/vectors/p1/"
SMARTY_AAD = bytes.fromhex("3000112233445566778899AABBCCDDEEFF")  # Smarty 1.1.3 3.2.5


def test_fips197_c1():
    ks = bytearray(aes.KEY_SCHEDULE_SIZE)
    aes.aes128_key_schedule(bytes(range(16)), ks)
    out = bytearray(16)
    aes.aes128_encrypt_block(ks, bytes.fromhex("00112233445566778899aabbccddeeff"), out)
    assert out == bytes.fromhex("69c4e0d86a7b0430d8cdb78070b4c55a")
    # FIPS 197 C.1, round[10].k_sch
    assert ks[160:176] == bytes.fromhex("13111d7fe3944a17f307a78b4d2b30c5")


def test_encrypt_block_in_place_and_without_allocation():
    ks = bytearray(aes.KEY_SCHEDULE_SIZE)
    aes.aes128_key_schedule(bytes(range(16)), ks)
    block = bytearray.fromhex("00112233445566778899aabbccddeeff")
    with NoAllocation():
        aes.aes128_encrypt_block(ks, block, block)
    assert block == bytes.fromhex("69c4e0d86a7b0430d8cdb78070b4c55a")


def test_bad_key_rejected():
    ks = bytearray(aes.KEY_SCHEDULE_SIZE)
    try:
        aes.aes128_key_schedule(b"short", ks)
    except ValueError:
        return
    raise AssertionError("short key accepted")


def encrypt(key, iv, aad, plaintext, tag_len=16):
    gk = gcm.gcm_key(key)
    out = bytearray(len(plaintext))
    tag = bytearray(tag_len)
    gcm.gcm_encrypt(gk, iv, aad, plaintext, len(plaintext), out, 0, tag)
    return bytes(out), bytes(tag)


def test_gcm_spec_cases_1_2_4():
    c, t = encrypt(bytes(16), bytes(12), b"", b"")
    assert c == b"" and t == bytes.fromhex("58e2fccefa7e3061367f1d57a4e7455a")
    c, t = encrypt(bytes(16), bytes(12), b"", bytes(16))
    assert c == bytes.fromhex("0388dace60b6a392f328c2b971b2fe78")
    assert t == bytes.fromhex("ab6e47d42cec13bdf53a67b21257bddf")
    c, t = encrypt(
        bytes.fromhex("feffe9928665731c6d6a8f9467308308"),
        bytes.fromhex("cafebabefacedbaddecaf888"),
        bytes.fromhex("feedfacedeadbeeffeedfacedeadbeefabaddad2"),
        bytes.fromhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                      "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"))
    assert c == bytes.fromhex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
                              "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091")
    assert t == bytes.fromhex("5bc94fbc3221a5db94fae95ae7121a47")


def test_dlms_green_book_vectors():
    with open(VECTORS + "dlms_gcm_vectors.json") as f:
        vectors = json.load(f)["vectors"]
    checked = 0
    for v in vectors:
        if "plaintext_apdu" not in v or "expected_ciphertext" not in v:
            continue
        key = bytes.fromhex(v["encryption_key_EK"])
        iv = bytes.fromhex(v["iv"])
        aad = bytes.fromhex(v["aad"])
        plain = bytes.fromhex(v["plaintext_apdu"])
        c, t = encrypt(key, iv, aad, plain, 12)
        assert c == bytes.fromhex(v["expected_ciphertext"]), v["name"]
        if "expected_tag" in v:
            assert t == bytes.fromhex(v["expected_tag"]), v["name"]
        checked += 1
    assert checked >= 5


def test_smarty_vector_decrypts_and_authenticates():
    with open(VECTORS + "smarty_encrypted_packet.bin", "rb") as f:
        frame = f.read()
    assert frame[0] == 0xDB and frame[1] == 8 and frame[10] == 0x82 and frame[13] == 0x30
    length = (frame[11] << 8) | frame[12]
    assert length == len(frame) - 13
    data_len = length - 17
    iv = frame[2:10] + frame[14:18]
    assert frame[2:10] == b"SYSTEMID" and frame[14:18] == b"\x10\x00\x00\x01"
    gk = gcm.gcm_key(bytes.fromhex("AA" * 16))
    out = bytearray(data_len)
    assert gcm.gcm_decrypt(gk, iv, SMARTY_AAD, frame, 18, data_len, out, frame[-12:])
    assert out[:6] == b"/EST5\\" and out[-2:] == b"\r\n"
    bang = out.rindex(b"!")
    assert "%04X" % crc16(out, 0, bang + 1) == out[bang + 1:bang + 5].decode()
    # A wrong key or a flipped bit fails authentication.
    bad = gcm.gcm_key(bytes.fromhex("AB" * 16))
    assert not gcm.gcm_decrypt(bad, iv, SMARTY_AAD, frame, 18, data_len, out, frame[-12:])
    flipped = bytearray(frame)
    flipped[40] ^= 1
    assert not gcm.gcm_decrypt(gk, iv, SMARTY_AAD, flipped, 18, data_len, out, frame[-12:])


def test_gcm_round_trip_all_lengths():
    gk = gcm.gcm_key(lcg_bytes(16, 3))
    iv = lcg_bytes(12, 4)
    for n in (0, 1, 15, 16, 17, 31, 32, 33, 100):
        plain = lcg_bytes(n, n + 9)
        out = bytearray(n + 5)
        tag = bytearray(12)
        gcm.gcm_encrypt(gk, iv, SMARTY_AAD, plain, n, out, 5, tag)
        back = bytearray(n)
        assert gcm.gcm_decrypt(gk, iv, SMARTY_AAD, out, 5, n, back, tag)
        assert back == plain


def test_gcm_allocates_nothing_per_call():
    gk = gcm.gcm_key(lcg_bytes(16, 5))
    iv = lcg_bytes(12, 6)
    plain = lcg_bytes(300, 7)
    out = bytearray(300)
    tag = bytearray(12)
    back = bytearray(300)
    gcm.gcm_encrypt(gk, iv, SMARTY_AAD, plain, 300, out, 0, tag)
    with NoAllocation():
        gcm.gcm_encrypt(gk, iv, SMARTY_AAD, plain, 300, out, 0, tag)
        ok = gcm.gcm_decrypt(gk, iv, SMARTY_AAD, out, 0, 300, back, tag)
    assert ok and back == plain
