# Power-cut campaign for the registers' storage (issue 3).
#
#   .venv/bin/python -m tools.powercut --cuts N --seed S [--runtime micropython|cpython] --json
#                                      [--han]
#
# --han: then the HAN's campaigns with the same arguments, each checking its own records
#   after every cut: the trust centre's tables, keys and frame counters
#   (tools/powercut_han.py) and the hub's store-and-forward queue (tools/powercut_forward.py);
#   the exit status is 0 only if all passed.
#
# runtime micropython (default): runs this same file under build/micropython, where the real
#   registers code (firmware/registers) persists through the unix port's vfs.VfsLfs2 (real
#   littlefs) on hal.sim.RamBlockDevice; the device loses power at a random program/erase
#   operation (the interrupted page is left half programmed).
# runtime cpython: CPython has no littlefs binding. The same registers code runs over
#   registers.memfs.MemoryFs(atomic=False), a file system that tears writes: the cut stops a
#   file write at a random byte, truncated files stay truncated. That exercises the record
#   layer alone (two slots, sequence numbers, CRC-32), without littlefs's copy-on-write.
#
# Between cuts the registers advance (energy every simulated second, tariffs, demand, load
# profile, billing, logs); after each cut the "device" reboots from flash and the campaign
# checks: nothing corrupt (mount fails, a record that was acknowledged is gone, a value
# above what was ever measured, a FIFO log out of order or over size), no register below
# the last acknowledged save or the previous boot (regression), and the energy lost within
# the persistence bound (10 Wh plus the energy of the step in progress, docs/registers.md).
# A quarter of the cuts come after the power-fail early warning: those must lose nothing.
#
# The same file runs under MicroPython, so no argparse/json/f-strings in the shared part.
import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"

START_UTC = 1735686000  # 2024-12-31 23:00 UTC: the first boot is just before a new year
PERSIST_MWH = 10000
OPS_WINDOW = 48  # a cut falls within this many flash operations after the reboot
BYTES_WINDOW = 1200  # cpython: within this many bytes written


class Lcg:
    """32-bit LCG (Numerical Recipes constants): same sequence on both runtimes."""

    def __init__(self, seed):
        self.x = (seed * 2654435761 + 12345) & 0xFFFFFFFF

    def next(self):
        self.x = (self.x * 1664525 + 1013904223) & 0xFFFFFFFF
        return self.x >> 8

    def below(self, n):
        return self.next() % n


def _values(regs):
    e = regs.energy
    return [e.wh[i] * 1000 + e.milli[i] for i in range(e.count)]


def _log_ok(log):
    if log.count > log.capacity:
        return False
    previous = -1
    for age in range(log.count - 1, -1, -1):
        seq = log.entry(age)[0]
        if seq <= previous:
            return False
        previous = seq
    return log.count == 0 or log.entry(0)[0] == log.next_seq - 1


def _note(result, text):
    if len(result["incidents"]) < 10:
        result["incidents"].append(text)


def _calendar():
    from registers import tou

    # NL-style: tariff 1 (low) 23:00-07:00 and weekends, 2 (normal) otherwise.
    return tou.build([(1, 1, 0)], [(0, 0, 0, 0, 0, 1, 1)],
                     [[(0, 1), (7 * 60, 2), (23 * 60, 1)], [(0, 1)]],
                     [(0, 1, 1, 1), (0, 12, 25, 1)])


class BootView:
    """The flash as one boot of the device sees it. After the power cut that ends the boot
    it is dead: every call fails. MicroPython's littlefs file objects have finalisers that
    close (and so write) when the garbage collector frees them, possibly long after the
    simulated cut; without this the dead boot's stale file objects would write into the
    next boot's file system, which no real power cut allows. Forwarding only: littlefs
    calls these with the heap locked."""

    def __init__(self, bd):
        self.bd = bd
        self.alive = True

    def readblocks(self, block, buf, offset=0):
        if not self.alive:
            return -5  # -EIO to littlefs, quietly (a raise would print from the finaliser)
        return self.bd.readblocks(block, buf, offset)

    def writeblocks(self, block, buf, offset=None):
        if not self.alive:
            return -5
        return self.bd.writeblocks(block, buf, offset)

    def ioctl(self, op, arg):
        if not self.alive:
            return -5
        return self.bd.ioctl(op, arg)


