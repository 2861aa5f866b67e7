// Wide-sample metrology kernel: see metro_wide.h for the bounds, metro_kernel.h for the
// method and layout. The structure follows metro_kernel.c; what differs is the width of the
// arithmetic. Products are written as (int64_t)a * b and accumulated into int64 so that gcc
// emits SMULL/SMLAL on Cortex-M3; the sums of v and of i stay int32 within chunks of
// WIDE_CHUNK frames (one add per sample instead of an add with carry), and the current sums
// are split between the two current passes so each keeps its values in registers.
#include "metro_wide.h"

// Frames per int32 partial sum of v or i: WIDE_CHUNK * 2^24 < 2^31 (metro_wide.h).
#define WIDE_CHUNK (120)

// floor(a * 65536 / d) for 0 < a <= 2^24, a <= d <= 2^25: the exact quotient of the 64-bit
// division, by long division in three 32-bit steps of 7, 7 and 2 bits (each remainder is
// < d <= 2^25, so shifting it left by 7 stays below 2^32).
static int32_t crossing_fraction(uint32_t a, uint32_t d) {
    uint32_t r = a << 7;
    uint32_t q = r / d;
    r = (r % d) << 7;
    q = (q << 7) + r / d;
    r = (r % d) << 2;
    return (int32_t)((q << 2) + r / d);
}

// a * m as hi * 2^32 + lo, exact for any int64 a and 0 <= m < 2^31.
typedef struct {
    int64_t hi;
    uint32_t lo;
} wide96_t;

static wide96_t mul96(int64_t a, int32_t m) {
    uint64_t low = (uint64_t)(uint32_t)a * (uint32_t)m;
    wide96_t w;
    w.hi = (int64_t)(int32_t)(a >> 32) * m + (int64_t)(low >> 32);
    w.lo = (uint32_t)low;
    return w;
}

// a * m < b * n, exactly (m, n: cycle lengths, 0..489).
static int less96(int64_t a, int32_t m, int64_t b, int32_t n) {
    wide96_t x = mul96(a, m), y = mul96(b, n);
    return x.hi < y.hi || (x.hi == y.hi && x.lo < y.lo);
}

// A positive-going crossing between frames `frame - 1` and `frame` (metro_kernel.c's
// crossing(), with the wide arithmetic).
static void crossing(int32_t *st, int64_t *acc, int32_t frame, int32_t v_prev, int32_t v,
    int64_t svv_now) {
    int32_t start = st[METRO_CYC_START];
    if (start >= 0 && frame - start < st[METRO_ZC_HOLDOFF]) {
        return;
    }
    int32_t frac = crossing_fraction((uint32_t)-v_prev, (uint32_t)(v - v_prev));
    int64_t at = ((int64_t)(frame - 1) << 16) + frac;
    if (acc[METRO_ZC_COUNT] == 0) {
        acc[METRO_ZC_FIRST] = at;
    }
    acc[METRO_ZC_LAST] = at;
    acc[METRO_ZC_COUNT] += 1;
    if (start >= 0) {
        int64_t sum = svv_now - acc[METRO_CYC_MARK];
        int32_t len = frame - start;
        int32_t mn = (int32_t)acc[METRO_CYC_MIN_N], mx = (int32_t)acc[METRO_CYC_MAX_N];
        if (mn == 0 || less96(sum, mn, acc[METRO_CYC_MIN_SVV], len)) {
            acc[METRO_CYC_MIN_SVV] = sum;
            acc[METRO_CYC_MIN_N] = len;
        }
        if (mx == 0 || less96(acc[METRO_CYC_MAX_SVV], len, sum, mx)) {
            acc[METRO_CYC_MAX_SVV] = sum;
            acc[METRO_CYC_MAX_N] = len;
        }
    }
    st[METRO_CYC_START] = frame;
    acc[METRO_CYC_MARK] = svv_now;
}

