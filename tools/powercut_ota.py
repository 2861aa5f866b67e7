# Power-cut campaign for OTA upgrades of the gas meter over the HAN (issue 13; seed 003
# §10.3 l, §10.4, §11.7 b): the hub's OtaServer and the gas meter's OtaClient
# (firmware/han/ota/server.py, client.py) on han.radio_sim in simulated time, both nodes
# with their own flash, cut at random.
#
#   .venv/bin/python -m tools.powercut_ota --cuts N --seed S [--runtime cpython] [--json]
#
# Runtime: CPython only (registers.memfs.MemoryFs(atomic=False): a cut tears a file write
# at a random byte, the harsher model of tools/powercut.py). The images are built with
# tools.ota.pack (CPython and `cryptography`), so the unix port does not run this one.
#
# One network (hub + gas meter, joined once); then run after run, each serves a new image
# (a higher version, 2 files of random sizes and contents) to the meter, and 1 to 4 power
# cuts fall on the meter, the hub or both: at a random instant of the download (the node
# stops between two steps) or, with the flash armed, at a random byte written (the write
# is torn, the node stops at once). After a random outage the cut nodes boot again from
# their flash (new objects over the same file systems) and the download goes on. In one
# run in 8 the campaign flips a byte of the hub's stored image while the hub is down,
# before the meter has the whole image: the hub's start-up must call on_alert with a
# non-OK verdict, and the meter must not move from its version; then the good image is
# stored again and announced and the run goes on. Counted:
#   partial_activations  on_activate with a staged file missing or shorter than the
#                        image's, or the download file still there
#   corrupt_activations  on_activate with staged files of the right sizes but other
#                        contents, or a version other than the one served
#   unfinished           a run whose image was never activated (time limit)
#   double_activations   the same run's version activated twice
#   version_regressions  a meter that boots with another CurrentFileVersion than the last
#                        one it activated
#   missed_alerts        a corruption injected and no alert at the hub's start-up
#   false_alerts         an alert at start-up with the stored image intact
#   moved_on_corruption  the meter's version changed while the hub's image was corrupt
#   bad_resume           after a meter's reboot its FileOffset is not its file's length,
#                        or the stored prefix is not the image's
# and, for the report: bytes re-sent: resent_total (what the hubs served beyond each
# image's size), resent_by_cuts and resent_max_per_cut (per cut: the highest offset the
# hub had served minus the offset the meter resumes from, each octet charged once),
# resent_after_corruption (the meter starts again from 0 once the hub lost the image),
# resent_other (the rest: frames lost on air); cuts by target and kind, boots.
import sys

FAILURES = ("partial_activations", "corrupt_activations", "unfinished", "double_activations",
            "version_regressions", "missed_alerts", "false_alerts", "moved_on_corruption",
            "bad_resume")
T0 = 1795694400  # 2026-11-26 12:00:00 UTC
COORD = bytes.fromhex("0004A30B00C0FFEE")
GAS = bytes.fromhex("0004A30B0047A501")
GAS_CODE = bytes.fromhex("11223344556677884AF7")
GAS_SHORT = 0x0001
KEY = bytes(range(0x20, 0x40))
MANUFACTURER = 0x1234
IMAGE_TYPE = 0x0002
IMAGE = "ota-gas"
STAGE = "ota-stage/"
NAMES = ("han/se/gasmeter.py", "app/gas.py")  # the same names each run: no stale files
BLOCK = 64  # the client's maximum data size (han/ota/client.py MAX_DATA)
RUN_LIMIT_S = 900  # simulated seconds a run may take after its last cut
CORRUPT_ONE_IN = 8


def _rand_bytes(rng, n):
    return bytes(rng.below(256) for _ in range(n))


class _Flash:
    """A MemoryFs(atomic=False) that remembers whether the supply failed during a write."""

    def __init__(self):
        from registers.memfs import MemoryFs

        self.fs = MemoryFs(atomic=False)
        self.tripped = False
        budget = self.fs.budget

        def watched(n):
            got = budget(n)
            if got < n:
                self.tripped = True
            return got

        self.fs.budget = watched

    def arm(self, after):
        self.fs.cut_after_bytes = after
        self.tripped = False

    def disarm(self):
        self.fs.cut_after_bytes = None


