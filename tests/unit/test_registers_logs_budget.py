# The event logs' flash write budget (issue 10 item 7; firmware/registers/logs.py,
# docs/registers.md "Event logs: coalescing, admission, flush"). Floods are counted against
# a store that counts record writes. Expected figures are worked out by hand from the stated
# parameters: repeats within 300 s of an entry's first occurrence coalesce; each log admits
# a burst of 10 entries, then one per 300 s; a log is written at most once per 300 s; the
# daily budget is 4 logs x 288 writes.
from hal.clock import FakeClock
from registers import logs
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from support import NoAllocation

T0 = 1735689600  # 2025-01-01 00:00 UTC
DAY = 86400
LOG_WRITES_PER_DAY = 4 * 288  # the stated budget: 4 logs x (86 400 s / 300 s)


class CountingStore:
    """Stands in for registers.store.RecordStore: keeps each record's newest payload and
    counts the writes per record and in total."""

    def __init__(self):
        self.records = {}
        self.saves = 0

    def slots(self, name, kind, max_payload=None):
        return _Slots(self, name)


class _Slots:
    def __init__(self, store, name):
        self.store = store
        self.name = name
        self.saves = 0

    def save(self, payload, length):
        self.store.records[self.name] = bytes(payload[:length])
        self.store.saves += 1
        self.saves += 1

    def load(self, buf):
        data = self.store.records.get(self.name)
        if data is None:
            return -1
        for i in range(len(data)):
            buf[i] = data[i]
        return len(data)


def _genuine(all_logs, log_id, start, n):
    """n genuine entries one per 300 s (each admitted, each written at once)."""
    for i in range(n):
        utc = start + 300 * i
        assert all_logs.add(log_id, utc, logs.EV_FAULT, 1000 + i, 0) == logs.STORED
        assert all_logs.flush_due(utc) == 1


def test_3000_tamper_events_in_a_minute_keep_the_log_and_the_budget():
    store = CountingStore()
    all_logs = logs.EventLogs(store)
    tamper = all_logs.log(logs.TAMPER)
    _genuine(all_logs, logs.TAMPER, T0, 40)  # T0 .. T0 + 11 700: 40 writes
    flood = T0 + 20000  # the bucket is full again (> 10 x 300 s after the last entry)
    results = [0, 0, 0]
    for utc in range(T0 + 11701, T0 + DAY):
        if flood <= utc < flood + 60:
            for k in range(50):  # spoofed sources: every event distinct
                b = k + 50 * (utc - flood)
                results[all_logs.add(logs.TAMPER, utc, logs.EV_TAMPER, 1, b)] += 1
        all_logs.flush_due(utc)
    # 10 admitted at once, the next token only at flood + 300, after the flood.
    assert results[logs.STORED] == 10 and results[logs.SUPPRESSED] == 2990
    assert results[logs.COALESCED] == 0
    # Eviction bound: the 10 oldest genuine entries went, the 30 newest are still there.
    assert tamper.count == 40
    assert [tamper.entry(age)[4] for age in range(10)] == [1] * 10
    assert [tamper.entry(age)[4] for age in range(10, 40)] == list(range(1039, 1009, -1))
    # One report, in the fault log, when admission resumed (flood + 300).
    fault = all_logs.log(logs.FAULT)
    assert fault.count == 1
    assert fault.entry(0)[1:] == (flood + 300, logs.EV_EVENTS_SUPPRESSED, 0, logs.TAMPER, 2990)
    assert all_logs.suppressed() == 0
    # Writes: 40 genuine; the tamper log at flood and flood + 300; the fault log once.
    assert store.saves == 43 <= LOG_WRITES_PER_DAY


def test_identical_event_every_second_for_a_day_coalesces():
    store = CountingStore()
    all_logs = logs.EventLogs(store)
    tamper = all_logs.log(logs.TAMPER)
    stored = 0
    for utc in range(T0, T0 + DAY):
        if all_logs.add(logs.TAMPER, utc, logs.EV_TAMPER, 3, 7) == logs.STORED:
            stored += 1
        all_logs.flush_due(utc)
    # A new entry every 300 s (T0 + 300 j, j = 0..287), each with 299 repeats; the refill
    # rate matches, so nothing is suppressed and the day is 288 entries and 288 writes.
    assert stored == 288 and all_logs.suppressed() == 0
    assert tamper.entry(0) == (288, T0 + 86100, logs.EV_TAMPER, 299, 3, 7)
    assert tamper.entry(39) == (249, T0 + 74400, logs.EV_TAMPER, 299, 3, 7)
    assert store.saves == 288


