// emureset: the emulated board's reset cause and its watchdog's early-warning handler.
//
// Cortex-M has no reset-cause register (that is vendor logic, e.g. STM32's RCC_CSR), and
// neither the CMSDK APB watchdog nor the AN385 FPGA keeps one. What QEMU 7.2 does keep
// across a system reset is RAM: a reset re-copies the ELF image's segments and nothing
// else. So the cause lives in one word of RAM outside every segment (_emu_reset_word,
// placed by emu-mps2.ld), written just before each kind of reset:
//   - the watchdog's first expiry raises NMI (QEMU hw/arm/mps2.c wires WDOGINT to NMI);
//     arm() points NMI at emu_wdt_nmi, which writes MAGIC_WDT and then enters the port's
//     own NMI handler (register dump on UART0, then it spins); the second expiry resets
//     the board (QEMU 7.2 hw/watchdog/cmsdk-apb-watchdog.c: watchdog_perform_action()).
//   - system_reset() writes MAGIC_SYSRESET, then requests SYSRESETREQ through AIRCR.
// cause() reads the word once per hardware reset (the `taken` flag is in .bss, which
// Reset_Handler clears at every reset but a MicroPython soft reboot keeps), then leaves
// MAGIC_RUN there. QEMU starts with RAM zeroed: no magic means power-on.
//   emureset.cause() -> RESET_* of hal/watchdog.py; RESET_SOFT once already taken
//   emureset.arm()   install the NMI handler (idempotent)
//   emureset.system_reset()   does not return
#include <stdint.h>
#include "py/runtime.h"

// Numbers of hal/watchdog.py (they are logged: EV_RESET_CAUSE's a).
#define RESET_POWER_ON (1)
#define RESET_HARD (2)
#define RESET_WATCHDOG (3)
#define RESET_SOFT (4)

#define MAGIC_RUN (0x52554e21u)       // "RUN!": cause taken, board running
#define MAGIC_WDT (0x57444f47u)       // "WDOG": the watchdog's NMI ran
#define MAGIC_SYSRESET (0x53595352u)  // "SYSR": system_reset()

#define SCB_VTOR (*(volatile uint32_t *)0xE000ED08u)
#define SCB_AIRCR (*(volatile uint32_t *)0xE000ED0Cu)
#define AIRCR_SYSRESETREQ (0x05FA0004u)  // VECTKEY 0x05FA, SYSRESETREQ bit 2 (ARMv7-M B3.2.6)

extern uint32_t _emu_reset_word;  // emu-mps2.ld
#define RESET_WORD (*(volatile uint32_t *)&_emu_reset_word)

// 16 system vectors + 32 external interrupts (Cortex-M3 as QEMU's mps2 builds it); VTOR
// needs the table aligned to its size rounded up to a power of two (ARMv7-M B3.2.5).
#define VECTORS (48)
static uint32_t vectors[VECTORS] __attribute__((aligned(256)));
static uint8_t taken;

void NMI_Handler(void);  // the qemu port's (mcu/arm/errorhandler.c)

// Naked: the port's handler reads the stacked frame at sp, so no push before it; r0/r1
// are in that frame already.
__attribute__((naked)) void emu_wdt_nmi(void) {
    __asm volatile (
        "ldr r0, =_emu_reset_word\n"
        "ldr r1, =0x57444f47\n"
        "str r1, [r0]\n"
        "b NMI_Handler\n"
        ".ltorg\n"
        );
}

static mp_obj_t emureset_cause(void) {
    if (taken) {
        return MP_OBJ_NEW_SMALL_INT(RESET_SOFT);
    }
    taken = 1;
    uint32_t word = RESET_WORD;
    RESET_WORD = MAGIC_RUN;
    int cause = RESET_POWER_ON;
    if (word == MAGIC_WDT) {
        cause = RESET_WATCHDOG;
    } else if (word == MAGIC_SYSRESET || word == MAGIC_RUN) {
        // MAGIC_RUN: a reset nobody marked (QEMU's monitor, a debugger): still a reset.
        cause = RESET_HARD;
    }
    return MP_OBJ_NEW_SMALL_INT(cause);
}
static MP_DEFINE_CONST_FUN_OBJ_0(emureset_cause_obj, emureset_cause);

static mp_obj_t emureset_arm(void) {
    uint32_t nmi = (uint32_t)&emu_wdt_nmi;
    if (SCB_VTOR != (uint32_t)vectors || vectors[2] != nmi) {
        const uint32_t *current = (const uint32_t *)SCB_VTOR;
        for (int i = 0; i < 16; i++) {
            vectors[i] = current[i];
        }
        vectors[2] = nmi;
        __asm volatile ("dsb" ::: "memory");
        SCB_VTOR = (uint32_t)vectors;
        __asm volatile ("dsb\nisb" ::: "memory");
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(emureset_arm_obj, emureset_arm);

static mp_obj_t emureset_system_reset(void) {
    RESET_WORD = MAGIC_SYSRESET;
    __asm volatile ("dsb" ::: "memory");
    SCB_AIRCR = AIRCR_SYSRESETREQ;
    for (;;) {
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(emureset_system_reset_obj, emureset_system_reset);

static const mp_rom_map_elem_t emureset_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_emureset) },
    { MP_ROM_QSTR(MP_QSTR_cause), MP_ROM_PTR(&emureset_cause_obj) },
    { MP_ROM_QSTR(MP_QSTR_arm), MP_ROM_PTR(&emureset_arm_obj) },
    { MP_ROM_QSTR(MP_QSTR_system_reset), MP_ROM_PTR(&emureset_system_reset_obj) },
};
static MP_DEFINE_CONST_DICT(emureset_globals, emureset_globals_table);

const mp_obj_module_t emureset_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&emureset_globals,
};

MP_REGISTER_MODULE(MP_QSTR_emureset, emureset_module);
