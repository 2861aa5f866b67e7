// Tick, delay and time source for the emulated MPS2-AN385 board.
//
// The qemu port ships without a tick source, so time/select/asyncio are off there. This file
// supplies the mp_hal_* functions those modules need, from two peripherals QEMU models:
//  - CMSDK APB TIMER0 at 0x40000000 (ARM DDI 0479C, "APB timer"): a 32-bit down-counter
//    clocked by PCLK = 25 MHz on AN385 (AN385 application note, "clocks"); reloaded from
//    0xFFFFFFFF it wraps every 171.8 s;
//  - the FPGA system control block at 0x40028000 (AN385 "FPGA system control and I/O"):
//    CLK100HZ (+0x14) counts at 100 Hz and tells how many TIMER0 wraps went unseen when
//    nothing read the time for longer than one wrap.
// Only 32-bit division is used: 64-bit division pulls in unwinding tables that the port's
// linker script does not place.
//
// Under `qemu -icount shift=0` one guest instruction advances virtual time by 1 ns, so a
// TIMER0 tick (40 ns) is 40 instructions; tools/bench uses ticks_cpu() deltas this way.
//
// Idle accounting (tools/bench_meter.py, the whole-meter benchmark): emu_idle_wfe() is the
// port's MICROPY_INTERNAL_WFE (see emu_idle.h), where select.poll and so asyncio wait, and
// mp_hal_delay_ms() is time.sleep_ms(); both count the TIMER0 ticks they spend waiting.
// Module emuboard reads the counters without allocating below 2^30 ticks (43 s):
//   emuboard.total_ticks() TIMER0 ticks since the timer started (64-bit, never wraps)
//   emuboard.idle_ticks()  of those, ticks spent waiting in emu_idle_wfe/mp_hal_delay_ms

#include <stdint.h>
#include "py/mphal.h"
#include "py/runtime.h"

#define TIMER0_BASE (0x40000000u)
#define TIMER_CTRL (*(volatile uint32_t *)(TIMER0_BASE + 0x00u))
#define TIMER_VALUE (*(volatile uint32_t *)(TIMER0_BASE + 0x04u))
#define TIMER_RELOAD (*(volatile uint32_t *)(TIMER0_BASE + 0x08u))
#define TIMER_CTRL_ENABLE (1u)

#define FPGAIO_CLK100HZ (*(volatile uint32_t *)(0x40028000u + 0x14u))

#define PCLK_PER_US (25u)
#define PCLK_PER_10MS (250000u)
// Below this many 10 ms periods since the last read, TIMER0 cannot have wrapped unseen
// (one wrap is 17 179 periods of 10 ms).
#define SAFE_GAP_10MS (17000u)

static uint32_t last_count;
static uint32_t last_100hz;
static uint32_t pclk_rem;  // PCLK ticks not yet turned into microseconds
static uint32_t us_rem;    // microseconds not yet turned into milliseconds
static uint64_t us_total;
static uint64_t ms_total;
static uint32_t ms_rem;    // milliseconds not yet turned into seconds
static uint32_t s_total;
static uint8_t started;
static uint64_t idle_pclk;  // PCLK ticks spent waiting (emu_idle_wfe, mp_hal_delay_ms)

// Up-counting view of the down-counter, so that differences are plain subtraction.
static inline uint32_t pclk_now(void) {
    return ~TIMER_VALUE;
}

static void ticks_start(void) {
    TIMER_CTRL = 0;
    TIMER_RELOAD = 0xFFFFFFFFu;
    TIMER_VALUE = 0xFFFFFFFFu;
    TIMER_CTRL = TIMER_CTRL_ENABLE;
    last_count = pclk_now();
    last_100hz = FPGAIO_CLK100HZ;
    started = 1;
}

