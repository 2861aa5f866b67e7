# Metrology sample kernel (firmware/native/metro.py): the natmod where it loads (tier 2: x64,
# tier 3 runs the armv7m one) against the Python fallback, and the kernel's own arithmetic
# against independent calculations on small hand-checkable inputs.
import array
import math

from native import metro
from support import IS_MICROPYTHON, NoAllocation, lcg_bytes, raises

Q14 = 1 << 14


def new_arrays(phases):
    state = array.array("i", [0] * (phases * metro.STATE_STRIDE))
    for p in range(phases):
        b = p * metro.STATE_STRIDE
        state[b + metro.TC] = 1  # vc paired with i[n-1] is v[n-1]: no shift
        state[b + metro.TQ] = 1
        state[b + metro.RAIL_LO] = 0
        state[b + metro.RAIL_HI] = 4095
        state[b + metro.CYC_START] = -1
    hist = array.array("h", [0] * (phases * metro.HIST_LEN))
    acc = array.array("q", [0] * (phases * metro.ACC_STRIDE))
    return state, hist, acc


def sine_block(frames, phases, start, amp_v=1500, amp_i=900, per_period=160, noise_seed=1,
               offset=2048):
    """Interleaved raw ADC codes of sinusoids (current lagging 30 degrees) plus small noise."""
    channels = 2 * phases
    noise = lcg_bytes(frames * channels, noise_seed)
    out = array.array("h", [0] * (frames * channels))
    for n in range(frames):
        t = 2 * math.pi * (start + n) / per_period
        for p in range(phases):
            shift = 2 * math.pi * p / 3
            k = n * channels + 2 * p
            out[k] = offset + int(round(amp_v * math.sin(t - shift))) + noise[k] % 3 - 1
            out[k + 1] = offset + int(round(amp_i * math.sin(t - shift - math.pi / 6))) \
                + noise[k + 1] % 3 - 1
    return out


def configure(state, phases, tc, kc, tq, kq, holdoff=40):
    for p in range(phases):
        b = p * metro.STATE_STRIDE
        state[b + metro.V_OFFSET] = 2048
        state[b + metro.I_OFFSET] = 2047
        state[b + metro.I_PREV] = 2047
        state[b + metro.TC] = tc
        state[b + metro.KC] = kc
        state[b + metro.TQ] = tq
        state[b + metro.KQ] = kq
        state[b + metro.ZC_HOLDOFF] = holdoff


def test_sums_of_a_tiny_block_by_hand():
    # One phase, three frames. The current pass pairs i[n-1] with h[n - TC] (TC = 1: the
    # voltage of the same frame) and h[n - TQ] (TQ = 2: one frame earlier).
    state, hist, acc = new_arrays(1)
    state[metro.V_OFFSET] = 100
    state[metro.I_OFFSET] = 50
    state[metro.I_PREV] = 50  # the frame before the first carried zero current
    state[metro.TQ] = 2
    samples = array.array("h", [103, 48, 98, 55, 101, 50])  # v = 3, -2, 1 ; i = -2, 5, 0
    metro.process_python(samples, 3, 2, 1, state, hist, acc)
    assert acc[metro.N] == 3
    assert acc[metro.SV] == 2 and acc[metro.SVV] == 14
    assert acc[metro.SI] == 3 and acc[metro.SII] == 29  # i[-1..1] = 0, -2, 5
    assert acc[metro.SVI] == 3 * -2 + -2 * 5
    assert acc[metro.SQI] == 0 * -2 + 3 * 5  # v[-1] = 0 (empty history), v[0] = 3
    assert state[metro.I_PREV] == 50 and state[metro.V_PREV] == 1
    assert state[metro.FRAME] == 3
    # the last TQ + 1 voltages are kept just before the next block's
    h = metro.HISTORY
    assert list(hist[h - 3:h]) == [3, -2, 1]


def test_fractional_taps_interpolate():
    # KC = 1/4 (4096 in Q14): vc = v[n-1] + (v[n-2] - v[n-1]) / 4, paired with i[n-1] = 1.
    state, hist, acc = new_arrays(1)
    state[metro.KC] = 4096
    state[metro.I_PREV] = 1
    samples = array.array("h", [400, 1, 800, 1, 1200, 1])
    metro.process_python(samples, 3, 2, 1, state, hist, acc)
    # n=0: vc = 0 + (0-0)/4; n=1: 400 + (0 - 400)/4 = 300; n=2: 800 + (400-800)/4 = 700
    assert acc[metro.SVI] == 0 + 300 + 700