def test_100_distinct_fault_events_per_second_for_ten_minutes():
    store = CountingStore()
    all_logs = logs.EventLogs(store)
    fault = all_logs.log(logs.FAULT)
    start = T0 + 40 * 300
    _genuine(all_logs, logs.FAULT, T0, 40)  # the last at start - 300
    suppressed = 0
    for utc in range(start, start + 3600):
        if utc < start + 600:
            for k in range(100):
                b = k + 100 * (utc - start)  # distinct: no repeat to coalesce
                if all_logs.add(logs.FAULT, utc, logs.EV_ADC_STUCK, 1 + k % 3, b) \
                        == logs.SUPPRESSED:
                    suppressed += 1
        all_logs.flush_due(utc)
    # Admitted: 10 at start, 1 at start + 300 (the refill); 60 000 - 11 suppressed.
    assert suppressed == 59989
    # The fault log reports itself once admission resumes (start + 600).
    assert fault.entry(0)[1:] == (start + 600, logs.EV_EVENTS_SUPPRESSED, 0, logs.FAULT,
                                  59989)
    assert fault.entry(1)[1:] == (start + 300, logs.EV_ADC_STUCK, 0, 1, 30000)
    # 12 entries evicted (11 admitted + the report): genuine 12..39 remain.
    assert [fault.entry(age)[4] for age in range(12, 40)] == list(range(1039, 1011, -1))
    # Writes in the flood's hour: start, start + 300, start + 600.
    assert store.saves == 40 + 3


def test_one_distinct_event_per_second_in_every_log_for_a_day_stays_in_budget():
    store = CountingStore()
    all_logs = logs.EventLogs(store)
    results = [0, 0, 0]
    for utc in range(T0, T0 + DAY):
        for log_id in range(4):
            results[all_logs.add(log_id, utc, logs.EV_FAULT, log_id, utc)] += 1
        all_logs.flush_due(utc)
    # Per log: 10 at T0, one at each refill T0 + 300 j (j = 1..287): 297 admitted.
    assert results[logs.STORED] == 4 * 297
    assert results[logs.SUPPRESSED] == 4 * (DAY - 297)
    for log_id in (logs.STANDARD, logs.TAMPER, logs.TRANSACTION):
        assert all_logs.log(log_id).next_seq == 298
    # Every log dirty every second, written at T0 + 300 j: exactly the budget.
    assert store.saves == LOG_WRITES_PER_DAY
    # Reports (hourly at most per log) went into the fault log on top of its 297 entries.
    reports = all_logs.log(logs.FAULT).next_seq - 1 - 297
    assert 4 <= reports <= 4 * 24


def test_repeat_count_and_suppressed_count_survive_save_and_load():
    store = CountingStore()
    all_logs = logs.EventLogs(store)
    for i in range(7):
        all_logs.add(logs.TAMPER, T0 + i, logs.EV_TAMPER, 5, 6)
    for k in range(13):  # 10 admitted, 3 suppressed
        all_logs.add(logs.FAULT, T0, logs.EV_FAULT, k, 0)
    assert all_logs.flush() == 2
    again = logs.EventLogs(store)
    again.load()
    tamper = again.log(logs.TAMPER)
    assert tamper.count == 1 and tamper.entry(0) == (1, T0, logs.EV_TAMPER, 6, 5, 6)
    assert again.log(logs.FAULT).suppressed == 3
    # The restored entry keeps coalescing within 300 s of its first occurrence.
    assert again.add(logs.TAMPER, T0 + 299, logs.EV_TAMPER, 5, 6) == logs.COALESCED
    assert tamper.entry(0)[3] == 7
    assert again.add(logs.TAMPER, T0 + 300, logs.EV_TAMPER, 5, 6) == logs.STORED


def test_repeats_saturate_then_take_a_new_entry():
    all_logs = logs.EventLogs(CountingStore())
    tamper = all_logs.log(logs.TAMPER)
    for _ in range(65536):  # 1 + 65 535 repeats: the 16-bit field is full
        all_logs.add(logs.TAMPER, T0, logs.EV_TAMPER, 1, 1)
    assert tamper.count == 1 and tamper.entry(0)[3] == 65535
    assert all_logs.add(logs.TAMPER, T0, logs.EV_TAMPER, 1, 1) == logs.STORED
    assert tamper.count == 2 and tamper.entry(0)[3] == 0


