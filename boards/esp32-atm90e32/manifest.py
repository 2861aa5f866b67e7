# The meter firmware for the CircuitSetup 6-channel ESP32 energy meter (what `make deploy
# BOARD=esp32-atm90e32` copies, compiled for xtensawin). To freeze it into a custom image
# instead, build MicroPython's esp32 port with a manifest that includes
# "$(PORT_DIR)/boards/manifest.py" and then this file.
include("$(BOARD_DIR)/../../firmware/manifest.py", hal_backends=["esp32.py", "atm90e32.py"])
module("board.py", base_path="$(BOARD_DIR)")
