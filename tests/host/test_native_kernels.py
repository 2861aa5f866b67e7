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


# --- metrology kernel -------------------------------------------------------------------

METRO_DIR = os.path.join(ROOT, "firmware", "native", "_metro")


def _header_constants():
    """Names and values of METRO_* enum entries and #defines in metro_kernel.h."""
    import re

    text = open(os.path.join(METRO_DIR, "metro_kernel.h")).read()
    values = {}
    for body in re.findall(r"enum\s*{(.*?)}", text, re.S):
        nxt = 0
        for m in re.finditer(r"(METRO_\w+)(?:\s*=\s*(\d+))?\s*,", body):
            nxt = int(m.group(2)) if m.group(2) else nxt
            values[m.group(1)] = nxt
            nxt += 1
    for m in re.finditer(r"#define (METRO_\w+) \((\d+)\)", text):
        values[m.group(1)] = int(m.group(2))
    return values


def test_python_front_uses_the_header_layout():
    from native import metro

    consts = _header_constants()
    assert len(consts) > 30
    for name, value in consts.items():
        if name == "METRO_HIST_LEN":  # defined as a sum in the header
            continue
        assert getattr(metro, name[len("METRO_"):]) == value, name
    assert metro.HIST_LEN == metro.HISTORY + metro.MAX_FRAMES


@pytest.fixture(scope="module")
def metro_kernel(tmp_path_factory):
    out = tmp_path_factory.mktemp("kernels") / "libmetro.so"
    subprocess.run(["cc", "-O2", "-Wall", "-Werror", "-std=c99", "-shared", "-fPIC", "-o",
                    str(out), os.path.join(METRO_DIR, "metro_kernel.c")], check=True)
    lib = ctypes.CDLL(str(out))
    lib.metro_process.restype = None
    return lib.metro_process


def _as_c(arr, ctype):
    return (ctype * len(arr)).from_buffer(arr)


def test_c_metro_kernel_bit_identical_to_python_fallback(metro_kernel):
    import array
    import sys

    sys.path.insert(0, os.path.join(ROOT, "tests", "unit"))
    from test_native_metro import configure, new_arrays, sine_block

    from native import metro

    rng = random.Random(7)
    phases = 3
    c_side, py_side = new_arrays(phases), new_arrays(phases)
    for arrays in (c_side, py_side):
        configure(arrays[0], phases, 1, 5000, 40, 12000, holdoff=30)
    start = 0
    for _ in range(60):
        frames = rng.randrange(0, metro.MAX_FRAMES + 1)
        block = sine_block(frames, phases, start, amp_v=rng.randrange(0, 2040),
                           amp_i=rng.randrange(0, 2040), per_period=rng.choice((145, 160, 178)),
                           noise_seed=rng.randrange(1, 1000))
        start += frames
        for arrays in (c_side, py_side):
            arrays[0][metro.CHECK_SAT] = frames % 3 == 0
        state, hist, acc = c_side
        metro_kernel(_as_c(block, ctypes.c_int16) if frames else None, frames, 2 * phases,
                     phases, _as_c(state, ctypes.c_int32), _as_c(hist, ctypes.c_int16),
                     _as_c(acc, ctypes.c_int64))
        metro.process_python(block if frames else array.array("h"), frames, 2 * phases,
                             phases, *py_side)
        for c_arr, py_arr in zip(c_side, py_side):
            assert list(c_arr) == list(py_arr)
    assert py_side[2][metro.ZC_COUNT] > 10


# --- AES-128 ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aes_kernel(tmp_path_factory):
    out = tmp_path_factory.mktemp("kernels") / "libaes.so"
    subprocess.run(["cc", "-O2", "-Wall", "-Werror", "-std=c99", "-shared", "-fPIC", "-o",
                    str(out), os.path.join(ROOT, "firmware", "native", "_aes", "aes128.c")],
                   check=True)
    return ctypes.CDLL(str(out))


def test_c_aes_matches_cryptography_and_fallback(aes_kernel):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    from native import aes

    rng = random.Random(197)
    for _ in range(200):
        key = bytes(rng.randrange(256) for _ in range(16))
        block = bytes(rng.randrange(256) for _ in range(16))
        ks = ctypes.create_string_buffer(176)
        out = ctypes.create_string_buffer(16)
        aes_kernel.aes128_key_schedule(key, ks)
        aes_kernel.aes128_encrypt_block(ks, block, out)
        enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
        assert out.raw == enc.update(block) + enc.finalize()
        ks_py = bytearray(176)
        aes.aes128_key_schedule_python(key, ks_py)
        assert bytes(ks_py) == ks.raw
