"""Run the test tiers and summarise them (make test).

    python -m tools.test [cpython] [micropython] [emu]      (default: all three)

Tier 1  CPython + pytest: tests/unit (portable modules), tests/host (host-only checks:
        C kernels, tools, interop with peer software)
Tier 2  MicroPython unix port: tests/mpy runs every tests/unit module under build/micropython
Tier 3  emulated board: tests/emu boots build/emu-mps2/firmware.elf in qemu-system-arm
"""
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIERS = {
    "cpython": ("tier 1: CPython", ["tests/unit", "tests/host"]),
    "micropython": ("tier 2: MicroPython unix port", ["tests/mpy"]),
    "emu": ("tier 3: emulated board (QEMU MPS2-AN385)", ["tests/emu"]),
}


def run_tier(key):
    title, paths = TIERS[key]
    print("[test] %s ..." % title, flush=True)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
                          + paths, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    out = proc.stdout
    last = out.strip().splitlines()[-1] if out.strip() else ""
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|error|errors|skipped)",
                                               last)}
    passed = counts.get("passed", 0)
    failed = counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
    skipped = counts.get("skipped", 0)
    if proc.returncode != 0 and failed == 0:
        failed = 1  # pytest itself failed (collection error, no tests, crash)
    if proc.returncode != 0 or failed:
        print(out)
    else:
        # Tests may report figures worth seeing in every run (e.g. the accuracy table).
        for line in out.splitlines():
            if line.startswith("[report]"):
                print(line)
    print("[test] %s: %d passed, %d failed, %d skipped in %.0f s"
          % (title, passed, failed, skipped, time.monotonic() - t0), flush=True)
    return passed, failed, skipped


def main(argv):
    keys = argv or list(TIERS)
    for k in keys:
        if k not in TIERS:
            print("unknown tier %r (choose from %s)" % (k, ", ".join(TIERS)))
            return 2
    total = [0, 0, 0]
    for k in keys:
        for i, n in enumerate(run_tier(k)):
            total[i] += n
    print("tests: %d passed, %d failed" % (total[0], total[1])
          + (", %d skipped" % total[2] if total[2] else ""))
    return 1 if total[1] or not total[0] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
