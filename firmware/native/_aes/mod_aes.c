// Thin natmod binding of the AES-128 kernel: _aes.aes128_key_schedule(key, ks) and
// _aes.aes128_encrypt_block(ks, src, dst), the signatures and checks of the Python fallback
// in firmware/native/aes.py; and CCM* over a frame buffer,
// _aes.ccm_star_encrypt(ks, nonce, buf, a_len, m_len, mic_len, encrypt) -> frame length and
// _aes.ccm_star_decrypt(ks, nonce, buf, a_len, c_len, mic_len, encrypted) -> bool, the
// signatures of han.mac.ccm.CcmStar's encrypt/decrypt. Writes into the caller's buffers;
// allocates nothing.
#include "py/dynruntime.h"
#include "aes128.h"
#include "ccm_star.h"

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

// The lengths are checked here, before a byte of buf changes, so that a bad call leaves the
// frame as it was (ValueError, as han.mac.ccm raises for the Python path).
static uint8_t *ccm_args(const mp_obj_t *args, const uint8_t **ks, const uint8_t **nonce,
    size_t *a_len, size_t *m_len, size_t *mic_len) {
    *ks = buffer_at_least(args[0], AES128_KEY_SCHEDULE_SIZE, MP_BUFFER_READ);
    *nonce = buffer_at_least(args[1], CCM_STAR_NONCE_SIZE, MP_BUFFER_READ);
    mp_buffer_info_t buf;
    mp_get_buffer_raise(args[2], &buf, MP_BUFFER_WRITE);
    mp_int_t a = mp_obj_get_int(args[3]), m = mp_obj_get_int(args[4]);
    mp_int_t mic = mp_obj_get_int(args[5]);
    if (a < 0 || a > CCM_STAR_MAX_A_LEN || m < 0 || m > CCM_STAR_MAX_M_LEN || mic < 0 ||
        !ccm_star_mic_len_valid((size_t)mic) || (size_t)(a + m + mic) > buf.len) {
        mp_raise_ValueError(MP_ERROR_TEXT("bad CCM* lengths"));
    }
    *a_len = (size_t)a;
    *m_len = (size_t)m;
    *mic_len = (size_t)mic;
    return buf.buf;
}

static mp_obj_t ccm_encrypt(size_t n_args, const mp_obj_t *args) {
    const uint8_t *ks, *nonce;
    size_t a_len, m_len, mic_len;
    uint8_t *buf = ccm_args(args, &ks, &nonce, &a_len, &m_len, &mic_len);
    ccm_star_encrypt(ks, nonce, buf, a_len, m_len, mic_len, mp_obj_is_true(args[6]));
    return mp_obj_new_int((mp_int_t)(a_len + m_len + mic_len));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(ccm_encrypt_obj, 7, 7, ccm_encrypt);

static mp_obj_t ccm_decrypt(size_t n_args, const mp_obj_t *args) {
    const uint8_t *ks, *nonce;
    size_t a_len, c_len, mic_len;
    uint8_t *buf = ccm_args(args, &ks, &nonce, &a_len, &c_len, &mic_len);
    return mp_obj_new_bool(ccm_star_decrypt(ks, nonce, buf, a_len, c_len, mic_len,
        mp_obj_is_true(args[6])));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(ccm_decrypt_obj, 7, 7, ccm_decrypt);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    mp_store_global(MP_QSTR_aes128_key_schedule, MP_OBJ_FROM_PTR(&key_schedule_obj));
    mp_store_global(MP_QSTR_aes128_encrypt_block, MP_OBJ_FROM_PTR(&encrypt_block_obj));
    mp_store_global(MP_QSTR_ccm_star_encrypt, MP_OBJ_FROM_PTR(&ccm_encrypt_obj));
    mp_store_global(MP_QSTR_ccm_star_decrypt, MP_OBJ_FROM_PTR(&ccm_decrypt_obj));
    MP_DYNRUNTIME_INIT_EXIT
}
