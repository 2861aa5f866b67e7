# The meter's own tasks and bridges (app/tasks.py): metrology events and HAN tamper
# episodes become log entries; the supply monitor saves once per (debounced) warning.
from app.tasks import (WARNING_DEBOUNCE_MS, WARNING_RELEASE_MS, MetrologyEventLog,
                       han_tamper_logger, supply_monitor_task)
from hal.clock import FakeClock
from metrology import events as mev
from registers import logs
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters

T0 = 1795694400  # 2026-11-26 10:00:00 UTC


def _regs():
    regs = MeterRegisters(FakeClock(utc=T0), MemoryFs())
    regs.boot(T0)
    return regs


def _entries(regs, log_id):
    log = regs.logs.log(log_id)
    return [log.entry(age)[1:3] + log.entry(age)[4:] for age in range(log.count)][::-1]


class _Detector:
    last_bad_freq_mhz = [0, 71234, 0]


def test_metrology_events_go_to_their_logs():
    regs = _regs()
    bridge = MetrologyEventLog(regs)
    bridge.detector = _Detector()
    bridge.on_event(mev.VOLTAGE_LOSS, 3, T0 + 1, True)
    bridge.on_event(mev.VOLTAGE_LOSS, 3, T0 + 9, False)
    bridge.on_event(mev.REVERSE_FLOW, 1, T0 + 2, True)
    bridge.on_event(mev.ADC_STUCK, 2, T0 + 3, True)
    bridge.on_event(mev.ADC_SATURATED, 1, T0 + 4, False)
    bridge.on_event(mev.FREQ_OUT_OF_RANGE, 2, T0 + 5, True)
    bridge.on_event(mev.FREQ_OUT_OF_RANGE, 2, T0 + 6, False)  # the end is not logged
    bridge.on_event(mev.SAG, 1, T0 + 7, True)  # counted by the registers' sink, not logged
    standard = [e for e in _entries(regs, logs.STANDARD) if e[1] == 11]
    assert standard == [(T0 + 1, 11, 3, 1), (T0 + 9, 11, 3, 0)]  # EV_VOLTAGE_LOSS
    assert _entries(regs, logs.TAMPER) == [(T0 + 2, 22, 1, 1)]  # EV_REVERSE_FLOW
    assert _entries(regs, logs.FAULT) == [(T0 + 3, 46, 2, 1), (T0 + 4, 47, 1, 0),
                                         (T0 + 5, 45, 2, 71234)]


def test_han_tamper_episode_is_one_tamper_log_entry():
    regs = _regs()
    han_tamper_logger(regs)(T0 + 5, 3, 0x0B00C0FF)
    assert _entries(regs, logs.TAMPER) == [(T0 + 5, 20, 3, 0x0B00C0FF)]  # EV_TAMPER


class _Done(Exception):
    pass


class _Pin:
    """One level per poll of the monitor; the run ends when they are used up."""

    def __init__(self, levels):
        self.levels = levels
        self.i = 0

    def value(self):
        if self.i >= len(self.levels):
            raise _Done
        self.i += 1
        return self.levels[self.i - 1]


class _Counting:
    def __init__(self):
        self.warnings = 0

    def power_fail_warning(self):
        self.warnings += 1


POLL_MS = 1  # the monitor counts its debounce in polls of poll_ms


def _drive(levels):
    import asyncio

    regs = _Counting()
    try:
        asyncio.run(supply_monitor_task(_Pin(levels), regs, out=lambda s: None,
                                        poll_ms=POLL_MS))
    except _Done:
        pass
    return regs.warnings


def test_supply_warning_is_debounced_and_saved_once():
    steady = WARNING_DEBOUNCE_MS // POLL_MS  # 40 polls high: a warning
    release = WARNING_RELEASE_MS // POLL_MS  # 1000 polls low: ready for the next one
    assert _drive([0] * 5 + [1] * (steady + 20)) == 1  # one save however long it lasts
    assert _drive([1, 0] * 60) == 0  # a bouncing comparator never reaches the debounce
    # a second warning counts only after the input was low for a second
    again = ([1] * steady + [0] * 10 + [1] * steady + [0] * release + [1] * steady)
    assert _drive(again) == 2
