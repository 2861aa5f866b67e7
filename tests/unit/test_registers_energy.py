# Energy registers and the subsystem facade (firmware/registers/energy.py, meter.py).
from hal.clock import FakeClock
from registers import energy as en
from registers import tou
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from registers.view import RegistersView
from support import NoAllocation, raises

JAN_1_2025_UTC = 1735689600  # 2025-01-01 00:00 UTC, a Wednesday


def test_remainders_carry_into_whole_wh():
    e = en.EnergyRegisters(4)
    for _ in range(3):
        e.add_energy(400, 0, 0, 0, 0, 0)  # 3 x 0.4 Wh
    assert e.wh[en.TOTAL_IMPORT] == 1 and e.milli[en.TOTAL_IMPORT] == 200
    assert e.milli_value(en.TOTAL_IMPORT) == 1200


def test_energy_goes_to_the_current_tariff_and_totals():
    e = en.EnergyRegisters(4)
    e.add_energy(1500, 250, 0, 0, 0, 0)
    e.set_tariff(2)
    e.add_energy(2500, 0, 0, 0, 0, 0)
    assert e.wh[en.tariff_import_index(1)] == 1 and e.milli[en.tariff_import_index(1)] == 500
    assert e.wh[en.tariff_import_index(2)] == 2
    assert e.wh[en.TOTAL_IMPORT] == 4  # 1.5 + 2.5: the total keeps its own remainder
    assert e.milli[en.tariff_export_index(1)] == 250


def test_reactive_quadrants_and_totals():
    e = en.EnergyRegisters(4)
    e.add_energy(0, 0, 1000, 2000, 3000, 4000)
    assert [e.wh[en.Q1 + i] for i in range(4)] == [1, 2, 3, 4]
    assert e.wh[en.TOTAL_R_PLUS] == 3  # Q1 + Q2
    assert e.wh[en.TOTAL_R_MINUS] == 7  # Q3 + Q4


def test_rejects_negative_energy_and_bad_tariffs():
    e = en.EnergyRegisters(4)
    raises(ValueError, e.add_energy, -1, 0, 0, 0, 0, 0)
    raises(ValueError, e.set_tariff, 5)
    raises(ValueError, en.EnergyRegisters, 3)
    raises(ValueError, en.EnergyRegisters, 17)
    assert en.EnergyRegisters(16).count == 8 + 32


def test_rollover_at_the_nine_digit_display():
    e = en.EnergyRegisters(4)
    e.wh[en.TOTAL_IMPORT] = 999999999
    e.add_energy(1000, 0, 0, 0, 0, 0)
    assert e.wh[en.TOTAL_IMPORT] == 0


def test_record_roundtrip_and_growth_to_more_tariffs():
    e = en.EnergyRegisters(4)
    e.set_tariff(3)
    e.add_energy(123456, 789, 5, 6, 7, 8)
    buf = bytearray(e.record_size())
    assert e.encode(buf, 0) == e.record_size()
    bigger = en.EnergyRegisters(8)
    bigger.decode(buf, 0, len(buf))
    assert bigger.wh[en.tariff_import_index(3)] == 123 and bigger.tariff == 3
    assert bigger.milli[en.tariff_import_index(3)] == 456
    assert bigger.wh[en.tariff_import_index(8)] == 0


def test_add_energy_allocates_nothing():
    clock = FakeClock(utc=JAN_1_2025_UTC)
    regs = MeterRegisters(clock, MemoryFs())
    regs.boot(clock.time())
    regs.step(clock.time() + 1)
    utc = clock.time() + 2  # within the same minute: step() has nothing due
    with NoAllocation():
        for _ in range(30):  # 8.31 Wh: below the 10 Wh persistence step
            regs.add_energy(277, 12, 30, 0, 0, 4)
            regs.step(utc)
    assert regs.energy.wh[en.TOTAL_IMPORT] == 8 and regs.energy.milli[en.TOTAL_IMPORT] == 310


