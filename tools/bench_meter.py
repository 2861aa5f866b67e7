"""The whole meter's budget on the emulated board (part of make bench).

    python -m tools.bench_meter [--seconds 60] [--utc EPOCH] [--json FILE] [--verbose]

The meter runs as `make run` starts it (the default provisioning record written into a
fresh flash, natmods served from RAM, P1 profile nl with Data Request high so a telegram
goes out every second, the HAN as PAN coordinator on make run's own simulated medium with
a host HAN device joining it), under `qemu -icount shift=0`: one guest instruction is 1 ns
of virtual time, a TIMER0 tick (25 MHz) is 40 instructions.

Busy and idle. The firmware paces itself by the clock, so under -icount virtual time is
instructions and nothing else: "instructions per emulated second" is 1e9 by construction.
What the meter needs is the part that is not waiting. asyncio waits in select.poll's
ipoll(dt), whose loop calls the port's idle hook MICROPY_INTERNAL_WFE; on this board that
is emu_idle_wfe() (boards/emu-mps2/cmodules/emuboard/), which spins to the next
millisecond tick (where a real core would sleep in WFI until its 1 ms SysTick) and counts
the TIMER0 ticks spent there, as does mp_hal_delay_ms (time.sleep_ms). emuboard.total_ticks()
and emuboard.idle_ticks() read the two counters. busy = total - idle; the poll loop's
own turn once a millisecond (a few hundred instructions, as a real port's SysTick wake-up
costs) counts as busy.

Share of a 168 MHz core: busy instructions per second / 168e6, counting one instruction
per cycle (a lower bound on a Cortex-M4 such as the pyboard's STM32F405; the emulated
core is a Cortex-M3, the same Thumb-2 code).

Heap: app.status collects garbage before each status line (once a second); the bench puts
a stand-in for app.status's `gc` that samples gc.mem_alloc() just before each of those
collections (the second's peak: allocation only accumulates between collections, and the
heap, far from full, never collects on its own) and just after (the live data). The
high-water is the largest sample before a collection; before minus the previous after is
what the meter allocated in that second.

The window: from the meter's first status line (uptime=1s) to its last, `seconds` apart;
start-up (imports, a fresh flash formatted, the registers restored) is reported apart.
"""

import argparse
import glob
import io
import json
import os
import re
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tools.emu import FIRMWARE, PROMPT, EmulatedBoard, EmulatorError  # noqa: E402

INSTR_PER_TICK = 40  # TIMER0 at 25 MHz under -icount shift=0 (1 instruction = 1 ns)
TICKS_PER_S = 25000000
CORE_HZ = 168e6  # STM32F405 (pyboard), one instruction per cycle
# A fixed time sync (not the host's clock), so that every run meters the same instants:
# 2025-06-16 10:05:00 UTC, mid-month and between load-profile boundaries.
DEFAULT_UTC = 1750068300
TITLE = "whole meter, 1 minute emulated"

# Device side, through the raw REPL before main.run: the counters at each status line and
# the heap samples (see the module docstring). Nothing here allocates per sample except
# the 64-bit tick values past 2^30 ticks (a few dozen bytes, collected each second).
DEVICE_SETUP = """
import array, gc, emuboard
import app.status as _st
_N = %d
_bt = array.array('q', [0] * _N)
_bi = array.array('q', [0] * _N)
_bp = array.array('i', [0] * _N)
_bl = array.array('i', [0] * _N)
_k = [0, 0]  # status lines, collections
class _Gc:
    def mem_free(self):
        return gc.mem_free()
    def collect(self):
        c = _k[1] + 1
        _k[1] = c
        if c < _N:
            _bp[c] = gc.mem_alloc()
        gc.collect()
        if c < _N:
            _bl[c] = gc.mem_alloc()
_st.gc = _Gc()
def _sample(k):
    if k == 0:
        gc.collect()  # the bench's own set-up garbage (natmods' base64, raw REPL) goes
        _bl[0] = gc.mem_alloc()
    _bt[k] = emuboard.total_ticks()
    _bi[k] = emuboard.idle_ticks()
def _out(s):
    print(s)
    if s.startswith('status uptime='):
        k = _k[0] + 1
        _k[0] = k
        if k < _N:
            _sample(k)
def _report():
    for name, a in (('ticks', _bt), ('idle', _bi), ('before', _bp),
                    ('after', _bl)):
        print('BENCH', name, ' '.join(str(v) for v in a))
    gc.collect()
    print('BENCH end', gc.mem_alloc(), gc.mem_free())
"""


