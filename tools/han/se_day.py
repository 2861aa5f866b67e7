"""python -m tools.han se-day [--hours 24] [--displays 3] [--gas-report-s 300] [--seed N]
                             [--start UTC] [--pcap FILE] [--tracemalloc] [--json]

A simulated day of the house's Smart Energy HAN on the host (issue 12, "a long scenario"):
the meter as coordinator and trust centre with its hub (han/se/hub.py) over real registers,
a sleepy gas meter (han/se/gasmeter.py) and N in-home displays (han/se/ihd.py), each
registered by its install code through the configuration op OP_HAN_JOINER's handler, on
the simulated medium (han/radio_sim.py) in simulated time (hal.clock.FakeClock). Every
role is built by the firmware's own wiring (main.make_registers, app.han_setup.make_han),
so what runs is what a board runs; the house around it is tools/han/se_house.py.

The house: the registers advance through add_energy() every 10 s (an integration period)
at a deterministic load that changes each minute in steps of 360 W, so each period adds
whole Wh (NL's P1 prints the tariff registers, not the total: with whole Wh their sum is
the total the displays show, digit for digit). The market is nl, whose calendar switches
tariff at 07:00 and 23:00 local on weekdays (the default day is Thursday 2026-11-26 from
00:00 CET); prices for both tiers are set as OP_SET_PRICES sets them. The network forms
and every device joins and subscribes in the WARMUP_S before the day. P1: app.source's
MeterSource and h1's TelegramBuilder over the same registers, a telegram every 10 s and
right after each gas reading reaches the registers' mailbox, each parsed by dsmr_parser
(V5, CRC checked).

Checks (exit status 1 when one fails):
  gas       every report the gas meter sent (its own JSON lines: value, capture time)
            reached the mailbox and P1, in order, none lost, reordered or duplicated;
            one captured on each multiple of gas_report_s in the day; each display took
            every reading relayed in the day from the hub's mirror, in order
  displays  at the last second of each hour each display shows the P1 telegram's kWh
            (1-0:1.8.1 + 1-0:1.8.2), kW (1-0:1.7.0), tier (0-0:96.14.0), gas m3 and
            capture time (0-1:24.2.1: the last relayed reading)
  tariff    after each switch every display shows the new tier within the display's
            shortest maximum reporting interval (ihd_peer.DEMAND_REPORTING, 30 s)
  heap      after gc.collect() at the end of hour 1 and at the end (and each hour): the
            bytes retained by the firmware (tools/han/heap.py), and with --tracemalloc
            tracemalloc's traced size of the firmware's allocations; growth at most
            HEAP_GROWTH_MAX
Figures: the gas meter's duty cycle (transceiver on / day), frames sent and received and
polls per day; frames per display; transmissions and collisions on air; the run time.
The HAN's AES block is the host's (se_house.host_aes) unless --python-aes.
"""
import json
import sys
import time
import tracemalloc
from collections import deque
from decimal import Decimal

from tools.han import heap, se_house
from tools.han.se_house import (CONFIG_KEY, GAS_EUI, GAS_ID, METER_EUI, METER_ID,
                                NETWORK_KEY, DeviceFlash, Hal, HouseLoad, MeteredRadio,
                                display_eui, install_code)

import main as firmware_main  # noqa: E402  (firmware/ is on the path: se_house)
from app.han_setup import make_han  # noqa: E402
from app.provision import Provisioning  # noqa: E402
from app.source import MeterSource  # noqa: E402
from h1 import profiles  # noqa: E402
from h1.builder import TelegramBuilder  # noqa: E402
from h1.snapshot import MeterSnapshot  # noqa: E402
from hal.clock import FakeClock  # noqa: E402
from han import radio_sim  # noqa: E402
from han.node import JOINER_ADD, joiner_handler  # noqa: E402
from han.se import ihd_peer  # noqa: E402
from han.se.price import PriceConfig  # noqa: E402
from han.se.time import ZCL_EPOCH_UNIX  # noqa: E402
from registers.memfs import MemoryFs  # noqa: E402
from registers.view import RegistersView  # noqa: E402

