# Wide-sample metrology kernel (native/metro.py process_wide, firmware/native/_metro/
# metro_wide.c): 16- to 24-bit codes in int32 arrays. Its arithmetic against independent
# calculations on small blocks whose sums, products and crossing fractions do not fit in 32
# bits (every implementation available on the runtime), then the natmod (tier 2: x64) against
# the Python fallback on pseudo-random blocks, allocation-free per block.
import array
import math

from native import metro
from support import IS_MICROPYTHON, NoAllocation, lcg_bytes, raises

P23 = 1 << 23


def implementations():
    impls = [metro.process_wide_python]
    if metro.process_wide_native is not None:
        impls.append(metro.process_wide_native)
    return impls


def new_arrays(phases, rail_lo=-P23, rail_hi=P23 - 1):
    state = array.array("i", [0] * (phases * metro.STATE_STRIDE))
    for p in range(phases):
        b = p * metro.STATE_STRIDE
        state[b + metro.TC] = 1  # vc paired with i[n-1] is v[n-1]: no shift
        state[b + metro.TQ] = 1
        state[b + metro.RAIL_LO] = rail_lo
        state[b + metro.RAIL_HI] = rail_hi
        state[b + metro.CYC_START] = -1
    hist = array.array("i", [0] * (phases * metro.HIST_LEN))
    acc = array.array("q", [0] * (phases * metro.ACC_STRIDE))
    return state, hist, acc


def block_of(frames, values):
    """One phase: values is a list of (v, i) raw codes, repeated to fill `frames`."""
    out = array.array("i", [0] * (2 * frames))
    for n in range(frames):
        out[2 * n], out[2 * n + 1] = values[n % len(values)]
    return out


def test_sums_beyond_32_bits_by_hand():
    # Full-scale 24-bit codes: v*v, the block's sum of v and of v*v all pass 2^31. The
    # current pass pairs i[n-1] with h[n - 1] (TC = TQ = 1).
    v0, v1, v2 = P23 - 1, -P23, 5000000
    i0, i1, i2 = -7000000, 8000000, 123
    for impl in implementations():
        state, hist, acc = new_arrays(1)
        state[metro.I_PREV] = 3  # i[-1]
        samples = array.array("i", [v0, i0, v1, i1, v2, i2])
        impl(samples, 3, 2, 1, state, hist, acc)
        assert acc[metro.N] == 3
        assert acc[metro.SV] == 8388607 - 8388608 + 5000000
        assert acc[metro.SVV] == 70368727400449 + 70368744177664 + 25000000000000
        assert acc[metro.SI] == 3 - 7000000 + 8000000
        assert acc[metro.SII] == 9 + 49000000000000 + 64000000000000
        # vc = vq = v[n-1] (v[-1] = 0: empty history), paired with i[n-1]
        assert acc[metro.SVI] == 0 * 3 + 8388607 * -7000000 + -8388608 * 8000000
        assert acc[metro.SQI] == acc[metro.SVI] == -125829113000000
        assert state[metro.I_PREV] == 123 and state[metro.V_PREV] == 5000000
        assert list(hist[metro.HISTORY - 2:metro.HISTORY]) == [-8388608, 5000000]


def test_block_sums_of_v_and_i_pass_32_bits():
    # 240 frames of v = i = 2^24 - 1 (an unsigned 24-bit code with no offset): the sums of v
    # and of i (4 026 531 600) do not fit in 32 bits; a sum of squares is 6.8e16.
    top = (1 << 24) - 1
    for impl in implementations():
        state, hist, acc = new_arrays(1, 0, top)
        state[metro.I_PREV] = top
        samples = block_of(240, [(top, top)])
        impl(samples, 240, 2, 1, state, hist, acc)
        assert acc[metro.SV] == acc[metro.SI] == 4026531600
        assert acc[metro.SVV] == acc[metro.SII] == 240 * 281474943156225  # (2^24 - 1)^2
        # vc = v[n-1]: 0 for the first frame (empty history), then 239 frames of top * top
        assert acc[metro.SVI] == acc[metro.SQI] == 239 * 281474943156225


def test_interpolation_in_64_bits():
    # KC = 16383 (just under one frame back), KQ = 4096 (a quarter), i = 2^23 - 1 throughout.
    # v: 8 000 000, -8 000 000, 8 000 000, 1: the products K * (h[n-1] - h[n]) pass 2^31
    # and are floored (K * d) >> 14.
    i = P23 - 1
    for impl in implementations():
        state, hist, acc = new_arrays(1)
        state[metro.KC] = 16383
        state[metro.KQ] = 4096
        state[metro.I_PREV] = i
        samples = array.array("i", [8000000, i, -8000000, i, 8000000, i, 1, i])
        impl(samples, 4, 2, 1, state, hist, acc)
        # vc paired with i[n-1] is v[n-1] + K * (v[n-2] - v[n-1]) / 2^14, floored:
        #   n = 0: 0 (empty history)
        #   n = 1: 8e6 + floor(16383 * -8e6 / 16384 = -7 999 511.72) = 8e6 - 7 999 512 = 488
        #   n = 2: -8e6 + floor(16383 * 16e6 / 16384 = 15 999 023.44) = 7 999 023
        #   n = 3: 8e6 + floor(-15 999 023.44) = -7 999 024
        assert acc[metro.SVI] == i * (0 + 488 + 7999023 - 7999024)
        # vq with a quarter: 0, 8e6 - 2e6, -8e6 + 4e6, 8e6 - 4e6 (exact)
        assert acc[metro.SQI] == i * (6000000 - 4000000 + 4000000)


