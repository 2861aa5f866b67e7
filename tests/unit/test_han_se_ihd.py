# The in-home display (firmware/han/se/ihd.py) as the firmware's HAN node runs it (role
# "display"), joined to the hub of tests/unit/test_han_se_hub.py (han/se/hub.py over real
# registers) on the simulated medium: it finds the meter and the gas mirror by Match_Desc,
# reads their units, subscribes, shows the registers' kWh with the very digits P1 prints
# (the telegram built by h1's builder from the same registers), follows a message set as
# the configuration path sets it and confirms it, follows a tariff switch, and subscribes
# again after the hub reboots. Expected octets and values worked by hand from ZCL (07-5123)
# and SE 1.4. Portable: tiers 1 and 2.
from hal.clock import FakeClock
from h1 import profiles
from h1.builder import TelegramBuilder
from h1.snapshot import MeterSnapshot
from han import radio_sim
from han.node import JOINER_ADD, HanNode, joiner_handler
from han.se import ihd
from han.se import ihd_peer as ip
from han.se.hub import Hub
from han.se.price import PriceConfig
from han.zcl import frame as zf
from registers.clock import DST_EU
from registers.energy import TOTAL_IMPORT, tariff_import_index
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from registers.store import RecordStore
from registers.view import RegistersView
from support import NoAllocation
from test_han_node import CODE, COORD, DEVICE, Bench

T0 = 1795694400  # 2026-11-26 12:00:00 UTC
GAS_ID = b"G4-0001"


class IhdBench(Bench):
    """The hub (coordinator, prices for two tiers, 1193 W of demand, a gas reading on its
    mirror) and one display, DEVICE with CODE (test_han_node's: tshark is given its key)."""

    def __init__(self, text=b""):
        self.medium = radio_sim.Medium(seed=3)
        self.clock = FakeClock()
        self.clock.set_time(T0)
        self.sniffed = []
        self.lines = []
        self.confirmed = []
        self.coord_store = RecordStore(MemoryFs())
        self.dev_store = RecordStore(MemoryFs())
        self.regs = MeterRegisters(self.clock, MemoryFs())
        self.regs.boot(T0)
        self.regs.energy.wh[TOTAL_IMPORT] = 1234567  # Wh
        self.regs.energy.wh[tariff_import_index(1)] = 1234567
        self.regs.gas.put(12785123, T0 - 60, GAS_ID)  # litres, captured a minute ago
        if text:
            self.regs.text.set(text)  # as the configuration path's OP_SET_TEXT_MESSAGE
        self.view = RegistersView(self.regs)
        self.coord = self.boot_coordinator()
        self.ihd = self.make_display()
        self.device = HanNode(radio_sim.SimRadio(self.medium, (4.0, 0.0), 26), self.clock,
                              "display", DEVICE, self.dev_store,
                              radio_sim.make_rng(2).getrandbits, install_code=CODE,
                              out=self.lines.append, channel_mask=1 << 15, se=self.ihd)
        self.sent = []  # (dst, dst_ep, cluster, payload) the display sent
        for obj in (self.ihd.router, self.device.zb):
            self._tap(obj)
        self.device.start()

    def _tap(self, obj):
        orig = obj.send

        def send(dst, dst_ep, cluster, profile, src_ep, payload, n, now, *a):
            r = orig(dst, dst_ep, cluster, profile, src_ep, payload, n, now, *a)
            if r:
                self.sent.append((dst, dst_ep, cluster, bytes(payload[:n])))
            return r
        obj.send = send

    def make_display(self):
        return ihd.Display(self.clock, identity=(b"meter-fw", b"ihd", b"0.1.0"))

    def make_hub(self, **more):
        prices = PriceConfig(1, 978, [("low", 2100, 4), ("normal", 2650, 4)])  # EUR/kWh
        return Hub(self.regs.clock, self.view, 3600, DST_EU, self.clock,
                   identity=(b"meter-fw", b"hub", b"0.1.0"), prices=prices,
                   power_w=lambda: 1193, on_confirmed=self._confirmed, **more)

    def boot_coordinator(self, seed=1):
        self.hub = self.make_hub()
        # Today's consumption: the import total at local midnight was 1 230 000 Wh.
        self.hub.electricity.restore(day_base=1230000)
        self.coord_radio = radio_sim.SimRadio(self.medium, (0.0, 0.0), 26)
        c = HanNode(self.coord_radio, self.clock, "coordinator", COORD, self.coord_store,
                    radio_sim.make_rng(seed).getrandbits, out=self.lines.append,
                    channel_mask=1 << 15, se=self.hub)
        c.start()
        return c

    def _confirmed(self, message_id, utc, src):
        self.confirmed.append((message_id, utc))

    def add_wh(self, wh):
        self.regs.energy.wh[TOTAL_IMPORT] += wh
        self.regs.energy.wh[tariff_import_index(self.regs.energy.tariff)] += wh


