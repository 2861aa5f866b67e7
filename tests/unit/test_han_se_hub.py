# The hub's Smart Energy endpoints (firmware/han/se/hub.py over han/se/router.py) as the
# firmware's HAN node runs them, over real registers, on the simulated medium: a device
# finds the metering servers (ZDO Match_Desc), reads the meter's summation, units and
# the time, subscribes to reports, and gets the stand-in reports answered; requests to a
# cluster nobody serves get UNSUPPORTED_CLUSTER. Expected octets worked by hand from ZCL
# (07-5123) and SE 1.4. Portable: tiers 1 and 2.
from han.se.hub import Hub
from registers.clock import DST_EU
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from registers.view import RegistersView
from test_han_node import COORD, DEVICE, CODE, Bench
from han import radio_sim
from han.node import JOINER_ADD, HanNode, joiner_handler

T0 = 1795694400  # 2026-11-26 12:00:00 UTC: winter, CET = UTC+1


class HubBench(Bench):
    def boot_coordinator(self, seed=1):
        if not hasattr(self, "regs"):
            self.regs = MeterRegisters(self.clock, MemoryFs())
            self.regs.boot(T0)
            self.regs.energy.wh[0] = 1234567  # total import, Wh (registers/energy.py)
            self.view = RegistersView(self.regs)
        self.hub = Hub(self.regs.clock, self.view, 3600, DST_EU, self.clock,
                       identity=(b"meter-fw", b"hub", b"0.1.0"), store=self.regs.store)
        self.coord_radio = radio_sim.SimRadio(self.medium, (0.0, 0.0), 26)
        c = HanNode(self.coord_radio, self.clock, "coordinator", COORD, self.coord_store,
                    radio_sim.make_rng(seed).getrandbits, out=self.lines.append,
                    channel_mask=1 << 15, se=self.hub)
        c.start()
        return c


def _bench():
    b = HubBench()
    b.clock.set_time(T0)
    b.run(2)
    parse, apply = joiner_handler(b.coord)
    apply(parse(bytes([JOINER_ADD]) + DEVICE + CODE))
    b.run(10)
    assert "han zigbee joined short 0x0001 tclk verified" in b.lines
    got = []
    orig = b.device.zb.on_app

    def tap(src, src_ep, dst_ep, cluster, profile, buf, off, n, now, sec=False):
        got.append((src, src_ep, cluster, bytes(buf[off:off + n])))
        orig(src, src_ep, dst_ep, cluster, profile, buf, off, n, now, sec)

    b.device.zb.on_app = tap
    zdo = []
    b.device.zb.on_zdo = lambda src, cl, buf, off, n, now: zdo.append((cl, bytes(buf[off:off + n])))
    return b, got, zdo


def _ask(b, ep, cluster, zcl, seconds=1):
    now = b.clock.ticks_us()
    assert b.device.zb.send(0x0000, ep, cluster, 0x0109, 1, zcl, len(zcl), now)
    b.run(seconds)


def test_stand_in_reports_are_answered_by_the_hubs_metering_client():
    b, got, _ = _bench()
    b.run(3)
    answers = [p for (src, ep, cl, p) in got if cl == 0x0702 and p[2] == 0x0B]
    # Default Response (fc 0x10: to the server, default response disabled), the
    # report's seq, command 0x0A, status SUCCESS.
    assert len(answers) >= 4
    assert all(p[0] == 0x10 and p[3:] == b"\x0a\x00" for p in answers)
    assert b.hub.reports_in >= 4


def test_match_desc_finds_the_meter_and_the_gas_mirror():
    b, _, zdo = _bench()
    now = b.clock.ticks_us()
    # Match_Desc_req (0x0006): seq 0x21, NWKAddrOfInterest 0x0000, profile 0x0109, one input
    # cluster 0x0702, no output cluster.
    req = bytes.fromhex("21" "0000" "0901" "01" "0207" "00")
    assert b.device.zb.send(0x0000, 0, 0x0006, 0x0000, 0, req, len(req), now, ack=False)
    b.run(1)
    # Match_Desc_rsp: seq, SUCCESS, 0x0000, two endpoints: 1 (the ESI) and 2 (the mirror).
    assert (0x8006, bytes.fromhex("21" "00" "0000" "02" "01" "02")) in zdo


def test_a_device_reads_the_meters_summation_and_units():
    b, got, _ = _bench()
    # Read Attributes (fc 0x00, seq 0x31, cmd 0x00): CurrentSummationDelivered 0x0000,
    # UnitOfMeasure 0x0300, Divisor 0x0302, SummationFormatting 0x0303, MeteringDeviceType
    # 0x0306.
    _ask(b, 1, 0x0702, bytes.fromhex("00" "31" "00" "0000" "0003" "0203" "0303" "0603"))
    rsp = [p for (src, ep, cl, p) in got if cl == 0x0702 and p[1] == 0x31]
    # Read Attributes Response (fc 0x18: server to client, no default response): each
    # record id, SUCCESS, type, value (little endian). 1 234 567 Wh = 0x12D687 as uint48;
    # kWh (0x00, enum8 0x30); Divisor 1000 (uint24 0x22: 0x0003E8); formatting 0x33 (6
    # left, 3 right; bitmap8 0x18); electricity (bitmap8 0x00).
    assert rsp == [bytes.fromhex("18" "31" "01"
                                 "0000" "00" "25" "87d612000000"
                                 "0003" "00" "30" "00"
                                 "0203" "00" "22" "e80300"
                                 "0303" "00" "18" "33"
                                 "0603" "00" "18" "00")]
    # The mirror on endpoint 2: no gas reading yet, so its summation is the invalid value.
    _ask(b, 2, 0x0702, bytes.fromhex("00" "32" "00" "0000" "0603"))
    rsp = [p for (src, ep, cl, p) in got if cl == 0x0702 and p[1] == 0x32]
    assert rsp == [bytes.fromhex("18" "32" "01" "0000" "00" "25" "ffffffffffff"
                                 "0603" "00" "18" "80")]


