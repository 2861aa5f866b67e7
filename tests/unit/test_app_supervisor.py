# The supervisor (firmware/app/supervisor.py) and the simulated watchdog (hal/watchdog.py):
# fault injection on tiers 1 and 2. Tasks are driven by hand, one scheduler round at a time
# on a FakeClock, through the same coroutine the asyncio wrapper would schedule.
from app import supervisor as sv
from hal.clock import FakeClock
from hal.watchdog import RESET_WATCHDOG, SimWatchdog
from registers import logs
from registers.energy import TOTAL_IMPORT
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from support import NoAllocation

UTC0 = 1735689600  # 2025-01-01 00:00 UTC
ROUND_MS = 250  # the asyncio wrapper's step period
WAIT = "wait"


class Tick:
    """An await that suspends for one scheduler round."""

    def __await__(self):
        yield None

    __iter__ = __await__


class Never:
    """An await whose wake-up never comes (the task is parked, as on an Event not set)."""

    def __await__(self):
        while True:
            yield WAIT

    __iter__ = __await__


class Harness:
    def __init__(self, healthy_ms=sv.HEALTHY_MS, watchdog_ms=4000):
        self.clock = FakeClock(utc=UTC0)
        self.log = []
        self.wd = SimWatchdog(self.clock, watchdog_ms)
        self.sup = sv.Supervisor(self.clock, self.wd, self.record, healthy_ms=healthy_ms)
        self.coros = {}
        self.parked = {}
        self.starts = {}

    def record(self, code, a, b):
        self.log.append((code, a, b))

    def add(self, tid, factory, deadline_ms=5000):
        def counted():
            self.starts[tid] = self.starts.get(tid, 0) + 1
            return factory()

        self.sup.add(tid, counted, deadline_ms)

    def round(self):
        """One scheduler round: the supervisor's step, then every runnable task once; then
        ROUND_MS pass."""
        due = self.sup.step(self.clock.ticks_ms())
        for tid in range(1, 8):
            if due & (1 << tid):
                self.coros[tid] = self.sup.start(tid)
                self.parked[tid] = False
        for tid in list(self.coros):
            if self.parked[tid]:
                continue
            try:
                self.parked[tid] = self.coros[tid].send(None) == WAIT
            except StopIteration:
                del self.coros[tid]
        self.clock.advance_ms(ROUND_MS)

    def rounds(self, n):
        for _ in range(n):
            self.round()


def counter(counts, tid, faults):
    """A task that counts its rounds; raises faults[tid] when a test puts one there."""

    async def task():
        while True:
            exc = faults.pop(tid, None)
            if exc is not None:
                raise exc
            counts[tid] = counts.get(tid, 0) + 1
            await Tick()

    return task


def test_event_codes_are_the_registers_logs_codes():
    assert sv.EV_TASK_FAULT == logs.EV_TASK_FAULT == 42
    assert sv.EV_TASK_HUNG == logs.EV_TASK_HUNG == 43


def test_error_codes_are_stable():
    table = [(ValueError("x"), 2), (TypeError(), 3), (IndexError(), 4), (KeyError("k"), 5),
             (ZeroDivisionError(), 6), (OverflowError(), 7), (MemoryError(), 8),
             (AttributeError(), 9), (NotImplementedError(), 10), (RuntimeError(), 11),
             (AssertionError(), 12), (OSError(5), 261), (OSError(28), 284), (OSError(), 256),
             (Exception(), 1)]
    for exc, code in table:
        assert sv.error_code(exc) == code, (exc, code)


def test_each_task_raising_in_turn_is_logged_once_and_restarted_after_one_second():
    h = Harness()
    counts, faults = {}, {}
    ids = (sv.TASK_METROLOGY, sv.TASK_REGISTERS, sv.TASK_P1, sv.TASK_HAN, sv.TASK_SUPPLY,
           sv.TASK_STATUS)
    for tid in ids:
        h.add(tid, counter(counts, tid, faults))
    h.rounds(4)
    assert h.wd.feeds == 4 and all(counts[t] == 4 for t in ids)
    plan = [(sv.TASK_METROLOGY, ValueError("quadrature"), 2),
            (sv.TASK_REGISTERS, OSError(5), 261),
            (sv.TASK_P1, KeyError("x"), 5),
            (sv.TASK_HAN, ZeroDivisionError(), 6),
            (sv.TASK_SUPPLY, RuntimeError(), 11),
            (sv.TASK_STATUS, TypeError(), 3)]
    for tid, exc, code in plan:
        before = dict(counts)
        faults[tid] = exc
        h.round()  # raises in this round
        assert h.log[-1] == (42, tid, code)
        assert sum(1 for e in h.log if e[1] == tid) == 1
        assert counts[tid] == before[tid]
        # 1 s back-off: not started in the next three rounds (750 ms) ...
        h.rounds(3)
        assert counts[tid] == before[tid] and h.starts[tid] == 1
        # ... started at the fourth (1000 ms after the fault), the others never stopped
        h.round()
        assert counts[tid] == before[tid] + 1 and h.starts[tid] == 2
        for other in ids:
            if other != tid:
                assert counts[other] == before[other] + 5
    assert len(h.log) == len(plan)
    assert not h.wd.expired(h.clock.ticks_ms())  # fed all along: faults are not hangs


