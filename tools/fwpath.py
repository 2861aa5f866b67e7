# Make the firmware importable from CPython the way it is laid out on a device:
# firmware/ is the device's root (hal, native, ..., main), the board's config module is
# `board`, and tools/cpython_shims stands in for MicroPython-only modules.
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
SHIMS = os.path.join(ROOT, "tools", "cpython_shims")


def setup(board="sim"):
    for path in (os.path.join(ROOT, "boards", board), FIRMWARE, SHIMS):
        if path not in sys.path:
            sys.path.insert(0, path)
