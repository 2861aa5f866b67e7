# A ZigBee star network on the simulated 802.15.4 medium for the tests (tiers 1 and 2):
# our coordinator (trust centre) and end devices (han/zigbee.py), each with its own
# record store over a MemoryFs that outlives the node, so that a node can be "rebooted"
# (a new ZigbeeNode over the same flash) or killed for a while. Everything runs on one
# FakeClock, jumping from event to event as tools/han/assoc_sim.py does.
from hal.clock import FakeClock
from han import radio_sim
from han.mac import commands as cmd
from han.tc.keys import install_code_link_key
from native.crc16 import crc16_x25
from han.zigbee import ROLE_COORDINATOR, ROLE_END_DEVICE, ZigbeeNode
from registers.memfs import MemoryFs
from registers.store import RecordStore

COORD_EXT = bytes.fromhex("0004A30B00C0FFEE")
NETWORK_KEY = bytes.fromhex("5A69675365637572654E6574776F726B")
CHANNEL = 15
MASK = 1 << CHANNEL
# Install codes (16 + CRC), the first one HAN.md's vector (link key 66B69009...).
CODES = [
    bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5"),
]


def zcl(tag, i=0, j=0):
    """A well-formed Smart Energy payload whose octets a test chooses: a ZCL Default
    Response (ZCL 2.5.12; frame control 0x18: profile-wide, server to client, no default
    response) with sequence number tag, command id i and status j."""
    return bytes([0x18, tag, 0x0B, i, j])


def device_ext(i):
    return bytes.fromhex("0004A30B0000%04X" % (0x0100 + i))


def device_code(i):
    """A 6-byte install code + its CRC-16/X-25 for device i > 0 (device 0: CODES[0])."""
    if i == 0:
        return CODES[0]
    code = bytes([0x10 + i, 0x20, 0x30, 0x40, 0x50, 0x60])
    c = crc16_x25(code)
    return code + bytes([c & 0xFF, c >> 8])


def run_medium(medium, clock, t, end, nodes, until=None):
    """Step the nodes (nodes(): those powered now) and the medium from t to end, jumping
    from event to event on the FakeClock. Returns (the new t, True if until() came true,
    else until()'s last value or None)."""
    while t < end:
        medium.advance(t)
        now = clock.ticks_us()
        waits = []
        for n in nodes():
            w = n.step(now)
            if w >= 0:
                waits.append(w)
        if until is not None and until():
            return t, True
        t = radio_sim.advance(medium, clock, t, t + (min(waits) if waits else 100000), end)
    return t, (until() if until is not None else None)


class Node:
    def __init__(self, net, role, ext, pos, link_key=None, sleepy=False, seed=1):
        self.net = net
        self.role = role
        self.ext = ext
        self.pos = pos
        self.link_key = link_key
        self.sleepy = sleepy
        self.seed = seed
        self.fs = MemoryFs()
        self.store = RecordStore(self.fs)
        self.events = []
        self.received = []
        self.received_secured = []  # aps_secured of each entry of received
        self.confirms = []
        self.node = None
        self.boots = 0
        self.endpoints = ()
        self.ed_timeout = 8  # End Device Timeout Request index (Table 3-54), 256 min
        self.zdo_in = []  # (src, cluster, payload) of ZDO frames for this node

    def boot(self):
        """A new ZigbeeNode over this node's flash (first start or a reboot)."""
        net = self.net
        if self.node is not None:
            self.kill()
        self.radio = radio_sim.SimRadio(net.medium, self.pos, 26)
        self.boots += 1
        rb = radio_sim.make_rng(self.seed * 1000 + self.boots).getrandbits
        cap = 0 if self.sleepy else cmd.CAP_RX_ON_IDLE
        self.node = ZigbeeNode(
            self.radio, net.clock, self.role, self.ext, self.store, rb, MASK,
            pan_id=0x4D45, link_key=self.link_key,
            network_key=NETWORK_KEY if self.role == ROLE_COORDINATOR else None,
            capability=None if self.role == ROLE_COORDINATOR else cap,
            poll_interval_us=500000 if self.sleepy else 0, endpoints=self.endpoints,
            ed_timeout=self.ed_timeout)
        self.node.on_zdo = self._zdo
        self.node.on_event = self.events.append
        self.node.on_app = self._app
        self.node.aps.on_confirm = lambda tid, status: self.confirms.append((tid, status))
        self.node.start()
        return self.node

    def kill(self):
        """Power off: the radio leaves the medium, RAM is gone, the flash stays."""
        if self.node is not None:
            self.radio.off()
            if self.radio in self.net.medium.radios:
                self.net.medium.radios.remove(self.radio)
            self.node = None

    def _zdo(self, src, cluster, buf, off, n, now):
        self.zdo_in.append((src, cluster, bytes(buf[off:off + n])))

    def _app(self, src, src_ep, dst_ep, cluster, profile, buf, off, n, now, aps_secured):
        self.received.append((src, src_ep, dst_ep, cluster, bytes(buf[off:off + n])))
        self.received_secured.append(aps_secured)


class Net:
    def __init__(self, devices=2, sleepy=1, seed=1, pcap=None):
        self.medium = radio_sim.Medium(seed=seed)
        self.clock = FakeClock()
        self.t = 0
        self.writer = None
        if pcap is not None:
            from han.pcap import PcapWriter
            self.writer = PcapWriter(pcap, 195)
            self.medium.sniffer = self.writer.write
        self.coord = Node(self, ROLE_COORDINATOR, COORD_EXT, (0.0, 0.0), seed=seed)
        self.devs = []
        for i in range(devices):
            code = device_code(i)
            d = Node(self, ROLE_END_DEVICE, device_ext(i), (3.0 + i, 1.0),
                     link_key=install_code_link_key(code), sleepy=i >= devices - sleepy,
                     seed=seed * 10 + i + 1)
            d.code = code
            self.devs.append(d)

    def nodes(self):
        return [n for n in [self.coord] + self.devs if n.node is not None]

    def run(self, seconds, until=None):
        self.t, done = run_medium(self.medium, self.clock, self.t, self.t + int(seconds * 1e6),
                                  lambda: [n.node for n in self.nodes()], until)
        return done

    def register_all(self):
        tc = self.coord.node.tc
        for d in self.devs:
            tc.register(d.ext, d.link_key)

    def joined(self):
        return all(d.node is not None and d.node.state == 2 and d.node.joiner.state == 4
                   for d in self.devs)
