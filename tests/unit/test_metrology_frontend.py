# Metrology front (firmware/metrology) on the simulated ADC: results against values
# computed independently from the scenario, 1 and 3 phases, energy routing into +A/-A and
# the four reactive quadrants. Runs on CPython and on MicroPython (where the x64 natmod
# kernel is used).
import math

from hal.adc_sim import PhaseScenario, Scenario, ScenarioADC
from metrology.config import MetrologyConfig
from metrology.energy import EXPORT, IMPORT, Q1, Q2, Q3, Q4
from metrology.frontend import Metrology
from support import EnergySink

RATE = 4000


def run(phases, seconds, sink=None, freq=50.0, noise=0.5):
    sc = Scenario(phases=phases, freq_hz=freq, rate_hz=RATE, v_scale=0.25, i_scale=0.05,
                  noise_lsb=noise)
    m = Metrology(MetrologyConfig(phases=len(phases), rate_hz=RATE, v_scale=0.25,
                                  i_scale=0.05), sink=sink)
    adc = ScenarioADC(sc)
    for _ in range(seconds * RATE // m.config.block_frames):
        m.run_block(adc)
    return m


def close(a, b, rel):
    return abs(a - b) <= rel * abs(b)


def test_single_phase_results():
    m = run([PhaseScenario(230.0, 10.0, 60.0)], 2)
    r = m.results[0]
    assert m.periods == 2
    assert close(r.vrms, 230.0, 0.002) and close(r.irms, 10.0, 0.003)
    assert close(r.p_w, 230 * 10 * 0.5, 0.003)
    assert close(r.q_var, 230 * 10 * math.sin(math.radians(60)), 0.003)
    assert close(r.s_va, 2300.0, 0.004) and abs(r.pf - 0.5) < 0.002
    assert abs(r.freq_hz - 50.0) < 0.01
    assert close(r.cycle_min_vrms, 230.0, 0.01) and close(r.cycle_max_vrms, 230.0, 0.01)
    assert not r.stuck and not r.saturated


def test_frequency_follows_the_supply():
    for f in (45.0, 49.5, 55.0):
        r = run([PhaseScenario(230.0, 5.0, 0.0)], 2, freq=f).results[0]
        assert abs(r.freq_hz - f) < 0.01, (f, r.freq_hz)
        assert close(r.p_w, 1150.0, 0.003)


def test_three_phase_unbalanced_totals():
    phases = [PhaseScenario(230.0, 10.0, 0.0), PhaseScenario(225.0, 4.0, 30.0),
              PhaseScenario(235.0, 20.0, -25.0)]
    m = run(phases, 2)
    p_total = q_total = 0.0
    for k, ph in enumerate(phases):
        p = ph.vrms * ph.irms * math.cos(math.radians(ph.angle_deg))
        q = ph.vrms * ph.irms * math.sin(math.radians(ph.angle_deg))
        r = m.results[k]
        assert close(r.vrms, ph.vrms, 0.002) and close(r.irms, ph.irms, 0.003)
        assert close(r.p_w, p, 0.003), (k, r.p_w, p)
        assert abs(r.q_var - q) < 0.003 * ph.vrms * ph.irms
        p_total += p
        q_total += q
    assert close(m.total.p_w, p_total, 0.003)
    assert abs(m.total.q_var - q_total) < 0.003 * 8000


def test_energy_lands_in_the_register_of_its_quadrant():
    # current lag angle -> (active register, reactive register)
    cases = ((30.0, IMPORT, Q1), (150.0, EXPORT, Q2), (-150.0, EXPORT, Q3),
             (-30.0, IMPORT, Q4))
    for angle, active, reactive in cases:
        sink = EnergySink()
        m = run([PhaseScenario(230.0, 20.0, angle)] * 3, 2, sink)
        s = 3 * 230.0 * 20.0
        p = abs(s * math.cos(math.radians(angle))) * 2 / 3.6  # mWh over 2 s
        q = abs(s * math.sin(math.radians(angle))) * 2 / 3.6
        for reg in range(6):
            got = sink.mwh[reg]
            if reg == active:
                assert close(got, p, 0.004), (angle, reg, got, p)
            elif reg == reactive:
                assert close(got, q, 0.004), (angle, reg, got, q)
            else:
                assert got == 0, (angle, reg, got)
        # what was handed on is what was integrated, to the last whole mWh
        assert sink.mwh[active] == m.energy.total_mws[active] // 3600


def test_export_gives_negative_power_and_pf():
    r = run([PhaseScenario(230.0, 10.0, 180.0)], 1).results[0]
    assert close(r.p_w, -2300.0, 0.003) and r.pf < -0.99