def _joined(text=b""):
    b = IhdBench(text)
    b.run(2)
    parse, apply = joiner_handler(b.coord)
    apply(parse(bytes([JOINER_ADD]) + DEVICE + CODE))
    b.run(12)
    assert "han zigbee joined short 0x0001 tclk verified" in b.lines
    return b


def _p1_values(b):
    """The LU telegram (it prints 1-0:1.8.0, 1-0:1.7.0 and the gas line) of the registers:
    OBIS -> the value P1 shows."""
    s = MeterSnapshot()
    v = b.view
    s.import_total_wh = v.total_import_wh()
    s.power_import_w = 1193
    s.mbus_valid = 1
    s.set_mbus_id(GAS_ID)
    s.gas_litres = v.gas_litres()
    s.gas_utc = v.gas_capture_utc()
    s.utc = v.utc()
    builder = TelegramBuilder(profiles.by_name("lu"))
    n = builder.build(s)
    out = {}
    for line in bytes(builder.buf[:n]).decode().split("\r\n"):
        if "(" in line:
            obis = line[:line.index("(")]
            value = line[line.rindex("(") + 1:line.rindex(")")]
            out[obis] = value.split("*")[0]
    return out


def test_the_display_finds_the_meter_and_the_mirror_and_subscribes():
    b = _joined()
    d = b.ihd
    # Match_Desc_req to the hub: seq, NWKAddrOfInterest 0x0000, profile 0x0109, one input
    # cluster 0x0702, no output cluster.
    zdo = [p for (dst, ep, cl, p) in b.sent if cl == 0x0006]
    assert zdo and zdo[0][1:] == bytes.fromhex("0000" "0901" "01" "0207" "00")
    assert d.elec.ep == 1 and d.gas.ep == 2
    assert d.elec.state == ip.P_SUBSCRIBED and d.gas.state == ip.P_SUBSCRIBED
    # Configure Reporting (fc 0x00, cmd 0x06), direction 0 records: InstantaneousDemand
    # 0x0400 int24 (0x2A) min 1 max 30 change 1 W; CurrentSummationDelivered uint48 (0x25)
    # min 5 max 60 change 1 Wh; CurrentDayConsumptionDelivered 0x0401 uint24 (0x22) min 5
    # max 300 change 1 Wh.
    cfg = [(ep, p) for (dst, ep, cl, p) in b.sent if cl == 0x0702 and p[2] == 0x06]
    assert (1, bytes([0x00, cfg[0][1][1], 0x06]) + bytes.fromhex(
        "00" "0004" "2a" "0100" "1e00" "010000"
        "00" "0000" "25" "0500" "3c00" "010000000000"
        "00" "0104" "22" "0500" "2c01" "010000")) in cfg
    # The mirror: gas summation min 1 max 900 change 1 L; ReadingSnapShotTime 0x0007 UTC
    # (0xE2) min 1 max 900 change 1 s.
    gas = [p for (ep, p) in cfg if ep == 2]
    assert gas and gas[0][3:] == bytes.fromhex("00" "0000" "25" "0100" "8403" "010000000000"
                                               "00" "0700" "e2" "0100" "8403" "01000000")
    # The hub holds 5 reporting slots for the display (short 0x0001).
    e = b.hub.engine
    assert e.used() == 5
    for ep, attr in ((1, 0x0400), (1, 0x0000), (1, 0x0401), (2, 0x0000), (2, 0x0007)):
        assert e.find(0x0001, 1, ep, 0x0702, attr) >= 0
    # Get Current Price (Price 0x0700, cluster command 0x00, options: Rx On When Idle) and
    # Get Last Message (Messaging 0x0703, cluster command 0x00, no payload) to endpoint 1.
    assert [p[2:] for (dst, ep, cl, p) in b.sent if cl == 0x0700 and ep == 1] == [b"\x00\x01"]
    assert [p[0] for (dst, ep, cl, p) in b.sent if cl == 0x0703] == [0x01]
    assert b.hub.router.servers[(1, 0x0700)].n_subscribers == 1


