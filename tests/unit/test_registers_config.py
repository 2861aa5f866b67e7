# Authenticated configuration path (firmware/registers/config.py).
from hal.clock import FakeClock
from registers import config, logs, tou
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from support import raises

KEY = b"0123456789abcdef0123456789abcdef"
T0 = 1735689600


def test_hmac_sha256_rfc4231_case_2():
    tag = config.hmac_sha256(b"Jefe", b"what do ya want for nothing?")
    assert tag == bytes.fromhex(
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


def test_hmac_sha256_rfc4231_case_6_long_key():
    tag = config.hmac_sha256(b"\xaa" * 131,
                             b"Test Using Larger Than Block-Size Key - Hash Key First")
    assert tag == bytes.fromhex(
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")


def _meter():
    fs = MemoryFs()
    clock = FakeClock(utc=T0)
    regs = MeterRegisters(clock, fs)
    regs.boot(T0)
    return fs, clock, regs, config.ConfigSession(regs, KEY)


def test_set_clock_logs_old_and_new_time():
    _, clock, regs, session = _meter()
    cmd = config.command(config.OP_SET_CLOCK, 1, (T0 + 3600).to_bytes(4, "little"))
    session.execute(cmd, config.hmac_sha256(KEY, cmd), T0)
    assert clock.time() == T0 + 3600
    standard = regs.logs.log(logs.STANDARD)
    entries = [standard.entry(a) for a in range(standard.count)]
    assert (logs.EV_CLOCK_SET, 0, T0, T0 + 3600) in [e[2:] for e in entries]
    assert (logs.EV_CONFIG, 0, config.OP_SET_CLOCK, 1) in [e[2:] for e in entries]


def test_wrong_tag_and_replay_are_rejected_and_logged_as_tamper():
    fs, _, regs, session = _meter()
    cmd = config.command(config.OP_RESET_LOG, 5, bytes([logs.FAULT]))
    bad = bytearray(config.hmac_sha256(KEY, cmd))
    bad[0] ^= 1
    raises(config.AuthError, session.execute, cmd, bytes(bad), T0)
    session.execute(cmd, config.hmac_sha256(KEY, cmd), T0)
    raises(config.AuthError, session.execute, cmd, config.hmac_sha256(KEY, cmd), T0)  # replay
    tamper = regs.logs.log(logs.TAMPER)
    # Forged, then replayed: the same (code, a, b) twice, counted as one entry and one
    # repeat (flags = 1) by the logs' coalescing.
    assert tamper.count == 1 and tamper.entry(0)[2:] == (logs.EV_AUTH_FAILED, 1,
                                                         config.OP_RESET_LOG, 5)
    # The counter survives a reboot: the old command stays rejected.
    again = MeterRegisters(FakeClock(utc=T0 + 10), fs)
    again.boot(T0 + 10)
    s2 = config.ConfigSession(again, KEY)
    assert s2.counter == 5
    raises(config.AuthError, s2.execute, cmd, config.hmac_sha256(KEY, cmd), T0 + 10)


def test_authorised_log_reset_writes_an_event():
    _, _, regs, session = _meter()
    regs.record_event(logs.FAULT, T0, logs.EV_FAULT, 1, 2)
    cmd = config.command(config.OP_RESET_LOG, 1, bytes([logs.FAULT]))
    session.execute(cmd, config.hmac_sha256(KEY, cmd), T0 + 1)
    assert regs.logs.log(logs.FAULT).count == 0
    # The reset's own event, then the accepted command's (logged once it has been applied).
    assert regs.logs.log(logs.STANDARD).entry(1)[2:] == (logs.EV_LOG_RESET, 0, logs.FAULT, 1)
    assert regs.logs.log(logs.STANDARD).entry(0)[2:] == (logs.EV_CONFIG, 0, 4, 1)


def test_malformed_calendar_changes_nothing():
    _, _, regs, session = _meter()
    cmd = config.command(config.OP_SET_PASSIVE_CALENDAR, 1, b"\x00\x00\x00\x00\x07")
    raises(ValueError, session.execute, cmd, config.hmac_sha256(KEY, cmd), T0)
    assert regs.tariffs.passive is None
    good = tou.single_tariff(2)
    cmd = config.command(config.OP_SET_ACTIVE_CALENDAR, 2, good)
    session.execute(cmd, config.hmac_sha256(KEY, cmd), T0)
    assert regs.energy.tariff == 2


def test_short_keys_are_refused():
    _, _, regs, _ = _meter()
    raises(ValueError, config.ConfigSession, regs, b"short")
