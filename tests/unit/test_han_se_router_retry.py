# SeRouter.step (firmware/han/se/router.py) when the APS layer refuses a frame: it holds a
# few frames awaiting acknowledgement for all devices, so a gas reading mirrored to three
# displays at once, or a tariff switch pushed to three subscribers, finds it full. Nothing
# may be lost: a report goes back to due (ReportEngine.undo) and a push stays owed to the
# subscribers it missed, both sent as soon as the layer takes frames again (step asks to
# be called within RETRY_US = 50 ms). Here the "APS layer" takes one frame per step. A
# frame refused with room to spare (no key or route for that destination) would be refused
# forever: it is dropped and counted, and the node is not woken for it again.
# Frames decoded by hand (ZCL 07-5123 2.5.11, SE 1.4 D.4.2.4.1). Portable: tiers 1 and 2.
from hal.clock import FakeClock
from han.se.hub import Hub
from han.se.price import PriceConfig
from registers.clock import DST_EU
from registers.energy import TOTAL_IMPORT, tariff_import_index
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from registers.view import RegistersView

T0 = 1735689600  # 2025-01-01 00:00:00 UTC
DISPLAYS = (0x0002, 0x0003, 0x0004)


class OneFramePerStep:
    def __init__(self):
        self.room = 1
        self.sent = []  # (dst, cluster, frame)
        self.refused = 0

    def __call__(self, dst, dst_ep, cluster, profile, src_ep, payload, n, now, ack, secure):
        if self.room == 0:
            self.refused += 1
            return 0
        self.room -= 1
        self.sent.append((dst, cluster, bytes(payload[:n])))
        return 1


def _hub():
    clock = FakeClock(utc=T0)
    regs = MeterRegisters(clock, MemoryFs())
    regs.boot(T0)
    regs.energy.tariff = 1
    hub = Hub(regs.clock, RegistersView(regs), 3600, DST_EU, clock,
              prices=PriceConfig(1, 978, [(b"low", 2100, 4), (b"high", 2650, 4)]))
    aps = OneFramePerStep()
    hub.router.send = aps
    hub.router.room = lambda: aps.room > 0  # as han.aps.layer has_room
    return hub, regs, clock, aps


def _ask(hub, src, cluster, frame):
    aps = hub.router.send
    aps.room = 1
    assert hub.router.receive(src, 1, 1, cluster, 0x0109, frame, 0, len(frame), 0, True)


def _steps(hub, clock, aps, n):
    """n steps of the node, 50 ms apart (what step asks for while frames are owed)."""
    waits = []
    for _ in range(n):
        aps.room = 1
        waits.append(hub.step(clock.ticks_us()))
        clock.advance_us(50000)
    return waits


def test_a_push_missed_for_a_full_aps_layer_is_sent_later_to_each_subscriber():
    hub, regs, clock, aps = _hub()
    for seq, src in enumerate(DISPLAYS):  # Get Current Price, Rx On When Idle
        _ask(hub, src, 0x0700, bytes([0x01, seq, 0x00, 0x01]))
    _steps(hub, clock, aps, 2)
    del aps.sent[:]
    regs.energy.tariff = 2
    waits = _steps(hub, clock, aps, 4)
    pushes = [(dst, f) for dst, cl, f in aps.sent if cl == 0x0700]
    # Each display got one Publish Price (cluster specific 0x19, command 0x00) of tier 2:
    # the octet after the currency (0x03D2 on air D203) is trailing digit 4 | tier 2.
    assert sorted(dst for dst, _ in pushes) == list(DISPLAYS)
    for _, f in pushes:
        assert f[0] == 0x19 and f[2] == 0x00
        assert f[f.index(bytes.fromhex("D203")) + 2] == 0x42
    assert len(set(f for _, f in pushes)) == 1  # the same frame, sequence number included
    assert aps.refused >= 2 and waits[0] == 50000


def test_a_report_missed_for_a_full_aps_layer_is_sent_later():
    hub, regs, clock, aps = _hub()
    # Each display: Configure Reporting of CurrentSummationDelivered (uint48), min 1 s,
    # max 600 s, change 1 Wh.
    for seq, src in enumerate(DISPLAYS):
        _ask(hub, src, 0x0702, bytes.fromhex("00%02x06" "00" "0000" "25" "0100" "5802"
                                             "010000000000" % seq))
    _steps(hub, clock, aps, 60)   # the first reports (a new slot counts as changed)
    del aps.sent[:]
    regs.energy.wh[TOTAL_IMPORT] += 5000
    regs.energy.wh[tariff_import_index(1)] += 5000
    _steps(hub, clock, aps, 60)
    reports = [(dst, f) for dst, cl, f in aps.sent if cl == 0x0702 and f[2] == 0x0A]
    # Report Attributes of 0x0000, uint48: the new summation, once to each display.
    assert sorted(dst for dst, _ in reports) == list(DISPLAYS)
    values = set(int.from_bytes(f[6:12], "little") for _, f in reports)
    assert values == {5000}  # Wh: the registers started at 0


def test_a_frame_refused_with_room_to_spare_is_dropped_not_retried():
    hub, regs, clock, aps = _hub()
    for seq, src in enumerate(DISPLAYS):
        _ask(hub, src, 0x0700, bytes([0x01, seq, 0x00, 0x01]))
    _steps(hub, clock, aps, 3)

    def refuse(dst, *a):
        return 0 if dst == 0x0003 else aps(dst, *a)  # nothing ever goes to 0x0003
    hub.router.send = refuse
    del aps.sent[:]
    regs.energy.tariff = 2
    waits = _steps(hub, clock, aps, 6)
    assert sorted(dst for dst, cl, _ in aps.sent if cl == 0x0700) == [0x0002, 0x0004]
    assert hub.router.send_failed == 1
    assert waits[-1] != 50000  # no longer woken for it
