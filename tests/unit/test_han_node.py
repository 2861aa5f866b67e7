# The firmware's HAN node (firmware/han/node.py: a ZigBee node as main.run(han=...) runs
# it) on the simulated medium in simulated time: a device registered through the
# configuration op's handler joins by install code and reports (ZCL Report Attributes),
# the coordinator answers each (ZCL Default Response); a replayed frame, forged frames and
# an unknown device reach the meter's tamper log once per episode; a coordinator reboot
# raises no false "unknown device"; the op's parser refuses what it must. Portable: tiers
# 1 and 2.
from app.tasks import han_tamper_logger
from hal.clock import FakeClock
from han import radio_sim
from han import tamper
from han.node import JOINER_ADD, JOINER_REMOVE, HanNode, joiner_handler
from native.crc16 import crc16_x25
from registers import logs
from registers.config import REJECT_MALFORMED, REJECT_TOO_LONG, Rejected
from registers.memfs import MemoryFs
from registers.store import RecordStore
from support import raises

COORD = bytes.fromhex("0004A30B00C0FFEE")
DEVICE = bytes.fromhex("0004A30B12345678")
# HAN.md's install-code vector (16 octets + CRC).
CODE = bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")


class EventRecorder:
    """Stands in for registers.meter.MeterRegisters.record_event."""

    def __init__(self):
        self.events = []

    def record_event(self, log_id, utc, code, a=0, b=0):
        self.events.append((log_id, code, a, b))


class Bench:
    def __init__(self):
        self.medium = radio_sim.Medium(seed=3)
        self.clock = FakeClock()
        self.sniffed = []
        self.medium.sniffer = lambda t, f, n, ch, rssi, lqi: self.sniffed.append(bytes(f[:n]))
        self.recorder = EventRecorder()
        self.lines = []
        self.coord_store = RecordStore(MemoryFs())
        self.dev_store = RecordStore(MemoryFs())
        self.coord = self.boot_coordinator()
        self.device = HanNode(radio_sim.SimRadio(self.medium, (4.0, 0.0), 26), self.clock,
                              "device", DEVICE, self.dev_store,
                              radio_sim.make_rng(2).getrandbits, install_code=CODE,
                              out=self.lines.append, report_ms=500,
                              channel_mask=1 << 15)
        self.device.start()

    def boot_coordinator(self, seed=1):
        self.coord_radio = radio_sim.SimRadio(self.medium, (0.0, 0.0), 26)
        c = HanNode(self.coord_radio, self.clock, "coordinator", COORD, self.coord_store,
                    radio_sim.make_rng(seed).getrandbits, out=self.lines.append,
                    on_tamper=han_tamper_logger(self.recorder), channel_mask=1 << 15)
        c.start()
        return c

    def kill_coordinator(self):
        self.coord_radio.off()
        self.medium.radios.remove(self.coord_radio)

    def run(self, seconds, extra=None):
        clock = self.clock
        end = clock.ticks_us() + int(seconds * 1000000)
        t = clock.ticks_us()
        while t < end:
            self.medium.advance(t)
            if extra:
                extra(t)
            waits = [w for w in (self.coord.step(t), self.device.step(t)) if w >= 0]
            nxt = t + (min(waits) if waits else 100000)
            ev = self.medium.next_event()
            if ev is not None and ev > t:
                nxt = min(nxt, ev)
            clock.advance_us(min(max(nxt, t + 1), end) - t)
            t = clock.ticks_us()

    def with_prefix(self, prefix):
        return [ln for ln in self.lines if ln.startswith(prefix)]


def _registered_bench():
    b = Bench()
    b.run(2)
    parse, apply = joiner_handler(b.coord)
    apply(parse(bytes([JOINER_ADD]) + DEVICE + CODE))
    # The device, refused at first (not registered yet), asks again 5 s later.
    b.run(10)
    assert "han zigbee association refused (status 2): again in 5 s" in b.lines
    return b


def test_registered_device_joins_reports_and_gets_answers():
    b = _registered_bench()
    assert "han registered %s" % DEVICE.hex() in b.lines
    assert "han associated %s short 0x0001" % DEVICE.hex() in b.lines
    assert "han zigbee joined short 0x0001 tclk verified" in b.lines
    # Reports every 0.5 s from the device's endpoint 1 on the Metering cluster: ZCL
    # Report Attributes (0x0A), each answered with a Default Response (0x0B) of its seq.
    reports = b.with_prefix("han rx from 0x0001 ep 1 cluster 0x0702")
    answers = b.with_prefix("han rx from 0x0000 ep 1 cluster 0x0702")
    assert len(reports) >= 6 and all(" zcl 0x0a " in ln for ln in reports)
    assert len(answers) >= 6 and all(" zcl 0x0b " in ln for ln in answers)
    seqs = [ln.split()[-1] for ln in reports]
    assert [ln.split()[-1] for ln in answers] == seqs[:len(answers)]
    assert b.recorder.events == [] and b.coord.tamper_events == 0


