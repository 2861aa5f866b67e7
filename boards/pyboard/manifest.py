# The meter firmware for the pyboard (what `make deploy BOARD=pyboard` copies, compiled for
# armv7emsp). To freeze it into a custom image instead, build MicroPython's stm32 port with
# a manifest that includes "$(PORT_DIR)/boards/manifest.py" and then this file.
include("$(BOARD_DIR)/../../firmware/manifest.py", hal_backends=["stm32.py"])
module("board.py", base_path="$(BOARD_DIR)")
