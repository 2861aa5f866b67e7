"""Tier 1: the plain-C kernels under firmware/native, compiled with the host compiler and
called through ctypes, give the same integers as their Python fallbacks."""
import ctypes
import os
import random
import subprocess

import pytest

from native import crc16 as crc16_module

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def crc16_kernel(tmp_path_factory):
    out = tmp_path_factory.mktemp("kernels") / "libcrc16.so"
    src = os.path.join(ROOT, "firmware", "native", "_crc16", "crc16_arc.c")
    subprocess.run(["cc", "-O2", "-Wall", "-Werror", "-std=c99", "-shared", "-fPIC",
                    "-o", str(out), src], check=True)
    lib = ctypes.CDLL(str(out))
    lib.crc16_arc.restype = ctypes.c_uint16
    lib.crc16_arc.argtypes = [ctypes.c_uint16, ctypes.c_char_p, ctypes.c_size_t]
    return lib.crc16_arc


def test_c_kernel_check_value(crc16_kernel):
    assert crc16_kernel(0, b"123456789", 9) == 0xBB3D


def test_c_table_equals_bitwise_definition(crc16_kernel):
    # Each single byte from register 0 yields exactly the table entry; recompute bit by bit.
    for byte in range(256):
        reg = byte
        for _ in range(8):
            reg = (reg >> 1) ^ 0xA001 if reg & 1 else reg >> 1
        assert crc16_kernel(0, bytes([byte]), 1) == reg


def test_c_kernel_bit_identical_to_python_fallback(crc16_kernel):
    rng = random.Random(20261121)
    for _ in range(2000):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
        init = rng.randrange(0x10000)
        assert crc16_kernel(init, data, len(data)) == crc16_module.crc16_python(data, init)
