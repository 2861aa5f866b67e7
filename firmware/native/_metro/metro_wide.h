// Wide-sample metrology kernel: the method, layouts and results of metro_kernel.h for ADC
// codes of 13 to 24 bits (sigma-delta front ends). Samples and history are int32, the
// per-block sums of products are 64-bit, the interpolation and the crossing fraction are
// computed in 64 bits, and a cycle's mean squares are compared in 96 bits. State and
// accumulator layouts (METRO_STATE_STRIDE, METRO_ACC_STRIDE, METRO_HIST_LEN entries) are
// those of metro_kernel.h; the Python fallback is process_wide_python in
// firmware/native/metro.py, bit-identical within the bounds below.
//
// Bounds. Let M bound |v| = |raw_v - V_OFFSET| and |i| = |raw_i - I_OFFSET|. The kernel
// requires M <= 2^24 (any 24-bit code, signed or unsigned, less any offset within the code
// range) and 0 <= KC, KQ <= 2^14; the metrology front keeps offsets within an eighth of the
// range of mid-scale, so there M <= 2^23 + 2^21 = 1.25 * 2^23.
//   - interpolation: (K * d) >> 14 with d = h[n-1] - h[n], |d| <= 2^25, is taken as the high
//     word of the 64-bit product (K * 2^16) * (d * 4), |.| <= 2^30 * 2^27 = 2^57: that word
//     is floor(K * d * 2^18 / 2^32) = floor(K * d / 2^14), exactly Python's >> 14. The result
//     lies between h[n] and h[n-1], so |vc|, |vq| <= M (int32).
//   - block sums of v and of i: int32 over chunks of at most 120 frames,
//     120 * 2^24 = 2013265920 < 2^31 - 1; each chunk is added into 64 bits.
//   - block sums of v*v, i*i, vc*i, vq*i: each term <= M^2 <= 2^48, METRO_MAX_FRAMES = 240
//     terms < 2^56 (int64, SMLAL on Cortex-M3).
//   - period accumulators (the front's period: rate_hz <= 48000 frames): <= 48000 * M^2,
//     below 2^62.2 at the front's M; at M = 2^24 a period may hold up to 32768 frames.
//   - crossing fraction floor(a * 2^16 / d), a = -v_prev in 1..2^24, d = v - v_prev in
//     a..2^25: a * 2^16 <= 2^40, the result is 0..65536 (the exact 64-bit quotient, by long
//     division in 32-bit steps: natmods do not link libgcc's 64-bit division).
//   - cycle extremes: a cycle opened in an earlier block is dropped only at a block's end
//     once it exceeds METRO_MAX_CYCLE frames, so one closes at most 250 + 240 - 1 = 489
//     frames after it opened. Its sum of v*v is <= 489 * M^2 < 2^57, and the comparison
//     sum_a * n_b < sum_b * n_a reaches 489^2 * M^2: below 2^62.6 for 250-frame cycles at
//     the front's M, but up to 2^64.5 for 489-frame ones (2^66 at M = 2^24). The products
//     are therefore formed exactly in 96 bits (int64 high part, uint32 low part).
// Codes outside these bounds wrap in C (the fallback's integers do not): the caller passes
// ADC codes of at most 24 bits.
#ifndef METRO_WIDE_H
#define METRO_WIDE_H

#include "metro_kernel.h"

// As metro_process, for int32 samples and an int32 history (phases * METRO_HIST_LEN).
void metro_wide_process(const int32_t *samples, int frames, int channels, int phases,
    int32_t *state, int32_t *hist, int64_t *acc);

#endif
