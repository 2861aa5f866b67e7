// Metrology sample kernel: per block of interleaved integer ADC samples, per phase, the
// integer sums from which RMS, active and reactive power, frequency and cycle-level events
// are computed once per period (see firmware/metrology/). Plain C, no MicroPython headers:
// the natmod binding (mod_metro.c), the host unit tests (ctypes) and the Python fallback
// (firmware/native/metro.py) implement exactly the same integer arithmetic.
//
// Per phase and block, two passes over the samples:
//   voltage pass  v[n] = raw_v[n] - V_OFFSET, appended to the phase's history buffer;
//                 sums of v and v*v; positive-going zero crossings of v, interpolated.
//   current pass  i = raw_i[n-1] - I_OFFSET (the current lags one frame behind, so that the
//                 voltage can be shifted both ways around it); vc = the voltage at the
//                 current's instant corrected for sensor phase error and sequential-sampling
//                 skew, vq = the voltage a quarter period earlier still, both interpolated
//                 linearly between two history samples; sums of i, i*i, vc*i, vq*i.
#ifndef METRO_KERNEL_H
#define METRO_KERNEL_H

#include <stdint.h>

// Per-phase state (int32), METRO_STATE_STRIDE entries per phase.
enum {
    METRO_V_OFFSET = 0,   // subtracted from raw voltage samples (LSB; previous period's mean)
    METRO_I_OFFSET,       // subtracted from raw current samples
    METRO_TC,             // active path: vc = h[n - TC] + ((KC * (h[n - TC - 1] - h[n - TC])) >> 14)
    METRO_KC,             //   where h[m] is v[m] and the pair is with i[n - 1]
    METRO_TQ,             // reactive path: vq likewise with TQ and KQ
    METRO_KQ,
    METRO_ZC_HOLDOFF,     // frames after a crossing in which another one is ignored (noise)
    METRO_RAIL_LO,        // raw codes <= RAIL_LO or >= RAIL_HI count as saturated
    METRO_RAIL_HI,
    METRO_CHECK_SAT,      // 1: count saturated samples in this block (the check costs as much
                          // as the rest; clipping, when it happens, happens every cycle, so
                          // checking some of the blocks finds it)
    METRO_V_PREV,         // carried: last v of the previous block
    METRO_I_PREV,         // carried: last raw current sample of the previous block
    METRO_FRAME,          // carried: frame index within the period (the front resets it)
    METRO_CYC_START,      // carried: frame index of the last crossing (-1: none yet)
    METRO_STATE_STRIDE = 16
};

// Per-phase accumulators (int64), METRO_ACC_STRIDE entries per phase, summed over a period
// (the front zeroes them at each period boundary, except CYC_MARK, which it rebases).
enum {
    METRO_N = 0,          // frames
    METRO_SV,             // sum v
    METRO_SI,             // sum i
    METRO_SVV,            // sum v*v
    METRO_SII,            // sum i*i
    METRO_SVI,            // sum vc*i   (active power)
    METRO_SQI,            // sum vq*i   (reactive power)
    METRO_CYC_MARK,       // carried: METRO_SVV as it was at the last crossing
    METRO_SAT_CHECKED,    // frames checked for saturation
    METRO_ZC_COUNT,       // positive-going zero crossings of v
    METRO_ZC_FIRST,       // position of the first, in 1/65536 frame
    METRO_ZC_LAST,        // position of the last
    METRO_CYC_MIN_SVV,    // the cycle with the lowest mean square: its sum and length
    METRO_CYC_MIN_N,
    METRO_CYC_MAX_SVV,    // the cycle with the highest mean square
    METRO_CYC_MAX_N,
    METRO_SAT_V,          // saturated raw samples
    METRO_SAT_I,
    METRO_ACC_STRIDE = 20
};

// History kept per phase between blocks: taps may reach METRO_HISTORY - 1 frames back
// (TQ + 1 < METRO_HISTORY: at 45 Hz, 8 kHz sampling needs about 46).
#define METRO_HISTORY (128)

// Largest block. With 12-bit samples (|v|, |i| <= 2048 after offset removal; interpolation
// never exceeds its taps) a block's 32-bit partial sums stay below 240 * 2^22 < 2^31.
#define METRO_MAX_FRAMES (240)

// int16 entries of history buffer per phase.
#define METRO_HIST_LEN (METRO_HISTORY + METRO_MAX_FRAMES)

// A "cycle" longer than this many frames (no crossing: voltage lost, or a stuck ADC) is not
// a cycle: the next crossing starts a new one instead of closing it.
#define METRO_MAX_CYCLE (250)

// Process `frames` frames of `channels` interleaved samples (V1, I1, V2, I2, ...) for
// `phases` phases. hist holds phases * METRO_HIST_LEN int16 values.
void metro_process(const int16_t *samples, int frames, int channels, int phases,
    int32_t *state, int16_t *hist, int64_t *acc);

#endif
