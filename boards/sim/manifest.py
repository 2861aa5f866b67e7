# Host board (CPython tests and the MicroPython unix port, tier 2).
# The unix port only freezes asyncio: the firmware and its tests are imported from the
# source tree (MICROPYPATH), so tier 2 always runs the code as it is in firmware/.
include("$(MPY_DIR)/extmod/asyncio")
