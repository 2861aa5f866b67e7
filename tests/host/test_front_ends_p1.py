"""Each front end of issue 15, driven through its driver into the same registers and P1 as
the 12-bit meter: the ATM90E32AS and ADE7953 fakes (metering ICs: ICMetrology reads them
each second) and the ADS131M04 fake (24-bit sigma-delta: its block sampler feeds the wide
kernel), each with its board's own configuration. After a simulated stretch the P1 telegram
(nl profile), parsed by dsmr_parser with its CRC checked, shows energy and power equal to
the scenario's analytic values (V * I * cos, computed here from the scenario's parameters)
within each front end's class: 1 % for the ICs' class 1 use here, 0.5 % for the 24-bit front
end (class 0.5S), plus P1's own resolution (1 Wh, 1 W)."""
import math

import pytest
from dsmr_parser import obis_references as obis
from dsmr_parser import telegram_specifications as specs
from dsmr_parser.parsers import TelegramParser

from app.source import MeterSource
from h1 import profiles
from h1.builder import TelegramBuilder
from h1.snapshot import MeterSnapshot
from hal.adc_sim import PhaseScenario
from hal.clock import FakeClock
from metrology.frontend import Metrology
from metrology.ic_front import ICMetrology
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from registers.view import RegistersView
from tests.host.test_real_board_backends import load_board

UTC = 1736935200  # 2025-01-15 10:00 UTC


def analytic_w(phases):
    return sum(p.vrms * p.irms * math.cos(math.radians(p.angle_deg)) for p in phases)


def p1_telegram(clock, registers, metrology, utc):
    source = MeterSource(clock, RegistersView(registers), metrology, std_offset_s=3600)
    snap = MeterSnapshot()
    source.capture(snap, utc)
    builder = TelegramBuilder(profiles.by_name("nl"))
    n = builder.build(snap)
    text = bytes(builder.buf[:n]).decode("ascii")
    return TelegramParser(specs.V5, apply_checksum_validation=True).parse(text, throw_ex=True)


def registers_at(clock):
    regs = MeterRegisters(clock, MemoryFs())
    regs.boot(UTC)
    return regs


def run_ic(chip_sim, driver, board, load, seconds):
    clock = FakeClock(utc=UTC)
    regs = registers_at(clock)
    for k, ph in enumerate(load):
        chip_sim.set_load(k, ph, 50.0)
    m = ICMetrology(board.metrology_config(), driver, sink=regs, clock=clock)
    for _ in range(seconds):
        chip_sim.advance(1.0)
        clock.advance_ms(1000)
        assert m.poll()
        regs.step(clock.time())
    return clock, regs, m


def check(telegram, load, seconds, class_percent):
    true_wh = analytic_w(load) * seconds / 3600.0
    p1_wh = float(telegram[obis.ELECTRICITY_USED_TARIFF_1].value
                  + telegram[obis.ELECTRICITY_USED_TARIFF_2].value) * 1000
    assert abs(p1_wh - true_wh) <= true_wh * class_percent / 100 + 1.0, (p1_wh, true_wh)
    p1_w = float(telegram[obis.CURRENT_ELECTRICITY_USAGE].value) * 1000
    true_w = analytic_w(load)
    assert abs(p1_w - true_w) <= true_w * class_percent / 100 + 1.0, (p1_w, true_w)
    assert float(telegram[obis.CURRENT_ELECTRICITY_DELIVERY].value) == 0
    return p1_wh, true_wh


def report(name, p1_wh, true_wh, seconds):
    print("\n[report] %s through its driver, %d s: P1 %.0f Wh, analytic %.1f Wh (%+.3f %%)"
          % (name, seconds, p1_wh, true_wh, (p1_wh / true_wh - 1) * 100))


