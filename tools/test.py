"""Run the test tiers and summarise them (make test).

    python -m tools.test [cpython] [micropython] [emu]      (default: all three)

Tier 1  CPython + pytest: tests/unit (portable modules), tests/host (host-only checks:
        C kernels, tools, interop with peer software), in two lanes at once: the checks
        that only compute (CPU_ONLY, tests/unit) beside the others; tier 2 follows in
        whichever lane ends first
Tier 2  MicroPython unix port: tests/mpy runs every tests/unit module under build/micropython
Tier 3  emulated board: tests/emu boots build/emu-mps2/firmware.elf in qemu-system-arm
"""
import os
import re
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIERS = {
    "cpython": ("tier 1: CPython", ["tests/unit", "tests/host"]),
    "micropython": ("tier 2: MicroPython unix port", ["tests/mpy"]),
    "emu": ("tier 3: emulated board (QEMU MPS2-AN385)", ["tests/emu"]),
}


# Tier 1's host checks that only compute (fuzzers, power-cut campaigns, simulated days):
# they run beside the others, on the second core, with tier 2 after them. Everything that
# measures wall-clock time (ptys, emulators, BAIOP runs) stays in the other lane.
CPU_ONLY = ["tests/host/test_han_fuzz.py", "tests/host/test_han_se_fuzz.py",
            "tests/host/test_han_se_day.py",
            "tests/host/test_han_zb_fuzz.py", "tests/host/test_metrology_accuracy.py",
            "tests/host/test_metrology_captures.py", "tests/host/test_metrology_typetest.py",
            "tests/host/test_front_ends_p1.py", "tests/host/test_front_ends_year.py",
            "tests/host/test_powercut.py", "tests/host/test_powercut_forward.py",
            "tests/host/test_powercut_han.py", "tests/host/test_powercut_ota.py"]


# The computing lane and tier 2 run at a lower priority than the wall-clock lane: they only
# compute, while the other lane's checks measure time (telegram periods within 100 ms, BAIOP
# runs of emulators) and fail when the host starves them.
COMPUTING_NICE = 10


def _pytest(paths, nice=0):
    return subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
                            + paths, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            preexec_fn=(lambda: os.nice(nice)) if nice else None)


def _counts(proc, out):
    last = out.strip().splitlines()[-1] if out.strip() else ""
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|error|errors|skipped)",
                                               last)}
    passed = counts.get("passed", 0)
    failed = counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
    if proc.returncode != 0 and failed == 0:
        failed = 1  # pytest itself failed (collection error, no tests, crash)
    return passed, failed, counts.get("skipped", 0)


def _report(title, results, t0):
    """results: [(proc, output)] of one tier's pytest runs."""
    total = [0, 0, 0]
    for proc, out in results:
        c = _counts(proc, out)
        if proc.returncode != 0 or c[1]:
            print(out)
        else:
            # Tests may report figures worth seeing in every run (e.g. the accuracy table).
            for line in out.splitlines():
                if line.startswith("[report]"):
                    print(line)
        total = [a + b for a, b in zip(total, c)]
    print("[test] %s: %d passed, %d failed, %d skipped in %.0f s"
          % ((title,) + tuple(total) + (time.monotonic() - t0,)), flush=True)
    return tuple(total)


def run_tier(key):
    title, paths = TIERS[key]
    print("[test] %s ..." % title, flush=True)
    t0 = time.monotonic()
    proc = _pytest(paths)
    return _report(title, [(proc, proc.communicate()[0])], t0)


class _Collected:
    """A pytest run whose output a thread reads to the end (a full pipe would stall it)."""

    def __init__(self, paths, nice=0):
        self.proc = _pytest(paths, nice)
        self.out = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        self.out = self.proc.communicate()[0]

    def done(self):
        return not self.thread.is_alive()

    def result(self):
        self.thread.join()
        return self.proc, self.out


def run_tiers_1_and_2(with_tier_2):
    """Tier 1 in two lanes at once (the wall-clock checks; the computing ones), each on a
    core of CI's two, and tier 2 in whichever lane is free first."""
    title1, title2 = TIERS["cpython"][0], TIERS["micropython"][0]
    print("[test] %s ..." % title1, flush=True)
    t0 = time.monotonic()
    lane = _Collected(["tests/host"] + ["--ignore=" + p for p in CPU_ONLY])
    cpu = _Collected(["tests/unit"] + CPU_ONLY, COMPUTING_NICE)
    results = []
    if with_tier_2:
        while not (lane.done() or cpu.done()):
            time.sleep(0.2)
        t2 = time.monotonic()
        print("[test] %s (beside tier 1) ..." % title2, flush=True)
        p2 = _pytest(TIERS["micropython"][1], COMPUTING_NICE)
        results = [_report(title2, [(p2, p2.communicate()[0])], t2)]
    return [_report(title1, [lane.result(), cpu.result()], t0)] + results


def main(argv):
    keys = argv or list(TIERS)
    for k in keys:
        if k not in TIERS:
            print("unknown tier %r (choose from %s)" % (k, ", ".join(TIERS)))
            return 2
    total = [0, 0, 0]
    results = []
    if "cpython" in keys:
        results += run_tiers_1_and_2("micropython" in keys)
    for k in keys:
        if k == "emu" or k == "micropython" and "cpython" not in keys:
            results.append(run_tier(k))
    for r in results:
        for i, n in enumerate(r):
            total[i] += n
    print("tests: %d passed, %d failed" % (total[0], total[1])
          + (", %d skipped" % total[2] if total[2] else ""))
    return 1 if total[1] or not total[0] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
