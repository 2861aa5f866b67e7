# Every configuration operation against forged, replayed, truncated, out-of-range, NaN/inf,
# oversized and malformed commands (issue 10 item 4 "must show"): nothing accepted or half
# applied, counters never reusable, exactly one event each. One table; each row runs on a
# freshly booted meter (registers on a memfs, 3-phase metrology, main's session wiring).
#
# Expected values are literals: event codes 4 EV_CONFIG, 8 EV_CONFIG_REJECTED, 21
# EV_AUTH_FAILED; logs 0 standard, 2 tamper; reasons 1 malformed, 2 range, 3 too long,
# 4 unknown op, 5 storage, 16 short, 17 oversized, 18 tag, 19 replay (docs/registers.md).
import struct

import main
from hal.clock import FakeClock
from metrology.config import MetrologyConfig
from metrology.frontend import Metrology
from native.crc32 import crc32
from registers import config, tou
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from registers.store import RecordStore
from support import raises

KEY = b"0123456789abcdef0123456789abcdef"
T0 = 1735689600  # 2025-01-01T00:00:00Z
COUNTER = 11  # every row's command; row setups use 1 .. 10
NAN = float("nan")
INF = float("inf")


class FailingFs(MemoryFs):
    """A memfs whose writes to one record fail (a worn or full flash)."""

    def __init__(self, fail_prefix):
        super().__init__()
        self.fail_prefix = fail_prefix

    def open(self, name, mode="rb"):
        if "w" in mode and name.startswith(self.fail_prefix):
            raise OSError(5)
        return super().open(name, mode)


class Meter:
    def __init__(self, fs=None):
        self.fs = fs if fs is not None else MemoryFs()
        self.clock = FakeClock(utc=T0)
        self.regs = MeterRegisters(self.clock, self.fs)
        self.regs.boot(T0)
        self.metrology = Metrology(MetrologyConfig(phases=3, rate_hz=4000), sink=self.regs,
                                   clock=self.clock)
        self.provisioned = []
        handlers = {config.OP_PROVISION: (self.parse_provision, self.provisioned.append)}
        self.session = main.make_config_session(self.regs, self.metrology, KEY, handlers)

    @staticmethod
    def parse_provision(payload):
        # A stand-in for app.provision's parser (main installs the real one): 8 octets.
        if len(payload) != 8:
            raise ValueError("provisioning stand-in takes 8 octets")
        return bytes(payload)

    def send(self, cmd, tag=None):
        return self.session.execute(cmd, tag if tag is not None else sign(cmd))


def sign(cmd):
    return config.hmac_sha256(KEY, cmd)


def cmd(op, payload, counter=COUNTER):
    return struct.pack("<BI", op, counter) + bytes(payload)


def u32(v):
    return struct.pack("<I", v)


def cal_record(phases):
    """A calibration record built here (magic, count, 4 float32 per phase, CRC-32)."""
    body = bytearray(b"CAL1")
    body.append(len(phases))
    for v_gain, i_gain, phase_deg, noise in phases:
        body.extend(struct.pack("<ffff", v_gain, i_gain, phase_deg, noise))
    body.extend(struct.pack("<I", crc32(body)))
    return bytes(body)


UNITY = (1.0, 1.0, 0.0, 0.0)
GOOD_CAL = cal_record([(1.0125, 0.99, -0.42, 0.02), UNITY, (2.0, 0.5, 10.0, 1.0)])


def cal_with(k, value):
    """Three unity phases, with field k of phase 2 set to value."""
    p = list(UNITY)
    p[k] = value
    return cal_record([UNITY, tuple(p), UNITY])


def big_calendar(tariff=1):
    """A valid calendar of 609 octets: 16 day profiles of 12 switches."""
    days = [[(m * 60, tariff + (m % 2)) for m in range(12)] for _ in range(16)]
    return tou.build([(1, 1, 0)], [(0, 1, 2, 3, 4, 5, 6)], days, calendar_id=77)


NIGHT2 = tou.build([(1, 1, 0)], [(0,) * 7], [[(0, 2)]], calendar_id=9)
BAD_VERSION = b"\x02" + NIGHT2[1:]
ACT = 1767225600  # 2026-01-01T00:00:00Z

