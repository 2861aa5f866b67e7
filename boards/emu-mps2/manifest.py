# Frozen into the emulated board's firmware image (tools: MicroPython manifest format).
include("$(MPY_DIR)/extmod/asyncio")

_FW = "$(BOARD_DIR)/../../firmware"
package("hal", files=["__init__.py", "ticks.py", "clock.py", "sim.py", "radio.py", "emu_mps2.py"],
        base_path=_FW)
package("native", files=["__init__.py", "crc16.py"], base_path=_FW)
package("app", base_path=_FW)
package("metrology", base_path=_FW)
package("registers", base_path=_FW)
package("h1", base_path=_FW)
package("han", base_path=_FW)
module("main.py", base_path=_FW)
module("board.py", base_path="$(BOARD_DIR)")
