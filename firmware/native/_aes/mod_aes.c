// Thin natmod binding of the AES-128 kernel: _aes.aes128_key_schedule(key, ks) and
// _aes.aes128_encrypt_block(ks, src, dst), the signatures and checks of the Python fallback
// in firmware/native/aes.py. Writes into the caller's buffers; allocates nothing.
#include "py/dynruntime.h"
#include "aes128.h"

static void *buffer_at_least(mp_obj_t obj, size_t len, mp_uint_t flags) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(obj, &buf, flags);
    if (buf.len < len) {
        mp_raise_ValueError(MP_ERROR_TEXT("buffer too short"));
    }
    return buf.buf;
}

static mp_obj_t key_schedule(mp_obj_t key_in, mp_obj_t ks_in) {
    mp_buffer_info_t key;
    mp_get_buffer_raise(key_in, &key, MP_BUFFER_READ);
    if (key.len != 16) {
        mp_raise_ValueError(MP_ERROR_TEXT("need a 16-byte key and a 176-byte schedule"));
    }
    aes128_key_schedule(key.buf, buffer_at_least(ks_in, AES128_KEY_SCHEDULE_SIZE,
        MP_BUFFER_WRITE));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(key_schedule_obj, key_schedule);

static mp_obj_t encrypt_block(mp_obj_t ks_in, mp_obj_t src_in, mp_obj_t dst_in) {
    const uint8_t *ks = buffer_at_least(ks_in, AES128_KEY_SCHEDULE_SIZE, MP_BUFFER_READ);
    const uint8_t *src = buffer_at_least(src_in, 16, MP_BUFFER_READ);
    aes128_encrypt_block(ks, src, buffer_at_least(dst_in, 16, MP_BUFFER_WRITE));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(encrypt_block_obj, encrypt_block);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    mp_store_global(MP_QSTR_aes128_key_schedule, MP_OBJ_FROM_PTR(&key_schedule_obj));
    mp_store_global(MP_QSTR_aes128_encrypt_block, MP_OBJ_FROM_PTR(&encrypt_block_obj));
    MP_DYNRUNTIME_INIT_EXIT
}