# Setup commands (counters 1..10) run before a row; all are valid.
BIG_ACTIVE = [(config.OP_SET_ACTIVE_CALENDAR, big_calendar())]
BIG_PASSIVE = [(config.OP_SET_PASSIVE_CALENDAR, u32(ACT) + big_calendar())]

OK, REJ, TAMP = "ok", "rejected", "tamper"
CLOCK, RESET, TEXT, CAL, PROV = 1, 4, 6, 5, 7
GAS_ALERT = 10
PASSIVE, ACTIVE = 2, 3

# (name, setup, op byte, payload or whole command bytes, tag kind, outcome, reason)
# tag kind: "good", "forged"; payload b"\x00..." with "whole" uses it as the command.
ROWS = [
    # OP_SET_CLOCK
    ("clock valid", [], CLOCK, u32(1767225600), "good", OK, 0),
    ("clock last second of 2099", [], CLOCK, u32(4102444799), "good", OK, 0),
    ("clock first second of 2000", [], CLOCK, u32(946684800), "good", OK, 0),
    ("clock forged", [], CLOCK, u32(1767225600), "forged", TAMP, 18),
    ("clock 0xFFFFFFFF", [], CLOCK, u32(0xFFFFFFFF), "good", REJ, 2),
    ("clock 1999", [], CLOCK, u32(946684799), "good", REJ, 2),
    ("clock 2100", [], CLOCK, u32(4102444800), "good", REJ, 2),
    ("clock 0", [], CLOCK, u32(0), "good", REJ, 2),
    ("clock 3 octets", [], CLOCK, b"\x00\x00\x00", "good", REJ, 1),
    ("clock 5 octets", [], CLOCK, u32(1767225600) + b"\x00", "good", REJ, 1),
    ("clock oversized", [], CLOCK, u32(1767225600) + bytes(1021), "good", TAMP, 17),
    # OP_SET_PASSIVE_CALENDAR
    ("passive valid", [], PASSIVE, u32(ACT) + NIGHT2, "good", OK, 0),
    ("passive forged", [], PASSIVE, u32(ACT) + NIGHT2, "forged", TAMP, 18),
    ("passive activation 0xFFFFFFFF", [], PASSIVE, u32(0xFFFFFFFF) + NIGHT2, "good", REJ, 2),
    ("passive activation 1999", [], PASSIVE, u32(946684799) + NIGHT2, "good", REJ, 2),
    ("passive bad version", [], PASSIVE, u32(ACT) + BAD_VERSION, "good", REJ, 1),
    ("passive cut calendar", [], PASSIVE, u32(ACT) + NIGHT2[:-1], "good", REJ, 1),
    ("passive tariff 5 of 4", [], PASSIVE,
     u32(ACT) + tou.build([(1, 1, 0)], [(0,) * 7], [[(0, 5)]]), "good", REJ, 1),
    ("passive no activation", [], PASSIVE, b"\x00\x00", "good", REJ, 1),
    ("passive too long", BIG_ACTIVE, PASSIVE, u32(ACT) + big_calendar(2), "good", REJ, 3),
    ("passive oversized", [], PASSIVE, u32(ACT) + NIGHT2 + bytes(1100), "good", TAMP, 17),
    # OP_SET_ACTIVE_CALENDAR
    ("active valid", [], ACTIVE, NIGHT2, "good", OK, 0),
    ("active forged", [], ACTIVE, NIGHT2, "forged", TAMP, 18),
    ("active bad version", [], ACTIVE, BAD_VERSION, "good", REJ, 1),
    ("active empty", [], ACTIVE, b"", "good", REJ, 1),
    ("active too long", BIG_PASSIVE, ACTIVE, big_calendar(2), "good", REJ, 3),
    ("active oversized", [], ACTIVE, bytes(1025), "good", TAMP, 17),
    # OP_RESET_LOG
    ("reset valid", [], RESET, b"\x01", "good", OK, 0),
    ("reset forged", [], RESET, b"\x01", "forged", TAMP, 18),
    ("reset log 4", [], RESET, b"\x04", "good", REJ, 2),
    ("reset log 255", [], RESET, b"\xff", "good", REJ, 2),
    ("reset empty", [], RESET, b"", "good", REJ, 1),
    ("reset 2 octets", [], RESET, b"\x01\x00", "good", REJ, 1),
    ("reset oversized", [], RESET, bytes(1025), "good", TAMP, 17),
    # OP_SET_CALIBRATION
    ("cal valid", [], CAL, GOOD_CAL, "good", OK, 0),
    ("cal forged", [], CAL, GOOD_CAL, "forged", TAMP, 18),
    ("cal v_gain NaN", [], CAL, cal_with(0, NAN), "good", REJ, 2),
    ("cal i_gain inf", [], CAL, cal_with(1, INF), "good", REJ, 2),
    ("cal phase -inf", [], CAL, cal_with(2, -INF), "good", REJ, 2),
    ("cal noise NaN", [], CAL, cal_with(3, NAN), "good", REJ, 2),
    ("cal noise inf", [], CAL, cal_with(3, INF), "good", REJ, 2),
    ("cal v_gain 1e30", [], CAL, cal_with(0, 1e30), "good", REJ, 2),
    ("cal i_gain -1", [], CAL, cal_with(1, -1.0), "good", REJ, 2),
    ("cal v_gain 0.49", [], CAL, cal_with(0, 0.49), "good", REJ, 2),
    ("cal i_gain 2.01", [], CAL, cal_with(1, 2.01), "good", REJ, 2),
    ("cal phase 180", [], CAL, cal_with(2, 180.0), "good", REJ, 2),
    ("cal phase 1e6", [], CAL, cal_with(2, 1e6), "good", REJ, 2),
    ("cal phase -10.5", [], CAL, cal_with(2, -10.5), "good", REJ, 2),
    ("cal noise -0.1", [], CAL, cal_with(3, -0.1), "good", REJ, 2),
    ("cal noise 1.5", [], CAL, cal_with(3, 1.5), "good", REJ, 2),
    ("cal one phase", [], CAL, cal_record([UNITY]), "good", REJ, 2),
    ("cal bad CRC", [], CAL, GOOD_CAL[:-1] + bytes([GOOD_CAL[-1] ^ 1]), "good", REJ, 1),
    ("cal cut", [], CAL, GOOD_CAL[:-1], "good", REJ, 1),
    ("cal oversized", [], CAL, GOOD_CAL + bytes(1000), "good", TAMP, 17),
    # OP_SET_TEXT_MESSAGE
    ("text valid", [], TEXT, b"Storing voor 16:00 verholpen", "good", OK, 0),
    ("text 1024 octets", [], TEXT, b"x" * 1024, "good", OK, 0),
    ("text forged", [], TEXT, b"hello", "forged", TAMP, 18),
    ("text 1025 octets", [], TEXT, b"x" * 1025, "good", TAMP, 17),
    # OP_PROVISION (handler from main: a stand-in here)
    ("provision valid", [], PROV, b"ABCDEFGH", "good", OK, 0),
    ("provision forged", [], PROV, b"ABCDEFGH", "forged", TAMP, 18),
    ("provision 7 octets", [], PROV, b"ABCDEFG", "good", REJ, 1),
    ("provision oversized", [], PROV, bytes(1025), "good", TAMP, 17),
    # OP_SET_GAS_ALERT: seconds u32, 60 .. 2 592 000 (30 days)
    ("gas alert 3 h", [], GAS_ALERT, u32(10800), "good", OK, 0),
    ("gas alert 60 s", [], GAS_ALERT, u32(60), "good", OK, 0),
    ("gas alert 30 days", [], GAS_ALERT, u32(2592000), "good", OK, 0),
    ("gas alert 59 s", [], GAS_ALERT, u32(59), "good", REJ, 2),
    ("gas alert 30 days + 1 s", [], GAS_ALERT, u32(2592001), "good", REJ, 2),
    ("gas alert 0", [], GAS_ALERT, u32(0), "good", REJ, 2),
    ("gas alert 3 octets", [], GAS_ALERT, u32(10800)[:3], "good", REJ, 1),
    ("gas alert 5 octets", [], GAS_ALERT, u32(10800) + b"\x00", "good", REJ, 1),
    ("gas alert forged", [], GAS_ALERT, u32(10800), "forged", TAMP, 18),
    # Unknown operations
    ("op 0", [], 0, b"", "good", REJ, 4),
    ("op 8", [], 8, b"\x01", "good", REJ, 4),
    ("op 255", [], 255, b"", "good", REJ, 4),
]
# Truncated commands (< 5 octets) and replays, for every op: added below.
for _op in (CLOCK, PASSIVE, ACTIVE, RESET, CAL, TEXT, PROV, GAS_ALERT):
    ROWS.append(("op %d truncated" % _op, [], _op, None, "truncated", TAMP, 16))
    ROWS.append(("op %d replayed" % _op, [], _op, None, "replay", TAMP, 19))
