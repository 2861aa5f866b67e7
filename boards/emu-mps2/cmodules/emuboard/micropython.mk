EMUBOARD_MOD_DIR := $(USERMOD_DIR)
SRC_USERMOD_C += $(EMUBOARD_MOD_DIR)/emu_ticks.c $(EMUBOARD_MOD_DIR)/emu_flash.c \
                 $(EMUBOARD_MOD_DIR)/emu_reset.c
# The port's idle hook (MICROPY_INTERNAL_WFE) with idle-time accounting: see emu_idle.h.
CFLAGS_USERMOD += -include $(EMUBOARD_MOD_DIR)/emu_idle.h