class _Rig:
    """The hub and the gas meter on one simulated medium, each bootable from its flash."""

    def __init__(self, res):
        from hal.clock import FakeClock
        from han import radio_sim
        from registers.memfs import MemoryFs
        from registers.meter import MeterRegisters
        from registers.view import RegistersView

        self.res = res
        self.medium = radio_sim.Medium(seed=3)
        self.clock = FakeClock()
        self.clock.set_time(T0)
        self.t = 0
        self.lines = []
        # The hub's meter registers are not this campaign's: their own flash, never cut.
        self.regs = MeterRegisters(self.clock, MemoryFs())
        self.regs.boot(T0)
        self.view = RegistersView(self.regs)
        self.hub_flash = _Flash()
        self.gas_flash = _Flash()
        self.alerts = []
        self.activated = []  # (version, staged files as found at on_activate)
        self.served = 0  # octets served by the hubs that died, this run
        self.high = 0  # the highest image offset any hub served this run
        self.boots = 0
        self.coord = self.gas = None
        self.boot_hub()
        self.boot_gas()

    # --- boots -------------------------------------------------------------------------
    def boot_hub(self):
        from han import radio_sim
        from han.node import HanNode
        from han.ota.server import OtaServer
        from han.se.hub import Hub
        from registers.clock import DST_EU
        from registers.store import RecordStore

        rig = self
        self.hub_flash.disarm()
        store = RecordStore(self.hub_flash.fs)
        self.hub = Hub(self.regs.clock, self.view, 3600, DST_EU, self.clock,
                       identity=(b"meter-fw", b"hub", b"0.1.0"))

        class Server(OtaServer):
            def _block(self, h, f, out, src):
                before = self.bytes_served
                r = OtaServer._block(self, h, f, out, src)
                n = self.bytes_served - before
                if n and f.file_offset + n > rig.high:
                    rig.high = f.file_offset + n
                return r

        self.server = Server(self.hub_flash.fs, {(MANUFACTURER, IMAGE_TYPE): KEY}, self.clock,
                             self.regs.clock.utc, min_block_ms=250, on_alert=self.alerts.append)
        self.hub.add_ota(self.server)
        self.server.start()
        self.hub_radio = radio_sim.SimRadio(self.medium, (0.0, 0.0), 26)
        self.coord = HanNode(self.hub_radio, self.clock, "coordinator", COORD, store,
                             radio_sim.make_rng(1 + self.boots).getrandbits,
                             out=self.lines.append, channel_mask=1 << 15, se=self.hub)
        self.coord.start()
        self.boots += 1

    def boot_gas(self):
        from han import radio_sim
        from han.node import HanNode
        from han.ota.client import OtaClient
        from han.se.gasmeter import GasMeter
        from registers.store import RecordStore

        self.gas_flash.disarm()
        store = RecordStore(self.gas_flash.fs)
        self.meter = GasMeter(self.clock, store, b"G001", report_s=300,
                              identity=(b"meter-fw", b"gas", b"0.1.0"))
        self.client = OtaClient(store, self.clock, MANUFACTURER, IMAGE_TYPE, KEY,
                                version=0x00010000, on_activate=self._activated)
        self.meter.add_ota(self.client)
        self.gas_radio = radio_sim.SimRadio(self.medium, (4.0, 0.0), 26)
        self.gas = HanNode(self.gas_radio, self.clock, "gas", GAS, store,
                           radio_sim.make_rng(100 + self.boots).getrandbits,
                           install_code=GAS_CODE, out=self.lines.append,
                           channel_mask=1 << 15, se=self.meter)
        self.gas.start()
        self.boots += 1

    def _activated(self, version, stage):
        files = self.gas_flash.fs.files
        staged = {n: bytes(files[n]) for n in files if n.startswith(stage)}
        self.activated.append((version, staged, "ota.part" in files))

    def kill(self, which):
        if which in ("hub", "both"):
            self.served += self.server.bytes_served
            self.hub_radio.off()
            self.medium.radios.remove(self.hub_radio)
            self.coord = None
        if which in ("gas", "both"):
            self.gas_radio.off()
            self.medium.radios.remove(self.gas_radio)
            self.gas = None

    def join(self):
        from han.node import JOINER_ADD, joiner_handler

        self.run(1)
        parse, apply = joiner_handler(self.coord)
        apply(parse(bytes([JOINER_ADD]) + GAS + GAS_CODE))
        self.run(20)
        if "han zigbee joined short 0x0001 tclk verified" not in self.lines:
            raise RuntimeError("the gas meter did not join")

    # --- time ---------------------------------------------------------------------------
    def run(self, seconds, until=None):
        """Step the powered nodes for up to seconds; stops early when until() is true or a
        node's flash loses power (that node is then dead). Returns the dead: None, "hub",
        "gas" or "both"."""
        from han.radio_sim import advance

        medium, clock = self.medium, self.clock
        end = self.t + int(seconds * 1000000)
        t = self.t
        dead = None
        while t < end:
            medium.advance(t)
            now = clock.ticks_us()
            waits = []
            for which in ("hub", "gas"):
                node = self.coord if which == "hub" else self.gas
                if node is None:
                    continue
                try:
                    w = node.step(now)
                except OSError:
                    flash = self.hub_flash if which == "hub" else self.gas_flash
                    if not flash.tripped:
                        raise
                    dead = which if dead is None else "both"
                    continue
                if w >= 0:
                    waits.append(w)
            if dead is not None or (until is not None and until()):
                break
            t = advance(medium, clock, t, t + (min(waits) if waits else 100000), end)
        self.t = t
        return dead


