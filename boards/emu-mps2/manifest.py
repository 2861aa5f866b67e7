# Frozen into the emulated board's image (MicroPython manifest format). The qemu port
# freezes nothing of its own, so asyncio comes from MicroPython's tree here.
include("$(MPY_DIR)/extmod/asyncio")
include("$(BOARD_DIR)/../../firmware/manifest.py", hal_backends=["emu_mps2.py"],
        simulation=True)  # no ADC in QEMU's model: the simulated front end
module("board.py", base_path="$(BOARD_DIR)")