def test_backoff_doubles_to_a_minute_and_resets_after_a_healthy_run():
    h = Harness(healthy_ms=120000)
    counts, faults = {}, {}
    h.add(sv.TASK_P1, counter(counts, sv.TASK_P1, faults))
    gaps = []
    h.round()
    for _ in range(9):
        faults[sv.TASK_P1] = ValueError()
        h.round()
        failed_at = h.clock.ticks_ms() - ROUND_MS
        starts = h.starts[sv.TASK_P1]
        while h.starts[sv.TASK_P1] == starts:
            h.round()
        gaps.append(h.clock.ticks_ms() - ROUND_MS - failed_at)
    assert gaps == [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]
    h.rounds(120000 // ROUND_MS)  # two minutes without a fault
    faults[sv.TASK_P1] = ValueError()
    h.round()
    failed_at = h.clock.ticks_ms() - ROUND_MS
    starts = h.starts[sv.TASK_P1]
    while h.starts[sv.TASK_P1] == starts:
        h.round()
    assert h.clock.ticks_ms() - ROUND_MS - failed_at == 1000
    assert [e for e in h.log if e[0] != 42] == [] and len(h.log) == 10


def test_a_hung_task_is_logged_once_and_the_watchdog_starves_while_the_others_run():
    for hung_id in (sv.TASK_METROLOGY, sv.TASK_REGISTERS, sv.TASK_P1, sv.TASK_HAN):
        h = Harness()
        counts, faults = {}, {}
        hang = {"now": False}
        for tid in (sv.TASK_METROLOGY, sv.TASK_REGISTERS, sv.TASK_P1, sv.TASK_HAN):
            if tid == hung_id:
                async def hanging(tid=tid):
                    while True:
                        if hang["now"]:
                            await Never()
                        counts[tid] = counts.get(tid, 0) + 1
                        await Tick()

                h.add(tid, hanging, deadline_ms=3000)
            else:
                h.add(tid, counter(counts, tid, faults), deadline_ms=3000)
        h.rounds(8)
        fed = h.wd.feeds
        assert fed == 8
        hang["now"] = True
        h.round()  # the task parks in this round: its last progress is now
        parked_at = h.clock.ticks_ms() - ROUND_MS
        h.rounds(12)  # 3000 ms: at the deadline, not past it
        assert h.log == [] and h.wd.feeds == fed + 13
        h.round()  # 3250 ms: past the deadline
        assert h.log == [(43, hung_id, 3)] and h.sup.hung == hung_id
        assert h.wd.feeds == fed + 13  # not fed in that round, nor ever after
        others = dict(counts)
        h.rounds(40)
        assert h.log == [(43, hung_id, 3)]  # once
        assert h.wd.feeds == fed + 13 and h.starts[hung_id] == 1  # never restarted
        for tid in counts:
            if tid != hung_id:
                assert counts[tid] == others[tid] + 40  # the others still run
        last_feed = parked_at + 13 * ROUND_MS - ROUND_MS
        assert h.wd.expired(last_feed + 4000) and not h.wd.expired(last_feed + 3999)


def test_a_task_that_finishes_is_not_restarted_nor_watched():
    h = Harness()

    async def short():
        for _ in range(3):
            await Tick()

    h.add(sv.TASK_STATUS, short, deadline_ms=1000)
    h.rounds(40)
    assert h.sup.done(sv.TASK_STATUS) and h.starts[sv.TASK_STATUS] == 1
    assert h.log == [] and h.wd.feeds == 40


def test_stop_stops_feeding_and_the_watchdog():
    h = Harness()
    h.add(sv.TASK_STATUS, counter({}, sv.TASK_STATUS, {}))
    h.rounds(2)
    h.sup.stop()
    h.rounds(2)
    assert h.wd.feeds == 2 and h.wd.stopped and not h.wd.expired(h.clock.ticks_ms() + 10**6)


def test_progress_report_and_a_quiet_step_allocate_nothing():
    h = Harness()
    h.add(sv.TASK_P1, counter({}, sv.TASK_P1, {}))
    h.rounds(2)
    sup = h.sup
    now = h.clock.ticks_ms()
    with NoAllocation():
        sup.alive(sv.TASK_P1)
        due = sup.step(now)
    assert due == 0


def test_sim_watchdog_reports_its_cause_and_expiry():
    clock = FakeClock()
    wd = SimWatchdog(clock, 1000, cause=RESET_WATCHDOG)
    assert wd.reset_cause() == 3 and not wd.expired(clock.ticks_ms() + 5000)  # not started
    wd.feed()
    clock.advance_ms(999)
    assert not wd.expired(clock.ticks_ms())
    clock.advance_ms(1)
    assert wd.expired(clock.ticks_ms())


def test_no_energy_lost_or_counted_twice_through_restarts():
    # Metrology adds 250 mWh a round (1 Wh a second); the registers task steps once a
    # second and is made to raise between steps, metrology to raise right after an add:
    # restarted, neither loses nor repeats an addition.
    h = Harness()
    clock = h.clock
    regs = MeterRegisters(clock, MemoryFs())
    regs.boot(UTC0)
    faults = {}
    added = {"n": 0}

    async def metrology():
        while True:
            regs.add_energy(250, 0, 0, 0, 0, 0)
            added["n"] += 1
            if faults.pop(sv.TASK_METROLOGY, None):
                raise ValueError("injected")
            await Tick()

    async def registers():
        while True:
            regs.step(clock.time())
            for _ in range(4):
                if faults.pop(sv.TASK_REGISTERS, None):
                    raise OSError(5)
                await Tick()

    h.add(sv.TASK_METROLOGY, metrology)
    h.add(sv.TASK_REGISTERS, registers, deadline_ms=10000)
    for k in range(240):  # one minute
        if k in (10, 70, 130):
            faults[sv.TASK_REGISTERS] = True
        if k in (40, 100, 200):
            faults[sv.TASK_METROLOGY] = True
        h.round()
    assert [e[:2] for e in h.log] == [(42, 2), (42, 1), (42, 2), (42, 1), (42, 2), (42, 1)]
    # Metrology's back-offs of 1, 2 and 4 s leave 3, 7 and 15 rounds without an addition
    # (it restarts in the round at the end of each): 240 - 25 additions, each counted once.
    assert added["n"] == 215
    assert regs.energy.milli_value(TOTAL_IMPORT) == 250 * 215


class _Hal:
    def __init__(self, clock, watchdog):
        self.clock = clock
        self.watchdog = watchdog


def test_main_logs_the_reset_cause_and_saves_before_a_watchdog_reset():
    import main

    clock = FakeClock(utc=UTC0)
    regs = MeterRegisters(clock, MemoryFs())
    regs.boot(UTC0)
    fault_log = regs.logs.log(logs.FAULT)
    sup = main.make_supervisor(_Hal(clock, SimWatchdog(clock, 4000, cause=RESET_WATCHDOG)),
                               regs, out=None)
    seq, utc, code, flags, a, b = fault_log.entry(0)
    assert (utc, code, a, b) == (UTC0, 44, 3, 0) and fault_log.count == 1
    # A power-on is not a fault: nothing in the fault log.
    regs2 = MeterRegisters(clock, MemoryFs())
    regs2.boot(UTC0)
    main.make_supervisor(_Hal(clock, SimWatchdog(clock, 4000)), regs2, out=None)
    assert regs2.logs.log(logs.FAULT).count == 0
    # A task fault is logged; a hang is logged and the energy saved at once.
    regs.add_energy(5000, 0, 0, 0, 0, 0)
    saves = regs.energy_saves
    clock.advance_ms(2000)
    sup.record_fault(42, 3, 2)
    assert fault_log.entry(0)[2:] == (42, 0, 3, 2) and regs.energy_saves == saves
    sup.record_fault(43, 4, 7)
    assert fault_log.entry(0)[1:] == (UTC0 + 2, 43, 0, 4, 7) and regs.energy_saves == saves + 1
