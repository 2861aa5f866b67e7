# The P1 device emulator (python -m tools.p1_emulate; documentation there): a simulated
# meter (meter.py) feeding our firmware's telegram builder, faults (faults.py) and the
# sender with Data Request gating (emulator.py).
from tools import fwpath

fwpath.setup()
