EMUBOARD_MOD_DIR := $(USERMOD_DIR)
SRC_USERMOD_C += $(EMUBOARD_MOD_DIR)/emu_ticks.c $(EMUBOARD_MOD_DIR)/emu_flash.c \
                 $(EMUBOARD_MOD_DIR)/emu_reset.c
