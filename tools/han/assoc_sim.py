"""A HAN session that starts from nothing, on the simulated 802.15.4 medium.

`python -m tools.han sim --associate ...` runs it:
- a neighbour PAN (a running coordinator, PAN 0x1A2B, association not permitted) on
  channel 20, and a non-802.15.4-MAC interferer sending a frame every 2 ms on channel 11;
- our coordinator scans (energy detection, then active scan) the channels in
  CHANNEL_MASK, takes the quietest one and a PAN ID no beacon showed (it prefers 0x1A2B, in
  use, so it must draw another);
- N devices (the last `sleepy` of them sleep and poll) start unassociated, scan, pick our
  coordinator (the neighbour does not permit association) and associate one after the
  other, 0.3 s apart;
- then secured traffic (level 5, network key of Annex C, as `sim`): each device sends
  REPORTS reports to the coordinator, 0.2 s apart, the coordinator one message to each
  device (by indirect transmission to the sleepy ones);
- then the first device is reset (its MAC forgets PAN, channel and short address) and
  rejoins by orphan notification / coordinator realignment, and the second disassociates.
"""
import math
import random

from tools import fwpath

fwpath.setup()
from hal.clock import FakeClock  # noqa: E402
from han import radio_sim  # noqa: E402
from han.mac import commands as cmd  # noqa: E402
from han.mac import frame as fr  # noqa: E402
from han.mac.mac import Mac  # noqa: E402
from han.mac.roles import Coordinator, EndDevice  # noqa: E402
from han.mac.security import MacSecurity  # noqa: E402
from registers.counters import RamCounterStore  # noqa: E402
from han.pcap import PcapWriter  # noqa: E402
from tools.han.sim import APP_DISPATCH, COORD_EXT, KEY_INDEX, NETWORK_KEY, device_ext  # noqa: E402

CHANNEL_MASK = (1 << 11) | (1 << 15) | (1 << 20) | (1 << 25)
NEIGHBOUR_CHANNEL = 20
NEIGHBOUR_PAN = 0x1A2B
INTERFERER_CHANNEL = 11
INTERFERER_PERIOD_US = 2000
REPORTS = 5
REPORT_GAP_US = 200000
JOIN_GAP_US = 300000
SLEEPY_POLL_US = 500000


class Interferer:
    """Something on channel 11 that is not in any PAN: a broadcast data frame every 2 ms
    (a well-formed frame, so the capture stays clean)."""

    def __init__(self, medium):
        self.radio = radio_sim.SimRadio(medium, (2.0, 0.0), INTERFERER_CHANNEL)
        self.radio.on()
        self.next = 0
        self.seq = 0
        f = fr.FrameFields()
        f.frame_type = fr.FT_DATA
        f.version = fr.VERSION_2003
        f.dst_mode = fr.ADDR_SHORT
        f.dst_pan = 0x7777
        f.dst_addr = fr.BROADCAST
        f.src_mode = fr.ADDR_SHORT
        f.src_addr = 0x0001
        f.pan_id_compression = True
        self.frame = bytearray(40)
        self.len = fr.encode(f, bytes([APP_DISPATCH]) + bytes(20), 21, self.frame)

    def step(self, now):
        if now >= self.next and not self.radio.tx_busy():
            self.frame[2] = self.seq
            self.seq = (self.seq + 1) & 0xFF
            self.radio.prepare(self.frame, self.len)
            self.radio.transmit()
            self.next = now + INTERFERER_PERIOD_US
        return max(0, self.next - now)


def _node(medium, clock, ext, pos, channel, seed, sleepy=False):
    radio = radio_sim.SimRadio(medium, pos, channel)
    sec = MacSecurity(ext, RamCounterStore())
    sec.keys.add(NETWORK_KEY, 1, KEY_INDEX)
    mac = Mac(radio, clock, ext, 0xFFFF, 0xFFFF, random.Random(seed).getrandbits,
              rx_on_when_idle=not sleepy, security=sec,
              poll_interval_us=SLEEPY_POLL_US if sleepy else 0)
    return mac