def test_crossing_fraction_beyond_32_bits():
    # v: -8 000 000 -> 7 000 000 between frames 1 and 2: 8e6 * 2^16 needs 43 bits; the
    # fraction is floor(8/15 * 65536) = floor(34952.53) = 34952. Then -2^24 -> 0 between
    # frames 3 and 4: the fraction is exactly one frame (65536).
    for impl in implementations():
        state, hist, acc = new_arrays(1)
        state[metro.V_OFFSET] = P23
        state[metro.ZC_HOLDOFF] = 1
        codes = [P23 + 100, P23 - 8000000, P23 + 7000000, -P23, P23, P23 + 5]
        samples = array.array("i", [0] * 12)
        for n, c in enumerate(codes):
            samples[2 * n] = c
        impl(samples, 6, 2, 1, state, hist, acc)
        assert acc[metro.ZC_COUNT] == 2
        assert acc[metro.ZC_FIRST] == (1 << 16) + 34952
        assert acc[metro.ZC_LAST] == (3 << 16) + 65536
        assert state[metro.CYC_START] == 4
        # the cycle from frame 2 to frame 4: v*v of frames 3 and 4 (-2^24 and 0)
        assert acc[metro.CYC_MIN_N] == 2 and acc[metro.CYC_MIN_SVV] == 1 << 48


def long_cycles_waveform():
    # Crossings at frames 230, 719 and 1199 (v < 0 one frame before each), full scale in
    # between: two cycles of 489 and 480 frames, the longest the kernel closes (a cycle is
    # dropped only at a block's end once it is over MAX_CYCLE = 250 frames old). The levels
    # put 3 * 2^64 between the two products compared: wrapped to 64 bits, they compare the
    # wrong way round.
    big, low = 16650000, 16550000
    vs = []
    for n in range(1200):
        if n in (229, 718, 1198):
            vs.append(-1000)
        elif n < 719:
            vs.append(big)
        else:
            vs.append(low if n % 2 else big)
    return vs


def test_cycle_extremes_compared_beyond_64_bits():
    # Cycle A (489 frames) and B (480 frames) have mean squares of about 2.76e14: sum * n
    # reaches 6.5e19 > 2^63, so the comparison needs more than 64 bits. B's mean square is
    # the lower one (half its frames are 16 550 000).
    vs = long_cycles_waveform()
    sum_a = sum(v * v for v in vs[231:720])
    sum_b = sum(v * v for v in vs[720:1200])
    assert sum_a * 480 > 1 << 63 and sum_b * 489 < sum_a * 480
    for impl in implementations():
        state, hist, acc = new_arrays(1)
        for blk in range(5):
            samples = array.array("i", [0] * 480)
            for n in range(240):
                samples[2 * n] = vs[240 * blk + n]
            impl(samples, 240, 2, 1, state, hist, acc)
        assert acc[metro.ZC_COUNT] == 3
        assert acc[metro.CYC_MAX_N] == 489 and acc[metro.CYC_MAX_SVV] == sum_a
        assert acc[metro.CYC_MIN_N] == 480 and acc[metro.CYC_MIN_SVV] == sum_b


def test_saturation_at_24_bit_rails():
    for impl in implementations():
        state, hist, acc = new_arrays(1)
        state[metro.CHECK_SAT] = 1
        samples = array.array("i", [-P23, 0, P23 - 1, P23 - 1, 17, P23 - 2])
        impl(samples, 3, 2, 1, state, hist, acc)
        assert acc[metro.SAT_V] == 2 and acc[metro.SAT_I] == 1 and acc[metro.SAT_CHECKED] == 3


# --- natmod against fallback -------------------------------------------------------------

def random_block(frames, phases, start, bits, seed, amp_v, amp_i, per_period):
    """Interleaved codes of `bits`-bit signed ADCs: sines (current lagging 30 degrees) plus
    noise of +-2^(bits-9), clipped at the rails when the amplitude passes full scale."""
    channels = 2 * phases
    noise = lcg_bytes(frames * channels, seed)
    half = 1 << (bits - 1)
    scale = 1 << (bits - 9)
    out = array.array("i", [0] * (frames * channels))
    for n in range(frames):
        t = 2 * math.pi * (start + n) / per_period
        for p in range(phases):
            shift = 2 * math.pi * p / 3
            k = n * channels + 2 * p
            v = int(amp_v * math.sin(t - shift)) + (noise[k] - 128) * scale // 128
            c = int(amp_i * math.sin(t - shift - math.pi / 6)) + (noise[k + 1] - 128) * scale // 128
            out[k] = min(max(v, -half), half - 1)
            out[k + 1] = min(max(c, -half), half - 1)
    return out


