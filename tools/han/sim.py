"""A HAN session on the simulated 802.15.4 medium: one coordinator (the hub), N devices.

Traffic (the documented level for the PDR figure, docs/han.md):
- every device sends a 24-byte report to the coordinator every `period_s` seconds on
  average (uniformly jittered between 0.5 and 1.5 periods);
- the coordinator sends each device a 16-byte message every 5 x `period_s` seconds:
  directly to devices that keep their receiver on, by indirect transmission to sleepy ones;
- a sleepy device polls the coordinator (data request) every SLEEPY_POLL_S seconds.
Every data frame is secured at level 5 (ENC-MIC-32) with key index 1 (key id mode 1).
Traffic is generated during `seconds`; the run then drains for up to DRAIN_S seconds so
that frames still queued are not counted as lost.

Payloads start with 0x3F: a 6LoWPAN "not a LoWPAN frame" dispatch (00xxxxxx, RFC 4944 5.1)
whose bits are also invalid as a ZigBee NWK or LwMesh frame control, so Wireshark's
heuristic dissectors leave it alone and shows the decrypted payload as data.
"""
import math
import random

from tools import fwpath

fwpath.setup()
from hal.clock import FakeClock  # noqa: E402
from han import radio_sim  # noqa: E402
from han.mac.mac import Mac  # noqa: E402
from han.mac.security import MacSecurity  # noqa: E402
from registers.counters import RamCounterStore  # noqa: E402
from han.pcap import PcapWriter  # noqa: E402

APP_DISPATCH = 0x3F  # the payloads' first octet (see above)
NETWORK_KEY = bytes.fromhex("C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF")  # 802.15.4 Annex C's key
KEY_INDEX = 1
PAN_ID = 0x1A2B
CHANNEL = 15
COORD_EXT = bytes.fromhex("0004A30B00C0FFEE")
DEVICE_PERIOD_S = 2.0
SLEEPY_POLL_S = 1.0
DRAIN_S = 10.0
REPORT_LEN = 24
MESSAGE_LEN = 16


def device_ext(i):
    return bytes.fromhex("0004A30B0000%04X" % (i + 1))


class Node:
    def __init__(self, index, mac, radio, sleepy):
        self.index = index
        self.mac = mac
        self.radio = radio
        self.sleepy = sleepy
        self.wake = 0  # absolute us of the next step the MAC asked for (-1: none)
        self.next_traffic = 0
        self.counter = 0