def test_the_display_shows_the_meters_kwh_with_p1s_digits():
    b = _joined()
    v = b.ihd.view()
    p1 = _p1_values(b)
    # 1 234 567 Wh: P1's 1-0:1.8.0 F9(3,3) kWh; 1193 W: 1-0:1.7.0 F5(3,3) kW; the gas
    # mirror's 12 785 123 L: 0-1:24.2.1 F8(3,3) m3.
    assert v["kwh"] == p1["1-0:1.8.0"] == "001234.567"
    assert v["kw"] == p1["1-0:1.7.0"] == "01.193"
    assert v["gas_m3"] == p1["0-1:24.2.1"] == "12785.123"
    assert v["gas_captured"] == T0 - 60
    assert v["kwh_today"] == "000004.567"  # 1 234 567 - 1 230 000 Wh
    # Tier 1: 0.2100 EUR/kWh (price 2100, trailing digit 4); today 4.567 kWh x 0.21 =
    # 0.959 EUR.
    assert (v["tier"], v["price"], v["currency"], v["rate_label"]) == (1, "0.2100", 978, "low")
    assert v["cost_today"] == "0.96"
    assert v["utc"] is not None and 0 <= v["utc"] - T0 <= 30  # from the hub's Time
    # 1.5 kWh more: the next summation report (min 5 s) shows P1's new value.
    b.add_wh(1500)
    b.run(8)
    v = b.ihd.view()
    assert v["kwh"] == _p1_values(b)["1-0:1.8.0"] == "001236.067"
    assert v["kwh_today"] == "000006.067"
    assert v["cost_today"] == "1.27"  # 6.067 kWh x 0.21 = 1.274


def test_the_display_follows_a_new_message_and_confirms_it():
    b = _joined(text=b"Meter reading on Monday")
    d = b.ihd
    # The message set before the display joined: Get Last Message brought it.
    v = d.view()
    assert v["message"] == "Meter reading on Monday"
    first = v["message_id"]
    assert first > 0 and b.confirmed and b.confirmed[0][0] == first
    # A new text through the registers (as the configuration path sets it): pushed by the
    # hub (Display Message), shown and confirmed once.
    b.regs.text.set(b"Tarif change 1 Jan")
    b.run(3)
    v = d.view()
    assert v["message"] == "Tarif change 1 Jan" and v["message_id"] > first
    assert [m for (m, t) in b.confirmed] == [first, v["message_id"]]
    # The confirmation's time is the hub's time (ZCL UTC: seconds since 2000).
    assert 0 <= b.confirmed[1][1] - (T0 - 946684800) <= 30
    server = b.hub.router.servers[(1, 0x0703)]
    assert server.confirmed
    # Message Confirmation frames: fc 0x01 (cluster command, to the server), cmd 0x01,
    # message id (uint32), time (UTC).
    conf = [p for (dst, ep, cl, p) in b.sent if cl == 0x0703 and p[2] == 0x01]
    assert len(conf) == 2 and conf[1][0] == 0x01 and len(conf[1]) == 11
    assert int.from_bytes(conf[1][3:7], "little") == v["message_id"]
    # Cleared: Cancel Message; the display shows none.
    b.regs.text.set(b"")
    b.run(3)
    assert d.view()["message"] is None
    assert len(b.confirmed) == 2


def test_the_display_follows_a_tariff_switch():
    b = _joined()
    d = b.ihd
    assert d.view()["tier"] == 1
    b.regs.energy.set_tariff(2)
    b.run(2)
    v = d.view()
    assert (v["tier"], v["price"], v["rate_label"]) == (2, "0.2650", "normal")
    # 1 kWh at the normal rate: 0.959 + 0.265 = 1.224 EUR today.
    b.add_wh(1000)
    b.run(8)
    assert d.view()["cost_today"] == "1.22"


def test_the_display_subscribes_again_after_the_hub_reboots():
    b = _joined()
    d = b.ihd
    b.kill_coordinator()
    b.run(1)
    b.coord = b.boot_coordinator(seed=5)  # same flash: back on its network, no slots
    b.run(2)
    assert b.hub.engine.used() == 0
    # Silent for 2 x 30 s (the demand's maximum interval): read and subscribe again.
    b.run(70)
    assert d.resubscribed >= 1
    assert b.hub.engine.used() == 5
    assert b.hub.router.servers[(1, 0x0700)].n_subscribers == 1
    b.add_wh(2000)
    b.regs.energy.set_tariff(2)
    b.run(8)
    v = d.view()
    assert v["kwh"] == "001236.567" and v["tier"] == 2


