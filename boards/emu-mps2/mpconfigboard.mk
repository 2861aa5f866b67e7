# Emulated board: ARM MPS2-AN385 (Cortex-M3) as QEMU models it (-machine mps2-an385).
# Built out of tree: tools/bootstrap.sh calls the MicroPython qemu port's Makefile with
# BOARD_DIR pointing here, so the Debian source tree stays untouched.
QEMU_ARCH = arm
QEMU_MACHINE = mps2-an385

CFLAGS += -mthumb -mcpu=cortex-m3 -mfloat-abi=soft
CFLAGS += -DQEMU_SOC_MPS2
CFLAGS += -DMICROPY_HW_MCU_NAME='"Cortex-M3"'
# Our configuration header wraps the port's mpconfigport.h and turns on time/select/asyncio.
CFLAGS += -DMP_CONFIGFILE='"$(BOARD_DIR)/mpconfigboard_emu.h"'
CFLAGS += -DMICROPY_PY_TIME_INCLUDEFILE='"$(BOARD_DIR)/modtime_emu.c"'

LDSCRIPT = $(BOARD_DIR)/emu-mps2.ld
SRC_BOARD_O = shared/runtime/gchelper_native.o shared/runtime/gchelper_thumb2.o
MPY_CROSS_FLAGS += -march=armv7m

# 1.5 MiB of heap (the board has 4 MiB of RAM): room for tests that deploy the whole firmware
# as .mpy files into a RAM filesystem and import it from there. Real boards run the firmware
# frozen (bytecode in flash); memory figures are measured (gc.mem_alloc), not assumed from
# this board's heap.
MICROPY_HEAP_SIZE = 1572864

# Ticks and delays (CMSDK TIMER0) live in a board C module.
USER_C_MODULES = $(BOARD_DIR)/cmodules
FROZEN_MANIFEST = $(BOARD_DIR)/manifest.py

# littlefs v2 (vfs.VfsLfs2): the firmware's storage, and RAM filesystems for deploy tests.
MICROPY_VFS_LFS2 = 1
