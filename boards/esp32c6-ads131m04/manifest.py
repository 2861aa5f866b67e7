# The meter firmware for the ESP32-C6 with a TI ADS131M04 front end (what `make deploy
# BOARD=esp32c6-ads131m04` copies, compiled for rv32imc): the ADC's driver is a HAL
# backend of this board; its fake (hal/ads131m04_sim.py) is simulation and stays off. To
# freeze it into a custom image, build MicroPython's esp32 port with a manifest that includes
# "$(PORT_DIR)/boards/manifest.py" and then this file.
include("$(BOARD_DIR)/../../firmware/manifest.py", hal_backends=["esp32.py", "ads131m04.py",
                                                               "ads131m04_block.py"])
module("board.py", base_path="$(BOARD_DIR)")
