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

// The arguments both kernels take, checked: the block and history arrays have the samples'
// type (int16 'h' for the 12-bit kernel, int32 'i' for the wide one).
typedef struct {
    void *samples, *hist;
    int32_t *state;
    int64_t *acc;
    int frames, channels, phases;
} metro_args_t;

static metro_args_t checked_args(const mp_obj_t *args, char code, size_t size) {
    metro_args_t a;
    mp_int_t frames = mp_obj_get_int(args[1]);
    mp_int_t channels = mp_obj_get_int(args[2]);
    mp_int_t phases = mp_obj_get_int(args[3]);
    if (frames < 0 || frames > METRO_MAX_FRAMES || phases < 1 || channels < 2 * phases) {
        mp_raise_ValueError(MP_ERROR_TEXT("bad frames, channels or phases"));
    }
    a.samples = buffer_of(args[0], code, (size_t)(frames * channels), size);
    a.state = buffer_of(args[4], 'i', (size_t)(phases * METRO_STATE_STRIDE), 4);
    a.hist = buffer_of(args[5], code, (size_t)(phases * METRO_HIST_LEN), size);
    a.acc = buffer_of(args[6], 'q', (size_t)(phases * METRO_ACC_STRIDE), 8);
    a.frames = (int)frames;
    a.channels = (int)channels;
    a.phases = (int)phases;
    return a;
}

static mp_obj_t process(size_t n_args, const mp_obj_t *args) {
    metro_args_t a = checked_args(args, 'h', 2);
    metro_process(a.samples, a.frames, a.channels, a.phases, a.state, a.hist, a.acc);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(process_obj, 7, 7, process);

static mp_obj_t process_wide(size_t n_args, const mp_obj_t *args) {
    metro_args_t a = checked_args(args, 'i', 4);
    // The taps index the history and the weights scale a 64-bit product (metro_wide.h):
    // out of range, C would read outside the history or lose bits.
    for (int p = 0; p < a.phases; p++) {
        const int32_t *st = a.state + p * METRO_STATE_STRIDE;
        if ((uint32_t)st[METRO_TC] >= METRO_HISTORY || (uint32_t)st[METRO_TQ] >= METRO_HISTORY
            || (uint32_t)st[METRO_KC] > 16384 || (uint32_t)st[METRO_KQ] > 16384) {
            mp_raise_ValueError(MP_ERROR_TEXT("taps out of range"));
        }
    }
    metro_wide_process(a.samples, a.frames, a.channels, a.phases, a.state, a.hist, a.acc);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(process_wide_obj, 7, 7, process_wide);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    mp_store_global(MP_QSTR_process, MP_OBJ_FROM_PTR(&process_obj));
    mp_store_global(MP_QSTR_process_wide, MP_OBJ_FROM_PTR(&process_wide_obj));
    MP_DYNRUNTIME_INIT_EXIT
}
