// Thin natmod binding of the metrology kernels: _metro.process(samples, frames, channels,
// phases, state, hist, acc) for 12-bit codes (int16 samples and history) and
// _metro.process_wide(...) for codes of up to 24 bits (int32 samples and history). Same
// signatures, checks and results as the Python fallbacks in firmware/native/metro.py.
// Writes into the caller's arrays; allocates nothing.
#include "py/dynruntime.h"
#include "metro_kernel.h"
#include "metro_wide.h"

static void *buffer_of(mp_obj_t obj, char typecode, size_t min_items, size_t item_size) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(obj, &buf, MP_BUFFER_RW);
    if (buf.typecode != typecode || buf.len < min_items * item_size) {
        mp_raise_ValueError(MP_ERROR_TEXT("array has the wrong type or is too short"));
    }
    return buf.buf;
}

static mp_obj_t process(size_t n_args, const mp_obj_t *args) {
    mp_int_t frames = mp_obj_get_int(args[1]);
    mp_int_t channels = mp_obj_get_int(args[2]);
    mp_int_t phases = mp_obj_get_int(args[3]);
    if (frames < 0 || frames > METRO_MAX_FRAMES || phases < 1 || channels < 2 * phases) {
        mp_raise_ValueError(MP_ERROR_TEXT("bad frames, channels or phases"));
    }
    int16_t *samples = buffer_of(args[0], 'h', (size_t)(frames * channels), 2);
    int32_t *state = buffer_of(args[4], 'i', (size_t)(phases * METRO_STATE_STRIDE), 4);
    int16_t *hist = buffer_of(args[5], 'h', (size_t)(phases * METRO_HIST_LEN), 2);
    int64_t *acc = buffer_of(args[6], 'q', (size_t)(phases * METRO_ACC_STRIDE), 8);
    metro_process(samples, (int)frames, (int)channels, (int)phases, state, hist, acc);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(process_obj, 7, 7, process);

static mp_obj_t process_wide(size_t n_args, const mp_obj_t *args) {
    mp_int_t frames = mp_obj_get_int(args[1]);
    mp_int_t channels = mp_obj_get_int(args[2]);
    mp_int_t phases = mp_obj_get_int(args[3]);
    if (frames < 0 || frames > METRO_MAX_FRAMES || phases < 1 || channels < 2 * phases) {
        mp_raise_ValueError(MP_ERROR_TEXT("bad frames, channels or phases"));
    }
    int32_t *samples = buffer_of(args[0], 'i', (size_t)(frames * channels), 4);
    int32_t *state = buffer_of(args[4], 'i', (size_t)(phases * METRO_STATE_STRIDE), 4);
    int32_t *hist = buffer_of(args[5], 'i', (size_t)(phases * METRO_HIST_LEN), 4);
    int64_t *acc = buffer_of(args[6], 'q', (size_t)(phases * METRO_ACC_STRIDE), 8);
    // The taps index the history and the weights scale a 64-bit product (metro_wide.h):
    // out of range, C would read outside the history or lose bits.
    for (mp_int_t p = 0; p < phases; p++) {
        const int32_t *st = state + p * METRO_STATE_STRIDE;
        if ((uint32_t)st[METRO_TC] >= METRO_HISTORY || (uint32_t)st[METRO_TQ] >= METRO_HISTORY
            || (uint32_t)st[METRO_KC] > 16384 || (uint32_t)st[METRO_KQ] > 16384) {
            mp_raise_ValueError(MP_ERROR_TEXT("taps out of range"));
        }
    }
    metro_wide_process(samples, (int)frames, (int)channels, (int)phases, state, hist, acc);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(process_wide_obj, 7, 7, process_wide);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    mp_store_global(MP_QSTR_process, MP_OBJ_FROM_PTR(&process_obj));
    mp_store_global(MP_QSTR_process_wide, MP_OBJ_FROM_PTR(&process_wide_obj));
    MP_DYNRUNTIME_INIT_EXIT
}
