# The HAN power-cut campaign's rig (tools/powercut_han.py): the coordinator's flash with
# tools/powercut.py's cut machinery, seen through a view that dies with the supply, and the
# simulated network around it (han.radio_sim): the coordinator, whose radio dies with the
# supply too, and the end devices, whose own flash is never cut. MicroPython and CPython.
import sys

if sys.implementation.name == "micropython":
    from powercut import Device
else:
    from tools.powercut import Device

COORD_EXT = bytes.fromhex("0004A30B00C0FFEE")
CHANNEL = 15
TABLE = 8
IDS = 6
FIRST_KEY = bytes.fromhex("5A69675365637572654E6574776F726B")


class _Fs:
    """The coordinator's view of the flash for one boot (cpython): once a write has
    failed the supply is off and nothing more reaches the file system (MemoryFs alone
    would still truncate a file opened for writing)."""

    def __init__(self, fs):
        self.fs = fs
        self.dead = False

    def open(self, name, mode="rb"):
        if self.dead and "w" in mode:
            raise OSError(5)
        f = self.fs.open(name, mode)
        return _File(self, f) if "w" in mode else f


class _File:
    def __init__(self, view, f):
        self.view = view
        self.f = f

    def write(self, buf):
        if self.view.dead:
            raise OSError(5)
        try:
            return self.f.write(buf)
        except OSError:
            self.view.dead = True
            raise

    def close(self):
        self.f.close()


def _radio_class():
    from han.radio_sim import SimRadio

    class CoordRadio(SimRadio):
        """The coordinator's radio: it dies with the supply (the CPU does too; a frame
        the stack hands over after the cut never leaves)."""

        def __init__(self, medium, pos, channel, rig):
            SimRadio.__init__(self, medium, pos, channel)
            self.rig = rig

        def transmit(self):
            if self.rig.dead():
                return 1  # hal.radio TX_ERR
            return SimRadio.transmit(self)

    return CoordRadio


def _air():
    # Imported once the firmware is on the path (CPython: cpython_main sets it up).
    if sys.implementation.name == "micropython":
        import powercut_air
    else:
        from tools import powercut_air
    return powercut_air


class Rig:
    """The coordinator's flash and the simulated network around it."""

    def __init__(self, runtime, rng, seed):
        from hal.clock import FakeClock
        from han import radio_sim

        self.rs = radio_sim
        self.rng = rng
        self.flash = Device(runtime, rng)
        self.clock = FakeClock()
        self.medium = radio_sim.Medium(seed=seed)
        self.air = _air().AirWatch(COORD_EXT)
        self.air.add_key(0, FIRST_KEY)
        self.medium.sniffer = self.air
        self.t = 0
        self.coord = None
        self.view = None
        self.boots = 0
        self.seed = seed
        # Device identities: ext, link key, registered (saved), node, on-air generation.
        self.ids = []
        for i in range(IDS):
            self.ids.append({"ext": bytes.fromhex("0004A30B0000%04X" % (0x0100 + i)),
                             "key": None, "reg": False, "node": None, "radio": None})

    def dead(self):
        if self.flash.runtime == "micropython":
            return not self.flash.bd.powered
        return self.view is not None and self.view.dead

    def mount(self):
        fs = self.flash.mount()
        if self.flash.runtime != "micropython":
            fs = self.view = _Fs(fs)
        return fs

    def _radio(self, pos, rig=None):
        if rig is None:
            return self.rs.SimRadio(self.medium, pos, 26)
        return _radio_class()(self.medium, pos, 26, rig)

    def boot_coordinator(self, store):
        from han.zigbee import ROLE_COORDINATOR, ZigbeeNode

        self.boots += 1
        self.radio = self._radio((0.0, 0.0), self)
        rb = self.rs.Rng(self.seed * 7919 + self.boots).getrandbits
        self.coord = ZigbeeNode(self.radio, self.clock, ROLE_COORDINATOR, COORD_EXT, store,
                                rb, 1 << CHANNEL, pan_id=0x4D45, network_key=FIRST_KEY,
                                table_size=TABLE)
        return self.coord

    def kill_coordinator(self):
        self._off(self.radio)
        self.coord = None

    def _off(self, radio):
        radio.off()
        if radio in self.medium.radios:
            self.medium.radios.remove(radio)

    def boot_device(self, d):
        from han.mac import commands as cmd
        from han.zigbee import ROLE_END_DEVICE, ZigbeeNode
        from registers.memfs import MemoryFs
        from registers.store import RecordStore

        i = self.ids.index(d)
        sleepy = i == IDS - 1
        d["radio"] = self._radio((3.0 + i, 1.0))
        rb = self.rs.Rng(self.seed * 31 + i * 1009 + self.boots).getrandbits
        d["node"] = ZigbeeNode(d["radio"], self.clock, ROLE_END_DEVICE, d["ext"],
                               RecordStore(MemoryFs()), rb, 1 << CHANNEL,
                               link_key=d["key"],
                               capability=0 if sleepy else cmd.CAP_RX_ON_IDLE,
                               poll_interval_us=500000 if sleepy else 0)
        d["node"].start()

    def reset_device(self, d):
        """Removed: the device is wiped (a new join with a new install code later)."""
        if d["node"] is not None:
            self._off(d["radio"])
        d["node"] = None
        d["reg"] = False
        self.air.forget(d["ext"])

    def run(self, seconds):
        """Run every live node for `seconds` of simulated time; stops early (returns
        False) when the coordinator's flash loses power."""
        end = self.t + int(seconds * 1000000)
        while self.t < end:
            if self.coord is not None and self.dead():
                return False
            self.medium.advance(self.t)
            now = self.clock.ticks_us()
            waits = []
            nodes = [d["node"] for d in self.ids if d["node"] is not None]
            if self.coord is not None:
                nodes.insert(0, self.coord)
            for n in nodes:
                try:
                    w = n.step(now)
                except OSError:
                    if n is self.coord and self.dead():
                        return False
                    raise
                if n is self.coord and self.dead():
                    return False
                if w >= 0:
                    waits.append(w)
            self.t = self.rs.advance(self.medium, self.clock, self.t,
                                     self.t + (min(waits) if waits else 100000), end)
        return True