def run(devices=3, sleepy=1, pcap=None, seed=1, linktype=195, seconds=20.0):
    rng = random.Random(seed)
    medium = radio_sim.Medium(seed=seed + 1)
    clock = FakeClock()
    pcap_file = open(pcap, "wb") if pcap else None
    writer = PcapWriter(pcap_file, linktype) if pcap_file else None
    if writer:
        medium.sniffer = writer.write
    steppers = []  # (role or None, mac)

    # The neighbour PAN, already running.
    nmac = _node(medium, clock, bytes.fromhex("0004A30B00BEEF00"), (6.0, 6.0),
                 NEIGHBOUR_CHANNEL, seed * 1000 + 99)
    neighbour = Coordinator(nmac, 1 << NEIGHBOUR_CHANNEL, nmac.csma._rand_bits,
                            pan_id=NEIGHBOUR_PAN)
    neighbour.association_permit = False
    neighbour.start_at(NEIGHBOUR_CHANNEL, NEIGHBOUR_PAN, 0)
    steppers.append((neighbour, nmac))
    interferer = Interferer(medium)

    cmac = _node(medium, clock, COORD_EXT, (0.0, 0.0), 26, seed * 1000)
    coord = Coordinator(cmac, CHANNEL_MASK, random.Random(seed * 7).getrandbits,
                        pan_id=NEIGHBOUR_PAN)
    steppers.append((coord, cmac))
    coord.start(0)

    devs = []
    for i in range(devices):
        is_sleepy = i >= devices - sleepy
        r = rng.uniform(3.0, 12.0)
        a = rng.uniform(0, 6.283)
        mac = _node(medium, clock, device_ext(i + 1), (r * math.cos(a), r * math.sin(a)), 26,
                    seed * 1000 + i + 1, is_sleepy)
        cap = 0 if is_sleepy else cmd.CAP_RX_ON_IDLE
        dev = EndDevice(mac, CHANNEL_MASK, cap)
        dev.sleepy = is_sleepy
        dev.received = []
        devs.append(dev)
        steppers.append((dev, mac))

    coord_received = []

    def on_coord_data(f, buf, lqi):
        coord_received.append(bytes(buf[f.header_len:f.header_len + f.payload_len]))
    cmac.on_data = on_coord_data
    for d in devs:
        d.mac.on_data = (lambda dev: lambda f, buf, lqi: dev.received.append(
            bytes(buf[f.header_len:f.header_len + f.payload_len])))(d)

    # Scripted phases, by time.
    join_at = [None] * devices
    phase = {"traffic_at": None, "rejoin_at": None, "leave_at": None, "done_at": None}
    end = int(seconds * 1e6)
    t = 0
    payload = bytearray(24)
    sent_reports = 0
    sent_messages = 0
    shorts_at_traffic = []
    schedule = []  # (time, device index, report number or -1 for a message to it)
    while t < end:
        medium.advance(t)
        now = clock.ticks_us()
        if coord.state == 3 and join_at[0] is None:
            for i in range(devices):
                join_at[i] = t + i * JOIN_GAP_US
        for i, d in enumerate(devs):
            if join_at[i] is not None and join_at[i] <= t and d.state == 0 and d.joins == 0:
                d.join(now)
        if (phase["traffic_at"] is None and devs and all(d.associated for d in devs)):
            phase["traffic_at"] = t
            shorts_at_traffic[:] = [d.mac.short_addr for d in devs]
            for i in range(devices):
                for k in range(REPORTS):
                    schedule.append((t + k * REPORT_GAP_US + i * 20000, i, k))
                schedule.append((t + REPORT_GAP_US // 2 + i * 20000, i, -1))
            schedule.sort()
        while schedule and schedule[0][0] <= t:
            _, i, k = schedule.pop(0)
            d = devs[i]
            payload[0] = APP_DISPATCH
            if k >= 0:  # a report from device i
                payload[1] = d.mac.short_addr & 0xFF
                payload[2] = k
                if d.mac.send(d.mac.coordinator_short, payload, 24, now):
                    sent_reports += 1
            else:  # a message to device i
                payload[1] = 0x80
                payload[2] = d.mac.short_addr & 0xFF
                if cmac.send(d.mac.short_addr, payload, 16, now, indirect=d.sleepy):
                    sent_messages += 1
        if (phase["traffic_at"] is not None and phase["rejoin_at"] is None
                and t > phase["traffic_at"] + 3000000):
            phase["rejoin_at"] = t
            devs[0].mac.pan_id = 0xFFFF
            devs[0].rejoin(now)
        if (phase["rejoin_at"] is not None and phase["leave_at"] is None
                and devs[0].associated and len(devs) > 1):
            phase["leave_at"] = t
            devs[1].disassociate(now)
        if phase["leave_at"] is not None and phase["done_at"] is None and devs[1].state == 0:
            phase["done_at"] = t
            end = min(end, t + 1000000)
        wakes = [interferer.step(t)]
        for role, mac in steppers:
            for w in (role.step(now), mac.step(now), role.step(now)):
                if w >= 0:
                    wakes.append(w)
        nxt = t + (min(wakes) if wakes else 1000)
        if schedule:
            nxt = min(nxt, schedule[0][0])
        for w in join_at:
            if w is not None and w > t:
                nxt = min(nxt, w)
        t = radio_sim.advance(medium, clock, t, nxt, end)
    if pcap_file:
        pcap_file.close()
    return {
        "channel": coord.channel,
        "pan_id": coord.pan_id,
        "energy": {str(ch): coord.scanner.energy[ch] for ch in range(11, 27)
                   if CHANNEL_MASK >> ch & 1},
        "pans_heard": coord.scanner.n_pans,
        "associated": sum(1 for d in devs if d.joins),
        "shorts_at_traffic": shorts_at_traffic,
        "short_addresses": [d.mac.short_addr if d.associated else None for d in devs],
        "joined_shorts": [coord.first_short + i for i in range(len(coord.dev_used))
                          if coord.dev_used[i]],
        "reports_sent": sent_reports,
        "reports_delivered": len({p[1:3] for p in coord_received
                                  if p[:1] == bytes([APP_DISPATCH]) and p[1] != 0x80}),
        "messages_sent": sent_messages,
        "messages_delivered": sum(1 for d in devs for p in d.received if p[1:2] == b"\x80"),
        "rejoined": devs[0].rejoins if devs else 0,
        "realignments": coord.realignments,
        "disassociations": coord.disassociations,
        "security_errors": sum(m.rx_security_errors for _, m in steppers),
        "frames_on_air": medium.transmissions,
        "pcap_frames": writer.frames if writer else 0,
        "simulated_us": t,
    }