def test_a_rebooted_display_resumes_and_subscribes_again():
    b = _joined()
    radio = b.device.zb.mac.radio
    radio.off()
    b.medium.radios.remove(radio)
    b.run(2)
    # Power back: a new node over the same flash resumes the network (no new join) and
    # its display, knowing nothing, finds and subscribes again.
    b.ihd = ihd.Display(b.clock)
    b.device = HanNode(radio_sim.SimRadio(b.medium, (4.0, 0.0), 26), b.clock, "display",
                       DEVICE, b.dev_store, radio_sim.make_rng(4).getrandbits,
                       install_code=CODE, out=b.lines.append, channel_mask=1 << 15,
                       se=b.ihd)
    b.device.start()
    assert "han zigbee resumed short 0x0001" in b.lines
    b.add_wh(1000)
    b.run(10)
    v = b.ihd.view()
    assert (v["kwh"], v["kw"], v["gas_m3"], v["tier"]) == ("001235.567", "01.193",
                                                            "12785.123", 1)
    # The hub's slots for it were configured again, not added to.
    assert b.hub.engine.used() == 5
    assert b.hub.router.servers[(1, 0x0700)].n_subscribers == 1


def test_a_report_is_taken_without_allocating():
    d = ihd.Display(FakeClock())
    p = d.peers[0]
    p.clear(1)
    p.kind = ip.KIND_ELECTRIC
    p.div = 1000
    p.sfmt = 0x33  # 6 integer digits, 3 decimals (units.electricity)
    d.n_peers = 1
    d.elec = p
    d.price = 2100  # 0.2100 per kWh, trailing digit 4: today's cost is summed per report
    d.cost.price(2100, 4, None)
    # Report Attributes (fc 0x18: server to client, no default response; cmd 0x0A):
    # InstantaneousDemand int24 1193 W, CurrentSummationDelivered uint48 1 234 567 Wh,
    # CurrentDayConsumptionDelivered uint24 4567 Wh.
    frames = []
    for k in range(3):
        frames.append(bytearray(bytes.fromhex("18" "%02x" "0a" % (k + 1))
                                + bytes.fromhex("0004" "2a") + (1193 + k).to_bytes(3, "little")
                                + bytes.fromhex("0000" "25") + (1234567 + k).to_bytes(6, "little")
                                + bytes.fromhex("0104" "22") + (4567 + k).to_bytes(3, "little")))
    h = zf.ZclHeader()
    out = bytearray(82)
    handler = d.router.clients[(1, 0x0702)]
    pay = zf.parse(frames[0], 0, len(frames[0]), h)
    assert handler(0x0000, 1, h, frames[0], pay, len(frames[0]), out, 0) == 0
    v0 = d.version
    with NoAllocation():
        for i in range(1, 3):
            f = frames[i]
            pay = zf.parse(f, 0, len(f), h)
            handler(0x0000, 1, h, f, pay, len(f), out, 0)
    assert d.version == v0 + 2
    assert (p.demand, p.summation, p.day) == (1195, 1234569, 4569)
    assert d.view()["kwh"] == "001234.569"


def test_a_removed_display_leaves_no_subscription_for_the_next_device_at_its_address():
    # The hub's entries give a removed device's short address to the next device
    # registered (han/nwk/devices.py short = 0x0001 + entry): han-remove must take the
    # display's 5 reporting slots and its Price and Messaging subscriptions with it, or
    # the next device at 0x0001 would be sent the display's reports and pushes.
    b = _joined(b"Hello")
    hub = b.hub
    assert hub.engine.used() == 5
    price, messaging = hub.router.servers[(1, 0x0700)], hub.router.servers[(1, 0x0703)]
    assert (price.n_subscribers, messaging.n_subscribers) == (1, 1)
    assert b.coord.unregister(DEVICE)
    assert "han removed %s" % DEVICE.hex() in b.lines
    assert hub.engine.used() == 0
    assert (price.n_subscribers, messaging.n_subscribers) == (0, 0)
    # Nothing more goes to 0x0001: a tariff switch and a new message push nothing, and no
    # report falls due (the display asked for them every 30 to 900 s).
    sent = []
    orig = hub.router.send

    def send(dst, *a):
        sent.append(dst)
        return orig(dst, *a)
    hub.router.send = send
    b.regs.energy.set_tariff(2)
    b.regs.text.set(b"Bye")
    b.add_wh(5000)
    b.run(1000)
    assert 0x0001 not in sent, sent


def test_a_label_or_message_that_is_not_utf8_is_shown_with_question_marks():
    # Found by tests/host/test_han_se_fuzz.py: a hub's rate label or message text with
    # octets that are no UTF-8 stopped the display's view with UnicodeError.
    from han.se import ihd_peer

    assert ihd_peer._text("Dag é".encode()) == "Dag é"
    assert ihd_peer._text(b"Da\xa4g\xff") == "Da?g?"
    assert ihd_peer._text(b"") == ""
