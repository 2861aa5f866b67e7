// Thin natmod binding of the CRC-16/ARC kernel: _crc16.crc16(data, crc=0, length=-1).
// Same signature and results as the pure-Python fallback in firmware/native/crc16.py.
// It allocates nothing: the result is a small int.
#include "py/dynruntime.h"
#include "crc16_arc.h"

static mp_obj_t crc16(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(args[0], &buf, MP_BUFFER_READ);
    mp_int_t crc = n_args > 1 ? mp_obj_get_int(args[1]) : 0;
    mp_int_t length = n_args > 2 ? mp_obj_get_int(args[2]) : -1;
    if (length < 0) {
        length = (mp_int_t)buf.len;
    } else if ((size_t)length > buf.len) {
        mp_raise_ValueError(MP_ERROR_TEXT("length past end of data"));
    }
    if (crc < 0 || crc > 0xFFFF) {
        mp_raise_ValueError(MP_ERROR_TEXT("crc must be 0..0xFFFF"));
    }
    return mp_obj_new_int(crc16_arc((uint16_t)crc, (const uint8_t *)buf.buf, (size_t)length));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(crc16_obj, 1, 3, crc16);

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    mp_store_global(MP_QSTR_crc16, MP_OBJ_FROM_PTR(&crc16_obj));
    MP_DYNRUNTIME_INIT_EXIT
}
