# Event logs, supply-quality counters and the load profile across reboots
# (firmware/registers/logs.py, quality.py, profile.py; seed 003 11.4/11.6/11.7).
from hal.clock import FakeClock
from registers import logs
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from registers.profile import STATUS_PDN, LoadProfile, SegmentLog
from registers.quality import PowerQuality
from registers.store import RecordStore
from registers.view import RegistersView
from support import raises

T0 = 1735689600  # 2025-01-01 00:00 UTC


def test_fifo_of_40_overwrites_the_oldest_and_survives_reboot():
    fs = MemoryFs()
    store = RecordStore(fs)
    tamper = logs.EventLogs(store)
    # One event per 300 s, the admission rate limit's refill period (logs.REFILL_S): every
    # one of them is admitted (tests/unit/test_registers_logs_budget.py floods it).
    for i in range(45):
        tamper.add(logs.TAMPER, T0 + 300 * i, logs.EV_TAMPER, i, 0)
    log = tamper.log(logs.TAMPER)
    assert log.count == 40
    assert log.entry(0)[4] == 44 and log.entry(39)[4] == 5  # newest, oldest kept
    tamper.flush()
    again = logs.EventLogs(RecordStore(fs))
    again.load()
    log2 = again.log(logs.TAMPER)
    assert log2.count == 40
    assert [log2.entry(a)[4] for a in range(40)] == list(range(44, 4, -1))
    assert [log2.entry(a)[0] for a in range(40)] == list(range(45, 5, -1))  # seq numbers
    log2.add(T0 + 300 * 45, logs.EV_TAMPER, 99)
    assert log2.entry(0)[0] == 46 and log2.entry(39)[4] == 6
    raises(IndexError, log2.entry, 40)


def test_reset_clears_and_leaves_an_event():
    store = RecordStore(MemoryFs())
    all_logs = logs.EventLogs(store)
    for i in range(3):
        all_logs.add(logs.FAULT, T0, logs.EV_FAULT, i)
    all_logs.reset(logs.FAULT, T0 + 5)
    assert all_logs.log(logs.FAULT).count == 0
    standard = all_logs.log(logs.STANDARD)
    assert standard.entry(0)[2:] == (logs.EV_LOG_RESET, 0, logs.FAULT, 3)
    all_logs.reset(logs.STANDARD, T0 + 6)  # the reset of the standard log is its first entry
    assert standard.count == 1 and standard.entry(0)[2] == logs.EV_LOG_RESET


def test_long_power_failures_most_recent_first():
    store = RecordStore(MemoryFs())
    q = PowerQuality(store)
    q.power_failure(T0 + 100, 5)  # short
    for i in range(12):
        q.power_failure(T0 + 1000 * (i + 1), 180 + i)  # 180 s is already long
    assert q.failures == 13 and q.long_failures == 12 and q.long_count == 10
    assert q.long_failure_end(0) == T0 + 12000 and q.long_failure_duration(0) == 191
    assert q.long_failure_duration(9) == 182
    q.sag(1)
    q.swell(3)
    q.swell(3)
    q.save()
    again = PowerQuality(store)
    assert again.load()
    assert again.long_failure_end(0) == T0 + 12000 and again.long_failure_duration(9) == 182
    assert list(again.sags) == [1, 0, 0] and list(again.swells) == [0, 0, 2]


def test_segment_log_ring_keeps_size_and_order_across_reboot():
    fs = MemoryFs()
    log = SegmentLog(fs, "t", 4, per_segment=3, segments=4)
    for i in range(20):
        log.append(T0 + i, bytes([i, 0, 0, 0]))
    assert len(fs.files) == 4  # never more files than segments
    again = SegmentLog(fs, "t", 4, per_segment=3, segments=4)
    assert again.recover() == 20
    assert again.count() == 9 + 20 % 3  # three full segments and the current one
    body = bytearray(4)
    for age in range(again.count()):
        assert again.read(age, body) == T0 + 19 - age and body[0] == 19 - age
    assert again.read(again.count(), body) == -1


def test_segment_log_cuts_a_torn_tail():
    fs = MemoryFs(atomic=False)
    log = SegmentLog(fs, "t", 4, per_segment=8, segments=3)
    for i in range(5):
        log.append(T0 + i, bytes([i] * 4))
    fs.cut_after_bytes = 7
    raises(OSError, log.append, T0 + 5, b"\x05\x05\x05\x05")
    fs.cut_after_bytes = None
    again = SegmentLog(fs, "t", 4, per_segment=8, segments=3)
    assert again.recover() == 5 and again.repaired == 1
    again.append(T0 + 5, b"\x06\x06\x06\x06")
    body = bytearray(4)
    assert again.read(0, body) == T0 + 5 and body[0] == 6
    assert again.read(1, body) == T0 + 4


def test_load_profile_marks_power_down_after_an_outage():
    fs = MemoryFs()
    clock = FakeClock(utc=T0)
    regs = MeterRegisters(clock, fs)
    regs.boot(T0)
    for _ in range(1800):
        clock.advance_ms(1000)
        regs.add_energy(1000, 0, 0, 0, 0, 0)
        regs.step(clock.time())
    assert regs.profile.count() == 2
    clock.advance_ms(3600 * 1000)  # an hour without power
    again = MeterRegisters(clock, fs)
    again.boot(clock.time())
    for _ in range(900):
        clock.advance_ms(1000)
        again.step(clock.time())
    assert again.profile.count() == 3
    end, status, tariff, a_plus, _, _, _ = again.profile.read(0)
    assert status & STATUS_PDN and end == T0 + 5400 + 900
    assert again.profile.read(1)[1] & STATUS_PDN == 0 and again.profile.read(1)[3] == 1800
    view = RegistersView(again)
    assert view.power_failures() == 1 and view.long_power_failures() == 1


def test_load_profile_holds_40_days_at_15_minutes():
    lp = LoadProfile(MemoryFs(), period_s=900, days=40)
    assert lp.log.capacity() >= 40 * 96
