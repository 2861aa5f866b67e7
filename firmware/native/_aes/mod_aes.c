// Thin natmod binding of the AES-128 kernel: _aes.aes128_key_schedule(key, ks) and
// _aes.aes128_encrypt_block(ks, src, dst), the signatures and checks of the Python fallback
// in firmware/native/aes.py; and CCM* over a frame buffer,
// _aes.ccm_star_encrypt(ks, nonce, buf, a_len, m_len, mic_len, encrypt) -> frame length and
// _aes.ccm_star_decrypt(ks, nonce, buf, a_len, c_len, mic_len, encrypted) -> bool, the
// signatures of han.mac.ccm.CcmStar's encrypt/decrypt. ZigBee NWK/APS security
// (zigbee_sec.c) for han.nwk.security: zigbee_parse_aux(buf, off, n, aux) and
// zigbee_build_aux(aux, out, off), its parse_aux/build_aux on an AuxHeader's attributes, and
// zigbee_ccm(ks, src64, buf, hdr_len, a_len, payload, m_len, mic_len, level, decrypt), the
// frame's CCM* with the ZigBee nonce (encrypt: payload copied in first unless None, returns
// the frame length; decrypt: returns whether the MIC verifies). Writes into the caller's
// buffers; allocates nothing (except an int object for a frame counter >= 2^30, as Python).
#include "py/dynruntime.h"
#include "aes128.h"
#include "ccm_star.h"
#include "zigbee_sec.h"

