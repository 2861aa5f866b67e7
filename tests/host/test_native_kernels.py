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


@pytest.fixture(scope="module")
def metro_wide_kernel(tmp_path_factory):
    out = tmp_path_factory.mktemp("kernels") / "libmetrowide.so"
    subprocess.run(["cc", "-O2", "-Wall", "-Werror", "-std=c99", "-shared", "-fPIC", "-o",
                    str(out), os.path.join(METRO_DIR, "metro_wide.c")], check=True)
    lib = ctypes.CDLL(str(out))
    lib.metro_wide_process.restype = None
    return lib.metro_wide_process


def _run_wide(kernel, block, frames, phases, c_side):
    state, hist, acc = c_side
    kernel(_as_c(block, ctypes.c_int32) if frames else None, frames, 2 * phases, phases,
           _as_c(state, ctypes.c_int32), _as_c(hist, ctypes.c_int32),
           _as_c(acc, ctypes.c_int64))


@pytest.mark.parametrize("phases,bits", [(3, 24), (1, 24), (3, 16), (1, 16)])
def test_c_metro_wide_kernel_bit_identical_to_python_fallback(metro_wide_kernel, phases,
                                                               bits):
    # Random block lengths, amplitudes from a tenth of full scale to clipping, random taps
    # (changed between blocks, as the front does when it tracks the frequency) and offsets
    # anywhere in the code range, so that |v| reaches 2^24 at 24 bits.
    import array
    import sys

    sys.path.insert(0, os.path.join(ROOT, "tests", "unit"))
    from test_native_metro_wide import configure, new_arrays, random_block

    from native import metro

    rng = random.Random(bits * 10 + phases)
    half = 1 << (bits - 1)
    c_side, py_side = new_arrays(phases), new_arrays(phases)
    for arrays in (c_side, py_side):
        configure(arrays[0], phases, bits, 1, 5000, 40, 12000, 30)
    start = 0
    for j in range(80):
        frames = rng.choice((0, 1, 2, 3, 4, 5, 119, 120, 121, 239, 240,
                             rng.randrange(0, metro.MAX_FRAMES + 1)))
        amps = (rng.randrange(0, 12 * half // 10), rng.randrange(0, 12 * half // 10))
        if j % 4 == 3:
            amps = (12 * half // 10, 11 * half // 10)  # clipped
        block = random_block(frames, phases, start, bits, rng.randrange(1, 1000), amps[0],
                             amps[1], rng.choice((145, 160, 178)))
        start += frames
        taps = (rng.randrange(0, 4), rng.randrange(0, 16385), rng.randrange(30, 128),
                rng.randrange(0, 16385))
        offsets = (rng.randrange(-half, half), rng.randrange(-half, half)) if j % 5 == 4 \
            else (rng.randrange(-9, 10), rng.randrange(-9, 10))
        for arrays in (c_side, py_side):
            for p in range(phases):
                b = p * metro.STATE_STRIDE
                arrays[0][b + metro.CHECK_SAT] = (j + p) % 3 == 0
                arrays[0][b + metro.TC], arrays[0][b + metro.KC] = taps[0], taps[1]
                arrays[0][b + metro.TQ], arrays[0][b + metro.KQ] = taps[2], taps[3]
                arrays[0][b + metro.V_OFFSET], arrays[0][b + metro.I_OFFSET] = offsets
        _run_wide(metro_wide_kernel, block, frames, phases, c_side)
        metro.process_wide_python(block if frames else array.array("i"), frames, 2 * phases,
                                  phases, *py_side)
        for c_arr, py_arr in zip(c_side, py_side):
            assert list(c_arr) == list(py_arr)
    acc = py_side[2]
    assert acc[metro.ZC_COUNT] > 10 and acc[metro.CYC_MIN_N] > 0 and acc[metro.SAT_V] > 0
    if bits == 24:
        assert max(abs(v) for v in py_side[1]) > 1 << 23  # offsets far from the codes


def test_c_metro_wide_kernel_long_cycles_and_extremes(metro_wide_kernel):
    # The waveform whose cycle comparison needs more than 64 bits, then full-scale steps
    # of |v| = 2^24 through zero (crossing fractions of 0 and 65536).
    import sys

    sys.path.insert(0, os.path.join(ROOT, "tests", "unit"))
    from test_native_metro_wide import long_cycles_waveform, new_arrays

    from native import metro

    c_side, py_side = new_arrays(1), new_arrays(1)
    vs = long_cycles_waveform() + [-(1 << 24), 0, -(1 << 24), 1 << 24, -1, 0] * 40
    for start in range(0, len(vs), 240):
        chunk = vs[start:start + 240]
        block = __import__("array").array("i", [0] * (2 * len(chunk)))
        for n, v in enumerate(chunk):
            block[2 * n], block[2 * n + 1] = v, -v
        _run_wide(metro_wide_kernel, block, len(chunk), 1, c_side)
        metro.process_wide_python(block, len(chunk), 2, 1, *py_side)
        for c_arr, py_arr in zip(c_side, py_side):
            assert list(c_arr) == list(py_arr)
    acc = py_side[2]
    # three crossings per six frames (fractions 65536, 32768, 65536); the loudest cycle is
    # -2^24, 2^24 after a crossing: 2 * 2^48 in two frames
    assert acc[metro.ZC_COUNT] == 3 + 120
    assert acc[metro.CYC_MAX_N] == 2 and acc[metro.CYC_MAX_SVV] == 1 << 49


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