def _image(rng, version):
    from tools.ota import pack

    entries = [(NAMES[0], _rand_bytes(rng, 300 + rng.below(1500))),
               (NAMES[1], _rand_bytes(rng, 50 + rng.below(600)))]
    data = pack.build(pack.archive(entries), KEY, MANUFACTURER, IMAGE_TYPE, version,
                      header_string=b"gas-fw")
    return data, {STAGE + n: d for n, d in entries}


def _store(rig, data):
    """The image written to the hub's flash (not cut) and announced to the meter."""
    rig.hub_flash.disarm()
    with rig.hub_flash.fs.open(IMAGE, "wb") as f:
        f.write(data)
    now = rig.clock.ticks_us()
    if rig.server.add(IMAGE, now) != 0:
        raise RuntimeError("the campaign's image is refused")
    d = rig.server.devices.get(GAS_SHORT)
    if d is None or d.manufacturer != MANUFACTURER:  # unknown to this boot: told directly
        rig.server.notify(GAS_SHORT, 1, rig.server.images[-1], now)


def _note(res, text):
    if len(res["incidents"]) < 20:
        res["incidents"].append(text)


def _check_resume(rig, data, res, last_version):
    c = rig.client
    if c.version != last_version:
        res["version_regressions"] += 1
        _note(res, "meter booted with version %x, last activated %x" % (c.version, last_version))
    part = rig.gas_flash.fs.files.get("ota.part")
    if c.state == 1:
        stored = bytes(part) if part is not None else b""
        if c.offset != len(stored) or stored != data[:len(stored)]:
            res["bad_resume"] += 1
            _note(res, "resume at %d, file %d octets" % (c.offset, len(stored)))


def _resumes_at(rig, size, version):
    c = rig.client
    if c.state == 1:
        return c.offset
    return size if c.state == 2 or c.version == version else 0


