# Malformed and hostile ZCL frames against the hub's Smart Energy application (issue 12,
# the attacks a device of the house can make once it has joined): han/se/hub.py behind
# its router (han/se/router.py), over real registers with prices configured and a text
# message active, fed at the APS boundary (SeRouter.receive, as han/node.py hands over
# every APS data frame) from a joined device's short address. Sources:
#   - hypothesis mutations (bit flips, truncations, insertions, replaced octets) of the
#     requests and reports our display and gas meter send (Read Attributes of every
#     cluster, Configure Reporting, Read Reporting Configuration, Discover Attributes,
#     Write Attributes, Get Current Price, Get Last Message, Message Confirmation,
#     Identify, a gas report with its capture time and serial, a read answer), to a
#     cluster and endpoint drawn from those the hub has and some it has not;
#   - frames of random octets.
# And the other way, a hostile or broken hub against our in-home display (han/se/ihd.py,
# its endpoint with two metering peers found): mutations of Publish Price, Display and
# Cancel Message, the Time and Metering read answers and reports; nothing escapes, and
# what it shows (view()) still renders.
# Asserted for every frame: nothing escapes receive() or step(); every answer fits one
# APS payload, parses as ZCL, goes the other way and carries the request's sequence
# number; the meter's clock and energy registers are untouched (a Write Attributes to
# the Time server must not set the meter's clock); a confirmation is logged only for the
# message the hub sent. Afterwards the hub answers a genuine read with the exact octets
# and reports to a genuine subscriber.
#
# Size: HAN_SE_FUZZ_FRAMES (default 4 000, derandomized; make soak runs 50 000). Tier 1
# only (hypothesis).
import os

from hypothesis import HealthCheck, given, settings, strategies as st

from hal.clock import FakeClock
from han.se.hub import Hub
from han.se.ihd import Display
from han.se.price import PriceConfig
from han.zcl import frame as zf
from registers.clock import DST_EU
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from registers.view import RegistersView
from tests.host.fuzz_mutations import mutate

TOTAL = int(os.environ.get("HAN_SE_FUZZ_FRAMES", "4000"))
T0 = 1795694400  # 2026-11-26 12:00:00 UTC
DISPLAY = 0x0002
GAS = 0x0003
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
APS_PAYLOAD_MAX = 82  # han/zigbee.py APS_MAX_PAYLOAD, one unfragmented frame

# (endpoint, cluster, frame) as our display and gas meter send them; octets by hand
# from ZCL 07-5123 and SE 1.4 (as in tests/unit/test_han_se_hub.py and test_han_se_*).
SEEDS = [
    (1, 0x0000, "00" "10" "00" "0000" "0400" "0500" "0700"),  # Basic: read
    (1, 0x0003, "00" "11" "00" "0000"),  # Identify: read IdentifyTime
    (1, 0x0003, "01" "12" "00" "3c00"),  # Identify 60 s
    (1, 0x0003, "01" "13" "01"),  # Identify Query
    (1, 0x000A, "00" "14" "00" "0000" "0100" "0200" "0300" "0400" "0500"),  # Time: read
    (1, 0x000A, "00" "15" "02" "0000" "e2" "00000000"),  # Time: write Time (refused)
    (1, 0x0702, "00" "16" "00" "0000" "0003" "0103" "0203" "0303" "0403" "0603" "0004"),
    (1, 0x0702, "00" "17" "06" "00" "0000" "25" "0100" "0500" "e80300000000"
                "00" "0004" "2a" "0100" "1e00" "0a0000"),  # Configure Reporting
    (1, 0x0702, "00" "18" "08" "00" "0000" "00" "0004"),  # Read Reporting Configuration
    (1, 0x0702, "00" "19" "0c" "0000" "10"),  # Discover Attributes
    (1, 0x0700, "01" "1a" "00" "01"),  # Get Current Price
    (1, 0x0703, "01" "1b" "00"),  # Get Last Message
    # Message Confirmation of the hub's message: its id is the ZCL time it was first seen
    # (han/se/messaging.py), T0 - 946 684 800 = 849 009 600 = 0x329ADBC0.
    (1, 0x0703, "01" "1f" "01" "c0db9a32" "c0db9a32"),
    (2, 0x0702, "00" "1c" "00" "0000" "0003" "0603" "0007"),  # the gas mirror: read
    # The gas meter's report: CurrentSummationDelivered, ReadingSnapShotTime, serial.
    (1, 0x0702, "18" "1d" "0a" "0000" "25" "87d612000000" "0700" "e2" "5e1a3e31"
                "0803" "41" "0447303031"),
    # A read answer: UnitOfMeasure m3, Multiplier 1, Divisor 1000, gas, serial "G001".
    (1, 0x0702, "18" "81" "01" "0003" "00" "30" "01" "0103" "00" "22" "010000"
                "0203" "00" "22" "e80300" "0603" "00" "18" "01" "0803" "00" "41" "0447303031"),
    (1, 0x0702, "18" "1e" "0b" "0a" "00"),  # Default Response
]
SEEDS = [(ep, cl, bytes.fromhex(f)) for ep, cl, f in SEEDS]
CLUSTERS = (0x0000, 0x0003, 0x000A, 0x0700, 0x0702, 0x0703, 0x0019, 0x0006, 0xFC00)


