# The meter firmware for the ESP32-C6 (what `make deploy BOARD=esp32c6` copies, compiled for
# rv32imc). To freeze it into a custom image instead, build MicroPython's esp32 port with a
# manifest that includes "$(PORT_DIR)/boards/manifest.py" and then this file.
include("$(BOARD_DIR)/../../firmware/manifest.py", hal_backends=["esp32.py"])
module("board.py", base_path="$(BOARD_DIR)")