def _one_run(rig, rng, res, version, cuts_left, last_version):
    data, expected = _image(rng, version)
    size = len(data)
    rig.served = -rig.server.bytes_served  # the hub's counter runs on from earlier runs
    rig.high = 0
    n_act = len(rig.activated)
    _store(rig, data)
    corrupt_run = rng.below(CORRUPT_ONE_IN) == 0
    corrupted = False
    cuts = min(cuts_left, 1 + rng.below(4))
    done = lambda: len(rig.activated) > n_act  # noqa: E731
    for _ in range(cuts):
        if done():
            break  # activated already: the next run's cuts
        which = ("gas", "gas", "hub", "both")[rng.below(4)]
        flash = rng.below(2) == 0
        left = size - rig.client.offset if rig.client.state == 1 else size
        # The download of what is left takes about left/64 blocks at 250 ms each.
        instant = rng.below(max(1, left // BLOCK) * 300 + 2000) / 1000.0
        until = done
        if corrupt_run:
            # The hub goes down once the meter holds a random part of the image (not all
            # of it: a meter with the whole image verified needs the hub no more).
            which = "hub"
            flash = False
            instant = 600
            part = rng.below(size - BLOCK)
            until = lambda: rig.client.state == 1 and rig.client.offset >= part  # noqa
        if flash:
            if which in ("gas", "both"):
                rig.gas_flash.arm(rng.below(left + 3 * 400))
            if which in ("hub", "both"):
                rig.hub_flash.arm(rng.below(200))
        dead = rig.run(instant, until=until)
        rig.hub_flash.disarm()
        rig.gas_flash.disarm()
        if done() and dead is None:
            break
        if dead is None:
            dead = which
            res["cuts_instant"] += 1
        else:
            res["cuts_torn_write"] += 1
        res["cuts"] += 1
        res["cuts_" + dead] += 1
        high = rig.high
        rig.kill(dead)
        if dead in ("hub", "both") and corrupt_run and not corrupted \
                and rig.client.state == 1 and rig.client.offset < size:
            files = rig.hub_flash.fs.files
            at = rng.below(len(files[IMAGE]))
            files[IMAGE][at] ^= 1 << rng.below(8)
            corrupted = True
            res["corruptions_injected"] += 1
        rig.run(1 + rng.below(30))  # the outage
        if dead in ("gas", "both"):
            rig.boot_gas()
            _check_resume(rig, data, res, last_version)
        if dead in ("hub", "both"):
            alerts = len(rig.alerts)
            rig.boot_hub()
            raised = len(rig.alerts) - alerts
            if corrupted and rig.server.images == []:
                if raised and rig.alerts[-1] != 0:
                    res["alerts_raised"] += 1
                else:
                    res["missed_alerts"] += 1
                    _note(res, "version %x: corrupt image, no alert" % version)
            elif raised:
                res["false_alerts"] += 1
                _note(res, "version %x: alert %r on a good image" % (version, rig.alerts[-1]))
        resent = high - _resumes_at(rig, size, version)
        if corrupted and corrupt_run:
            # The hub has the image no more: the meter gives up its download (ABORT) and
            # starts again from 0 once the good image is back; not a resume.
            res["resent_after_corruption"] += max(0, high)
        elif resent > 0:
            res["resent_max_per_cut"] = max(res["resent_max_per_cut"], resent)
            res["resent_by_cuts"] += resent
            rig.high -= resent  # charged once: a second cut before they come again
        if corrupted and corrupt_run:
            # The meter asks for blocks of an image the hub no longer offers: it must
            # give up the download and stay on its version.
            before = rig.client.version
            rig.run(60)
            if rig.client.version != before or done():
                res["moved_on_corruption"] += 1
                _note(res, "version %x activated from a corrupt image" % version)
            _store(rig, data)  # the good image again: fetched from 0
            rig.high = 0
            corrupt_run = False
    rig.run(RUN_LIMIT_S, until=done)
    rig.run(5)  # the Upgrade End exchange settles
    res["served"] += rig.served + rig.server.bytes_served
    res["resent_total"] += rig.served + rig.server.bytes_served - size
    res["image_bytes"] += size
    acts = rig.activated[n_act:]
    if not acts:
        res["unfinished"] += 1
        _note(res, "version %x never activated (state %d offset %d)"
              % (version, rig.client.state, rig.client.offset))
        return last_version
    if len(acts) > 1:
        res["double_activations"] += 1
    for got, staged, part in acts:
        if got != version:
            res["corrupt_activations"] += 1
            _note(res, "activated %x, served %x" % (got, version))
            continue
        short = part or any(n not in staged or len(staged[n]) < len(d)
                            for n, d in expected.items())
        if short:
            res["partial_activations"] += 1
            _note(res, "version %x activated partial" % version)
        elif any(staged[n] != d for n, d in expected.items()):
            res["corrupt_activations"] += 1
            _note(res, "version %x activated with other contents" % version)
    res["downloads_completed"] += 1
    return version


def campaign(cuts, seed, runtime="cpython"):
    from tools.powercut import Lcg

    if runtime != "cpython":
        raise ValueError("the OTA campaign runs on CPython only")
    rng = Lcg(seed)
    res = {"cuts": 0, "cuts_gas": 0, "cuts_hub": 0, "cuts_both": 0, "cuts_instant": 0,
           "cuts_torn_write": 0, "runs": 0, "downloads_completed": 0, "image_bytes": 0,
           "served": 0, "resent_total": 0, "resent_by_cuts": 0, "resent_max_per_cut": 0,
           "corruptions_injected": 0, "resent_after_corruption": 0, "alerts_raised": 0, "boots": 0, "incidents": []}
    for k in FAILURES:
        res[k] = 0
    rig = _Rig(res)
    rig.join()
    version = rig.client.version
    last = version
    while res["cuts"] < cuts:
        version += 1
        res["runs"] += 1
        last = _one_run(rig, rng, res, version, cuts - res["cuts"], last)
        if last != version:
            break  # stuck: counted as unfinished
    res["boots"] = rig.boots
    # What neither a cut nor a corruption explains: requests or answers lost on air.
    res["resent_other"] = res["resent_total"] - res["resent_by_cuts"] \
        - res["resent_after_corruption"]
    res["runtime"] = runtime
    return res


def _passed(result):
    return all(result[k] == 0 for k in FAILURES) \
        and result["alerts_raised"] == result["corruptions_injected"]


def cpython_main(argv=None):
    from tools.powercut import host_main

    if argv is None:
        argv = sys.argv[1:]
    if "--runtime" not in argv:
        argv = list(argv) + ["--runtime", "cpython"]
    elif argv[argv.index("--runtime") + 1] != "cpython":
        sys.stderr.write("tools.powercut_ota: CPython only (the images come from tools.ota)\n")
        return 2
    return host_main("python -m tools.powercut_ota", None, __file__, campaign, _passed, argv)


if __name__ == "__main__":
    sys.exit(cpython_main())