def test_atm90e32_three_phases_into_registers_and_p1():
    from hal.atm90e32 import ATM90E32
    from hal.atm90e32_sim import ATM90E32Sim

    board = load_board("esp32-atm90e32")
    sim = ATM90E32Sim()
    driver = ATM90E32(sim.spi, sim.cs, line_hz=50, ugain=board.UGAIN, igain=board.IGAIN,
                      sleep_ms=lambda ms: None)
    load = [PhaseScenario(231.0, 12.0, 25.0), PhaseScenario(229.0, 7.5, -15.0),
            PhaseScenario(232.0, 3.1, 0.0)]
    seconds = 3600
    clock, regs, m = run_ic(sim, driver, board, load, seconds)
    t = p1_telegram(clock, regs, m, clock.time())
    p1_wh, true_wh = check(t, load, seconds, 1.0)
    for k, name in enumerate((obis.INSTANTANEOUS_VOLTAGE_L1, obis.INSTANTANEOUS_VOLTAGE_L2,
                              obis.INSTANTANEOUS_VOLTAGE_L3)):
        assert abs(float(t[name].value) - load[k].vrms) <= 0.1 + load[k].vrms * 0.01
    report("ATM90E32AS fake, 3 phases", p1_wh, true_wh, seconds)


def test_ade7953_one_phase_into_registers_and_p1():
    from hal.ade7953 import ADE7953
    from hal.ade7953_sim import ADE7953Sim

    board = load_board("esp32-ade7953")
    fe = board.front_end()  # the board's chip settings: divider, shunts, PGA, energy unit
    sim = ADE7953Sim(**{k: fe[k] for k in ("v_fs", "ia_fs", "ib_fs", "wh_per_count")})
    driver = ADE7953(sim.spi, sim.cs, sleep_ms=lambda ms: None, **fe)
    load = [PhaseScenario(230.0, 20.0, 30.0)]
    seconds = 3600
    clock, regs, m = run_ic(sim, driver, board, load, seconds)
    t = p1_telegram(clock, regs, m, clock.time())
    p1_wh, true_wh = check(t, load, seconds, 1.0)
    assert abs(float(t[obis.INSTANTANEOUS_CURRENT_L1].value) - 20.0) <= 1.0  # whole amps
    report("ADE7953 fake, 1 phase", p1_wh, true_wh, seconds)


def test_ads131m04_through_the_wide_kernel_into_registers_and_p1():
    from hal.ads131m04 import ADS131M04
    from hal.ads131m04_block import ADS131M04Block
    from hal.ads131m04_sim import ADS131M04Sim

    board = load_board("esp32c6-ads131m04")
    load = [PhaseScenario(230.0, 60.0, 20.0)]  # near the board's 68 A full scale
    sim = ADS131M04Sim(phases=tuple(load))
    adc = ADS131M04(sim.spi, sim.cs, sim.drdy, sim.clock, sim.clock.sleep_us,
                    reset=sim.sync_reset, osr=board.ADC_OSR, gains=board.ADC_GAINS,
                    enabled=board.ADC_ENABLED)
    block = ADS131M04Block(adc, channel_map=board.ADC_CHANNEL_MAP)
    clock = sim.clock
    clock.set_time(UTC)
    regs = registers_at(clock)
    m = Metrology(board.metrology_config(), sink=regs, clock=clock)
    start = clock.ticks_us()
    periods = 60
    while m.periods < periods:
        before = m.periods
        m.run_block(block)
        if m.periods != before:
            regs.step(clock.time())
            block.set_mains_hz(m.results[0].freq_hz)
        clock.advance_us(20000)  # the firmware's other work between blocks: a gap
    seconds = clock.ticks_diff(clock.ticks_us(), start) / 1e6
    t = p1_telegram(clock, regs, m, clock.time())
    assert block.held_frames == 0
    # The energy over the clock's time (a gapped sampler: time_base "clock").
    p1_wh, true_wh = check(t, load, seconds, 0.5)
    report("ADS131M04 fake, 24-bit wide kernel", p1_wh, true_wh, int(seconds))