def test_persists_every_10_wh_and_restores_after_reboot():
    fs = MemoryFs()
    clock = FakeClock(utc=JAN_1_2025_UTC)
    regs = MeterRegisters(clock, fs)
    assert regs.boot(clock.time()) == -1  # first boot: no outage to count
    saves = regs.energy_saves
    for _ in range(36):  # 36 s at 1 kW = 10 Wh
        clock.advance_ms(1000)
        regs.add_energy(277, 0, 0, 0, 0, 0)
        regs.step(clock.time())
    assert regs.energy_saves == saves  # 9.972 Wh: not yet
    clock.advance_ms(1000)
    regs.add_energy(277, 0, 0, 0, 0, 0)
    regs.step(clock.time())
    assert regs.energy_saves == saves + 1  # 10.249 Wh
    clock.advance_ms(1000)
    regs.add_energy(5000, 0, 0, 0, 0, 0)  # 5 Wh more, lost at the cut below
    clock.advance_ms(600000)
    again = MeterRegisters(clock, fs)
    assert again.boot(clock.time()) == 601  # outage since the last energy record
    view = RegistersView(again)
    assert view.total_import_wh() == 10 and again.energy.milli[en.TOTAL_IMPORT] == 249
    assert view.power_failures() == 1 and view.long_power_failures() == 1
    assert view.long_failure_duration_s(0) == 601
    assert view.long_failure_end_utc(0) == clock.time()


def test_saves_every_15_minutes_without_energy():
    clock = FakeClock(utc=JAN_1_2025_UTC)
    regs = MeterRegisters(clock, MemoryFs())
    regs.boot(clock.time())
    saves = regs.energy_saves
    for _ in range(900):
        clock.advance_ms(1000)
        regs.step(clock.time())
    assert regs.energy_saves == saves + 1


def test_power_fail_warning_loses_nothing():
    fs = MemoryFs()
    clock = FakeClock(utc=JAN_1_2025_UTC)
    regs = MeterRegisters(clock, fs)
    regs.boot(clock.time())
    regs.add_energy(3456, 0, 0, 0, 0, 0)
    regs.power_fail_warning(clock.time())
    clock.advance_ms(100000)
    again = MeterRegisters(clock, fs)
    assert again.boot(clock.time()) == 100
    assert again.energy.milli_value(en.TOTAL_IMPORT) == 3456
    assert again.quality.failures == 1 and again.quality.long_failures == 0  # < 180 s


def test_tariff_follows_the_calendar_and_view_reports_it():
    # Weekdays: tariff 2 from 07:00 to 23:00 local, else 1 (NL low/normal).
    cal = tou.build([(1, 1, 0)], [(0, 0, 0, 0, 0, 1, 1)],
                    [[(0, 1), (420, 2), (1380, 1)], [(0, 1)]])
    clock = FakeClock(utc=JAN_1_2025_UTC + 6 * 3600)  # Wed 07:00 CET
    regs = MeterRegisters(clock, MemoryFs(), calendar=cal)
    regs.boot(clock.time())
    view = RegistersView(regs)
    assert view.tariff_indicator() == 2
    regs.add_energy(2000, 0, 0, 0, 0, 0)
    clock.advance_ms(16 * 3600 * 1000)  # 23:00 CET
    regs.step(clock.time())
    assert view.tariff_indicator() == 1
    regs.add_energy(3000, 0, 0, 0, 0, 0)
    assert view.import_wh(2) == 2 and view.import_wh(1) == 3 and view.total_import_wh() == 5
    assert view.utc_offset_s() == 3600 and view.dst() == 0


def test_optional_save_interval_caps_writes_at_high_load():
    clock = FakeClock(utc=JAN_1_2025_UTC)
    regs = MeterRegisters(clock, MemoryFs(), min_save_interval_s=8)
    regs.boot(clock.time())
    saves = regs.energy_saves
    for _ in range(80):  # 36 kW: 10 Wh every second, but at most one save per 8 s
        clock.advance_ms(1000)
        regs.add_energy(10000, 0, 0, 0, 0, 0)
        regs.step(clock.time())
    assert regs.energy_saves - saves == 10