ROWS.append(("empty command", [], 0, None, "empty", TAMP, 16))

VALID_PAYLOAD = {CLOCK: u32(1767225600), PASSIVE: u32(ACT) + NIGHT2, ACTIVE: NIGHT2,
                 RESET: b"\x01", CAL: GOOD_CAL, TEXT: b"hi", PROV: b"ABCDEFGH",
                 GAS_ALERT: u32(3600)}


def raw(fs, name, kind):
    buf = bytearray(1024)
    n = RecordStore(fs).slots(name, kind, 1024).load(buf)
    return bytes(buf[:n]) if n >= 0 else None


def state(m):
    regs = m.regs
    t = regs.tariffs
    return {
        "clock": m.clock.time(),
        "active": t.active.data,
        "passive": t.passive.data if t.passive is not None else None,
        "activation": t.activation_utc,
        "tariffs_flash": raw(m.fs, "tariffs", 0x40),
        "cal": m.metrology.calibration.encode(),
        "cal_flash": raw(m.fs, "calibration", 0x80),
        "text": m.session.text.message(),
        "text_flash": raw(m.fs, "text", 0xA0),
        "provisioned": list(m.provisioned),
        "counter": m.session.counter,
        "counter_flash": raw(m.fs, "config", 0x60),
        "gas_alert": regs.gas.silent_after_s,
        "gas_alert_flash": raw(m.fs, "gasalert", 0xC1),
        "fault_log": [regs.logs.log(1).entry(a) for a in range(regs.logs.log(1).count)],
    }