static void ticks_update(void) {
    if (!started) {
        ticks_start();
    }
    uint32_t now = pclk_now();
    uint32_t now_100hz = FPGAIO_CLK100HZ;
    uint32_t delta = now - last_count;
    uint32_t gap_10ms = now_100hz - last_100hz;
    last_count = now;
    last_100hz = now_100hz;
    uint32_t whole_wraps = 0;
    if (gap_10ms > SAFE_GAP_10MS) {
        // Wraps missed while nobody read the time: the coarse counter says how long it was.
        uint64_t coarse = (uint64_t)gap_10ms * PCLK_PER_10MS;
        whole_wraps = (uint32_t)((coarse - delta + 0x80000000u) >> 32);
    }
    // Each whole wrap is 2^32 PCLK ticks = 171 798 us + 18 ticks (2^32 = 25 * 171798691 + 21).
    uint32_t add_us = delta / PCLK_PER_US;
    pclk_rem += delta % PCLK_PER_US;
    if (pclk_rem >= PCLK_PER_US) {
        pclk_rem -= PCLK_PER_US;
        add_us += 1;
    }
    us_total += add_us + (uint64_t)whole_wraps * 171798691u;
    pclk_rem += whole_wraps * 21u;
    while (pclk_rem >= PCLK_PER_US) {
        pclk_rem -= PCLK_PER_US;
        us_total += 1;
        add_us += 1;
    }
    // Carry microseconds into milliseconds; whole wraps add 171 798 ms + 691 us each.
    uint32_t add_ms = add_us / 1000u;
    us_rem += add_us % 1000u;
    if (us_rem >= 1000u) {
        us_rem -= 1000u;
        add_ms += 1;
    }
    add_ms += whole_wraps * 171798u;  // 32 bits suffice for 290 days between reads
    us_rem += whole_wraps * 691u;
    while (us_rem >= 1000u) {
        us_rem -= 1000u;
        add_ms += 1;
    }
    ms_total += add_ms;
    // And milliseconds into seconds, for time.time().
    s_total += add_ms / 1000u;
    ms_rem += add_ms % 1000u;
    if (ms_rem >= 1000u) {
        ms_rem -= 1000u;
        s_total += 1;
    }
}

// PCLK ticks since the timer started: every delta ticks_update() took is in us_total
// (whole microseconds, 25 ticks each) plus pclk_rem.
static uint64_t pclk_total(void) {
    ticks_update();
    return us_total * PCLK_PER_US + pclk_rem;
}

// Seconds since power-on: time.time() (see modtime_emu.c).
uint32_t emu_uptime_s(void) {
    ticks_update();
    return s_total;
}

mp_uint_t mp_hal_ticks_cpu(void) {
    if (!started) {
        ticks_start();
    }
    return pclk_now();
}

mp_uint_t mp_hal_ticks_us(void) {
    ticks_update();
    return (mp_uint_t)us_total;
}

mp_uint_t mp_hal_ticks_ms(void) {
    ticks_update();
    return (mp_uint_t)ms_total;
}

uint64_t mp_hal_time_ns(void) {
    ticks_update();
    return us_total * 1000u;
}

void mp_hal_delay_us(mp_uint_t us) {
    mp_uint_t start = mp_hal_ticks_us();
    while (mp_hal_ticks_us() - start < us) {
    }
}

void mp_hal_delay_ms(mp_uint_t ms) {
    uint64_t t0 = pclk_total();
    mp_uint_t start = mp_hal_ticks_ms();
    while (mp_hal_ticks_ms() - start < ms) {
        // Let scheduled callbacks and a pending KeyboardInterrupt run while we wait.
        mp_handle_pending(true);
    }
    idle_pclk += pclk_total() - t0;
}

// MICROPY_INTERNAL_WFE (emu_idle.h): py/scheduler.c calls it in select.poll's wait loop,
// once per turn, with the time left (>= 1 ms; (unsigned)-1 without a timeout). A real
// core sleeps here until an interrupt; this one spins until the millisecond tick moves on
// (the next SysTick that would end a WFI), which is never later than the timeout: the poll
// loop still ends at its deadline's millisecond, and sees a ready object within 1 ms.
void emu_idle_wfe(unsigned int timeout_ms) {
    if (timeout_ms == 0) {
        return;
    }
    uint64_t t0 = pclk_total();
    mp_uint_t ms = (mp_uint_t)ms_total;
    while (mp_hal_ticks_ms() == ms) {
    }
    idle_pclk += pclk_total() - t0;
}

static mp_obj_t emuboard_total_ticks(void) {
    return mp_obj_new_int_from_ull(pclk_total());
}
static MP_DEFINE_CONST_FUN_OBJ_0(emuboard_total_ticks_obj, emuboard_total_ticks);

static mp_obj_t emuboard_idle_ticks(void) {
    return mp_obj_new_int_from_ull(idle_pclk);
}
static MP_DEFINE_CONST_FUN_OBJ_0(emuboard_idle_ticks_obj, emuboard_idle_ticks);

// Names that no frozen module uses: an incremental build keeps frozen_content.c, whose own
// qstr pool would then declare the same name twice.
static const mp_rom_map_elem_t emuboard_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_emuboard) },
    { MP_ROM_QSTR(MP_QSTR_total_ticks), MP_ROM_PTR(&emuboard_total_ticks_obj) },
    { MP_ROM_QSTR(MP_QSTR_idle_ticks), MP_ROM_PTR(&emuboard_idle_ticks_obj) },
};
static MP_DEFINE_CONST_DICT(emuboard_globals, emuboard_globals_table);

const mp_obj_module_t emuboard_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&emuboard_globals,
};

MP_REGISTER_MODULE(MP_QSTR_emuboard, emuboard_module);
