// The emulated board's idle hook, force-included into every C file of the firmware by
// micropython.mk (-include), so that py/mphal.h finds MICROPY_INTERNAL_WFE defined.
//
// MicroPython's select.poll (and so asyncio, whose scheduler waits in poll.ipoll(dt))
// waits in py/scheduler.c mp_event_wait_ms(), which ends in MICROPY_INTERNAL_WFE: a real
// port sleeps there until the next interrupt (stm32: WFI, woken at least by the 1 ms
// SysTick). The qemu port leaves it empty, so the wait is a bare spin. emu_idle_wfe()
// (emu_ticks.c) spins until the next millisecond tick instead, as the SysTick wake-up would
// end a WFI, and counts the TIMER0 ticks spent there: emuboard.idle_ticks().
#ifndef EMU_IDLE_H
#define EMU_IDLE_H
#ifndef __ASSEMBLER__
void emu_idle_wfe(unsigned int timeout_ms);
#define MICROPY_INTERNAL_WFE(TIMEOUT_MS) emu_idle_wfe(TIMEOUT_MS)
#endif
#endif