class Device:
    """The flash and how to mount it, for one runtime."""

    def __init__(self, runtime, rng):
        self.runtime = runtime
        self.rng = rng
        if runtime == "micropython":
            import vfs

            from hal.sim import RamBlockDevice

            self.vfs = vfs
            self.bd = RamBlockDevice(block_size=4096, block_count=128)
            self.view = None
            vfs.VfsLfs2.mkfs(self.bd)
        else:
            from registers.memfs import MemoryFs

            self.fs = MemoryFs(atomic=False)

    def mount(self):
        if self.runtime == "micropython":
            if self.view is not None:
                self.view.alive = False  # the previous boot is over
            self.view = BootView(self.bd)
            return self.vfs.VfsLfs2(self.view)
        return self.fs

    def reformat(self):
        self.vfs.VfsLfs2.mkfs(self.bd)

    def arm(self):
        if self.runtime == "micropython":
            self.bd.cut_after = self.rng.below(OPS_WINDOW)
        else:
            self.fs.cut_after_bytes = self.rng.below(BYTES_WINDOW)

    def disarm(self):
        if self.runtime == "micropython":
            self.bd.cut_after = None
        else:
            self.fs.cut_after_bytes = None

    def cut_now(self):
        """Power fails at the next flash operation."""
        if self.runtime == "micropython":
            self.bd.cut_after = 0
        else:
            self.fs.cut_after_bytes = 0

    def flash_ops(self):
        if self.runtime == "micropython":
            return self.bd.writes + self.bd.erases
        return self.fs.commits

    def erases(self):
        return self.bd.erases if self.runtime == "micropython" else 0


def _power_w(rng):
    # Household-like: base load most of the time, appliances sometimes, PV export by day.
    r = rng.below(100)
    if r < 60:
        return 150 + rng.below(400), 0
    if r < 85:
        return 1000 + rng.below(3000), 0
    if r < 95:
        return 0, 500 + rng.below(4000)
    return 7000 + rng.below(10000), 0  # heat pump / EV charger burst