def figures(ticks, idle):
    """The budget from cumulative TIMER0 counts at the window's two ends (ticks: total,
    idle: spent waiting), each a (start, end) pair."""
    total = ticks[1] - ticks[0]
    waited = idle[1] - idle[0]
    seconds = total / TICKS_PER_S
    busy_per_s = (total - waited) * INSTR_PER_TICK / seconds
    return {"emulated_s": round(seconds, 6),
            "total_instructions": total * INSTR_PER_TICK,
            "idle_instructions": waited * INSTR_PER_TICK,
            "busy_instructions": (total - waited) * INSTR_PER_TICK,
            "busy_instructions_per_s": round(busy_per_s),
            "share_of_168mhz_percent": round(busy_per_s / CORE_HZ * 100, 2)}


def _numbers(text, name):
    m = re.search(r"BENCH %s ([-\d ]+)\r?\n" % name, text)
    if not m:
        raise EmulatorError("no BENCH %s line from the board:\n%s" % (name, text[-3000:]))
    return [int(v) for v in m.group(1).split()]


class _Quiet:
    """A LineEcho stand-in for HostMedium.stop and register_han_device (their lines are not
    wanted)."""

    def text(self, line):
        pass

    def __call__(self, data):
        pass


def run_meter(seconds=60, utc=DEFAULT_UTC, verbose=False, log=print, firmware=None):
    """Run the meter for `seconds` of emulated time after its first status line; returns
    the result row (see bench.json)."""
    from tools.emu_run import (DEFAULT_DEVICE, HOST_DEVICE_CODE, HOST_DEVICE_EXT, HostMedium,
                               provision_record, register_han_device, uart1_session)

    natmods = sorted(glob.glob(os.path.join(ROOT, "build", "natmod", "armv7m", "*.mpy")))
    medium = HostMedium("coordinator")
    flash_dir = tempfile.mkdtemp(prefix="bench-flash-")
    board = EmulatedBoard(firmware or FIRMWARE, icount=True, flash_dir=flash_dir,
                          han_medium=medium.path)
    wall0 = time.monotonic()
    shown = [0]

    def progress(data):
        if verbose:
            sys.stdout.write(data.decode(errors="replace").replace("\r\n", "\n"))
            sys.stdout.flush()
            return
        # The whole log, not this chunk: a status line may arrive in two pieces.
        for m in re.finditer(rb"status uptime=(\d+)s", board.console_log[-4000:]):
            k = int(m.group(1))
            if k % 10 == 0 and k > shown[0]:
                shown[0] = k
                log("[bench] meter: %d s emulated, %.0f s wall" % (k, time.monotonic() - wall0))

    try:
        board.start()
        board.open_console()
        board.set_data_request(1)
        board.wait_console(PROMPT)
        if natmods:
            board.provide_natmods(natmods)
        record = provision_record(DEFAULT_DEVICE)
        board.raw_exec("import board, binascii, app.provision as p\n"
                              "print(p.install(board, binascii.unhexlify(%r), True))\n"
                              % record.encode().hex())
        # Index 0: before main.run; 1..seconds+1: at each status line.
        board.raw_exec(DEVICE_SETUP % (seconds + 2))
        start = len(board.console_log)
        board.write_console("import main; _sample(0); main.run(seconds=%d, profile='nl', "
                            "utc=%d, han='coordinator', out=_out); _report()\r"
                            % (seconds + 1, utc))
        # The host HAN device joins once registered, as under make run: the coordinator
        # carries a device's traffic, not only its idle loop.
        board.wait_console(b"status uptime=1s", timeout=600, echo=progress, start=start)
        register_han_device(board, record, HOST_DEVICE_EXT, HOST_DEVICE_CODE, _Quiet(),
                            timeout=300)
        # A minute of emulated time takes minutes of host time under -icount.
        board.wait_console(b"BENCH end", timeout=3600, echo=progress, start=start)
        board.wait_console(PROMPT, timeout=60, start=start)
        wall = time.monotonic() - wall0
        text = board.console_log[start:].decode(errors="replace")
    finally:
        board.stop()
        medium.stop(_Quiet())
        summary = medium.server.summary()
        shutil.rmtree(flash_dir, ignore_errors=True)
    ticks = _numbers(text, "ticks")
    idle = _numbers(text, "idle")
    before = _numbers(text, "before")
    after = _numbers(text, "after")
    end_alloc, end_free = _numbers(text, "end")
    if idle[-1] == idle[0]:
        raise EmulatorError("emuboard.idle_ticks() did not move: the firmware was built "
                            "without the idle hook (rebuild build/emu-mps2 from clean)")
    row = {"benchmark": TITLE, "unit": "emulated second"}
    row.update(figures((ticks[1], ticks[-1]), (idle[1], idle[-1])))
    per_second = [figures((ticks[k], ticks[k + 1]), (idle[k], idle[k + 1]))
                  ["busy_instructions_per_s"] for k in range(1, len(ticks) - 1)]
    row["busiest_second_instructions"] = max(per_second)
    row["busiest_second_share_of_168mhz_percent"] = round(max(per_second) / CORE_HZ * 100, 2)
    row["startup_instructions"] = (ticks[1] - ticks[0]) * INSTR_PER_TICK
    # Collection k comes just before status line k: 2.. each close a whole second of the
    # window; 1 closes the start-up (from main.run, the bench's garbage collected first).
    window = range(2, len(before))
    row["heap"] = {
        "high_water_alloc_bytes": max(before[k] for k in window),
        "live_alloc_bytes_max": max(after[k] for k in window),
        "allocated_per_second_bytes_max": max(before[k] - after[k - 1] for k in window),
        "allocated_per_second_bytes_mean": round(sum(before[k] - after[k - 1]
                                                     for k in window) / len(window)),
        "startup_high_water_alloc_bytes": before[1],
        "before_main_run_alloc_bytes": after[0],
        "end_alloc_bytes": end_alloc, "end_free_bytes": end_free,
        "heap_bytes": end_alloc + end_free,
        "natmod_files_in_ram_bytes": sum(os.path.getsize(p) for p in natmods)}
    reader = uart1_session(None, io.StringIO())
    reader.feed(bytes(board.uart1_bytes))
    row["p1_telegrams"] = reader.count
    row["p1_errors"] = reader.errors
    row["han_frames_on_air"] = summary["frames_on_air"]
    row["han_nodes"] = summary["nodes"]
    row["han_lines"] = len(re.findall(r"^han ", text, re.M))
    row["status_lines"] = len(re.findall(r"^status uptime=", text, re.M))
    row["utc_start"] = utc
    row["wall_s"] = round(wall, 1)
    row["deterministic"] = ("the board's own work is (icount, fixed time sync); the host "
                            "HAN device and the input-line refresh run on host time, so "
                            "their frames arrive at different instants from run to run")
    return row


