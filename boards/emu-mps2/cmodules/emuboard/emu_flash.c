// emuflash: a file on the host as the emulated board's flash, through ARM semihosting
// (QEMU -semihosting; "Semihosting for AArch32 and AArch64", ARM IHI 0058, operations
// SYS_OPEN 0x01, SYS_CLOSE 0x02, SYS_WRITE 0x05, SYS_READ 0x06, SYS_SEEK 0x0A,
// SYS_FLEN 0x0C). The file outlives QEMU, so the board's storage survives an emulated
// power cycle. hal/emu_mps2.py builds the block device on these four functions:
//   emuflash.open(path) -> handle (OSError if the host refuses)
//   emuflash.size(handle) -> bytes
//   emuflash.read(handle, offset, buf)    bytes past the end of the file read as 0xFF
//   emuflash.write(handle, offset, buf)
// None of them allocates: littlefs calls the block device with the heap locked.
#include <string.h>
#include "py/runtime.h"
#include "py/mperrno.h"

#define SYS_OPEN (0x01)
#define SYS_WRITE (0x05)
#define SYS_READ (0x06)
#define SYS_SEEK (0x0A)
#define SYS_FLEN (0x0C)
#define MODE_READ_WRITE_BINARY (3)   // "r+b"
#define MODE_CREATE_BINARY (7)       // "w+b"

static int semihost(int op, const void *args) {
    register int r0 __asm__ ("r0") = op;
    register const void *r1 __asm__ ("r1") = args;
    __asm__ volatile ("bkpt 0xAB" : "+r" (r0) : "r" (r1) : "memory");
    return r0;
}

static mp_obj_t emuflash_open(mp_obj_t path_in) {
    size_t len;
    const char *path = mp_obj_str_get_data(path_in, &len);
    uint32_t args[3] = {(uint32_t)path, MODE_READ_WRITE_BINARY, len};
    int handle = semihost(SYS_OPEN, args);
    if (handle == -1) {
        args[1] = MODE_CREATE_BINARY;
        handle = semihost(SYS_OPEN, args);
    }
    if (handle == -1) {
        mp_raise_OSError(MP_EIO);
    }
    return MP_OBJ_NEW_SMALL_INT(handle);
}
static MP_DEFINE_CONST_FUN_OBJ_1(emuflash_open_obj, emuflash_open);

static mp_obj_t emuflash_size(mp_obj_t handle) {
    uint32_t args[1] = {(uint32_t)mp_obj_get_int(handle)};
    return mp_obj_new_int(semihost(SYS_FLEN, args));
}
static MP_DEFINE_CONST_FUN_OBJ_1(emuflash_size_obj, emuflash_size);

static void seek(mp_obj_t handle, mp_obj_t offset) {
    uint32_t args[2] = {(uint32_t)mp_obj_get_int(handle), (uint32_t)mp_obj_get_int(offset)};
    if (semihost(SYS_SEEK, args) != 0) {
        mp_raise_OSError(MP_EIO);
    }
}

static mp_obj_t emuflash_read(mp_obj_t handle, mp_obj_t offset, mp_obj_t buf_in) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(buf_in, &buf, MP_BUFFER_WRITE);
    seek(handle, offset);
    uint32_t args[3] = {(uint32_t)mp_obj_get_int(handle), (uint32_t)buf.buf, buf.len};
    int missing = semihost(SYS_READ, args);  // bytes not read: past the end of the file
    if (missing < 0 || (size_t)missing > buf.len) {
        mp_raise_OSError(MP_EIO);
    }
    memset((uint8_t *)buf.buf + (buf.len - missing), 0xFF, missing);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(emuflash_read_obj, emuflash_read);

static mp_obj_t emuflash_write(mp_obj_t handle, mp_obj_t offset, mp_obj_t buf_in) {
    mp_buffer_info_t buf;
    mp_get_buffer_raise(buf_in, &buf, MP_BUFFER_READ);
    seek(handle, offset);
    uint32_t args[3] = {(uint32_t)mp_obj_get_int(handle), (uint32_t)buf.buf, buf.len};
    if (semihost(SYS_WRITE, args) != 0) {  // bytes not written
        mp_raise_OSError(MP_EIO);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(emuflash_write_obj, emuflash_write);

static const mp_rom_map_elem_t emuflash_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_emuflash) },
    { MP_ROM_QSTR(MP_QSTR_open), MP_ROM_PTR(&emuflash_open_obj) },
    { MP_ROM_QSTR(MP_QSTR_size), MP_ROM_PTR(&emuflash_size_obj) },
    { MP_ROM_QSTR(MP_QSTR_read), MP_ROM_PTR(&emuflash_read_obj) },
    { MP_ROM_QSTR(MP_QSTR_write), MP_ROM_PTR(&emuflash_write_obj) },
};
static MP_DEFINE_CONST_DICT(emuflash_globals, emuflash_globals_table);

const mp_obj_module_t emuflash_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&emuflash_globals,
};

MP_REGISTER_MODULE(MP_QSTR_emuflash, emuflash_module);
