"""Deterministic benchmarks on the emulated board (make bench).

    python -m tools.bench [--json FILE]

QEMU runs with `-icount shift=0`: every guest instruction advances virtual time by exactly
1 ns, and the board's TIMER0 (time.ticks_cpu(), 25 MHz) ticks every 40 ns, i.e. every 40
instructions. A cost measured as a ticks_cpu() delta is therefore an instruction count
(to within 40), identical from run to run whatever the host is doing.

Per-unit costs are marginal: each kernel runs on two input sizes and the difference is
divided by the difference in size, which removes call and measurement overhead (reported
separately as the fixed cost per call).
"""

import argparse
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tools.emu import EmulatedBoard, EmulatorError  # noqa: E402

MPREMOTE = os.path.join(ROOT, ".venv", "bin", "mpremote")
INSTR_PER_TICK = 40  # 25 MHz TIMER0 under -icount shift=0 (1 instruction = 1 ns)

# Mount a RAM filesystem and put the board's natmods on the path (as tier 3 does).
SETUP = """
import sys, vfs, hal.sim
bd = hal.sim.RamBlockDevice(block_size=512, block_count=128)
vfs.VfsLfs2.mkfs(bd)
vfs.mount(vfs.VfsLfs2(bd), '/ram')
sys.path.append('/ram')
"""

# Device-side measuring helper: prints "RESULT <name> <ticks_small> <ticks_large>".
MEASURE = """
import time, gc
def measure(name, func, small, large, repeat=3):
    best = []
    for arg in (small, large):
        ticks = None
        for _ in range(repeat):
            gc.collect()
            t0 = time.ticks_cpu()
            func(arg)
            t = time.ticks_diff(time.ticks_cpu(), t0)
            ticks = t if ticks is None else min(ticks, t)
        best.append(ticks)
    print('RESULT', name, best[0], best[1])
"""

CRC16 = """
import _crc16
from native.crc16 import crc16_python
small = bytes((i * 7 + 3) & 255 for i in range(64))
large = bytes((i * 7 + 3) & 255 for i in range(1088))
assert _crc16.crc16(large) == crc16_python(large)
measure('crc16.natmod', _crc16.crc16, small, large)
measure('crc16.python', crc16_python, small, large)
"""

# Each benchmark: (title, unit, size of small input, size of large input, device code).
BENCHMARKS = [
    ("CRC-16/ARC (P1 checksum)", "byte", 64, 1088, CRC16, "crc16"),
]


def run_on_board(board, natmods, code):
    args = [MPREMOTE, "connect", board.pty, "exec", SETUP]
    for path in natmods:
        args += ["fs", "cp", path, ":/ram/" + os.path.basename(path), "+"]
    args += ["exec", MEASURE + code]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise EmulatorError("benchmark failed on the board:\n%s\n%s" % (proc.stdout, proc.stderr))
    return {m.group(1): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"RESULT (\S+) (\d+) (\d+)", proc.stdout)}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", metavar="FILE", default=os.path.join(ROOT, "build",
                                                                       "bench.json"))
    args = parser.parse_args(argv)
    natmods = [os.path.join(ROOT, "build", "natmod", "armv7m", f)
               for f in sorted(os.listdir(os.path.join(ROOT, "build", "natmod", "armv7m")))]
    rows = []
    print("[bench] emulated board, qemu -icount shift=0: instructions = TIMER0 ticks x %d"
          % INSTR_PER_TICK, flush=True)
    with EmulatedBoard(icount=True) as board:
        for title, unit, small, large, code, key in BENCHMARKS:
            results = run_on_board(board, natmods, code)
            row = {"benchmark": title, "unit": unit}
            for impl in ("natmod", "python"):
                t_small, t_large = results["%s.%s" % (key, impl)]
                per_unit = (t_large - t_small) * INSTR_PER_TICK / (large - small)
                fixed = t_small * INSTR_PER_TICK - per_unit * small
                row[impl] = {"instructions_per_unit": round(per_unit, 1),
                             "fixed_instructions_per_call": round(fixed)}
            row["ratio_python_over_natmod"] = round(
                row["python"]["instructions_per_unit"] / row["natmod"]["instructions_per_unit"], 1)
            rows.append(row)
    print()
    print("%-28s %-6s %14s %14s %8s" % ("benchmark", "unit", "natmod", "python", "ratio"))
    for r in rows:
        print("%-28s %-6s %14.1f %14.1f %7.1fx" % (
            r["benchmark"], r["unit"], r["natmod"]["instructions_per_unit"],
            r["python"]["instructions_per_unit"], r["ratio_python_over_natmod"]))
    print("%-28s %-6s %14d %14d" % ("  fixed cost per call", "instr",
                                    rows[0]["natmod"]["fixed_instructions_per_call"],
                                    rows[0]["python"]["fixed_instructions_per_call"]))
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(rows, f, indent=2)
    print("\n[bench] instructions per unit of work (lower is better); written to %s"
          % os.path.relpath(args.json, ROOT))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except EmulatorError as e:
        print("[bench] error: %s" % e, file=sys.stderr)
        sys.exit(2)