def print_row(row, log=print):
    h = row["heap"]
    log("")
    log("[bench] %s (P1 nl every second, HAN coordinator, 3 phases at 2 kHz)" % row["benchmark"])
    log("  emulated seconds                %12.3f" % row["emulated_s"])
    log("  instructions, total             %12d" % row["total_instructions"])
    log("  instructions, idle (waiting)    %12d" % row["idle_instructions"])
    log("  busy instructions per second    %12d  (busiest second %d)" % (
        row["busy_instructions_per_s"], row["busiest_second_instructions"]))
    log("  share of a 168 MHz core         %11.2f %%  (busiest second %.2f %%; 1 instr = 1 "
        "cycle)" % (row["share_of_168mhz_percent"], row["busiest_second_share_of_168mhz_percent"]))
    log("  heap high-water (gc.mem_alloc)  %12d bytes (just before a once-a-second collection)"
        % h["high_water_alloc_bytes"])
    log("  heap live after collection      %12d bytes at most" % h["live_alloc_bytes_max"])
    log("  allocated per second            %12d bytes on average (at most %d)"
        % (h["allocated_per_second_bytes_mean"], h["allocated_per_second_bytes_max"]))
    log("  heap at the end                 %12d bytes allocated, %d free of %d"
        % (h["end_alloc_bytes"], h["end_free_bytes"], h["heap_bytes"]))
    log("    of which natmod files the bench holds in RAM: %d bytes; start-up high-water %d"
        % (h["natmod_files_in_ram_bytes"], h["startup_high_water_alloc_bytes"]))
    log("  P1 telegrams sent               %12d  (%d bad)" % (row["p1_telegrams"],
                                                          row["p1_errors"]))
    log("  HAN frames on air               %12d  (%d nodes, %d han lines on the console)"
        % (row["han_frames_on_air"], row["han_nodes"], row["han_lines"]))
    log("  start-up before the window      %12d instructions" % row["startup_instructions"])
    log("  wall time %.0f s; not deterministic: %s" % (row["wall_s"], row["deterministic"]))


def merge_json(path, row):
    """Replace the whole-meter row of bench.json (a list of rows), keeping the others."""
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            rows = [r for r in json.load(f) if r.get("benchmark") != TITLE]
    rows.append(row)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(rows, f, indent=2)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.bench_meter", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--utc", type=int, default=DEFAULT_UTC,
                        help="the time sync main.run gets (default 2025-06-16 10:05:00 UTC)")
    parser.add_argument("--json", metavar="FILE", default=os.path.join(ROOT, "build",
                                                                       "bench.json"))
    parser.add_argument("--verbose", action="store_true", help="show the meter's console")
    parser.add_argument("--firmware", metavar="ELF", default=FIRMWARE,
                        help="the emulated board's image (default build/emu-mps2)")
    args = parser.parse_args(argv)
    print("[bench] %s: about 5 minutes of host time under -icount ..." % TITLE, flush=True)
    row = run_meter(args.seconds, args.utc, args.verbose, firmware=args.firmware)
    print_row(row)
    merge_json(args.json, row)
    print("[bench] written to %s" % os.path.relpath(args.json, ROOT))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except EmulatorError as e:
        print("[bench] error: %s" % e, file=sys.stderr)
        sys.exit(2)