def run(devices=10, seconds=60.0, pcap=None, seed=1, period_s=DEVICE_PERIOD_S, sleepy=1,
        base_loss=0.0, linktype=195, trace=None):
    rng = random.Random(seed)
    medium = radio_sim.Medium(seed=seed + 1, base_loss=base_loss)
    clock = FakeClock()
    pcap_file = open(pcap, "wb") if pcap else None
    writer = PcapWriter(pcap_file, linktype) if pcap_file else None
    if writer:
        medium.sniffer = writer.write
    sent = {}  # (src, counter) -> kind
    delivered = set()
    stats = {"indirect_delivered": 0}
    nodes = []

    def make_on_data(node):
        def on_data(f, buf, lqi):
            p = buf[f.header_len:f.header_len + f.payload_len]
            if len(p) < 6 or p[0] != APP_DISPATCH:
                return
            key = ((p[1] & 0x7F) << 8 | p[2], p[3] << 8 | p[4])
            if key in sent and key not in delivered:
                delivered.add(key)
                if node.index > 0 and nodes[node.index].sleepy:
                    stats["indirect_delivered"] += 1
        return on_data

    n_nodes = devices + 1
    for i in range(n_nodes):
        if i == 0:
            pos, ext, short = (0.0, 0.0), COORD_EXT, 0x0000
        else:
            r = rng.uniform(3.0, 15.0)
            a = rng.uniform(0, 6.283)
            pos = (r * math.cos(a), r * math.sin(a))
            ext, short = device_ext(i), 0x0100 + i
        is_sleepy = i > devices - sleepy
        radio = radio_sim.SimRadio(medium, pos, CHANNEL)
        sec = MacSecurity(ext, RamCounterStore())
        sec.keys.add(NETWORK_KEY, 1, KEY_INDEX)
        mac = Mac(radio, clock, ext, PAN_ID, short, random.Random(seed * 1000 + i).getrandbits,
                  rx_on_when_idle=not is_sleepy, security=sec,
                  poll_interval_us=int(SLEEPY_POLL_S * 1e6) if is_sleepy else 0)
        node = Node(i, mac, radio, is_sleepy)
        mac.on_data = make_on_data(node)
        node.next_traffic = int(rng.uniform(0, period_s) * 1e6)
        nodes.append(node)
    # Provision the device tables (what association and key transport would leave behind).
    coord = nodes[0]
    for n in nodes[1:]:
        coord.mac.security.devices.add(n.mac.ext_addr, n.mac.short_addr)
        n.mac.security.devices.add(coord.mac.ext_addr, 0x0000)

    end_traffic = int(seconds * 1e6)
    end = end_traffic + int(DRAIN_S * 1e6)
    payload = bytearray(REPORT_LEN)
    coord_next = [int(rng.uniform(0, 5 * period_s) * 1e6) for _ in nodes]
    t = 0
    while True:
        medium.advance(t)
        # Traffic generation.
        if t < end_traffic:
            for n in nodes[1:]:
                if n.next_traffic <= t:
                    n.counter += 1
                    payload[0] = APP_DISPATCH
                    payload[1], payload[2] = n.index >> 8, n.index & 0xFF
                    payload[3], payload[4] = n.counter >> 8, n.counter & 0xFF
                    for j in range(5, REPORT_LEN):
                        payload[j] = (n.counter + j) & 0xFF
                    if n.mac.send(0x0000, payload, REPORT_LEN, clock.ticks_us()):
                        sent[(n.index, n.counter)] = "report"
                    n.next_traffic = t + int(period_s * rng.uniform(0.5, 1.5) * 1e6)
                if coord_next[n.index] <= t:
                    coord.counter += 1
                    payload[0] = APP_DISPATCH
                    payload[1], payload[2] = 0x80, 0  # bit 7: from the coordinator
                    payload[3], payload[4] = coord.counter >> 8, coord.counter & 0xFF
                    for j in range(5, MESSAGE_LEN):
                        payload[j] = 0xA0 + j
                    if coord.mac.send(n.mac.short_addr, payload, MESSAGE_LEN, clock.ticks_us(),
                                      indirect=n.sleepy):
                        sent[(0, coord.counter)] = "indirect" if n.sleepy else "direct"
                    coord_next[n.index] = t + int(5 * period_s * 1e6)
        # Step every MAC; each says when it next needs a step.
        now = clock.ticks_us()
        for n in nodes:
            d = n.mac.step(now)
            n.wake = t + d if d >= 0 else -1
        if t >= end or (t >= end_traffic and all(n.mac.idle for n in nodes)):
            break
        candidates = [w for w in (n.wake for n in nodes) if w >= 0]
        ev = medium.next_event()
        if ev is not None:
            candidates.append(ev)
        if t < end_traffic:
            candidates.append(min(n.next_traffic for n in nodes[1:]))
            candidates.append(min(coord_next[1:]))
        nxt = min(candidates) if candidates else end
        if nxt <= t:
            nxt = t + 1
        if nxt > end:
            nxt = end
        clock.advance_us(nxt - t)
        t = nxt
    if pcap_file:
        pcap_file.close()
    n_sent = len(sent)
    n_deliv = len(delivered)
    result = {
        "sent": n_sent,
        "delivered": n_deliv,
        "pdr": round(n_deliv / n_sent, 5) if n_sent else 0.0,
        "retries": sum(n.mac.csma.retries for n in nodes),
        "collisions": medium.collisions,
        "indirect_delivered": stats["indirect_delivered"],
        "indirect_sent": sum(1 for k in sent.values() if k == "indirect"),
        "channel_access_failures": sum(n.mac.csma.access_failures for n in nodes),
        "no_ack": sum(n.mac.csma.no_acks for n in nodes),
        "duplicates_rejected": sum(n.mac.rx_duplicates for n in nodes),
        "security_errors": sum(n.mac.rx_security_errors for n in nodes),
        "frames_on_air": medium.transmissions,
        "pcap_frames": writer.frames if writer else 0,
        "simulated_us": t,
    }
    return result

