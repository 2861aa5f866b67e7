# The gas meter role (firmware/han/se/gasmeter.py) and the hub's relay of its readings
# (han/se/hub.py, han/se/gasrelay.py) over real registers, on the simulated medium in
# simulated time: the meter joins by install code as a sleepy device, syncs its clock
# from the hub's Time server, reports its register with the capture time every 5 minutes
# of the hub's clock, and the registers' gas mailbox (what P1 prints) holds each reading
# with its own capture time and the meter's equipment identifier; reboots of either side
# lose nothing; no report goes out before the first time sync; the mirror endpoint shows
# the relayed reading. Reports are decoded here by hand (ZCL 07-5123 2.5.11) and the
# expected register values come from the scenario as gasreg.py documents it, restated
# below (not imported). Portable: tiers 1 and 2.
from hal.clock import FakeClock
from han import radio_sim
from han.node import JOINER_ADD, HanNode, joiner_handler
from han.se.gasmeter import GasMeter
from han.se.hub import Hub
from registers.clock import DST_EU
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from registers.store import RecordStore
from registers.view import RegistersView
from test_han_node import CODE, COORD, DEVICE
from zb_net import run_medium

T0 = 1795694400  # 2026-11-26 12:00:00 UTC; CET (UTC+1) for months around it
GAS = bytes.fromhex("0004A30B0047A501")
# An install code of HAN.md's vectors file: 1122334455667788, CRC-16/X-25 0xF74A sent
# little endian.
GAS_CODE = bytes.fromhex("11223344556677884AF7")
EQUIPMENT_ID = b"G0012345678901234"  # the gas meter's p1_equipment_id
SEED = 7
START_L = 1234567  # 1 234.567 m3 on the index when the meter was installed
EPOCH2000 = 946684800

# gasreg.py's scenario as documented: ml/s per local hour, times k/8 per local day.
RATES = (3, 3, 3, 3, 3, 8, 150, 260, 180, 60, 30, 30,
         40, 30, 30, 30, 60, 150, 220, 200, 140, 70, 30, 8)


def day_k(seed, day):
    x = (seed ^ (day * 7919)) & 0x7FFF
    for _ in range(2):
        x = (x * 25173 + 13849) & 0x7FFF
    return 6 + x % 5