def test_authorised_reset_and_clock_set_are_written_at_once():
    store = CountingStore()
    all_logs = logs.EventLogs(store)
    all_logs.add(logs.FAULT, T0, logs.EV_FAULT, 1, 0)
    all_logs.add(logs.STANDARD, T0, logs.EV_CONFIG, 1, 1)
    assert all_logs.flush_due(T0) == 2
    all_logs.add(logs.STANDARD, T0 + 10, logs.EV_CONFIG, 1, 2)
    assert all_logs.flush_due(T0 + 10) == 0  # rate-limited until T0 + 300
    all_logs.reset(logs.FAULT, T0 + 20)
    assert all_logs.flush_due(T0 + 20) == 2  # both the cleared log and the standard log
    all_logs.clock_set(T0 + 30, T0 + 90)
    assert all_logs.flush_due(T0 + 90) == 1
    assert all_logs.log(logs.STANDARD).entry(0)[2:] == (logs.EV_CLOCK_SET, 0, T0 + 30,
                                                        T0 + 90)


def test_clock_set_back_does_not_stall_writes():
    store = CountingStore()
    all_logs = logs.EventLogs(store)
    all_logs.add(logs.TAMPER, T0, logs.EV_TAMPER, 1, 0)
    assert all_logs.flush_due(T0) == 1
    all_logs.add(logs.TAMPER, T0 - 3600, logs.EV_TAMPER, 2, 0)
    assert all_logs.flush_due(T0 - 3600) == 1  # not an hour and 5 minutes later
    all_logs.add(logs.TAMPER, T0 - 3500, logs.EV_TAMPER, 3, 0)
    assert all_logs.flush_due(T0 - 3500) == 0  # the limit holds on the new time base


def test_add_and_idle_flush_allocate_nothing():
    all_logs = logs.EventLogs(CountingStore())
    all_logs.add(logs.TAMPER, T0, logs.EV_TAMPER, 1, 2)
    all_logs.flush_due(T0)
    with NoAllocation():
        for i in range(20):  # coalesced, stored, then suppressed
            all_logs.add(logs.TAMPER, T0 + 1, logs.EV_TAMPER, 1, 2)
            all_logs.add(logs.TAMPER, T0 + 1, logs.EV_TAMPER, 1, 3 + i)
        all_logs.flush_due(T0 + 2)  # not due yet
    assert all_logs.log(logs.TAMPER).count == 10 and all_logs.suppressed() > 0


def test_meter_persists_a_flood_on_the_power_fail_warning():
    fs = MemoryFs()
    clock = FakeClock(utc=T0)
    regs = MeterRegisters(clock, fs)
    regs.boot(T0)
    saves = regs.store.saves
    for t in range(1, 31):
        clock.advance_ms(1000)
        utc = clock.time()
        for k in range(50):
            regs.record_event(logs.TAMPER, utc, logs.EV_TAMPER, 2, 0xABCD)  # stuck sensor
            regs.record_event(logs.FAULT, utc, logs.EV_FAULT, 9, k + 50 * t)  # distinct
        regs.record_sag(1)
        regs.step(utc)
        if t == 1:  # the first step writes the tamper and fault logs and the counters
            assert regs.store.saves == saves + 3
    assert regs.store.saves == saves + 3  # seconds 2..30: rate-limited, nothing written
    regs.power_fail_warning(clock.time())  # energy, then both logs and the counters
    assert regs.store.saves == saves + 3 + 4
    clock.advance_ms(60000)
    again = MeterRegisters(clock, fs)
    again.logs.load()
    tamper = again.logs.log(logs.TAMPER)
    assert tamper.count == 1
    assert tamper.entry(0)[1:] == (T0 + 1, logs.EV_TAMPER, 1499, 2, 0xABCD)
    fault = again.logs.log(logs.FAULT)
    assert fault.count == 10 and fault.suppressed == 1490
    again.quality.load()
    assert again.quality.sags[0] == 30
    # After the reboot the pending count is reported at the first write.
    again.boot(clock.time())
    assert fault.entry(0)[2:] == (logs.EV_EVENTS_SUPPRESSED, 0, logs.FAULT, 1490)
    assert again.logs.suppressed() == 0


def test_meter_sag_flood_writes_the_counters_once_per_300_s():
    clock = FakeClock(utc=T0)
    regs = MeterRegisters(clock, MemoryFs())
    regs.boot(T0)
    before = regs.quality.slots.saves
    for _ in range(600):
        clock.advance_ms(1000)
        regs.record_sag(2)
        regs.step(clock.time())
    assert regs.quality.slots.saves - before == 2  # at T0 + 1 and T0 + 301
    assert regs.quality.sags[1] == 600