// inline: called on every AES block; a call here costs about 40 instructions per block.
static inline void *buffer_at_least(mp_obj_t obj, size_t len, mp_uint_t flags) {
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

// ZigBee auxiliary header <-> han.nwk.security.AuxHeader, whose attributes are read and
// written by name (the same as the Python fallback there, in the same order).
static mp_int_t int_arg(mp_obj_t obj) {
    return mp_obj_get_int(obj);
}

static mp_obj_t zb_parse_aux(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(args[0], &buf, MP_BUFFER_READ);
    mp_int_t off = int_arg(args[1]), n = int_arg(args[2]);
    zigbee_aux_t a;
    size_t k = 0;
    if (off >= 0 && off < n && (size_t)n <= buf.len) {
        k = zigbee_aux_parse((const uint8_t *)buf.buf + off, (size_t)(n - off), &a);
    }
    if (!k) {
        mp_raise_ValueError(MP_ERROR_TEXT("auxiliary header truncated"));
    }
    mp_obj_t aux = args[3];
    mp_store_attr(aux, MP_QSTR_level, MP_OBJ_NEW_SMALL_INT(a.level));
    mp_store_attr(aux, MP_QSTR_key_id, MP_OBJ_NEW_SMALL_INT(a.key_id));
    mp_store_attr(aux, MP_QSTR_ext_nonce, mp_obj_new_bool(a.ext_nonce));
    mp_store_attr(aux, MP_QSTR_frame_counter, mp_obj_new_int_from_uint(a.frame_counter));
    if (a.ext_nonce) {
        uint8_t *src64 = buffer_at_least(mp_load_attr(aux, MP_QSTR_src64), 8, MP_BUFFER_WRITE);
        for (int i = 0; i < 8; i++) {
            src64[i] = a.src64[i];
        }
    }
    mp_store_attr(aux, MP_QSTR_key_seq, MP_OBJ_NEW_SMALL_INT(a.key_seq));
    mp_store_attr(aux, MP_QSTR_length, MP_OBJ_NEW_SMALL_INT(k));
    return MP_OBJ_NEW_SMALL_INT(k);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(zb_parse_aux_obj, 4, 4, zb_parse_aux);

static mp_obj_t zb_build_aux(mp_obj_t aux, mp_obj_t out_in, mp_obj_t off_in) {
    zigbee_aux_t a;
    a.level = (uint8_t)mp_obj_get_int_truncated(mp_load_attr(aux, MP_QSTR_level));
    a.key_id = (uint8_t)mp_obj_get_int_truncated(mp_load_attr(aux, MP_QSTR_key_id));
    a.ext_nonce = (uint8_t)mp_obj_is_true(mp_load_attr(aux, MP_QSTR_ext_nonce));
    a.frame_counter = (uint32_t)mp_obj_get_int_truncated(mp_load_attr(aux,
        MP_QSTR_frame_counter));
    if (a.ext_nonce) {
        const uint8_t *src64 = buffer_at_least(mp_load_attr(aux, MP_QSTR_src64), 8,
            MP_BUFFER_READ);
        for (int i = 0; i < 8; i++) {
            a.src64[i] = src64[i];
        }
    }
    a.key_seq = (a.key_id & 3) == 1 ?
        (uint8_t)mp_obj_get_int_truncated(mp_load_attr(aux, MP_QSTR_key_seq)) : 0;
    mp_buffer_info_t out;
    mp_get_buffer_raise(out_in, &out, MP_BUFFER_WRITE);
    mp_int_t off = int_arg(off_in);
    size_t k = 0;
    if (off >= 0 && (size_t)off <= out.len) {
        k = zigbee_aux_build(&a, (uint8_t *)out.buf + off, out.len - (size_t)off);
    }
    if (!k) {
        mp_raise_ValueError(MP_ERROR_TEXT("buffer too small"));
    }
    mp_store_attr(aux, MP_QSTR_length, MP_OBJ_NEW_SMALL_INT(k));
    return MP_OBJ_NEW_SMALL_INT(k);
}
static MP_DEFINE_CONST_FUN_OBJ_3(zb_build_aux_obj, zb_build_aux);

// zigbee_ccm(ks, src64, buf, hdr_len, a_len, payload, m_len, mic_len, level, decrypt). The
// lengths are checked before a byte of buf changes (ValueError, as the Python fallback).
static mp_obj_t zb_ccm(size_t n_args, const mp_obj_t *args) {
    const uint8_t *ks = buffer_at_least(args[0], AES128_KEY_SCHEDULE_SIZE, MP_BUFFER_READ);
    const uint8_t *src64 = buffer_at_least(args[1], 8, MP_BUFFER_READ);
    mp_buffer_info_t buf;
    mp_get_buffer_raise(args[2], &buf, MP_BUFFER_WRITE);
    mp_int_t hdr = int_arg(args[3]), a = int_arg(args[4]), m = int_arg(args[6]);
    mp_int_t mic = int_arg(args[7]);
    if (hdr < 0 || a < hdr + 5 || a > CCM_STAR_MAX_A_LEN || m < 0 || m > CCM_STAR_MAX_M_LEN ||
        mic < 0 || !ccm_star_mic_len_valid((size_t)mic) || (size_t)(a + m + mic) > buf.len) {
        mp_raise_ValueError(MP_ERROR_TEXT("bad CCM* lengths"));
    }
    uint8_t level = (uint8_t)int_arg(args[8]);
    uint8_t *p = buf.buf;
    if (mp_obj_is_true(args[9])) {
        return mp_obj_new_bool(zigbee_decrypt(ks, src64, p, (size_t)hdr, (size_t)a, (size_t)m,
            (size_t)mic, level));
    }
    if (args[5] != mp_const_none) {
        // The payload into place; a view into buf itself may overlap it (memmove order).
        const uint8_t *src = buffer_at_least(args[5], (size_t)m, MP_BUFFER_READ);
        uint8_t *dst = p + a;
        if (dst < src) {
            for (mp_int_t i = 0; i < m; i++) {
                dst[i] = src[i];
            }
        } else if (dst > src) {
            for (mp_int_t i = m; i > 0; i--) {
                dst[i - 1] = src[i - 1];
            }
        }
    }
    zigbee_encrypt(ks, src64, p, (size_t)hdr, (size_t)a, (size_t)m, (size_t)mic, level);
    return mp_obj_new_int(a + m + mic);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(zb_ccm_obj, 10, 10, zb_ccm);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    mp_store_global(MP_QSTR_aes128_key_schedule, MP_OBJ_FROM_PTR(&key_schedule_obj));
    mp_store_global(MP_QSTR_aes128_encrypt_block, MP_OBJ_FROM_PTR(&encrypt_block_obj));
    mp_store_global(MP_QSTR_ccm_star_encrypt, MP_OBJ_FROM_PTR(&ccm_encrypt_obj));
    mp_store_global(MP_QSTR_ccm_star_decrypt, MP_OBJ_FROM_PTR(&ccm_decrypt_obj));
    mp_store_global(MP_QSTR_zigbee_parse_aux, MP_OBJ_FROM_PTR(&zb_parse_aux_obj));
    mp_store_global(MP_QSTR_zigbee_build_aux, MP_OBJ_FROM_PTR(&zb_build_aux_obj));
    mp_store_global(MP_QSTR_zigbee_ccm, MP_OBJ_FROM_PTR(&zb_ccm_obj));
    MP_DYNRUNTIME_INIT_EXIT
}
