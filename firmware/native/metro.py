# Metrology sample kernel front: process(samples, frames, channels, phases, state, hist, acc)
# runs the _metro natmod (firmware/native/_metro) when it can be imported, otherwise the
# Python fallback below, which performs exactly the same integer arithmetic (C's int32
# partial sums cannot overflow within MAX_FRAMES, C's >> on negative numbers is arithmetic
# like Python's, and the interpolation divides non-negative numbers), so the two leave
# bit-identical state, history and accumulators. Method and layout:
# firmware/native/_metro/metro_kernel.h.
#
#   samples  array('h'): frames x channels interleaved raw ADC codes (V1, I1, V2, I2, ...)
#   state    array('i'): phases x STATE_STRIDE (offsets, taps, carried values)
#   hist     array('h'): phases x HIST_LEN (voltage history, then this block's voltages)
#   acc      array('q'): phases x ACC_STRIDE period accumulators
#
# process_wide(...) is the same kernel for codes of 13 to 24 bits (sigma-delta front ends):
# samples and hist are array('i'), state and acc as above. Its C side (metro_wide.c) sums
# in 64 bits where 24-bit codes need it; the bounds that keep it exact are in
# firmware/native/_metro/metro_wide.h. The fallback is the same Python passes, whose integers
# never overflow; it also rejects taps the C kernel could not use (TC, TQ outside the
# history, KC, KQ outside 0..2^14), as the natmod does.
#
# The fallback keeps CPython and boards without the natmod working; on 32-bit MicroPython it
# allocates (64-bit accumulator reads become long ints), the natmod never does.
from micropython import const

# Indices into a phase's state (metro_kernel.h, enum METRO_*).
V_OFFSET = const(0)
I_OFFSET = const(1)
TC = const(2)
KC = const(3)
TQ = const(4)
KQ = const(5)
ZC_HOLDOFF = const(6)
RAIL_LO = const(7)
RAIL_HI = const(8)
CHECK_SAT = const(9)
V_PREV = const(10)
I_PREV = const(11)
FRAME = const(12)
CYC_START = const(13)
STATE_STRIDE = const(16)

# Indices into a phase's accumulators.
N = const(0)
SV = const(1)
SI = const(2)
SVV = const(3)
SII = const(4)
SVI = const(5)
SQI = const(6)
CYC_MARK = const(7)
SAT_CHECKED = const(8)
ZC_COUNT = const(9)
ZC_FIRST = const(10)
ZC_LAST = const(11)
CYC_MIN_SVV = const(12)
CYC_MIN_N = const(13)
CYC_MAX_SVV = const(14)
CYC_MAX_N = const(15)
SAT_V = const(16)
SAT_I = const(17)
ACC_STRIDE = const(20)

HISTORY = const(128)
MAX_FRAMES = const(240)
HIST_LEN = const(368)  # HISTORY + MAX_FRAMES
MAX_CYCLE = const(250)


def _check_array(arr, code, n):
    # MicroPython's arrays do not expose their typecode; CPython's do. The natmod checks it
    # on every runtime through the buffer protocol.
    if getattr(arr, "typecode", code) != code or len(arr) < n:
        raise ValueError("array has the wrong type or is too short")


def _check(samples, frames, channels, phases, state, hist, acc, code="h"):
    # Written without building tuples: this runs per block. code: the samples' and the
    # history's type ('h' for the 12-bit kernel, 'i' for the wide one).
    if frames < 0 or frames > MAX_FRAMES or phases < 1 or channels < 2 * phases:
        raise ValueError("bad frames, channels or phases")
    _check_array(samples, code, frames * channels)
    _check_array(state, "i", phases * STATE_STRIDE)
    _check_array(hist, code, phases * HIST_LEN)
    _check_array(acc, "q", phases * ACC_STRIDE)


def _check_taps(state, phases):
    # The wide kernel's taps (mod_metro.c checks the same): TC, TQ index the history, and
    # KC, KQ are interpolation weights 0..1 in Q14 (metro_wide.h's bounds assume them).
    for p in range(phases):
        b = p * STATE_STRIDE
        if not (0 <= state[b + TC] < HISTORY and 0 <= state[b + TQ] < HISTORY
                and 0 <= state[b + KC] <= 16384 and 0 <= state[b + KQ] <= 16384):
            raise ValueError("taps out of range")


