# Frozen into the emulated board's image (MicroPython manifest format). The qemu port
# freezes nothing of its own, so asyncio comes from MicroPython's tree here.
include("$(MPY_DIR)/extmod/asyncio")
# No ADC in QEMU's model: the simulated front end; the front-end chips' drivers (and, as
# simulation, their fakes) so that every firmware module is on some image.
include("$(BOARD_DIR)/../../firmware/manifest.py",
        hal_backends=["emu_mps2.py", "ads131m04.py", "ads131m04_block.py", "atm90e32.py",
                      "ade7953.py"],
        simulation=True)
module("board.py", base_path="$(BOARD_DIR)")
