# Average demand (firmware/registers/demand.py) driven through the facade: 15-minute block
# demand, month peak with its time, 13 months of history, maximum per tariff.
from hal.clock import FakeClock
from registers import civil
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from registers.view import RegistersView

T0 = 1735686000  # 2025-01-01 00:00 CET


def _run(regs, clock, seconds, watts):
    mwh = watts * 1000 // 3600  # per second
    for _ in range(seconds):
        regs.add_energy(mwh, 0, 0, 0, 0, 0)
        clock.advance_ms(1000)
        regs.step(clock.time())


def test_block_demand_and_month_peak():
    clock = FakeClock(utc=T0)
    fs = MemoryFs()
    regs = MeterRegisters(clock, fs)
    regs.boot(T0)
    view = RegistersView(regs)
    _run(regs, clock, 900, 3600)  # 3.6 kW (1 Wh per second) for a quarter hour
    assert view.demand_last_w() == 3600
    _run(regs, clock, 450, 7200)
    assert view.demand_current_w() == 7200  # running average of the half period so far
    _run(regs, clock, 450, 0)
    assert view.demand_last_w() == 3600  # (7200 + 0) / 2
    assert view.demand_month_peak_w() == 3600 and view.demand_month_peak_utc() == T0 + 900
    assert view.demand_tariff_max_w(1) == 3600
    again = MeterRegisters(clock, fs)
    again.boot(clock.time())
    assert RegistersView(again).demand_month_peak_w() == 3600


def test_thirteen_months_of_history():
    clock = FakeClock(utc=T0)
    regs = MeterRegisters(clock, MemoryFs())
    regs.boot(T0)
    view = RegistersView(regs)
    for month in range(15):
        # One busy quarter hour at (month + 1) x 3.6 kW at the start of each month.
        _run(regs, clock, 900, 3600 * (month + 1))
        year, mon = 2025 + (month + 1) // 12, (month + 1) % 12 + 1
        next_month = civil.days_from_civil(year, mon, 1) * 86400 - 3600  # 00:00 CET
        clock.advance_ms((next_month - clock.time()) * 1000)
        regs.step(clock.time())
    assert view.demand_history_count() == 13
    assert view.demand_history_w(0) == 54000 and view.demand_history_w(12) == 10800
    assert view.demand_history_utc(0) == civil.days_from_civil(2026, 3, 1) * 86400 - 3600 + 900
