// Thin natmod binding of the metrology kernel: _metro.process(samples, frames, channels,
// phases, state, hist, acc). Same signature, checks and results as the Python fallback in
// firmware/native/metro.py. Writes into the caller's arrays; allocates nothing.
#include "py/dynruntime.h"
#include "metro_kernel.h"

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

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    mp_store_global(MP_QSTR_process, MP_OBJ_FROM_PTR(&process_obj));
    MP_DYNRUNTIME_INIT_EXIT
}
