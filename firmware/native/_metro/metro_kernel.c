// Metrology sample kernel: see metro_kernel.h for the method and the data layout.
//
// Phase compensation (sensor phase error plus sequential-sampling skew) and the quarter-
// period shift for reactive power are both fractional delays of the voltage, done by linear
// interpolation between two history samples (the amplitude loss at 50 Hz and 8 kHz is below
// 0.02 %, taken up by the gain calibration). Zero crossings use a hold-off instead of an
// amplitude hysteresis: noise near zero can only add crossings within a few frames of a real
// one, which the hold-off ignores. Within a block the sums are 32-bit (METRO_MAX_FRAMES keeps
// them from overflowing); they are added to the 64-bit period accumulators once per block.
// Rare work (a crossing, the saturation check, moving the history) is kept off the
// per-sample path, which is what `make bench` measures.
#include "metro_kernel.h"

// A positive-going crossing between frames `frame - 1` and `frame`, where v went from
// v_prev (< 0) to v (>= 0). svv_now: the period's sum of v*v up to and including frame.
static void crossing(int32_t *st, int64_t *acc, int32_t frame, int32_t v_prev, int32_t v,
    int64_t svv_now) {
    int32_t start = st[METRO_CYC_START];
    if (start >= 0 && frame - start < st[METRO_ZC_HOLDOFF]) {
        return;
    }
    uint32_t frac = ((uint32_t)(-v_prev) << 16) / (uint32_t)(v - v_prev);
    int64_t at = ((int64_t)(frame - 1) << 16) + frac;
    if (acc[METRO_ZC_COUNT] == 0) {
        acc[METRO_ZC_FIRST] = at;
    }
    acc[METRO_ZC_LAST] = at;
    acc[METRO_ZC_COUNT] += 1;
    if (start >= 0) {
        // A whole cycle ended: keep the extremes of its mean square, compared by
        // cross-multiplication (sum_a / n_a < sum_b / n_b) to avoid dividing.
        int64_t sum = svv_now - acc[METRO_CYC_MARK];
        int64_t len = frame - start;
        if (acc[METRO_CYC_MIN_N] == 0
            || sum * acc[METRO_CYC_MIN_N] < acc[METRO_CYC_MIN_SVV] * len) {
            acc[METRO_CYC_MIN_SVV] = sum;
            acc[METRO_CYC_MIN_N] = len;
        }
        if (acc[METRO_CYC_MAX_N] == 0
            || sum * acc[METRO_CYC_MAX_N] > acc[METRO_CYC_MAX_SVV] * len) {
            acc[METRO_CYC_MAX_SVV] = sum;
            acc[METRO_CYC_MAX_N] = len;
        }
    }
    st[METRO_CYC_START] = frame;
    acc[METRO_CYC_MARK] = svv_now;
}

static void count_saturation(const int16_t *s, int frames, int channels, const int32_t *st,
    int64_t *acc) {
    const int32_t lo = st[METRO_RAIL_LO], hi = st[METRO_RAIL_HI];
    int32_t sat_v = 0, sat_i = 0;
    for (int n = 0; n < frames; n++, s += channels) {
        sat_v += s[0] <= lo || s[0] >= hi;
        sat_i += s[1] <= lo || s[1] >= hi;
    }
    acc[METRO_SAT_V] += sat_v;
    acc[METRO_SAT_I] += sat_i;
    acc[METRO_SAT_CHECKED] += frames;
}

// The passes below are written as one inlined step per frame and a loop that runs four steps
// at a time, then the remaining ones: the loop overhead and the hand-over of "previous"
// values between frames then mostly disappear into register renaming. `channels` is a
// compile-time constant at each call site, so strides are immediates.
#define ALWAYS_INLINE static inline __attribute__((always_inline))

typedef struct {
    int32_t sv, svv, v_prev;
} volt_sums_t;

ALWAYS_INLINE void volt_step(const int16_t *s, int16_t *h, int32_t n, int32_t voff,
    volt_sums_t *a, int32_t *st, int64_t *acc, int32_t frame0) {
    int32_t v = s[0] - voff;
    h[n] = (int16_t)v;
    a->sv += v;
    a->svv += v * v;
    if ((a->v_prev & ~v) < 0) {  // v_prev < 0 <= v
        crossing(st, acc, frame0 + n, a->v_prev, v, acc[METRO_SVV] + a->svv);
    }
    a->v_prev = v;
}

// Voltage pass: this block's v after the history, sums of v and v*v, crossings.
ALWAYS_INLINE void voltage_pass(const int16_t *s, int frames, int channels, int32_t *st,
    int16_t *h, int64_t *acc) {
    const int32_t voff = st[METRO_V_OFFSET], frame0 = st[METRO_FRAME];
    volt_sums_t a = {0, 0, st[METRO_V_PREV]};
    int32_t n = 0;
    for (; n + 4 <= frames; n += 4, s += 4 * channels) {
        volt_step(s, h, n, voff, &a, st, acc, frame0);
        volt_step(s + channels, h, n + 1, voff, &a, st, acc, frame0);
        volt_step(s + 2 * channels, h, n + 2, voff, &a, st, acc, frame0);
        volt_step(s + 3 * channels, h, n + 3, voff, &a, st, acc, frame0);
    }
    for (; n < frames; n++, s += channels) {
        volt_step(s, h, n, voff, &a, st, acc, frame0);
    }
    acc[METRO_SV] += a.sv;
    acc[METRO_SVV] += a.svv;
    st[METRO_V_PREV] = a.v_prev;
}

