# The firmware's HAN node (firmware/han/node.py) on the in-process simulated medium, in
# simulated time: association and secured traffic, and a replayed frame from a third
# radio raising a tamper event that lands in the meter's tamper log with the device's
# address. Tier 1 (han.radio_sim needs random.Random).
import random

from tools import fwpath

fwpath.setup()
from app.tasks import han_tamper_logger  # noqa: E402
from hal.clock import FakeClock  # noqa: E402
from han import radio_sim  # noqa: E402
from han import tamper  # noqa: E402
from han.node import HanNode  # noqa: E402
from registers import logs  # noqa: E402

KEY = bytes(range(0xC0, 0xD0))
COORD = bytes.fromhex("0004A30B00C0FFEE")
DEVICE = bytes.fromhex("0004A30B12345678")


class EventRecorder:
    """Stands in for registers.meter.MeterRegisters.record_event."""

    def __init__(self):
        self.events = []

    def record_event(self, log_id, utc, code, a=0, b=0):
        self.events.append((log_id, code, a, b))


def _run(medium, clock, nodes, until_us, extra=None):
    t = clock.ticks_us()
    while t < until_us:
        medium.advance(t)
        if extra:
            extra(t)
        wait = min(n.step(t) for n in nodes)
        nxt = t + max(1, wait)
        ev = medium.next_event()
        if ev is not None and ev > t:
            nxt = min(nxt, ev)
        clock.advance_us(min(nxt, until_us) - t)
        t = clock.ticks_us()


def test_node_joins_exchanges_and_logs_a_replay_as_tamper():
    medium = radio_sim.Medium(seed=3)
    clock = FakeClock()
    sniffed = []
    medium.sniffer = lambda t, frame, n, ch, rssi, lqi: sniffed.append(bytes(frame[:n]))
    recorder = EventRecorder()
    lines = []
    coord = HanNode(radio_sim.SimRadio(medium, (0.0, 0.0)), clock, "coordinator", COORD, KEY,
                    random.Random(1).getrandbits, out=lines.append,
                    on_tamper=han_tamper_logger(recorder))
    device = HanNode(radio_sim.SimRadio(medium, (4.0, 0.0)), clock, "device", DEVICE, KEY,
                     random.Random(2).getrandbits, out=lines.append, report_ms=500)
    coord.start()
    device.start()
    _run(medium, clock, [coord, device], 4000000)
    assert device.role_sm.associated and device.mac.short_addr == 0x0001
    assert "han associated %s short 0x0001" % DEVICE.hex() in lines
    reports = [ln for ln in lines if ln.startswith("han rx from %s" % DEVICE.hex())]
    replies = [ln for ln in lines if ln.startswith("han rx from %s" % COORD.hex())]
    assert len(reports) >= 3 and len(replies) >= 3
    assert recorder.events == [] and coord.tamper_events == 0

    # An attacker replays one of the device's secured reports, unchanged (good FCS, MIC
    # and all): the frame counter is not new, so the coordinator rejects it and the
    # tamper detector raises REPLAY once, into the meter's tamper log.
    secured = [f for f in sniffed if len(f) > 30 and f[0] & 0x08 and DEVICE[::-1] in f]
    assert secured
    attacker = radio_sim.SimRadio(medium, (6.0, 0.0), channel=coord.role_sm.channel)
    attacker.on()
    sent = []

    def replay(t):
        if len(sent) < 3 and not attacker.tx_busy() and (not sent or t - sent[-1] > 50000):
            attacker.prepare(secured[0], len(secured[0]) - 2)  # the radio adds the FCS
            attacker.transmit()
            sent.append(t)

    _run(medium, clock, [coord, device], clock.ticks_us() + 1000000, replay)
    assert len(sent) == 3
    low = int.from_bytes(DEVICE[4:], "big")
    assert recorder.events == [(logs.TAMPER, logs.EV_TAMPER, tamper.TAMPER_REPLAY, low)]
    assert "han tamper kind %d source %s" % (tamper.TAMPER_REPLAY, DEVICE.hex()) in lines
