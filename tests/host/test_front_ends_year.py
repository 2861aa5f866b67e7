"""A whole simulated year through each metering IC's registers, its driver and ICMetrology:
a household's load that changes every 15 minutes (import at night and in the evening, solar
export at midday), the registers read every 15 minutes: the ATM90E32AS's 16-bit read-clear
energy registers filled with up to 57 600 counts per read, the ADE7953's free-running
24-bit ones wrapping over 500 times. The import and export registers hold exactly the
analytic energy (V * I * cos summed here over the intervals) to within the IC's own count
resolution: nothing lost across read-clear or wrap-around, nothing counted twice (a lost
read would be millions of counts, a lost wrap 2^24)."""
import math

from hal.adc_sim import PhaseScenario
from metrology.config import MetrologyConfig
from metrology.energy import EXPORT, IMPORT
from metrology.ic_front import ICMetrology
from tests.host.test_real_board_backends import load_board

INTERVAL_S = 900
YEAR = 365 * 24 * 3600 // INTERVAL_S  # 35 040 intervals


def household(n, seed, peak_w):
    """(total W, lag degrees) of interval n: a daily shape with a 16-bit LCG's variation;
    negative power (export) around midday on sunny days."""
    hour = (n // 4) % 24
    shape = (0.12, 0.1, 0.1, 0.1, 0.1, 0.15, 0.45, 0.6, 0.4, 0.2, -0.3, -0.55, -0.7, -0.6,
             -0.35, 0.1, 0.3, 0.7, 1.0, 0.9, 0.75, 0.5, 0.3, 0.2)[hour]
    seed = (seed * 75 + 74) % 65537
    if shape < 0 and seed % 3 == 0:
        shape = 0.15  # a cloudy day: no export
    watts = peak_w * shape * (0.8 + 0.2 * (seed % 1000) / 1000)
    lag = 10 + seed % 30  # inductive 10..39 degrees (export: the same angle, reversed)
    return watts, lag, seed


def run_year(sim, driver, phases, peak_w):
    m = ICMetrology(MetrologyConfig(phases=phases), driver)
    want_import = want_export = 0.0
    seed = 1
    m.turns = 0  # intervals whose direction differs from the one before
    before = 1
    for n in range(YEAR):
        watts, lag, seed = household(n, seed, peak_w)
        v = 230.0
        i = abs(watts) / phases / (v * math.cos(math.radians(lag)))
        angle = lag if watts >= 0 else 180 - lag
        for k in range(phases):
            sim.set_load(k, PhaseScenario(v, i, angle), 50.0)
        sim.advance(INTERVAL_S)
        assert m.poll()
        p = phases * v * i * math.cos(math.radians(angle)) * INTERVAL_S * 1000.0  # mWs
        if p >= 0:
            want_import += p
        else:
            want_export -= p
        m.turns += (p >= 0) != (before >= 0)
        before = p
    return m, want_import, want_export


def check(m, driver, want_import, want_export, name, shared_rest):
    num, den = driver.ENERGY_MWS_PER_COUNT
    count = num / den
    got_import = m.energy.total_mws[IMPORT]
    got_export = m.energy.total_mws[EXPORT]
    # The net: the chip's registers carry under a count each, the front's conversion under
    # one mWs per direction.
    net = (got_import - got_export) - (want_import - want_export)
    assert abs(net) <= 2 * count + 2, (net, count)
    # Each direction: the ATM90E32AS accumulates them in registers of their own; the
    # ADE7953 in one signed accumulator, whose carried rest (under a count) passes to the
    # other direction where the power turns (its data sheet's energy accumulation).
    slack = (2 + (m.turns if shared_rest else 0)) * count + 1
    assert abs(got_import - want_import) <= slack, (got_import, want_import, count, m.turns)
    assert abs(got_export - want_export) <= slack, (got_export, want_export, count, m.turns)
    assert 1000 < want_import / 3.6e9 < 4000 and want_export > 0  # kWh: a household's year
    print("\n[report] %s, a year read every 15 min: import %.3f kWh (analytic %.3f), export "
          "%.3f kWh (analytic %.3f), net off by %.0f mWs; one count %.4f Ws"
          % (name, got_import / 3.6e9, want_import / 3.6e9, got_export / 3.6e9,
             want_export / 3.6e9, net, count / 1000))


def test_a_year_through_the_atm90e32_read_clear_registers():
    from hal.atm90e32 import ATM90E32
    from hal.atm90e32_sim import ATM90E32Sim

    sim = ATM90E32Sim()
    driver = ATM90E32(sim.spi, sim.cs, sleep_ms=lambda ms: None)
    # 0.72 kW for 900 s is 57 600 counts of 11.25 Ws: under the 16-bit register's 65 535.
    m, want_import, want_export = run_year(sim, driver, 3, 720.0)
    check(m, driver, want_import, want_export, "ATM90E32AS", False)


def test_a_year_through_the_ade7953_wrapping_registers():
    from hal.ade7953 import ADE7953
    from hal.ade7953_sim import ADE7953Sim

    fe = load_board("esp32-ade7953").front_end()
    sim = ADE7953Sim(**{k: fe[k] for k in ("v_fs", "ia_fs", "ib_fs", "wh_per_count")})
    driver = ADE7953(sim.spi, sim.cs, sleep_ms=lambda ms: None, **fe)
    # 0.6 kW for 900 s stays under 2^23 counts of the board's 74.75 mWs between reads
    # (the wrap's limit: a difference modulo 2^24 is unambiguous up to 2^23).
    m, want_import, want_export = run_year(sim, driver, 1, 600.0)
    num, den = driver.ENERGY_MWS_PER_COUNT
    assert num * 2 ** 23 > 600 * 900e3 * den
    wraps = (want_import + want_export) * den / num / 2 ** 24
    assert wraps > 500, wraps
    check(m, driver, want_import, want_export, "ADE7953", True)