def test_the_hub_is_the_time_master():
    b, got, _ = _bench()
    # Read Attributes of Time 0x000A: Time 0x0000, TimeStatus 0x0001, TimeZone 0x0002.
    _ask(b, 1, 0x000A, bytes.fromhex("00" "41" "00" "0000" "0100" "0200"))
    rsp = [p for (src, ep, cl, p) in got if cl == 0x000A and p[1] == 0x41]
    assert len(rsp) == 1 and rsp[0][:5] == bytes.fromhex("18" "41" "01" "0000")
    # Time: UTC type 0xE2, seconds since 2000-01-01; the clock has run a few seconds.
    p = rsp[0]
    assert p[5] == 0x00 and p[6] == 0xE2
    utc2000 = int.from_bytes(p[7:11], "little")
    assert 0 <= utc2000 - (T0 - 946684800) <= 30
    # TimeStatus bitmap8: Master | MasterZoneDst | Superseding (0x0D); TimeZone int32 3600.
    assert p[11:] == bytes.fromhex("0100" "00" "18" "0d" "0200" "00" "2b" "100e0000")


def test_configured_reports_arrive_at_the_subscriber():
    b, got, _ = _bench()
    # Configure Reporting (cmd 0x06), direction 0: CurrentSummationDelivered, uint48,
    # min 1 s, max 5 s, reportable change 1000 (uint48).
    _ask(b, 1, 0x0702, bytes.fromhex("00" "51" "06" "00" "0000" "25" "0100" "0500"
                                     "e80300000000"))
    # Configure Reporting Response: all SUCCESS in one octet.
    assert (0x0000, 1, 0x0702, bytes.fromhex("18" "51" "07" "00")) in got
    n0 = len(got)
    b.run(12)
    reports = [p for (src, ep, cl, p) in got[n0:] if cl == 0x0702 and p[2] == 0x0A]
    # Every 5 s (max interval): two or three in 12 s, each CurrentSummationDelivered.
    assert 2 <= len(reports) <= 3
    assert all(p[0] == 0x18 and p[3:] == bytes.fromhex("0000" "25" "87d612000000")
               for p in reports)


def test_subscriptions_survive_a_hub_reboot():
    # The display never learns that the hub rebooted: its reports must go on without a
    # new Configure Reporting (the configurations are kept in the record "hanrpt").
    b, got, _ = _bench()
    _ask(b, 1, 0x0702, bytes.fromhex("00" "52" "06" "00" "0000" "25" "0100" "0500"
                                     "e80300000000"))
    assert (0x0000, 1, 0x0702, bytes.fromhex("18" "52" "07" "00")) in got
    b.run(2)
    b.kill_coordinator()
    b.coord = b.boot_coordinator(seed=7)
    n0 = len(got)
    b.run(12)
    reports = [p for (src, ep, cl, p) in got[n0:] if cl == 0x0702 and p[2] == 0x0A]
    assert len(reports) >= 2
    assert all(p[3:] == bytes.fromhex("0000" "25" "87d612000000") for p in reports)


def test_a_cluster_nobody_serves_gets_unsupported_cluster():
    b, got, _ = _bench()
    # Read Attributes of Price 0x0700 (no prices configured: no Price server).
    _ask(b, 1, 0x0700, bytes.fromhex("00" "61" "00" "0000"))
    assert (0x0000, 1, 0x0700, bytes.fromhex("18" "61" "0b" "00" "c3")) in got
    assert b.hub.router.unsupported == 1


def test_todays_energy_survives_a_reboot_the_same_day_not_across_midnight():
    # The hub sees local midnight (CET: 23:00 UTC), the meter then counts 1 500 Wh; the
    # hub reboots the same day: today's consumption is still 1 500 Wh, not unknown. After
    # a reboot on a later day the day is unknown (its start was not seen).
    from hal.clock import FakeClock
    from registers.store import RecordStore

    clock = FakeClock()
    regs = MeterRegisters(clock, MemoryFs())
    midnight = T0 + 11 * 3600  # 2026-11-26 23:00 UTC = 27th 00:00 CET
    clock.set_time(midnight - 60)
    regs.boot(midnight - 60)
    view = RegistersView(regs)
    store = RecordStore(MemoryFs())

    def hub():
        return Hub(regs.clock, view, 3600, DST_EU, clock, store=store)

    h = hub()
    h.step(clock.ticks_us())  # 23:59 CET: the day is seen, its start was not
    assert h.electricity.consumption(0) is None
    clock.set_time(midnight + 5)
    regs.energy.wh[0] = 2000000
    h.step(clock.ticks_us())  # 00:00:05 CET: a new day, base 2 000 000 Wh
    regs.energy.wh[0] = 2001500
    assert h.electricity.consumption(0) == 1500
    h = hub()  # a reboot, same day
    assert h.electricity.consumption(0) == 1500
    clock.set_time(midnight + 86400 + 5)
    h = hub()  # a reboot the next day: that day's start was never seen
    assert h.electricity.consumption(0) is None
