# pytest (tier 1, CPython): make the firmware importable as on the device, plus the
# portable test helpers in tests/unit.
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tools import fwpath  # noqa: E402

fwpath.setup()
sys.path.insert(0, os.path.join(ROOT, "tests", "unit"))