def _crossing(st, b, acc, a, frame, v_prev, v, svv_now):
    # A positive-going crossing between frames frame - 1 and frame (metro_kernel.c).
    start = st[b + CYC_START]
    if start >= 0 and frame - start < st[b + ZC_HOLDOFF]:
        return
    at = ((frame - 1) << 16) + ((-v_prev) << 16) // (v - v_prev)
    if acc[a + ZC_COUNT] == 0:
        acc[a + ZC_FIRST] = at
    acc[a + ZC_LAST] = at
    acc[a + ZC_COUNT] += 1
    if start >= 0:
        total = svv_now - acc[a + CYC_MARK]
        n = frame - start
        mn = acc[a + CYC_MIN_N]
        if mn == 0 or total * mn < acc[a + CYC_MIN_SVV] * n:
            acc[a + CYC_MIN_SVV] = total
            acc[a + CYC_MIN_N] = n
        mx = acc[a + CYC_MAX_N]
        if mx == 0 or total * mx > acc[a + CYC_MAX_SVV] * n:
            acc[a + CYC_MAX_SVV] = total
            acc[a + CYC_MAX_N] = n
    st[b + CYC_START] = frame
    acc[a + CYC_MARK] = svv_now


def _count_saturation(s, k, frames, channels, st, b, acc, a):
    lo = st[b + RAIL_LO]
    hi = st[b + RAIL_HI]
    sat_v = sat_i = 0
    for _ in range(frames):
        if s[k] <= lo or s[k] >= hi:
            sat_v += 1
        if s[k + 1] <= lo or s[k + 1] >= hi:
            sat_i += 1
        k += channels
    acc[a + SAT_V] += sat_v
    acc[a + SAT_I] += sat_i
    acc[a + SAT_CHECKED] += frames


def _voltage_pass(s, k, frames, channels, st, b, hist, h, acc, a):
    voff = st[b + V_OFFSET]
    v_prev = st[b + V_PREV]
    frame = st[b + FRAME]
    sv = svv = 0
    for n in range(frames):
        v = s[k] - voff
        k += channels
        hist[h + n] = v
        sv += v
        svv += v * v
        if v_prev < 0 <= v:
            _crossing(st, b, acc, a, frame + n, v_prev, v, acc[a + SVV] + svv)
        v_prev = v
    acc[a + SV] += sv
    acc[a + SVV] += svv
    st[b + V_PREV] = v_prev


def _current_pass(s, k, frames, channels, st, b, hist, h, acc, a):
    ioff = st[b + I_OFFSET]
    kc = st[b + KC]
    kq = st[b + KQ]
    hc = h - st[b + TC]
    hq = h - st[b + TQ]
    si = sii = svi = sqi = 0
    i = st[b + I_PREV] - ioff
    k += 1
    for n in range(frames):
        x = hist[hc + n]
        vc = x + ((kc * (hist[hc + n - 1] - x)) >> 14)
        y = hist[hq + n]
        vq = y + ((kq * (hist[hq + n - 1] - y)) >> 14)
        si += i
        sii += i * i
        svi += vc * i
        sqi += vq * i
        i = s[k] - ioff
        k += channels
    acc[a + SI] += si
    acc[a + SII] += sii
    acc[a + SVI] += svi
    acc[a + SQI] += sqi
    st[b + I_PREV] = i + ioff


def process_python(samples, frames, channels, phases, state, hist, acc):
    _check(samples, frames, channels, phases, state, hist, acc)
    _run(samples, frames, channels, phases, state, hist, acc)


def process_wide_python(samples, frames, channels, phases, state, hist, acc):
    # The same passes as process_python: they compute with Python's unbounded integers, so
    # only the arrays' types differ.
    _check(samples, frames, channels, phases, state, hist, acc, "i")
    _check_taps(state, phases)
    _run(samples, frames, channels, phases, state, hist, acc)


def _run(samples, frames, channels, phases, state, hist, acc):
    for p in range(phases):
        k = 2 * p
        b = p * STATE_STRIDE
        h = p * HIST_LEN + HISTORY
        a = p * ACC_STRIDE
        if state[b + CHECK_SAT]:
            _count_saturation(samples, k, frames, channels, state, b, acc, a)
        _voltage_pass(samples, k, frames, channels, state, b, hist, h, acc, a)
        _current_pass(samples, k, frames, channels, state, b, hist, h, acc, a)
        keep = max(state[b + TQ], state[b + TC]) + 1
        for j in range(-keep, 0):
            hist[h + j] = hist[h + frames + j]
        frame = state[b + FRAME] + frames
        start = state[b + CYC_START]
        if start >= 0 and frame - start > MAX_CYCLE:
            state[b + CYC_START] = -1
        state[b + FRAME] = frame
        acc[a + N] += frames


try:
    from _metro import process as process_native
except ImportError:
    process_native = None

try:
    # (a separate import: a natmod built before the wide kernel has only `process`)
    from _metro import process_wide as process_wide_native
except ImportError:
    process_wide_native = None

process = process_native or process_python
IMPLEMENTATION = "natmod" if process_native else "python"
process_wide = process_wide_native or process_wide_python
IMPLEMENTATION_WIDE = "natmod" if process_wide_native else "python"