def configure(state, phases, bits, tc, kc, tq, kq, holdoff):
    half = 1 << (bits - 1)
    for p in range(phases):
        b = p * metro.STATE_STRIDE
        state[b + metro.V_OFFSET] = 3 - p
        state[b + metro.I_OFFSET] = p - 2
        state[b + metro.I_PREV] = 0
        state[b + metro.TC], state[b + metro.KC] = tc, kc
        state[b + metro.TQ], state[b + metro.KQ] = tq, kq
        state[b + metro.ZC_HOLDOFF] = holdoff
        state[b + metro.RAIL_LO] = -half
        state[b + metro.RAIL_HI] = half - 1


def compare_runs(phases, bits, blocks, taps):
    native = new_arrays(phases)
    python = new_arrays(phases)
    for arrays in (native, python):
        configure(arrays[0], phases, bits, *taps)
    full = 1 << (bits - 1)
    start = 0
    for j, frames in enumerate(blocks):
        # amplitudes from a tenth of full scale to 1.2 times it (clipped: saturation)
        amp_v = full * (1 + (j * 7) % 12) // 10
        amp_i = full * (1 + (j * 5) % 12) // 10
        block = random_block(frames, phases, start, bits, 11 + j, amp_v, amp_i, 145 + 16 * (j % 3))
        for arrays in (native, python):
            for p in range(phases):
                arrays[0][p * metro.STATE_STRIDE + metro.CHECK_SAT] = (j + p) % 2
        st, hist, acc = native
        with NoAllocation():  # (no *args in there: that call would build a tuple)
            metro.process_wide_native(block, frames, 2 * phases, phases, st, hist, acc)
        metro.process_wide_python(block, frames, 2 * phases, phases, *python)
        start += frames
        assert list(native[0]) == list(python[0])
        assert list(native[1]) == list(python[1])
        assert list(native[2]) == list(python[2])
    return python


def test_natmod_and_fallback_identical_24_bit_3_phases():
    if metro.process_wide_native is None:
        assert not IS_MICROPYTHON
        return  # CPython: tests/host/test_native_kernels.py compares the C kernel itself
    assert metro.IMPLEMENTATION_WIDE == "natmod"
    acc = compare_runs(3, 24, (1, 80, 240, 0, 17, 200, 160, 239, 3, 240, 240, 120, 121),
                       (2, 5000, 41, 12000, 30))[2]
    assert acc[metro.ZC_COUNT] >= 8 and acc[metro.SAT_V] > 0 and acc[metro.SAT_I] > 0
    assert acc[metro.CYC_MIN_N] > 0 and acc[metro.SVV] > 1 << 48


def test_natmod_and_fallback_identical_16_bit_1_phase():
    if metro.process_wide_native is None:
        return
    acc = compare_runs(1, 16, (240, 7, 233, 240, 240, 119, 1, 240, 240, 240),
                       (0, 16384, 127, 1, 20))[2]
    assert acc[metro.ZC_COUNT] >= 8 and acc[metro.SAT_V] > 0


def test_natmod_allocates_nothing_per_block():
    phases = 3
    state, hist, acc = new_arrays(phases)
    configure(state, phases, 24, 1, 3000, 41, 9000, 40)
    block = random_block(240, phases, 0, 24, 5, 7000000, 3000000, 160)
    for _ in range(4):
        with NoAllocation():
            metro.process_wide(block, 240, 6, phases, state, hist, acc)
    assert acc[metro.N] == 4 * 240
    assert not IS_MICROPYTHON or metro.IMPLEMENTATION_WIDE == "natmod"


def test_bad_arguments_rejected():
    for impl in implementations():
        state, hist, acc = new_arrays(1)
        block = array.array("i", [0] * 10)
        raises(ValueError, impl, block, 6, 2, 1, state, hist, acc)  # block too short
        raises(ValueError, impl, block, 241, 2, 1, state, hist, acc)  # past MAX_FRAMES
        raises(ValueError, impl, block, 2, 2, 2, state, hist, acc)  # channels < 2 * phases
        raises(ValueError, impl, block, 2, 2, 1, state, hist[:100], acc)  # history short
        for index, value in ((metro.TC, -1), (metro.TQ, metro.HISTORY), (metro.KC, 16385),
                             (metro.KQ, -1)):
            bad = array.array("i", state)
            bad[index] = value
            raises(ValueError, impl, block, 2, 2, 1, bad, hist, acc)
        if impl is metro.process_wide_native or not IS_MICROPYTHON:
            # wrong types (MicroPython arrays hide their typecode from Python code)
            raises(ValueError, impl, array.array("h", [0] * 10), 2, 2, 1, state, hist, acc)
            raises(ValueError, impl, block, 2, 2, 1, state, array.array("h", hist), acc)
            raises(ValueError, impl, block, 2, 2, 1, state, hist, array.array("i", acc))
        impl(block, 2, 2, 1, state, hist, acc)  # and the good arguments pass
        assert acc[metro.N] == 2
