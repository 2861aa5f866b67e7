# AES-128: the _aes natmod (where it loads: tier 2 runs the x64 one, tier 3 the armv7m one)
# against the Python fallback and FIPS 197 Appendix C.1.
from native import aes
from support import NoAllocation, lcg_bytes, raises

FIPS197_KEY = bytes(range(16))
FIPS197_PLAIN = bytes.fromhex("00112233445566778899aabbccddeeff")
FIPS197_CIPHER = bytes.fromhex("69c4e0d86a7b0430d8cdb78070b4c55a")


def test_front_encrypts_the_fips197_example():
    ks = bytearray(aes.KEY_SCHEDULE_SIZE)
    aes.aes128_key_schedule(FIPS197_KEY, ks)
    out = bytearray(16)
    aes.aes128_encrypt_block(ks, FIPS197_PLAIN, out)
    assert bytes(out) == FIPS197_CIPHER


def test_natmod_and_fallback_identical():
    if aes.aes128_encrypt_block_native is None:
        return  # CPython: tests/host/test_native_kernels.py compares the C kernel itself
    assert aes.IMPLEMENTATION == "natmod"
    ks_n = bytearray(aes.KEY_SCHEDULE_SIZE)
    ks_p = bytearray(aes.KEY_SCHEDULE_SIZE)
    out_n = bytearray(16)
    out_p = bytearray(16)
    for seed in range(1, 30):
        key = lcg_bytes(16, seed)
        block = lcg_bytes(16, seed + 1000)
        aes.aes128_key_schedule_native(key, ks_n)
        aes.aes128_key_schedule_python(key, ks_p)
        assert ks_n == ks_p
        aes.aes128_encrypt_block_native(ks_n, block, out_n)
        aes.aes128_encrypt_block_python(ks_p, block, out_p)
        assert out_n == out_p


def test_encrypt_in_place_and_without_allocation():
    ks = bytearray(aes.KEY_SCHEDULE_SIZE)
    aes.aes128_key_schedule(FIPS197_KEY, ks)
    block = bytearray(FIPS197_PLAIN)
    encrypt = aes.aes128_encrypt_block
    with NoAllocation():
        encrypt(ks, block, block)
    assert bytes(block) == FIPS197_CIPHER


def test_bad_arguments():
    ks = bytearray(aes.KEY_SCHEDULE_SIZE)
    raises(ValueError, aes.aes128_key_schedule, bytes(15), ks)
    raises(ValueError, aes.aes128_key_schedule, bytes(16), bytearray(100))