def campaign(cuts, seed, runtime):
    from hal.clock import FakeClock
    from registers.meter import MeterRegisters

    rng = Lcg(seed)
    device = Device(runtime, rng)
    clock = FakeClock(utc=START_UTC)
    result = {"cuts": 0, "corrupt": 0, "regressions": 0, "max_loss_wh": 0.0,
              "bound_violations": 0, "warned_cuts": 0, "warned_loss_wh": 0.0,
              "boots": 0, "steps": 0, "energy_saves": 0, "record_saves": 0,
              "profile_entries": 0, "torn_slots": 0, "repaired_segments": 0,
              "incidents": []}
    true_values = None  # RAM registers at the moment of the cut
    acked = None  # values of the last energy save that completed
    previous_boot = None
    previous_failures = 0
    step_mwh = 0
    warned = False
    sim_seconds = 0
    ops_start = device.flash_ops()
    erases_start = device.erases()
    while result["cuts"] < cuts:
        # ---- boot ----
        device.disarm()
        try:
            fs = device.mount()
        except OSError:
            result["corrupt"] += 1
            device.reformat()
            fs = device.mount()
            acked = previous_boot = true_values = None
        regs = MeterRegisters(clock, fs, calendar=_calendar(), persist_mwh=PERSIST_MWH)
        if rng.below(8) == 0:
            device.arm()  # one cut in eight hits the boot's own writes
        try:
            regs.boot(clock.time())
        except OSError:
            result["cuts"] += 1  # cut during boot itself: a valid (if short) run
            clock.advance_ms(1000 * (1 + rng.below(600)))
            continue
        result["boots"] += 1
        values = _values(regs)
        if true_values is not None:
            loss = 0
            for i in range(len(values)):
                if values[i] > true_values[i]:
                    result["corrupt"] += 1  # more than was ever measured
                    _note(result, "cut %d: register %d %d above measured %d"
                          % (result["cuts"], i, values[i], true_values[i]))
                    break
                if acked is not None and values[i] < acked[i]:
                    result["regressions"] += 1
                    _note(result, "cut %d: register %d %d below acknowledged %d"
                          % (result["cuts"], i, values[i], acked[i]))
                    break
                if previous_boot is not None and values[i] < previous_boot[i]:
                    result["regressions"] += 1
                    _note(result, "cut %d: register %d %d below previous boot %d"
                          % (result["cuts"], i, values[i], previous_boot[i]))
                    break
                lost = true_values[i] - values[i]
                if lost > loss:
                    loss = lost
            if warned:
                if loss > result["warned_loss_wh"] * 1000:
                    result["warned_loss_wh"] = loss / 1000
            elif loss > PERSIST_MWH + step_mwh:
                result["bound_violations"] += 1
            if loss > result["max_loss_wh"] * 1000:
                result["max_loss_wh"] = loss / 1000
        elif acked is not None:
            result["corrupt"] += 1
        if regs.quality.failures < previous_failures:
            result["regressions"] += 1
            _note(result, "cut %d: power failures %d < %d"
                  % (result["cuts"], regs.quality.failures, previous_failures))
        for log in regs.logs.logs:
            if not _log_ok(log):
                result["corrupt"] += 1
                _note(result, "cut %d: log %d out of order" % (result["cuts"], log.log_id))
        for slots in (regs.energy_slots, regs.quality.slots, regs.demand.slots):
            result["torn_slots"] += slots.invalid_slots
        previous_failures = regs.quality.failures
        previous_boot = values
        acked = values
        # ---- run until the power fails ----
        warned = rng.below(4) == 0
        warn_after = 1 + rng.below(120) if warned else -1
        device.disarm()
        if not warned:
            device.arm()
        steps = 0
        saves = regs.energy_saves
        try:
            while True:
                clock.advance_ms(1000)
                sim_seconds += 1
                utc = clock.time()
                imp_w, exp_w = _power_w(rng)
                q = rng.below(400)
                imp, exp = imp_w * 1000 // 3600, exp_w * 1000 // 3600
                step_mwh = max(imp, exp, q)  # the most any register gained
                regs.add_energy(imp, exp, q, 0, 0, q // 2)
                if rng.below(500) == 0:
                    regs.record_sag(1 + rng.below(3))
                regs.step(utc)
                steps += 1
                if regs.energy_saves != saves:
                    saves = regs.energy_saves
                    acked = _values(regs)
                if steps == warn_after:
                    regs.power_fail_warning(utc)
                    acked = _values(regs)
                    step_mwh = 0
                    device.cut_now()
                    regs.step(utc + 1)  # the next flash operation fails
                    # Nothing was due: the supply dies with no write in flight.
                    raise OSError(5)
        except OSError:
            pass
        result["steps"] += steps
        result["energy_saves"] += regs.energy_saves
        result["record_saves"] += regs.store.saves
        result["profile_entries"] += regs.profile.log.appends
        result["repaired_segments"] += regs.profile.log.repaired
        true_values = _values(regs)
        result["cuts"] += 1
        if warned:
            result["warned_cuts"] += 1
        # ---- outage ----
        outage = 1 + rng.below(7200) if rng.below(3) == 0 else 1 + rng.below(120)
        clock.advance_ms(outage * 1000)
        sim_seconds += outage
    days = sim_seconds / 86400
    run_days = result["steps"] / 86400
    result["simulated_days"] = round(days, 2)
    # Writes per day of powered operation at the campaign's load (mean ~1.6 kW).
    result["writes_per_day"] = round((result["record_saves"] + result["profile_entries"])
                                     / run_days) if run_days else 0
    result["energy_writes_per_day"] = round(result["energy_saves"] / run_days) if run_days else 0
    result["flash_ops"] = device.flash_ops() - ops_start
    erases = device.erases() - erases_start
    result["erases_per_day"] = round(erases / run_days) if run_days else 0
    result["runtime"] = runtime
    result["max_loss_wh"] = round(result["max_loss_wh"], 3)
    result["warned_loss_wh"] = round(result["warned_loss_wh"], 3)
    return result


def _json(d):
    parts = []
    for k in sorted(d):
        v = d[k]
        if isinstance(v, str):
            v = '"%s"' % v
        elif isinstance(v, list):
            v = "[" + ", ".join('"%s"' % x for x in v) + "]"
        else:
            v = repr(v)
        parts.append('"%s": %s' % (k, v))
    return "{" + ", ".join(parts) + "}"


def _arg(argv, name, default):
    if name in argv:
        return argv[argv.index(name) + 1]
    return default


def micropython_main(argv):
    cuts = int(_arg(argv, "--cuts", "100"))
    seed = int(_arg(argv, "--seed", "1"))
    print(_json(campaign(cuts, seed, "micropython")))


def host_main(prog, doc, script, run_campaign, passed, argv=None):
    """The command line of a campaign (this one, tools/powercut_han.py): parse, run it on
    CPython here or on the unix port (`script` under build/micropython, which prints its
    result as JSON), print, and exit 0 only if passed(result)."""
    import argparse
    import json
    import os
    import subprocess
    import time

    parser = argparse.ArgumentParser(prog=prog, description=doc)
    parser.add_argument("--cuts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runtime", choices=("micropython", "cpython"), default="micropython")
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args(argv)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    started = time.monotonic()
    if args.runtime == "cpython":
        from tools import fwpath

        fwpath.setup()
        result = run_campaign(args.cuts, args.seed, "cpython")
    else:
        exe = os.path.join(root, "build", "micropython")
        if not os.path.exists(exe):
            parser.error("build/micropython is missing: run `make build`")
        env = dict(os.environ, MICROPYPATH=":".join([
            ".frozen", os.path.join(root, "boards", "sim"), os.path.join(root, "firmware"),
            os.path.join(root, "build", "natmod", "x64")]))
        proc = subprocess.run([exe, "-X", "heapsize=16M", os.path.abspath(script),
                               "--cuts", str(args.cuts), "--seed", str(args.seed)],
                              cwd=root, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout + proc.stderr)
            return 2
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["seconds"] = round(time.monotonic() - started, 2)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        for key in sorted(result):
            print("%-22s %s" % (key, result[key]))
    return 0 if passed(result) else 1


def _passed(result):
    return result["corrupt"] == 0 and result["regressions"] == 0 \
        and result["bound_violations"] == 0 and result["warned_loss_wh"] == 0


def cpython_main(argv=None):
    import os
    import subprocess

    argv = list(sys.argv[1:] if argv is None else argv)
    han = "--han" in argv
    if han:
        argv.remove("--han")
    rc = host_main("python -m tools.powercut", __doc__, __file__, campaign, _passed, argv)
    if han:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        for module in ("tools.powercut_han", "tools.powercut_forward"):
            sys.stdout.flush()
            if "--json" not in argv:
                print("[powercut] %s" % module)
                sys.stdout.flush()
            rc = subprocess.call([sys.executable, "-m", module] + argv, cwd=root) or rc
    return rc


if __name__ == "__main__":
    if IS_MICROPYTHON:
        micropython_main(sys.argv)
    else:
        sys.exit(cpython_main())