def entries(m, log_id):
    """(code, a, b) of each entry, newest first (flags, the repeat count, left out)."""
    log = m.regs.logs.log(log_id)
    return [log.entry(k)[2:3] + log.entry(k)[4:] for k in range(log.count)]


def events(m, log_id):
    """Events logged: entries plus the repeats coalesced into them (registers/logs.py)."""
    log = m.regs.logs.log(log_id)
    return sum(1 + log.entry(k)[3] for k in range(log.count))


def build_row(m, row):
    name, setup, op, payload, tag_kind, outcome, reason = row
    counter = 1
    for sop, spayload in setup:
        m.send(cmd(sop, spayload, counter))
        counter += 1
    if tag_kind == "replay":
        c = cmd(op, VALID_PAYLOAD[op], 10)
        assert m.send(c) == op
        return c, sign(c)
    if tag_kind == "truncated":
        c = cmd(op, b"", COUNTER)[:4]
        return c, sign(c)
    if tag_kind == "empty":
        return b"", sign(b"")
    c = cmd(op, payload)
    tag = bytearray(sign(c))
    if tag_kind == "forged":
        tag[31] ^= 0x80
    return c, bytes(tag)


def check_ok(m, name, before):
    after = state(m)
    assert after["counter"] == COUNTER and after["counter_flash"] == u32(COUNTER), name
    changed = {
        "clock valid": {"clock": 1767225600},
        "clock last second of 2099": {"clock": 4102444799},
        "clock first second of 2000": {"clock": 946684800},
        "passive valid": {"passive": NIGHT2, "activation": ACT},
        "active valid": {"active": NIGHT2},
        "reset valid": {"fault_log": []},
        "cal valid": {"cal": GOOD_CAL, "cal_flash": GOOD_CAL},
        "text valid": {"text": b"Storing voor 16:00 verholpen",
                       "text_flash": b"Storing voor 16:00 verholpen"},
        "text 1024 octets": {"text": b"x" * 1024, "text_flash": b"x" * 1024},
        "provision valid": {"provisioned": [b"ABCDEFGH"]},
        "gas alert 3 h": {"gas_alert": 10800, "gas_alert_flash": u32(10800)},
        "gas alert 60 s": {"gas_alert": 60, "gas_alert_flash": u32(60)},
        "gas alert 30 days": {"gas_alert": 2592000, "gas_alert_flash": u32(2592000)},
    }[name]
    for key in before:
        if key in ("op", "counter", "counter_flash", "tariffs_flash"):
            continue
        expected = changed.get(key, before[key])
        assert after[key] == expected, (name, key, after[key])
    assert entries(m, 0)[0] == (4, before["op"], COUNTER), name