class Scenario:
    """The register the scenario gives, second by second from its anchor (CET: local =
    UTC + 1 h in November)."""

    def __init__(self, anchor, litres):
        self.t = anchor
        self.ml = litres * 1000

    def at(self, utc):
        assert utc >= self.t
        while self.t < utc:
            local = self.t + 3600
            self.ml += RATES[(local // 3600) % 24] * day_k(SEED, local // 86400) // 8
            self.t += 1
        return self.ml // 1000


class MeteredRadio(radio_sim.SimRadio):
    """A SimRadio that counts the time its transceiver is on and the frames it sends and
    takes in."""

    def __init__(self, *a):
        radio_sim.SimRadio.__init__(self, *a)
        self.on_us = 0
        self._since = 0
        self.tx_frames = 0
        self.rx_frames = 0

    def on(self):
        if not self.enabled:
            self._since = self.medium.now
        radio_sim.SimRadio.on(self)

    def off(self):
        if self.enabled:
            self.on_us += self.medium.now - self._since
        radio_sim.SimRadio.off(self)

    def _send(self, psdu, delay):
        self.tx_frames += 1
        radio_sim.SimRadio._send(self, psdu, delay)

    def _queue(self, frame, rssi, lqi):
        self.rx_frames += 1
        radio_sim.SimRadio._queue(self, frame, rssi, lqi)


def _tap(node, into):
    orig = node.zb.on_app

    def tap(src, src_ep, dst_ep, cluster, profile, buf, off, n, now, sec=False):
        into.append((src, src_ep, dst_ep, cluster, bytes(buf[off:off + n])))
        orig(src, src_ep, dst_ep, cluster, profile, buf, off, n, now, sec)

    node.zb.on_app = tap


class GasBench:
    def __init__(self, report_s=300):
        self.medium = radio_sim.Medium(seed=3)
        self.clock = FakeClock()
        self.clock.set_time(T0)
        self.t = 0  # absolute microseconds (the medium's time; the ticks wrap)
        self.lines = []
        self.air = []  # (t, frame) on air, once sniff() is called (MicroPython's heap is small)
        self.regs = MeterRegisters(self.clock, MemoryFs())
        self.regs.boot(T0)
        self.view = RegistersView(self.regs)
        self.relayed = []
        self.hub_rx = []
        self.coord_store = RecordStore(MemoryFs())
        self.gas_store = RecordStore(MemoryFs())
        self.coord = self.boot_hub()
        self.gas = self.boot_gas(report_s)
        self.others = []

    def on_gas(self, litres, capture_utc, equipment_id):
        # What main wires: the registers' gas mailbox, ValueError taken as a refusal.
        self.relayed.append((litres, capture_utc, bytes(equipment_id)))
        try:
            return self.regs.gas.put(litres, capture_utc, equipment_id)
        except ValueError:
            return False

    def boot_hub(self, seed=1):
        self.hub = Hub(self.regs.clock, self.view, 3600, DST_EU, self.clock,
                       identity=(b"meter-fw", b"hub", b"0.1.0"), on_gas=self.on_gas)
        self.coord_radio = radio_sim.SimRadio(self.medium, (0.0, 0.0), 26)
        c = HanNode(self.coord_radio, self.clock, "coordinator", COORD, self.coord_store,
                    radio_sim.make_rng(seed).getrandbits, out=self.lines.append,
                    channel_mask=1 << 15, se=self.hub)
        c.start()
        _tap(c, self.hub_rx)
        return c

    def boot_gas(self, report_s=300, start_litres=START_L, seed=2):
        self.meter = GasMeter(self.clock, self.gas_store, EQUIPMENT_ID, report_s=report_s,
                              seed=SEED, start_litres=start_litres,
                              identity=(b"meter-fw", b"gas", b"0.1.0"))
        self.gas_radio = MeteredRadio(self.medium, (4.0, 0.0), 26)
        g = HanNode(self.gas_radio, self.clock, "gas", GAS, self.gas_store,
                    radio_sim.make_rng(seed).getrandbits, install_code=GAS_CODE,
                    out=self.lines.append, channel_mask=1 << 15, se=self.meter)
        g.start()
        return g

    def sniff(self):
        self.medium.sniffer = lambda t, f, n, ch, rssi, lqi: self.air.append((t, bytes(f[:n])))

    def kill(self, radio):
        radio.off()
        self.medium.radios.remove(radio)

    def run(self, seconds):
        self.t = run_medium(self.medium, self.clock, self.t, self.t + int(seconds * 1000000),
                            lambda: [n for n in [self.coord, self.gas] + self.others
                                     if n is not None])[0]


def _joined(report_s=300):
    b = GasBench(report_s)
    b.run(1)
    parse, apply = joiner_handler(b.coord)
    apply(parse(bytes([JOINER_ADD]) + GAS + GAS_CODE))
    b.run(9)
    assert "han zigbee joined short 0x0001 tclk verified" in b.lines
    return b


def reports(rx):
    """The Metering reports the hub received from the gas meter (short 0x0001), decoded
    by hand: [{attr: value}]."""
    out = []
    for src, src_ep, dst_ep, cluster, p in rx:
        if src != 0x0001 or cluster != 0x0702 or p[2] != 0x0A:
            continue
        # Global, server to client, default response disabled (the APS ack confirms).
        assert (src_ep, dst_ep, p[0]) == (1, 1, 0x18)
        recs = {}
        i = 3
        while i < len(p):
            a, t = p[i] | (p[i + 1] << 8), p[i + 2]
            i += 3
            if t == 0x25:  # uint48
                recs[a] = int.from_bytes(p[i:i + 6], "little")
                i += 6
            elif t == 0xE2:  # UTCTime, seconds since 2000
                recs[a] = int.from_bytes(p[i:i + 4], "little") + EPOCH2000
                i += 4
            elif t == 0x41:  # octet string
                recs[a] = bytes(p[i + 1:i + 1 + p[i]])
                i += 1 + p[i]
            else:
                raise AssertionError("type 0x%02x in a gas report" % t)
        out.append(recs)
    return out


def _check_values(reps, anchor_rep):
    s = Scenario(anchor_rep[0x0007], anchor_rep[0x0000])
    for r in reps:
        assert r[0x0000] == s.at(r[0x0007]), (r, s.ml)


def test_gas_meter_syncs_then_reports_every_5_minutes_into_the_mailbox():
    b = _joined()
    b.run(16 * 60)
    m = b.meter
    assert m.time.synced and m.syncs == 1
    # The meter's clock is the hub's, to the second.
    assert -1 <= m.utc(b.clock.ticks_us()) - b.clock.time() <= 1
    reps = reports(b.hub_rx)
    caps = [r[0x0007] for r in reps]
    # The first report follows the sync at once; then every 5 minutes on the hub clock's
    # 12:05, 12:10, 12:15 UTC marks.
    assert caps[0] - T0 < 15
    assert caps[1:] == [T0 + 300, T0 + 600, T0 + 900]
    # Every report: the summation and its capture time; the equipment identifier in the
    # first after the join only.
    assert all(sorted(r) == [0x0000, 0x0007] for r in reps[1:])
    assert sorted(reps[0]) == [0x0000, 0x0007, 0x0308]
    assert reps[0][0x0308] == EQUIPMENT_ID
    # The register: installed at 1 234.567 m3 at the first capture, then the scenario.
    assert reps[0][0x0000] == START_L
    _check_values(reps, reps[0])
    assert reps[-1][0x0000] > START_L
    # Each relayed as the mailbox takes it: litres, the meter's capture time, its id.
    assert b.relayed == [(r[0x0000], r[0x0007], EQUIPMENT_ID) for r in reps]
    g = b.regs.gas
    assert g.valid and g.device_type == 3 and g.readings == len(reps)
    assert (g.litres, g.capture_utc) == (reps[-1][0x0000], caps[-1])
    assert bytes(g.device_id[:g.device_id_len]) == EQUIPMENT_ID
    # ... which is the meter's own register at that capture.
    assert (m.reading.litres, m.reading.utc) == (g.litres, g.capture_utc)
    assert m.reports_sent == m.reports_acked == len(reps) and m.reports_lost == 0
    # The hub read the meter's units once (Read Attributes answered at a poll).
    assert b.hub.gas.reads == 1 and b.hub.gas.relayed == len(reps)


def _frames(air):
    """(t, MAC type, dst, src, first payload octet) of the frames on air with short
    addresses and a compressed PAN ID (every frame after the join), by hand (802.15.4-2006
    7.2.1)."""
    out = []
    for t, f in air:
        fc = f[0] | (f[1] << 8)
        if len(f) < 10 or (fc >> 10) & 3 != 2 or (fc >> 14) & 3 != 2 or not fc & 0x40:
            continue
        out.append((t, fc & 7, f[5] | (f[6] << 8), f[7] | (f[8] << 8), f[9]))
    return out


def test_the_hub_serves_the_sleepy_meter_only_by_indirect_transmission():
    b = _joined()
    b.sniff()
    b.run(11 * 60)
    frames = _frames(b.air)
    to_gas = [x for x in frames if x[1] == 1 and x[2] == 0x0001 and x[3] == 0x0000]
    polls = [x for x in frames if x[1] == 3 and x[3] == 0x0001 and x[4] == 0x04]
    assert to_gas and polls
    # Each data frame for the meter (APS acks, time and unit answers) leaves within a few
    # milliseconds of a data request from it (2006 7.5.6.3), never otherwise.
    for t, _, _, _, _ in to_gas:
        assert any(0 < t - p[0] < 20000 for p in polls), t
    # Between the reports it sleeps: its slow polls are 7 s apart.
    gaps = [polls[i + 1][0] - polls[i][0] for i in range(len(polls) - 1)]
    assert max(gaps) <= 7100000
    assert sum(1 for g in gaps if g >= 6900000) >= 60


def test_no_report_before_the_first_time_sync():
    b = GasBench()
    # The hub does not answer Time for a while (its Time server taken away): the meter
    # asks again and again, and reports nothing meanwhile.
    time_server = b.hub.router.servers.pop((1, 0x000A))
    b.run(1)
    parse, apply = joiner_handler(b.coord)
    apply(parse(bytes([JOINER_ADD]) + GAS + GAS_CODE))
    b.run(15 * 60)
    assert "han zigbee joined short 0x0001 tclk verified" in b.lines
    m = b.meter
    asks = [p for (src, _, _, cl, p) in b.hub_rx if cl == 0x000A and p[2] == 0x00]
    # Read Attributes of Time, TimeStatus, TimeZone, DstStart, DstEnd, DstShift,
    # ValidUntilTime; asked after 10, 20, 40 ... s: 7 times in 15 minutes.
    assert len(asks) == m.sync_requests == 7
    assert all(p[3:] == bytes.fromhex("0000" "0100" "0200" "0300" "0400" "0500" "0900")
               for p in asks)
    assert not m.time.synced and m.reports_sent == 0 and reports(b.hub_rx) == []
    assert not b.regs.gas.valid and b.relayed == []
    # Its Metering server has no capture to show: invalid values (ZCL Table 2-10).
    assert m.metering.attr(0x0000).get() == 0xFFFFFFFFFFFF
    assert m.metering.attr(0x0007).get() == 0xFFFFFFFF
    b.hub.router.servers[(1, 0x000A)] = time_server
    back = b.clock.time()
    b.run(11 * 60)  # the next ask comes within 600 s
    reps = reports(b.hub_rx)
    assert m.time.synced and reps
    assert reps[0][0x0007] >= back and reps[0][0x0000] == START_L
    assert b.regs.gas.valid and b.regs.gas.capture_utc == reps[-1][0x0007]


def test_gas_meter_reboot_keeps_its_register_and_reports_go_on():
    b = _joined()
    b.run(11 * 60)
    before = reports(b.hub_rx)
    assert len(before) == 3
    b.kill(b.gas_radio)
    b.gas = None
    b.run(20 * 60)  # twenty minutes without power: nothing from it
    assert len(reports(b.hub_rx)) == 3
    # Rebooted with a start value of 0: the register comes from its record store (saved
    # at the anchor, then hourly: it counts forward from there once it knows the time).
    b.gas = b.boot_gas(start_litres=0)
    r = b.meter.register
    assert b.meter.restored and (r.litres, r.utc) == (START_L, before[0][0x0007])
    b.run(11 * 60)
    assert "han zigbee resumed short 0x0001" in b.lines
    reps = reports(b.hub_rx)
    after = reps[3:]
    assert len(after) == 3
    # A new boot: synced again before reporting, the identifier in its first report.
    assert sorted(after[0]) == [0x0000, 0x0007, 0x0308]
    assert after[0][0x0007] >= before[-1][0x0007] + 20 * 60
    assert [r[0x0007] % 300 for r in after[1:]] == [0, 0]
    # The register went on as the scenario says through the outage: never backwards.
    _check_values(reps, before[0])
    assert after[0][0x0000] > before[-1][0x0000]
    g = b.regs.gas
    assert (g.litres, g.capture_utc) == (after[-1][0x0000], after[-1][0x0007])
    assert g.refused_backwards == 0 and g.refused_time == 0


def test_hub_reboot_reports_go_on():
    b = _joined()
    b.run(6 * 60)
    assert len(reports(b.hub_rx)) == 2
    b.kill(b.coord_radio)
    b.coord = b.boot_hub(seed=5)
    b.run(11 * 60)
    assert "han zigbee pan 0x4d45 channel 15 resumed" in b.lines
    reps = reports(b.hub_rx)
    assert len(reps) == 4
    assert [r[0x0007] for r in reps[2:]] == [T0 + 600, T0 + 900]
    _check_values(reps, reps[0])
    # The new hub knew nothing of the meter: it read its units and identifier once,
    # then relayed every report.
    assert b.hub.gas.reads == 1 and b.hub.gas.relayed == 2
    assert b.relayed[-2:] == [(r[0x0000], r[0x0007], EQUIPMENT_ID) for r in reps[2:]]
    g = b.regs.gas
    assert (g.litres, g.capture_utc) == (reps[-1][0x0000], reps[-1][0x0007])


def test_hub_away_for_minutes_the_meter_rejoins_and_reports_go_on():
    b = _joined()
    b.run(6 * 60)
    b.kill(b.coord_radio)
    b.coord = None
    b.run(7 * 60)  # the 12:10 report falls while the hub is away: the meter is rejoining
    b.coord = b.boot_hub(seed=5)
    b.run(12 * 60)
    assert "han zigbee parent lost" in b.lines and "han zigbee rejoined short 0x0001" in b.lines
    reps = reports(b.hub_rx)
    caps = [r[0x0007] for r in reps]
    # Nothing sent into the void: the missed mark is captured as soon as the meter is back
    # (with its identifier: a rejoin), then the 5-minute marks again.
    assert caps[1] == T0 + 300 and T0 + 13 * 60 <= caps[2] < T0 + 15 * 60
    assert caps[3:] == [T0 + 900, T0 + 1200, T0 + 1500]
    assert 0x0308 in reps[2] and all(0x0308 not in r for r in reps[3:])
    _check_values(reps, reps[0])
    m = b.meter
    assert m.reports_lost == 0 and m.reports_acked == m.reports_sent == len(reps)
    g = b.regs.gas
    assert (g.litres, g.capture_utc) == (reps[-1][0x0000], caps[-1])


def test_the_mirror_endpoint_answers_with_the_relayed_reading():
    b = _joined()
    # A reader on the network (the stand-in device, reporting once an hour).
    reader = HanNode(radio_sim.SimRadio(b.medium, (2.0, 2.0), 26), b.clock, "device", DEVICE,
                     RecordStore(MemoryFs()), radio_sim.make_rng(4).getrandbits,
                     install_code=CODE, out=b.lines.append, report_ms=3600000,
                     channel_mask=1 << 15)
    reader.start()
    b.others.append(reader)
    parse, apply = joiner_handler(b.coord)
    apply(parse(bytes([JOINER_ADD]) + DEVICE + CODE))
    b.run(6 * 60)
    got = []
    _tap(reader, got)
    reps = reports(b.hub_rx)
    assert len(reps) == 2
    litres, capture = reps[-1][0x0000], reps[-1][0x0007]
    # Read Attributes (seq 0x71) to the mirror, endpoint 2: CurrentSummationDelivered,
    # ReadingSnapShotTime, MeteringDeviceType, UnitOfMeasure, Divisor, SummationFormatting.
    req = bytes.fromhex("00" "71" "00" "0000" "0700" "0603" "0003" "0203" "0303")
    assert reader.zb.send(0x0000, 2, 0x0702, 0x0109, 1, req, len(req), b.clock.ticks_us())
    b.run(1)
    rsp = [p for (src, sep, dep, cl, p) in got if cl == 0x0702 and p[1] == 0x71]
    # The reading as the meter captured it; mirrored gas (0x80); m3 (enum8 0x01);
    # Divisor 1000 (uint24); F8(3,3): 5 left digits, 3 right = 0x2B.
    assert rsp == [bytes.fromhex("18" "71" "01")
                   + b"\x00\x00\x00\x25" + litres.to_bytes(6, "little")
                   + b"\x07\x00\x00\xe2" + (capture - EPOCH2000).to_bytes(4, "little")
                   + bytes.fromhex("0603" "00" "18" "80" "0003" "00" "30" "01"
                                   "0203" "00" "22" "e80300" "0303" "00" "18" "2b")]
    assert litres == b.meter.reading.litres and capture == b.meter.reading.utc