def test_zero_crossing_interpolated():
    # v goes -60 -> +20 between frames 2 and 3: crossing at 2 + 60/80 frames.
    state, hist, acc = new_arrays(1)
    state[metro.RAIL_LO] = -4096  # offset-free test values, not ADC codes
    state[metro.RAIL_HI] = 4096
    samples = array.array("h", [100, 0, -60, 0, -60, 0, 20, 0, 30, 0])
    metro.process_python(samples, 5, 2, 1, state, hist, acc)
    assert acc[metro.ZC_COUNT] == 1
    assert acc[metro.ZC_FIRST] == (2 << 16) + (60 << 16) // 80
    assert state[metro.CYC_START] == 3


def test_zero_crossing_hold_off_ignores_noise():
    state, hist, acc = new_arrays(1)
    state[metro.ZC_HOLDOFF] = 4
    samples = array.array("h", [-5, 0, 5, 0, -1, 0, 2, 0, -3, 0, -3, 0, -3, 0, 4, 0])
    metro.process_python(samples, 8, 2, 1, state, hist, acc)
    # crossings at frames 1, 3 (held off: 2 frames later) and 7 (6 frames later)
    assert acc[metro.ZC_COUNT] == 2
    assert acc[metro.ZC_LAST] == (6 << 16) + (3 << 16) // 7
    # the cycle from frame 1 to frame 7: sum of v*v over frames 2..7
    assert acc[metro.CYC_MIN_N] == 6 and acc[metro.CYC_MIN_SVV] == 1 + 4 + 9 + 9 + 9 + 16


def test_saturation_counted_on_checked_blocks_only():
    state, hist, acc = new_arrays(1)
    samples = array.array("h", [0, 2000, 4095, 4095, 2000, 1])
    metro.process_python(samples, 3, 2, 1, state, hist, acc)
    assert acc[metro.SAT_V] == 0 and acc[metro.SAT_CHECKED] == 0
    state[metro.CHECK_SAT] = 1
    metro.process_python(samples, 3, 2, 1, state, hist, acc)
    assert acc[metro.SAT_V] == 2 and acc[metro.SAT_I] == 1 and acc[metro.SAT_CHECKED] == 3


def test_natmod_and_fallback_identical():
    # Three phases, realistic taps, blocks of varying length over several periods.
    if metro.process_native is None:
        assert not IS_MICROPYTHON or metro.IMPLEMENTATION == "python"
        return  # CPython: tests/host/test_native_kernels.py compares the C kernel itself
    phases = 3
    native = new_arrays(phases)
    python = new_arrays(phases)
    for arrays in (native, python):
        configure(arrays[0], phases, 1, 3000, 41, 9000)
    start = 0
    for frames in (1, 80, 240, 17, 200, 160, 239, 3, 240, 240):
        block = sine_block(frames, phases, start, noise_seed=frames)
        for arrays in (native, python):
            arrays[0][metro.CHECK_SAT] = frames % 2
        metro.process_native(block, frames, 2 * phases, phases, *native)
        metro.process_python(block, frames, 2 * phases, phases, *python)
        start += frames
    assert list(native[0]) == list(python[0])
    assert list(native[1]) == list(python[1])
    assert list(native[2]) == list(python[2])
    assert python[2][metro.ZC_COUNT] >= 8  # the blocks really crossed zero


def test_natmod_process_allocates_nothing():
    # The C kernel is the product: per block it allocates nothing. (The Python fallback
    # cannot promise that on MicroPython: reading a 64-bit array('q') item makes a long int.)
    phases = 3
    state, hist, acc = new_arrays(phases)
    configure(state, phases, 1, 3000, 41, 9000)
    block = sine_block(240, phases, 0)
    metro.process(block, 240, 6, phases, state, hist, acc)  # warm up
    with NoAllocation():
        metro.process(block, 240, 6, phases, state, hist, acc)
    assert acc[metro.N] == 2 * 240
    assert not IS_MICROPYTHON or metro.IMPLEMENTATION == "natmod"


def test_bad_arguments_rejected():
    state, hist, acc = new_arrays(1)
    block = array.array("h", [0] * 10)
    for impl in (metro.process, metro.process_python):
        raises(ValueError, impl, block, 6, 2, 1, state, hist, acc)  # block too short
        raises(ValueError, impl, block, 241, 2, 1, state, hist, acc)  # past MAX_FRAMES
        raises(ValueError, impl, block, 2, 2, 2, state, hist, acc)  # channels < 2 * phases
        if impl is metro.process_native or not IS_MICROPYTHON:
            # wrong sample type (MicroPython arrays hide their typecode from Python code)
            raises(ValueError, impl, array.array("i", [0] * 10), 2, 2, 1, state, hist, acc)