static void count_saturation(const int32_t *s, int frames, int channels, const int32_t *st,
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

#define ALWAYS_INLINE static inline __attribute__((always_inline))
// One function per stride, so that each keeps its own registers and immediates.
#define NOINLINE static __attribute__((noinline))

typedef struct {
    int64_t svv;
    int32_t sv, v_prev;
} volt_sums_t;

// hp points at h[n]. The crossing's frame is worked out from hp in the (rare) call only, so
// the loop keeps no frame counter: every value that lives across the call then fits in the
// eight callee-saved registers.
ALWAYS_INLINE void volt_step(const int32_t *s, int32_t *hp, int32_t voff, volt_sums_t *a,
    int32_t *st, int64_t *acc, const int32_t *h) {
    int32_t v = s[0] - voff;
    hp[0] = v;
    a->sv += v;
    a->svv += (int64_t)v * v;
    if ((a->v_prev & ~v) < 0) {  // v_prev < 0 <= v
        crossing(st, acc, st[METRO_FRAME] + (int32_t)(hp - h), a->v_prev, v,
            acc[METRO_SVV] + a->svv);
    }
    a->v_prev = v;
}

// Voltage pass: this block's v after the history, sums of v and v*v, crossings.
ALWAYS_INLINE void voltage_pass(const int32_t *s, int frames, int channels, int32_t *st,
    int32_t *h, int64_t *acc) {
    const int32_t voff = st[METRO_V_OFFSET];
    volt_sums_t a = {0, 0, st[METRO_V_PREV]};
    int64_t sv = 0;
    int32_t *hp = h;
    while (hp < h + frames) {
        int32_t *const end = h + frames - hp > WIDE_CHUNK ? hp + WIDE_CHUNK : h + frames;
        a.sv = 0;
        for (; hp + 4 <= end; hp += 4, s += 4 * channels) {
            volt_step(s, hp, voff, &a, st, acc, h);
            volt_step(s + channels, hp + 1, voff, &a, st, acc, h);
            volt_step(s + 2 * channels, hp + 2, voff, &a, st, acc, h);
            volt_step(s + 3 * channels, hp + 3, voff, &a, st, acc, h);
        }
        for (; hp < end; hp++, s += channels) {
            volt_step(s, hp, voff, &a, st, acc, h);
        }
        sv += a.sv;
    }
    acc[METRO_SV] += sv;
    acc[METRO_SVV] += a.svv;
    st[METRO_V_PREV] = a.v_prev;
}

typedef struct {
    int64_t sxi, sii;
    int32_t si, i, t_prev;
} cur_sums_t;

ALWAYS_INLINE void cur_step(const int32_t *ip, const int32_t *t, int32_t n, int32_t ioff,
    int32_t k16, cur_sums_t *a, int with_si, int with_sii) {
    int32_t t0 = t[n];
    // (K * d) >> 14 as the high word of (K * 2^16) * (d * 4) (exact: metro_wide.h): one
    // SMULL and no 64-bit shift.
    int32_t x = t0 + (int32_t)(((int64_t)k16 * ((a->t_prev - t0) * 4)) >> 32);
    a->t_prev = t0;
    a->sxi += (int64_t)x * a->i;
    if (with_si) {
        a->si += a->i;
    }
    if (with_sii) {
        a->sii += (int64_t)a->i * a->i;
    }
    a->i = ip[0] - ioff;
}

// Current pass: pairs i[n - 1] with x = t[n] + K * (t[n - 1] - t[n]), t[n] = h[n - T], as in
// metro_kernel.c. The quadrature pass also sums i, the active one i*i (each pass then has
// at most 13 values live: Cortex-M3 has 14 registers to give). Sums: out[0] = i (int64,
// from int32 chunks), out[1] = i*i, out[2] = x*i. Returns the block's last raw current.
ALWAYS_INLINE int32_t current_pass(const int32_t *s, int frames, int channels, int32_t ioff,
    int32_t i_prev, const int32_t *t, int32_t k, int64_t *out, int with_si, int with_sii) {
    cur_sums_t a = {0, 0, 0, i_prev - ioff, t[-1]};
    const int32_t k16 = k * 65536;
    const int32_t *ip = s + 1;
    int64_t si = 0;
    int32_t n = 0;
    while (n < frames) {
        const int32_t end = frames - n > WIDE_CHUNK ? n + WIDE_CHUNK : frames;
        a.si = 0;
        for (; n + 4 <= end; n += 4, ip += 4 * channels) {
            cur_step(ip, t, n, ioff, k16, &a, with_si, with_sii);
            cur_step(ip + channels, t, n + 1, ioff, k16, &a, with_si, with_sii);
            cur_step(ip + 2 * channels, t, n + 2, ioff, k16, &a, with_si, with_sii);
            cur_step(ip + 3 * channels, t, n + 3, ioff, k16, &a, with_si, with_sii);
        }
        for (; n < end; n++, ip += channels) {
            cur_step(ip, t, n, ioff, k16, &a, with_si, with_sii);
        }
        si += a.si;
    }
    out[0] = si;
    out[1] = a.sii;
    out[2] = a.sxi;
    return a.i + ioff;
}

ALWAYS_INLINE void process_phase(const int32_t *s, int frames, int channels, int32_t *st,
    int32_t *hist, int64_t *acc) {
    int32_t *h = hist + METRO_HISTORY;
    if (st[METRO_CHECK_SAT]) {
        count_saturation(s, frames, channels, st, acc);
    }
    voltage_pass(s, frames, channels, st, h, acc);
    const int32_t ioff = st[METRO_I_OFFSET], i_prev = st[METRO_I_PREV];
    int64_t q[3], c[3];
    current_pass(s, frames, channels, ioff, i_prev, h - st[METRO_TQ], st[METRO_KQ], q, 1, 0);
    st[METRO_I_PREV] = current_pass(s, frames, channels, ioff, i_prev, h - st[METRO_TC],
        st[METRO_KC], c, 0, 1);
    acc[METRO_SI] += q[0];
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

NOINLINE void process_stride2(const int32_t *s, int frames, int32_t *st, int32_t *hist,
    int64_t *acc) {
    process_phase(s, frames, 2, st, hist, acc);
}

NOINLINE void process_stride6(const int32_t *s, int frames, int32_t *st, int32_t *hist,
    int64_t *acc) {
    process_phase(s, frames, 6, st, hist, acc);
}

NOINLINE void process_any(const int32_t *s, int frames, int channels, int32_t *st,
    int32_t *hist, int64_t *acc) {
    process_phase(s, frames, channels, st, hist, acc);
}

void metro_wide_process(const int32_t *samples, int frames, int channels, int phases,
    int32_t *state, int32_t *hist, int64_t *acc) {
    for (int p = 0; p < phases; p++) {
        const int32_t *s = samples + 2 * p;
        int32_t *st = state + p * METRO_STATE_STRIDE;
        int32_t *h = hist + p * METRO_HIST_LEN;
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