class Bench:
    def __init__(self):
        self.ticks = FakeClock(utc=T0)
        self.regs = MeterRegisters(self.ticks, MemoryFs())
        self.regs.boot(T0)
        self.regs.energy.wh[0] = 1234567
        self.regs.energy.tariff = 1
        self.regs.text.set(b"Onderhoud 2 december")
        self.confirmed = []
        self.gas = []
        self.hub = Hub(self.regs.clock, RegistersView(self.regs), 3600, DST_EU, self.ticks,
                       identity=(b"meter-fw", b"hub", b"0.1.0"), store=self.regs.store,
                       prices=PriceConfig(1, 978, [(b"laag", 2100, 4), (b"normaal", 2650, 4)]),
                       on_confirmed=lambda *a: self.confirmed.append(a),
                       on_gas=self._gas)
        self.sent = []
        self.hub.router.send = self._send
        self.hub.step(self.ticks.ticks_us())
        self.energy = list(self.regs.energy.wh)

    def _gas(self, litres, capture, ident):
        self.gas.append((litres, capture, bytes(ident)))
        return True

    def _send(self, dst, dst_ep, cluster, profile, src_ep, payload, n, now, ack, secure):
        self.sent.append((dst, dst_ep, cluster, src_ep, bytes(payload[:n])))
        return 1

    def feed(self, src, ep, cluster, frame):
        n0 = len(self.sent)
        now = self.ticks.ticks_us()
        self.hub.router.receive(src, 1, ep, cluster, 0x0109, frame, 0, len(frame), now, False)
        answers = self.sent[n0:]
        self.ticks.advance_ms(50)
        self.hub.step(self.ticks.ticks_us())
        return answers


def _check_answers(frame, answers):
    req = zf.ZclHeader()
    try:
        zf.parse(frame, 0, len(frame), req)
    except ValueError:
        req = None
    for dst, _, cluster, _, payload in answers:
        assert len(payload) <= APS_PAYLOAD_MAX, payload.hex()
        h = zf.ZclHeader()
        zf.parse(payload, 0, len(payload), h)  # ValueError: we sent a frame no one can read
        if (h.frame_type, h.direction, h.command, cluster) == (0, 0, 0x00, 0x0702):
            continue  # the gas relay's own read of a reporter's units (han/se/gasrelay.py)
        assert req is not None, "an answer to an unparsable frame: %s" % frame.hex()
        assert h.seq == req.seq and h.direction != req.direction, (frame.hex(), payload.hex())


BENCH = []
SEEN = {"frames": 0, "answered": 0}


def _bench():
    if not BENCH:
        BENCH.append(Bench())
    return BENCH[0]


def _one(src, ep, cluster, frame):
    b = _bench()
    answers = b.feed(src, ep, cluster, frame)
    _check_answers(frame, answers)
    SEEN["frames"] += 1
    SEEN["answered"] += 1 if answers else 0
    # The meter's own state: only the configuration path and the metrology change it.
    assert list(b.regs.energy.wh) == b.energy
    assert b.regs.clock.utc() == b.ticks.time()
    for message_id, _, who in b.confirmed:
        assert message_id == b.hub.messaging.message.message_id and who in (DISPLAY, GAS), b.confirmed