START_UTC = 1795647600  # Thursday 2026-11-26 00:00:00 CET (23:00:00 UTC the day before)
WARMUP_S = 180
PERIOD_S = 10  # the load's integration period, and P1's schedule
START_WH = (600000, 634567)  # tariff 1 and 2 registers at the start: 1 234.567 kWh
PRICES = (1, 978, [("low", 2100, 4), ("normal", 2650, 4)])  # NL tariff 1 low, 2 normal; EUR
TIER_BOUND_S = ihd_peer.DEMAND_REPORTING[1]
# The firmware's heap must not grow: its tables and logs are bounded, and what accumulates
# goes to flash (here MemoryFs, left out). What may differ between hour 1 and the end is
# the size of values replaced in place: on CPython a counter passing 256 leaves the shared
# small-int cache and becomes an object of its own (28 B; a day of this scenario: about 55
# of them, 1.5 kB, in both measures; MicroPython keeps ints below 2**30 unboxed), and the
# slack of dicts and lists still filling at hour 1. 16 KiB is 10 % of the whole meter's
# live heap on the emulated board (README: 154 864 B after collection) and far below a
# leak of anything per frame or per report (a day has about 10**5 frames: one byte each
# is 100 kB).
HEAP_GROWTH_MAX = 16384
LINE_KEEP = 20  # the last "han ..." lines kept per node


def _copy(a, b):
    # The records keep new ints, none the firmware allocated: tracemalloc counts an object
    # where it was allocated, so a kept one would look like the firmware's growth.
    return (a + 0, b + 0)


