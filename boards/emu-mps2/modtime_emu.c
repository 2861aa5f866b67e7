// time.time() for the emulated board, included into extmod/modtime.c through
// MICROPY_PY_TIME_INCLUDEFILE. The board has no RTC: the epoch (2000-01-01, the port's
// default) is power-on, and the firmware keeps wall time in hal.clock.
uint32_t emu_uptime_s(void);

static mp_obj_t mp_time_time_get(void) {
    return mp_obj_new_int_from_uint(emu_uptime_s());
}