def test_a_replayed_report_is_one_tamper_event_with_the_device_address():
    b = _registered_bench()
    # A frame of the device as it went on air (MAC data from short 0x0001, NWK security
    # bit 9 of the NWK frame control set), replayed three times, unchanged (FCS and all),
    # by a third radio.
    secured = [f for f in b.sniffed if len(f) > 40 and f[0] & 0x07 == 1
               and f[7:9] == b"\x01\x00" and f[10] & 0x02]
    assert secured
    attacker = radio_sim.SimRadio(b.medium, (6.0, 0.0), 26)
    attacker.set_channel(15)
    attacker.on()
    sent = []

    def replay(t):
        if len(sent) < 3 and not attacker.tx_busy() and (not sent or t - sent[-1] > 50000):
            attacker.prepare(secured[-1], len(secured[-1]) - 2)  # the radio adds the FCS
            attacker.transmit()
            sent.append(t)

    b.run(1, replay)
    assert len(sent) == 3
    low = int.from_bytes(DEVICE[4:], "big")
    assert b.recorder.events == [(logs.TAMPER, logs.EV_TAMPER, tamper.TAMPER_REPLAY, low)]
    assert "han tamper kind %d source %s" % (tamper.TAMPER_REPLAY, DEVICE.hex()) in b.lines


def test_coordinator_reboot_raises_no_false_unknown_device():
    b = _registered_bench()
    before = len(b.with_prefix("han rx from 0x0001"))
    b.kill_coordinator()
    b.coord = b.boot_coordinator(seed=5)
    b.run(4)
    assert "han zigbee pan 0x4d45 channel 15 resumed" in b.lines
    assert len(b.with_prefix("han rx from 0x0001")) >= before + 6
    assert b.recorder.events == [] and b.coord.tamper_events == 0


def test_joiner_op_parser_refuses_before_anything_changes():
    b = Bench()
    parse, apply = joiner_handler(b.coord)
    bad_crc = CODE[:-1] + bytes([CODE[-1] ^ 1])
    for payload in (b"", bytes([3]) + DEVICE + CODE, bytes([JOINER_ADD]) + DEVICE[:7],
                    bytes([JOINER_ADD]) + DEVICE + bad_crc,
                    bytes([JOINER_ADD]) + DEVICE + CODE[:5],
                    bytes([JOINER_ADD]) + b"\xff" * 8 + CODE,
                    bytes([JOINER_REMOVE]) + DEVICE + b"\x00"):
        e = raises(Rejected, parse, payload)
        assert e.reason == REJECT_MALFORMED
    assert b.coord.zb.table.count(1) == 0
    # A full table: sixteen 6-octet codes fill it, the seventeenth is refused by parse.
    for i in range(16):
        code = bytes([i, 1, 2, 3, 4, 5])
        c = crc16_x25(code)
        apply(parse(bytes([JOINER_ADD]) + DEVICE[:6] + bytes([0, i]) + code
                    + bytes([c & 0xFF, c >> 8])))
    e = raises(Rejected, parse, bytes([JOINER_ADD]) + DEVICE + CODE)
    assert e.reason == REJECT_TOO_LONG
    # Re-keying a registered device is no new entry; removal frees one.
    parse(bytes([JOINER_ADD]) + DEVICE[:6] + bytes([0, 3]) + CODE)
    apply(parse(bytes([JOINER_REMOVE]) + DEVICE[:6] + bytes([0, 3])))
    assert b.coord.zb.table.count(1) == 15
    apply(parse(bytes([JOINER_ADD]) + DEVICE + CODE))
    assert b.coord.zb.table.find_ext(DEVICE) >= 0


def test_device_needs_a_valid_install_code():
    m = radio_sim.Medium(seed=1)
    store = RecordStore(MemoryFs())
    rb = radio_sim.make_rng(1).getrandbits
    radio = radio_sim.SimRadio(m, (0.0, 0.0), 26)
    raises(ValueError, HanNode, radio, FakeClock(), "device", DEVICE, store, rb)
    raises(ValueError, HanNode, radio, FakeClock(), "device", DEVICE, store, rb,
           install_code=CODE[:-1] + b"\x00")
    raises(ValueError, HanNode, radio, FakeClock(), "router", DEVICE, store, rb)