class DaySim:
    def __init__(self, hours=24, displays=3, gas_report_s=300, seed=1, start_utc=START_UTC,
                 pcap=None, trace=False):
        if hours < 1 or displays < 0:
            raise ValueError("hours >= 1, displays >= 0")
        self.hours = hours
        self.trace = trace
        self.start_utc = start_utc
        self.end_utc = start_utc + hours * 3600
        self.gas_report_s = gas_report_s
        self.t0_utc = start_utc - WARMUP_S
        self.clock = clock = FakeClock(utc=self.t0_utc)
        self.medium = radio_sim.Medium(seed=seed)
        self._pcap = None
        if pcap:
            from han.pcap import PcapWriter

            self._pcap = open(pcap, "wb")
            self.medium.sniffer = PcapWriter(self._pcap, 195).write
        self.lines = {}
        self.gas_sent = []  # (litres, capture utc) as the gas meter's JSON lines say
        market = profiles.by_name("nl")
        # The meter: registers on its flash, the house's load, the hub, P1.
        self.coord_radio = MeteredRadio(self.medium, (0.0, 0.0), 26)
        hal = Hal("sim-meter", clock, self.coord_radio, flash=object())
        self.regs = regs = firmware_main.make_registers(hal, market)
        tariff = regs.energy.tariff  # the calendar's, set at boot
        for t, wh in enumerate(START_WH):
            regs.energy.set_tariff(t + 1)
            regs.add_energy(wh * 1000, 0, 0, 0, 0, 0)
        regs.energy.set_tariff(tariff)
        self.view = RegistersView(regs)
        self.load = HouseLoad(seed)
        self.load.set(regs.clock.local(self.t0_utc))
        record = Provisioning(serial=b"SEDAY-METER", p1_equipment_id=METER_ID,
                              han_eui64=METER_EUI, config_key=CONFIG_KEY,
                              han_network_key=NETWORK_KEY)
        self.coord = make_han(hal, "coordinator", record, regs, out=self._out("meter"),
                              view=self.view, market=market, metrology=self.load)
        self.hub = self.coord.se
        self.hub.set_prices(PriceConfig(*PRICES))  # what OP_SET_PRICES applies
        self.source = MeterSource(clock, self.view, self.load,
                                  std_offset_s=market.std_offset_s, identity=METER_ID)
        self.builder = TelegramBuilder(market)
        self.snap = MeterSnapshot()
        from dsmr_parser import telegram_specifications
        from dsmr_parser.parsers import TelegramParser

        self.parser = TelegramParser(telegram_specifications.V5,
                                     apply_checksum_validation=True)
        # The devices, each admitted by its install code (OP_HAN_JOINER).
        join = joiner_handler(self.coord)
        self.gas_radio, self.gas = self._device("gas", GAS_EUI, install_code(0), (4.0, 0.0),
                                                join, p1_equipment_id=GAS_ID,
                                                gas_report_s=gas_report_s)
        self.meter_gas = self.gas.se
        self.displays = [self._device("ihd%d" % (i + 1), display_eui(i), install_code(i + 1),
                                      (2.0 + 1.5 * i, 3.0), join) for i in range(displays)]
        self.nodes = [self.coord, self.gas] + [n for _, n in self.displays]
        self.radios = [self.coord_radio, self.gas_radio] + [r for r, _ in self.displays]
        for n in self.nodes:
            n.start()
        # What the checks compare.
        self.mailbox = []  # (litres, capture) each time the mailbox's reading changed
        self._gas_version = regs.gas.version
        self.p1_gas = []  # distinct successive (litres, capture) of the P1 telegrams
        self.shown_gas = [[] for _ in self.displays]  # the same, of each display's mirror
        self.telegrams = 0
        self.p1_errors = []
        self.hourly = []
        self.failures = []
        self.switches = []  # [utc, from, to, {display: latency ms}]
        self._tariff = regs.energy.tariff
        self.heap = {}
        self._next_s = self.t0_utc  # the UTC second whose tick is next
        self._base = None
        self.wall_s = 0.0

    def _out(self, name):
        keep = deque(maxlen=LINE_KEEP)
        self.lines[name] = keep

        def out(line):
            if line.startswith('{"device": "gas"'):
                j = json.loads(line, parse_float=Decimal)
                self.gas_sent.append((int(j["m3"] * 1000), j["captured"]))
            keep.append(line)
        return out

    def _device(self, name, eui, code, pos, join, p1_equipment_id=None, **kw):
        radio = MeteredRadio(self.medium, pos, 26)
        record = Provisioning(serial=name.upper().encode(), han_eui64=eui,
                              han_install_code=code, p1_equipment_id=p1_equipment_id)
        node = make_han(Hal("sim-" + name, self.clock, radio),
                        "gas" if name == "gas" else "display", record, DeviceFlash(),
                        out=self._out(name), **kw)
        parse, apply = join
        apply(parse(bytes([JOINER_ADD]) + eui + code))
        return radio, node

    # --- the run -----------------------------------------------------------------------
    def run(self):
        wall = time.perf_counter()
        tracing = self.trace and not tracemalloc.is_tracing()
        if tracing:
            tracemalloc.start()
        try:
            self._loop((self.end_utc - self.t0_utc) * 1000000)
            self._heap("end")
        finally:
            if tracing:
                tracemalloc.stop()
            if self._pcap is not None:
                self._pcap.close()
        self.wall_s = time.perf_counter() - wall
        return self.result()

    def _loop(self, end_t):
        # Each node is stepped when it asked to be (its wait), when a frame waits in its
        # radio, and when its own transmission has ended (the MAC waits for that without
        # a timer). Stepping every node whenever any of them wakes (tests/unit/zb_net.py)
        # behaves the same at several times the cost.
        clock, medium, nodes, radios = self.clock, self.medium, self.nodes, self.radios
        n_nodes = len(nodes)
        due = [0] * n_nodes
        ended = [None] * n_nodes
        t = 0
        while t < end_t:
            medium.advance(t)
            if clock.time() >= self._next_s:
                self._tick(self._next_s)
                self._next_s += 1
            now = clock.ticks_us()
            nxt = end_t
            for i in range(n_nodes):
                r = radios[i]
                tx = r._tx
                if tx is not None and tx.end <= t and tx is not ended[i]:
                    ended[i] = tx
                    due[i] = t
                if due[i] <= t or r._rxq:
                    w = nodes[i].step(now)
                    due[i] = t + w if w >= 0 else end_t
                if due[i] < nxt:
                    nxt = due[i]
            self._watch()
            ev = medium.next_event()
            if ev is not None and ev < nxt:
                nxt = ev
            nxt = min(max(nxt, t + 1), (self._next_s - self.t0_utc) * 1000000, end_t)
            clock.advance_us(nxt - t)
            t = nxt

    def _tick(self, utc):
        regs = self.regs
        if utc == self.start_utc:
            self._day_start()
        if utc % PERIOD_S == 0:
            self.load.integrate(regs, PERIOD_S)  # the period that ends now
            self.load.set(regs.clock.local(utc))
        regs.step(utc)
        if regs.energy.tariff != self._tariff:
            self.switches.append([utc, self._tariff, regs.energy.tariff, {}])
            self._tariff = regs.energy.tariff
        if utc % PERIOD_S == 0:
            self._telegram(utc)
        if utc >= self.start_utc and (utc + 1 - self.start_utc) % 3600 == 0:
            self._hour_check(utc)

    def _watch(self):
        g = self.regs.gas
        if g.version != self._gas_version:
            self._gas_version = g.version
            self.mailbox.append(_copy(g.litres, g.capture_utc))
            self._telegram(self.clock.time())
        for i in range(len(self.displays)):
            p = self.displays[i][1].se.gas
            if p is not None and p.snapshot is not None:
                seen = self.shown_gas[i]
                got = _copy(p.summation, p.snapshot + ZCL_EPOCH_UNIX)
                if not seen or seen[-1] != got:
                    seen.append(got)
        for sw in self.switches:
            if len(sw[3]) < len(self.displays):
                for i, (_, node) in enumerate(self.displays):
                    name = "ihd%d" % (i + 1)
                    if name not in sw[3] and node.se.tier == sw[2]:
                        sw[3][name] = self.clock.time_ms() - sw[0] * 1000

    def _day_start(self):
        self._base = {"radios": [r.counts() for r in self.radios],
                      "polls": self.gas.mac.polls, "fast_polls": self.meter_gas.fast_polls,
                      "syncs": self.meter_gas.syncs, "tx": self.medium.transmissions,
                      "collisions": self.medium.collisions,
                      "resubscribed": [n.se.resubscribed for _, n in self.displays]}
        for i, (_, node) in enumerate(self.displays):
            d = node.se
            if d.elec is None or d.elec.state != ihd_peer.P_SUBSCRIBED or d.gas is None \
                    or d.gas.state != ihd_peer.P_SUBSCRIBED:
                self.failures.append("ihd%d not subscribed when the day starts" % (i + 1))

    # --- P1 ----------------------------------------------------------------------------
    def _telegram(self, utc):
        self.source.capture(self.snap, utc)
        n = self.builder.build(self.snap)
        text = bytes(self.builder.buf[:n]).decode("ascii")
        self.telegrams += 1
        try:
            t = self.parser.parse(text, throw_ex=True)
        except Exception as e:  # dsmr_parser's parse and checksum errors
            self.p1_errors.append("%d: %s" % (utc, e))
            return None
        reading = getattr(t, "MBUS_METER_READING", None)
        if reading is not None:
            got = (int(reading.value * 1000), int(reading.datetime.timestamp()))
            if not self.p1_gas or self.p1_gas[-1] != got:
                self.p1_gas.append(got)
        return t

    # --- checks ------------------------------------------------------------------------
    def _hour_check(self, utc):
        hour = (utc + 1 - self.start_utc) // 3600
        t = self._telegram(utc)
        g = self.regs.gas
        row = {"hour": hour, "utc": utc, "tariff": self.regs.energy.tariff,
               "displays_ok": 0}
        self.hourly.append(row)
        if t is None or not g.valid:
            self.failures.append("hour %d: no P1 telegram parsed, or no gas reading" % hour)
            return
        gas = t.MBUS_METER_READING
        row.update(kwh="%010.3f" % (t.ELECTRICITY_USED_TARIFF_1.value
                                    + t.ELECTRICITY_USED_TARIFF_2.value),
                   kw="%06.3f" % t.CURRENT_ELECTRICITY_USAGE.value,
                   p1_tier=int(t.ELECTRICITY_ACTIVE_TARIFF.value),
                   gas_m3="%09.3f" % gas.value)
        expect = {"kwh": row["kwh"], "kw": row["kw"], "tier": self.regs.energy.tariff,
                  "gas_m3": row["gas_m3"], "gas_captured": g.capture_utc}
        if row["p1_tier"] != row["tariff"]:
            self.failures.append("hour %d: P1's tariff %d, the registers' %d" % (
                hour, row["p1_tier"], row["tariff"]))
        if (int(gas.value * 1000), int(gas.datetime.timestamp())) != (g.litres,
                                                                      g.capture_utc):
            self.failures.append("hour %d: P1's gas reading is not the mailbox's" % hour)
        for i, (_, node) in enumerate(self.displays):
            v = node.se.view()
            bad = [k for k in expect if v[k] != expect[k]]
            if bad:
                self.failures.append("hour %d: ihd%d shows %s, P1 and the meter %s" % (
                    hour, i + 1, {k: v[k] for k in bad}, {k: expect[k] for k in bad}))
            else:
                row["displays_ok"] += 1
        self._heap("hour%d" % hour)
        row["heap_retained"] = self.heap["hour%d" % hour]["retained"]

    def _heap(self, label):
        roots = heap.firmware_modules() + [self.nodes, self.regs, self.view, self.source,
                                           self.builder, self.snap, self.medium, self.clock]
        size, objects = heap.retained(roots, (MemoryFs,))
        h = {"retained": size, "objects": objects}
        if label == "end" or label == "hour1":
            traced = heap.traced()  # a snapshot costs: at the two points compared only
            if traced is not None:
                h.update(traced)
        self.heap[label] = h

    def _gas_checks(self):
        sent = self.gas_sent
        if self.meter_gas.reports_sent != len(sent):
            self.failures.append("gas meter counted %d reports, printed %d" % (
                self.meter_gas.reports_sent, len(sent)))
        for what, seq in (("mailbox", self.mailbox), ("P1", self.p1_gas)):
            if seq != sent:
                k = 0
                while k < min(len(seq), len(sent)) and seq[k] == sent[k]:
                    k += 1
                self.failures.append("gas: %s has %d readings, the meter sent %d; first "
                                     "difference at #%d" % (what, len(seq), len(sent), k))
        caps = [c for _, c in sent]
        if any(caps[i + 1] <= caps[i] for i in range(len(caps) - 1)):
            self.failures.append("gas: capture times not increasing")
        in_day = [x for x in self.mailbox if self.start_utc <= x[1] < self.end_utc]
        # A capture on each multiple of the report interval on the hub's clock (gasmeter.py).
        rs = self.gas_report_s
        expected = len(range((self.start_utc + rs - 1) // rs * rs, self.end_utc, rs))
        captured = len([c for c in caps if self.start_utc <= c < self.end_utc])
        if captured != expected:
            self.failures.append("gas: %d reports captured in the day, expected %d" % (
                captured, expected))
        shown = []
        for i, seen in enumerate(self.shown_gas):
            got = [x for x in seen if self.start_utc <= x[1] < self.end_utc]
            shown.append(len(got))
            if got != in_day:
                self.failures.append("gas: ihd%d took %d of the %d readings relayed in the "
                                     "day" % (i + 1, len([x for x in got if x in in_day]),
                                              len(in_day)))
        g, m = self.regs.gas, self.meter_gas
        if g.refused_time or g.refused_backwards or g.refused_future or m.reports_lost:
            self.failures.append("gas: refused %d/%d/%d (time/backwards/future), lost %d" % (
                g.refused_time, g.refused_backwards, g.refused_future, m.reports_lost))
        return expected, shown

    def result(self):
        expected, shown = self._gas_checks()
        for sw in self.switches:
            late = [n for n, ms in sw[3].items() if ms > TIER_BOUND_S * 1000]
            if len(sw[3]) < len(self.displays) or late:
                self.failures.append("tariff %d -> %d at %d: %d of %d displays in %d s" % (
                    sw[1], sw[2], sw[0], len(sw[3]) - len(late), len(self.displays),
                    TIER_BOUND_S))
        if self.p1_errors:
            self.failures.append("P1: dsmr_parser refused %d telegrams, the first %s" % (
                len(self.p1_errors), self.p1_errors[0]))
        growth = {}
        for k in ("retained", "firmware"):
            if k in self.heap["end"] and k in self.heap.get("hour1", {}):
                growth[k] = self.heap["end"][k] - self.heap["hour1"][k]
                if growth[k] > HEAP_GROWTH_MAX:
                    self.failures.append("heap: %s grew %d B from hour 1 to the end (max %d)"
                                         % (k, growth[k], HEAP_GROWTH_MAX))
        base = self._base["radios"] if self._base else [(0,) * 5] * len(self.radios)
        per_day = 24.0 / self.hours
        b = self._base or {}
        radios = []
        for i, r in enumerate(self.radios):
            on, tx, rx, tx_acks, rx_acks = [x - y for x, y in zip(r.counts(), base[i])]
            radios.append({"on_us": on, "tx": tx, "rx": rx, "tx_acks": tx_acks,
                           "rx_acks": rx_acks, "frames_per_day": round((tx + rx) * per_day),
                           "acks_per_day": round((tx_acks + rx_acks) * per_day)})
        gas = radios[1]
        displays = []
        for i, (_, node) in enumerate(self.displays):
            d = dict(radios[2 + i], name="ihd%d" % (i + 1), gas_readings_taken=shown[i],
                     resubscribed=node.se.resubscribed - b.get("resubscribed", [0] * 9)[i],
                     malformed=node.se.malformed)
            del d["on_us"]
            displays.append(d)
        m = self.meter_gas
        return {
            "ok": not self.failures, "failures": self.failures,
            "hours": self.hours, "displays": len(self.displays), "start_utc": self.start_utc,
            "gas_report_s": self.gas_report_s, "run_s": round(self.wall_s, 1),
            "gas_reports_sent": len(self.gas_sent),
            "gas_reports_in_day": len([x for x in self.gas_sent
                                       if self.start_utc <= x[1] < self.end_utc]),
            "gas_reports_expected": expected, "gas_mailbox": len(self.mailbox),
            "gas_in_p1": len(self.p1_gas), "gas_duplicates": self.regs.gas.duplicates,
            "gas_acked": m.reports_acked, "gas_lost": m.reports_lost,
            "gas_first": list(self.gas_sent[0]) if self.gas_sent else None,
            "gas_last": list(self.gas_sent[-1]) if self.gas_sent else None,
            "gas_duty_cycle_pct": round(100.0 * gas["on_us"] / (self.hours * 3600e6), 4),
            "gas_on_s": round(gas["on_us"] / 1e6, 1),
            "gas_frames_tx": gas["tx"], "gas_frames_rx": gas["rx"],
            "gas_acks_tx": gas["tx_acks"], "gas_acks_rx": gas["rx_acks"],
            "gas_frames_per_day": gas["frames_per_day"], "gas_acks_per_day": gas["acks_per_day"],
            "gas_polls": self.gas.mac.polls - b.get("polls", 0),
            "gas_fast_polls": m.fast_polls - b.get("fast_polls", 0),
            "gas_time_syncs": m.syncs - b.get("syncs", 0),
            "hub_frames_per_day": radios[0]["frames_per_day"],
            "display_frames": displays,
            "tariff_switches": [{"utc": s[0], "from": s[1], "to": s[2], "latency_ms": s[3]}
                                for s in self.switches],
            "hourly": self.hourly, "p1_telegrams": self.telegrams,
            "air_transmissions": self.medium.transmissions - b.get("tx", 0),
            "air_collisions": self.medium.collisions - b.get("collisions", 0),
            "heap_hour1": self.heap.get("hour1"), "heap_end": self.heap["end"],
            "heap_growth": growth, "heap_growth_max": HEAP_GROWTH_MAX,
            "network_key": NETWORK_KEY.hex().upper(),
            "install_codes": [install_code(i).hex().upper()
                              for i in range(len(self.displays) + 1)],
        }


def run(hours=24, displays=3, gas_report_s=300, seed=1, start_utc=START_UTC, pcap=None,
        trace=False, fast_aes=True):
    restore = se_house.host_aes() if fast_aes else None
    try:
        return DaySim(hours, displays, gas_report_s, seed, start_utc, pcap, trace).run()
    finally:
        if restore is not None:
            restore()


def add_parser(sub):
    p = sub.add_parser("se-day", help="a simulated day of the Smart Energy HAN: meter and "
                                      "hub, gas meter, displays, P1 (tools/han/se_day.py)")
    p.add_argument("--hours", type=int, default=24)
    p.add_argument("--displays", type=int, default=3)
    p.add_argument("--gas-report-s", type=int, default=300)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", type=int, default=START_UTC,
                   help="UTC second the day starts (default Thu 2026-11-26 00:00 CET)")
    p.add_argument("--pcap", help="write every transmission to this pcap file")
    p.add_argument("--tracemalloc", action="store_true",
                   help="also trace the heap with tracemalloc (about 5x slower)")
    p.add_argument("--python-aes", action="store_true",
                   help="the firmware's Python AES block (default: the host's)")
    p.add_argument("--json", action="store_true")


def main(a):
    r = run(a.hours, a.displays, a.gas_report_s, a.seed, a.start, a.pcap, a.tracemalloc,
            not a.python_aes)
    print(json.dumps(r) if a.json else summary(r))
    return 0 if r["ok"] else 1


def summary(r):
    out = [
        "se-day: %d h, %d displays, run %.1f s: %s" % (
            r["hours"], r["displays"], r["run_s"], "OK" if r["ok"] else "FAILED"),
        "gas: %d reports sent (%d captured in the day, %d expected), %d in the mailbox, %d "
        "in P1, %d acked, %d lost, %d duplicates" % (
            r["gas_reports_sent"], r["gas_reports_in_day"], r["gas_reports_expected"],
            r["gas_mailbox"], r["gas_in_p1"], r["gas_acked"], r["gas_lost"],
            r["gas_duplicates"]),
        "gas meter: duty cycle %.4f %% (%.1f s on), %d frames sent + %d received = %d a day "
        "(and %d + %d ACKs = %d a day), %d polls (%d fast), %d time syncs" % (
            r["gas_duty_cycle_pct"], r["gas_on_s"], r["gas_frames_tx"], r["gas_frames_rx"],
            r["gas_frames_per_day"], r["gas_acks_tx"], r["gas_acks_rx"],
            r["gas_acks_per_day"], r["gas_polls"], r["gas_fast_polls"], r["gas_time_syncs"]),
    ]
    for d in r["display_frames"]:
        out.append("%s: %d frames sent + %d received = %d a day (and %d + %d ACKs), %d gas "
                   "readings taken, resubscribed %d" % (
                       d["name"], d["tx"], d["rx"], d["frames_per_day"], d["tx_acks"],
                       d["rx_acks"], d["gas_readings_taken"], d["resubscribed"]))
    for s in r["tariff_switches"]:
        out.append("tariff %d -> %d at %d: on the displays after %s ms" % (
            s["from"], s["to"], s["utc"], sorted(s["latency_ms"].values())))
    out.append("hourly: %d display views checked against P1, %d agreed" % (
        len(r["hourly"]) * r["displays"], sum(h["displays_ok"] for h in r["hourly"])))
    out.append("P1: %d telegrams; air: %d transmissions, %d collisions" % (
        r["p1_telegrams"], r["air_transmissions"], r["air_collisions"]))
    h1, h2, g = r["heap_hour1"] or {}, r["heap_end"], r["heap_growth"]
    hours = [h["heap_retained"] for h in r["hourly"] if "heap_retained" in h]
    out.append("heap retained by the firmware: hour 1 %s B, end %d B, growth %s B (max %d); "
               "hourly %d .. %d B" % (h1.get("retained"), h2["retained"], g.get("retained"),
                                      r["heap_growth_max"], min(hours or [0]),
                                      max(hours or [0])))
    if "firmware" in h2:
        out.append("heap traced (tracemalloc), the firmware's allocations: hour 1 %s B, end "
                   "%d B, growth %s B; everything traced %s -> %d B" % (
                       h1.get("firmware"), h2["firmware"], g.get("firmware"),
                       h1.get("traced"), h2["traced"]))
    for f in r["failures"]:
        out.append("FAIL " + f)
    return "\n".join(out)
