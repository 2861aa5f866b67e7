# AES-128 (firmware/native/aes.py and, where it loads, the _aes natmod) on published vectors
# besides FIPS 197 C.1 (test_native_aes.py): FIPS 197 Appendix A.1 (key expansion) and B
# (cipher example), NIST SP 800-38A F.1.1 (ECB-AES128) and F.5.1 (CTR-AES128, the counter
# blocks encrypted by the block cipher and XORed by hand here). Both implementations are
# run on every vector, so the natmod and the fallback are held to the same figures.
# Portable: tier 1 (fallback only) and tier 2 (x64 natmod and fallback).
from native import aes
from support import NoAllocation

KEY = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")  # FIPS 197 A.1, SP 800-38A F.1.1
# SP 800-38A F.1.1, ECB-AES128.Encrypt: (plaintext, ciphertext) blocks 1..4.
ECB = (
    ("6bc1bee22e409f96e93d7e117393172a", "3ad77bb40d7a3660a89ecaf32466ef97"),
    ("ae2d8a571e03ac9c9eb76fac45af8e51", "f5d3d58503b9699de785895a96fdbaaf"),
    ("30c81c46a35ce411e5fbc1191a0a52ef", "43b1cd7f598ece23881b00e3ed030688"),
    ("f69f2445df4f9b17ad2b417be66c3710", "7b0c785e27e8ad3f8223207104725dd4"),
)
# SP 800-38A F.5.1, CTR-AES128.Encrypt: (counter block, plaintext, ciphertext) blocks 1, 2.
CTR = (
    ("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", "6bc1bee22e409f96e93d7e117393172a",
     "874d6191b620e3261bef6864990db6ce"),
    ("f0f1f2f3f4f5f6f7f8f9fafbfcfdff00", "ae2d8a571e03ac9c9eb76fac45af8e51",
     "9806f66b7970fdff8617187bb9fffdff"),
)


def _impls():
    out = [(aes.aes128_key_schedule_python, aes.aes128_encrypt_block_python)]
    if aes.aes128_encrypt_block_native is not None:
        out.append((aes.aes128_key_schedule_native, aes.aes128_encrypt_block_native))
    return out


def test_fips197_a1_key_expansion():
    for schedule, _ in _impls():
        ks = bytearray(aes.KEY_SCHEDULE_SIZE)
        schedule(KEY, ks)
        assert ks[:16] == KEY
        assert ks[16:20] == bytes.fromhex("a0fafe17")  # w[4]
        assert ks[160:176] == bytes.fromhex("d014f9a8c9ee2589e13f0cc8b6630ca6")  # w[40..43]


def test_fips197_appendix_b():
    for schedule, encrypt in _impls():
        ks = bytearray(aes.KEY_SCHEDULE_SIZE)
        schedule(KEY, ks)
        out = bytearray(16)
        encrypt(ks, bytes.fromhex("3243f6a8885a308d313198a2e0370734"), out)
        assert out == bytes.fromhex("3925841d02dc09fbdc118597196a0b32")


def test_sp800_38a_ecb():
    for schedule, encrypt in _impls():
        ks = bytearray(aes.KEY_SCHEDULE_SIZE)
        schedule(KEY, ks)
        out = bytearray(16)
        for plain, cipher in ECB:
            encrypt(ks, bytes.fromhex(plain), out)
            assert out == bytes.fromhex(cipher)


def test_sp800_38a_ctr_keystream():
    for schedule, encrypt in _impls():
        ks = bytearray(aes.KEY_SCHEDULE_SIZE)
        schedule(KEY, ks)
        s = bytearray(16)
        for counter, plain, cipher in CTR:
            encrypt(ks, bytes.fromhex(counter), s)
            p = bytes.fromhex(plain)
            assert bytes(s[i] ^ p[i] for i in range(16)) == bytes.fromhex(cipher)


def test_unaligned_views_and_in_place():
    # Key schedule and blocks at odd offsets of larger buffers (memoryviews into frames).
    for schedule, encrypt in _impls():
        big = bytearray(1 + aes.KEY_SCHEDULE_SIZE)
        ks = memoryview(big)[1:]
        schedule(KEY, ks)
        frame = bytearray(3) + bytearray.fromhex(ECB[0][0]) + bytearray(2)
        blk = memoryview(frame)[3:19]
        with NoAllocation():
            encrypt(ks, blk, blk)
        assert frame[3:19] == bytes.fromhex(ECB[0][1])
        assert frame[:3] == bytes(3) and frame[19:] == bytes(2)