def test_every_operation_against_every_kind_of_bad_command():
    assert len(ROWS) >= 80
    for row in ROWS:
        name, setup, op, payload, tag_kind, outcome, reason = row
        m = Meter()
        m.regs.record_event(1, T0, 40, 1, 2)  # one fault entry, for the log reset
        c, tag = build_row(m, row)
        before = state(m)
        before["op"] = op
        std, tamper = entries(m, 0), entries(m, 2)
        n_std, n_tamper = events(m, 0), events(m, 2)
        if outcome == OK:
            assert m.send(c, tag) == op, name
            check_ok(m, name, before)
        else:
            e = raises(config.AuthError if outcome == TAMP else config.Rejected,
                       m.send, c, tag)
            assert e.reason == reason, (name, e.reason)
            after = state(m)
            want_counter = COUNTER if outcome == REJ else before["counter"]
            assert after["counter"] == want_counter, name
            if outcome == REJ:
                assert after["counter_flash"] == u32(COUNTER), name
            for key in before:
                if key not in ("op", "counter", "counter_flash"):
                    assert after[key] == before[key], (name, key)
            if outcome == REJ:  # one config-rejected event (a = op, b = reason), nothing else
                assert entries(m, 0) == [(8, op, reason)] + std, name
                assert events(m, 0) == n_std + 1, name
                assert entries(m, 2) == tamper and events(m, 2) == n_tamper, name
            else:  # one tamper event (a = op, b = counter)
                first = c[0] if len(c) else 0
                counter = {16: 0, 19: 10}.get(reason, COUNTER)
                assert entries(m, 2) == [(21, first, counter)] + tamper, name
                assert events(m, 2) == n_tamper + 1, name
                assert entries(m, 0) == std and events(m, 0) == n_std, name
        # The same command again is refused, with one more tamper event and no change.
        again_before = state(m)
        n_std, n_tamper = events(m, 0), events(m, 2)
        e = raises(config.AuthError, m.send, c, tag)
        assert e.reason == (19 if outcome != TAMP else reason), (name, e.reason)
        assert events(m, 2) == n_tamper + 1 and events(m, 0) == n_std, name
        assert state(m) == again_before, name


def test_a_refused_passive_calendar_never_activates_even_after_a_reboot():
    m = Meter()
    m.send(cmd(ACTIVE, big_calendar(), 1))
    c = cmd(PASSIVE, u32(T0 + 120) + big_calendar(2), 2)
    e = raises(config.Rejected, m.send, c)
    assert e.reason == 3
    m.clock.advance_ms(600 * 1000)
    m.regs.step(T0 + 600)
    assert m.regs.tariffs.active.data == big_calendar()
    assert m.regs.tariffs.passive is None
    again = Meter(m.fs)  # power cycle on the same flash
    assert again.regs.tariffs.active.data == big_calendar()
    assert again.regs.tariffs.passive is None
    assert again.session.counter == 2
    raises(config.AuthError, again.send, c)


def test_a_refused_calibration_is_not_restored_at_boot():
    m = Meter()
    m.send(cmd(CAL, GOOD_CAL, 1))
    raises(config.Rejected, m.send, cmd(CAL, cal_with(0, NAN), 2))
    again = Meter(m.fs)
    assert again.metrology.calibration.encode() == GOOD_CAL


def test_a_flash_failure_applies_nothing_and_consumes_the_counter():
    for prefix, op, payload, key in (("text", TEXT, b"new", "text"),
                                     ("tariffs", PASSIVE, u32(ACT) + NIGHT2, "passive"),
                                     ("tariffs", ACTIVE, NIGHT2, "active"),
                                     ("calibration", CAL, GOOD_CAL, "cal")):
        m = Meter(FailingFs(prefix))
        before = state(m)
        e = raises(config.Rejected, m.send, cmd(op, payload, 3))
        assert e.reason == 5, prefix
        after = state(m)
        assert after[key] == before[key], prefix
        assert after["counter"] == 3 and after["counter_flash"] == u32(3)
        assert entries(m, 0)[0] == (8, op, 5)
        raises(config.AuthError, m.send, cmd(op, payload, 3))


def test_handlers_must_be_two_phase():
    m = Meter()
    raises(TypeError, config.ConfigSession, m.regs, KEY, {7: lambda payload: None})