@settings(max_examples=max(1, TOTAL * 3 // 4), **SETTINGS)
@given(st.data(), st.integers(0, len(SEEDS) - 1), st.sampled_from((1, 2, 3)),
       st.sampled_from(CLUSTERS + (None,)), st.sampled_from((DISPLAY, GAS)))
def test_mutated_requests_and_reports(data, i, ep, cluster, src):
    seed_ep, seed_cluster, frame = SEEDS[i]
    _one(src, seed_ep if ep == 3 else ep, seed_cluster if cluster is None else cluster,
         data.draw(mutate(frame, 0, 4)))  # 0: the seed as it is, too


@settings(max_examples=max(1, TOTAL // 4), **SETTINGS)
@given(st.binary(min_size=0, max_size=90), st.sampled_from((1, 2)),
       st.sampled_from(CLUSTERS), st.sampled_from((DISPLAY, GAS)))
def test_random_octets(frame, ep, cluster, src):
    _one(src, ep, cluster, frame)


def test_the_hub_still_serves_after_the_fuzz():
    # Runs after the fuzz (pytest keeps the file's order) on the same hub.
    b = _bench()
    assert SEEN["frames"] >= TOTAL * 3 // 4, SEEN
    assert SEEN["answered"] > 0
    assert b.confirmed, "no genuine confirmation among the mutations"  # the seed's own id
    b.regs.energy.wh[0] = 1234567
    b.energy = list(b.regs.energy.wh)
    # A genuine read of the summation and its units: the octets of
    # tests/unit/test_han_se_hub.py (1 234 567 Wh as uint48, kWh, Divisor 1000, F9(3,3)).
    got = b.feed(0x0009, 1, 0x0702, bytes.fromhex("00" "31" "00" "0000" "0003" "0203" "0303"))
    assert [a[4] for a in got] == [bytes.fromhex("18" "31" "01"
                                                 "0000" "00" "25" "87d612000000"
                                                 "0003" "00" "30" "00"
                                                 "0203" "00" "22" "e80300"
                                                 "0303" "00" "18" "33")]
    # A genuine subscription from a new address is answered and reported within its max.
    got = b.feed(0x0009, 1, 0x0702, bytes.fromhex("00" "32" "06" "00" "0000" "25" "0100"
                                                  "0200" "e80300000000"))
    assert [a[4] for a in got] == [bytes.fromhex("18" "32" "07" "00")]
    n0 = len(b.sent)
    for _ in range(60):  # 3 s in 50 ms steps
        b.ticks.advance_ms(50)
        b.hub.step(b.ticks.ticks_us())
    reports = [s for s in b.sent[n0:] if s[0] == 0x0009 and s[4][2] == 0x0A]
    assert reports and reports[0][4][3:] == bytes.fromhex("0000" "25" "87d612000000")


# Frames a hub sends a display (server -> client), octets by hand as above. Publish Price:
# provider 0x12345678, "Enkel", ids and times, SEK 752, digit 2 tier 1, 1 tier, 1.50
# (tests/unit/test_han_se_hub_prices.py ENKEL); Display Message: id, control, start,
# duration 0xFFFF, "Hello", extended control; the Time and Metering answers of
# tests/unit/test_han_se_hub.py; a report of summation and demand.
HUB_SEEDS = [
    (0x0700, "19" "01" "00" "78563412" "05" "456e6b656c" "0042072F" "0042072F" "00" "F002"
             "21" "11" "0042072F" "FFFF" "96000000" "FF" "FFFFFFFF" "FF" "FFFFFFFF" "FF"
             "00" "00" "00" "00" "00" "00" "00" "00"),
    (0x0703, "19" "02" "00" "0042072F" "84" "0042072F" "FFFF" "05" "48656C6C6F" "00"),
    (0x0703, "19" "03" "01" "0042072F" "00"),
    (0x0703, "18" "04" "0b" "01" "00"),
    (0x000A, "18" "05" "01" "0000" "00" "e2" "c0db9a32" "0100" "00" "18" "0d"
             "0200" "00" "2b" "100e0000"),
    (0x0702, "18" "06" "01" "0000" "00" "25" "87d612000000" "0003" "00" "30" "00"
             "0103" "00" "22" "010000" "0203" "00" "22" "e80300" "0303" "00" "18" "33"
             "0403" "00" "18" "13" "0603" "00" "18" "00" "0004" "00" "2a" "dc0500"),
    (0x0702, "18" "07" "0a" "0000" "25" "88d612000000" "0004" "2a" "e80300"),
]
HUB_SEEDS = [(cl, bytes.fromhex(f)) for cl, f in HUB_SEEDS]
DISPLAYS = []


def _display():
    if not DISPLAYS:
        ticks = FakeClock(utc=T0)
        d = Display(ticks, identity=(b"meter-fw", b"ihd", b"0.1.0"))
        d.router.send = lambda *a: 1
        for i, ep in enumerate((1, 2)):  # the hub's ESI and its gas mirror, found
            d.peers[i].clear(ep)
        d.n_peers = 2
        DISPLAYS.append((d, ticks))
    return DISPLAYS[0]


@settings(max_examples=max(1, TOTAL // 2), **SETTINGS)
@given(st.data(), st.integers(0, len(HUB_SEEDS) - 1), st.sampled_from((1, 2)),
       st.sampled_from((0x0000, 0x0001)))
def test_a_display_takes_mutated_frames_from_its_hub(data, i, ep, src):
    d, ticks = _display()
    cluster, frame = HUB_SEEDS[i]
    frame = data.draw(mutate(frame))
    d.router.receive(src, ep, 1, cluster, 0x0109, frame, 0, len(frame), ticks.ticks_us(),
                     False)
    ticks.advance_ms(20)
    d.step(ticks.ticks_us())
    view = d.view()
    assert isinstance(view, dict)
    for key, value in view.items():
        assert value is None or isinstance(value, (str, int)), (key, value)
