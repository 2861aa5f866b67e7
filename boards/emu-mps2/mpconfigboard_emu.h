// Configuration of the emulated MPS2-AN385 board: the qemu port's own settings, then the
// features the meter firmware needs that the port ships disabled (it has no tick source).
// The tick source is provided by cmodules/emuboard/emu_ticks.c.
#include "mpconfigport.h"

#undef MICROPY_PY_TIME
#define MICROPY_PY_TIME (1)
#undef MICROPY_PY_SELECT
#define MICROPY_PY_SELECT (1)
#undef MICROPY_PY_ASYNCIO
#define MICROPY_PY_ASYNCIO (1)

// No RTC on this board: time.time() counts from the epoch at power-on; the firmware's
// wall clock (firmware/hal) keeps its own offset, set by configuration or time sync.
#define MICROPY_PY_TIME_TIME_TIME_NS (1)
