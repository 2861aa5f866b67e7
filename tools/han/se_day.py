"""A simulated day of the house's Smart Energy HAN on the host (issue 12, "a long scenario"):
the meter as coordinator and trust centre with its hub (han/se/hub.py) over real registers,
a sleepy gas meter (han/se/gasmeter.py) and N in-home displays (han/se/ihd.py), each
registered by its install code through the configuration op OP_HAN_JOINER's handler, on
the simulated medium (han/radio_sim.py) in simulated time (hal.clock.FakeClock). Every
role is built by the firmware's own wiring (main.make_registers, app.han_setup.make_han),
so what runs is what a board runs; the house around it is tools/han/se_house.py.

This module holds the scenario: DaySim builds the house and runs the day second by
second, recording what the checks compare; the checks and the result are in
tools/han/se_day_checks.py (DayChecks, which DaySim extends), the command line
(python -m tools.han se-day) and the printed summary in tools/han/se_day_cli.py.

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
The HAN's AES block is the host's (se_house.host_aes) unless run(fast_aes=False).
"""
import json
import time
import tracemalloc
from collections import deque
from decimal import Decimal

from tools.han import se_house
# HEAP_GROWTH_MAX and TIER_BOUND_S stay readable here (se_day.HEAP_GROWTH_MAX: the tests).
from tools.han.se_day_checks import HEAP_GROWTH_MAX, TIER_BOUND_S, DayChecks  # noqa: F401
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
from registers.view import RegistersView  # noqa: E402

START_UTC = 1795647600  # Thursday 2026-11-26 00:00:00 CET (23:00:00 UTC the day before)
WARMUP_S = 180
PERIOD_S = 10  # the load's integration period, and P1's schedule
START_WH = (600000, 634567)  # tariff 1 and 2 registers at the start: 1 234.567 kWh
PRICES = (1, 978, [("low", 2100, 4), ("normal", 2650, 4)])  # NL tariff 1 low, 2 normal; EUR
LINE_KEEP = 20  # the last "han ..." lines kept per node
TIME_SAMPLE_S = 600  # every device's time against the hub's, every 10 minutes of the day


def _copy(a, b):
    # The records keep new ints, none the firmware allocated: tracemalloc counts an object
    # where it was allocated, so a kept one would look like the firmware's growth.
    return (a + 0, b + 0)


class DaySim(DayChecks):
    # The house and the day; what it records is checked by DayChecks (se_day_checks.py).
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
        self.time_err_ms = {}  # device: max |its UTC - the hub's| at the samples, ms
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
            t = radio_sim.advance(medium, clock, t, nxt,
                                  min((self._next_s - self.t0_utc) * 1000000, end_t))

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
        if utc >= self.start_utc and (utc - self.start_utc) % TIME_SAMPLE_S == 0:
            self._time_check()

    def _time_check(self):
        # Each device's estimate of the hub's UTC against the hub's clock (issue 13). One
        # clock for every node here: what shows is the sync's own error (the half second,
        # the round trip), no crystal drift (tests/unit/test_han_time_day.py has that).
        hub = self.clock.time_ms()
        now = self.clock.ticks_us()
        for name, se in [("gas", self.meter_gas)] + [
                ("ihd%d" % (i + 1), n.se) for i, (_, n) in enumerate(self.displays)]:
            u = se.utc_ms(now)
            if u is None:
                self.failures.append("%s: no time at %d" % (name, hub // 1000))
                continue
            e = abs(u - hub)
            if e >= 1000:
                self.failures.append("%s: %d ms off the hub's time at %d" % (
                    name, u - hub, hub // 1000))
            if e > self.time_err_ms.get(name, -1):
                self.time_err_ms[name] = e

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


def run(hours=24, displays=3, gas_report_s=300, seed=1, start_utc=START_UTC, pcap=None,
        trace=False, fast_aes=True):
    restore = se_house.host_aes() if fast_aes else None
    try:
        return DaySim(hours, displays, gas_report_s, seed, start_utc, pcap, trace).run()
    finally:
        if restore is not None:
            restore()