typedef struct {
    int32_t si, sii, sxi, i, t_prev;
} cur_sums_t;

ALWAYS_INLINE void cur_step(const int16_t *ip, const int16_t *t, int32_t n, int32_t ioff,
    int32_t k, cur_sums_t *a, int with_i_sums) {
    int32_t t0 = t[n];
    int32_t x = t0 + ((k * (a->t_prev - t0)) >> 14);
    a->t_prev = t0;
    a->sxi += x * a->i;
    if (with_i_sums) {
        a->si += a->i;
        a->sii += a->i * a->i;
    }
    a->i = ip[0] - ioff;
}

// Current passes: pair i[n - 1] with a voltage interpolated from the history,
// x = t[n] + K * (t[n - 1] - t[n]) where t[n] = h[n - T] (h: this block's voltages, with
// the history before them). One pass for the compensated voltage (active power; it also
// sums i and i*i), one for the quadrature voltage (reactive power): each keeps few enough
// values to stay in registers. Returns the block's last raw current sample (the next
// block's i[-1]); the sums go to out[0..2] (i, i*i, x*i).
ALWAYS_INLINE int32_t current_pass(const int16_t *s, int frames, int channels, int32_t ioff,
    int32_t i_prev, const int16_t *t, int32_t k, int32_t *out, int with_i_sums) {
    cur_sums_t a = {0, 0, 0, i_prev - ioff, t[-1]};
    const int16_t *ip = s + 1;
    int32_t n = 0;
    for (; n + 4 <= frames; n += 4, ip += 4 * channels) {
        cur_step(ip, t, n, ioff, k, &a, with_i_sums);
        cur_step(ip + channels, t, n + 1, ioff, k, &a, with_i_sums);
        cur_step(ip + 2 * channels, t, n + 2, ioff, k, &a, with_i_sums);
        cur_step(ip + 3 * channels, t, n + 3, ioff, k, &a, with_i_sums);
    }
    for (; n < frames; n++, ip += channels) {
        cur_step(ip, t, n, ioff, k, &a, with_i_sums);
    }
    out[0] = a.si;
    out[1] = a.sii;
    out[2] = a.sxi;
    return a.i + ioff;
}

static inline __attribute__((always_inline)) void process_phase(const int16_t *s, int frames,
    int channels, int32_t *st, int16_t *hist, int64_t *acc) {
    int16_t *h = hist + METRO_HISTORY;
    if (st[METRO_CHECK_SAT]) {
        count_saturation(s, frames, channels, st, acc);
    }
    voltage_pass(s, frames, channels, st, h, acc);
    const int32_t ioff = st[METRO_I_OFFSET], i_prev = st[METRO_I_PREV];
    int32_t q[3], c[3];
    current_pass(s, frames, channels, ioff, i_prev, h - st[METRO_TQ], st[METRO_KQ], q, 0);
    st[METRO_I_PREV] = current_pass(s, frames, channels, ioff, i_prev, h - st[METRO_TC],
        st[METRO_KC], c, 1);
    acc[METRO_SI] += c[0];
    acc[METRO_SII] += c[1];
    acc[METRO_SVI] += c[2];
    acc[METRO_SQI] += q[2];
    // Keep the history the taps need for the next block, just before h.
    int32_t keep = (st[METRO_TQ] > st[METRO_TC] ? st[METRO_TQ] : st[METRO_TC]) + 1;
    for (int k = -keep; k < 0; k++) {
        h[k] = h[frames + k];
    }
    int32_t frame = st[METRO_FRAME] + frames;
    if (st[METRO_CYC_START] >= 0 && frame - st[METRO_CYC_START] > METRO_MAX_CYCLE) {
        st[METRO_CYC_START] = -1;
    }
    st[METRO_FRAME] = frame;
    acc[METRO_N] += frames;
}

static void process_stride2(const int16_t *s, int frames, int32_t *st, int16_t *hist,
    int64_t *acc) {
    process_phase(s, frames, 2, st, hist, acc);
}

static void process_stride6(const int16_t *s, int frames, int32_t *st, int16_t *hist,
    int64_t *acc) {
    process_phase(s, frames, 6, st, hist, acc);
}

static void process_any(const int16_t *s, int frames, int channels, int32_t *st,
    int16_t *hist, int64_t *acc) {
    process_phase(s, frames, channels, st, hist, acc);
}

void metro_process(const int16_t *samples, int frames, int channels, int phases,
    int32_t *state, int16_t *hist, int64_t *acc) {
    for (int p = 0; p < phases; p++) {
        const int16_t *s = samples + 2 * p;
        int32_t *st = state + p * METRO_STATE_STRIDE;
        int16_t *h = hist + p * METRO_HIST_LEN;
        int64_t *a = acc + p * METRO_ACC_STRIDE;
        if (channels == 2) {
            process_stride2(s, frames, st, h, a);
        } else if (channels == 6) {
            process_stride6(s, frames, st, h, a);
        } else {
            process_any(s, frames, channels, st, h, a);
        }
    }
}
