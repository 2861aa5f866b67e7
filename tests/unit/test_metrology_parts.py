# Metrology building blocks: energy integration, fractional-delay taps, calibration records,
# the calibration procedure, and events.
import math

from hal.adc_sim import PhaseScenario, Scenario, ScenarioADC
from metrology import calibration as cal
from metrology import taps
from metrology.config import MetrologyConfig, block_frames_for
from metrology.energy import EXPORT, IMPORT, Q1, Q4, EnergyIntegrator
from metrology.events import (ADC_SATURATED, ADC_STUCK, POWER_FAILURE, REVERSE_FLOW, SAG,
                              SWELL)
from metrology.frontend import Metrology
from support import raises

RATE = 4000


def test_energy_integer_and_without_loss():
    sink_calls = []

    class Sink:
        def add_energy(self, *mwh):
            sink_calls.append(mwh)

    e = EnergyIntegrator(Sink())
    for _ in range(3600):
        e.add_period(0.3, -0.2, 1.0)  # 0.3 W for an hour: 300 mWh, and -200 mvarh (QIV)
    assert e.total_mws[IMPORT] == 1080000 and e.total_mws[Q4] == 720000
    handed = [sum(c[k] for c in sink_calls) for k in range(6)]
    assert handed == [300, 0, 0, 0, 0, 200]
    e.add_period(-7200.0, 0.0, 1.0)  # 2 Wh of export in one second
    assert sink_calls[-1][EXPORT] == 2000


def test_energy_rounding_residual_carries():
    e = EnergyIntegrator()
    for _ in range(1000):
        e.add_period(0.0004, 0.0, 1.0)  # 0.4 mWs each: rounds to 0 every time alone
    assert e.total_mws[IMPORT] == 400
    assert e.total_mws[Q1] == 0


def test_taps_give_the_requested_phase():
    theta = 2 * math.pi * 50 / 8000
    for lag_deg in (0.0, 1.0, 2.0, 7.3, 90.0, 91.3, 180.0):
        lag = math.radians(lag_deg)
        t, k, gain = taps.interpolation_taps(lag, theta)
        f = k / 16384
        # x[n] = (1 - f) h[n - t] + f h[n - t - 1]; for h = e^{j w n}:
        # x = e^{j w n} e^{-j t theta} (1 - f + f e^{-j theta})
        re = 1 - f + f * math.cos(theta)
        im = -f * math.sin(theta)
        phase = t * theta - math.atan2(im, re)
        assert abs(phase - lag) < theta / 16384 * 2, (lag_deg, phase, lag)
        assert abs(gain - math.sqrt(re * re + im * im)) < 1e-9
    raises(ValueError, taps.interpolation_taps, -0.1, theta)


def test_block_frames_divide_the_rate():
    assert block_frames_for(8000, 240) == 200
    assert block_frames_for(44100, 240) == 225
    assert block_frames_for(4000, 240) == 200


def test_calibration_record_roundtrip_and_integrity():
    c = cal.Calibration(3)
    c.phases[1].v_gain = 1.0123
    c.phases[2].phase_deg = -0.31
    data = c.encode()
    back = cal.Calibration.decode(data)
    assert len(back.phases) == 3
    assert abs(back.phases[1].v_gain - 1.0123) < 1e-6
    assert abs(back.phases[2].phase_deg + 0.31) < 1e-6
    broken = bytearray(data)
    broken[9] ^= 0x10
    raises(ValueError, cal.Calibration.decode, broken)
    raises(ValueError, cal.Calibration.decode, data[:-1])
    raises(ValueError, cal.Calibration.decode, b"XXXX" + data[4:])


def _meter(calibration=None, phases=1, sink=None, events=None):
    return Metrology(MetrologyConfig(phases=phases, rate_hz=RATE, v_scale=0.25, i_scale=0.05),
                     calibration, sink=sink, on_event=events)


def _feed(m, adc, seconds):
    for _ in range(seconds * RATE // m.config.block_frames):
        m.run_block(adc)


def test_calibration_procedure_corrects_gain_and_phase():
    # A front end with 2 % and -1.5 % gain errors and a 0.8 degree CT phase lead.
    def adc(irms, angle):
        return ScenarioADC(Scenario(phases=[PhaseScenario(230.0, irms, angle)], rate_hz=RATE,
                                    v_scale=0.25, i_scale=0.05, gain_error=(0.02, -0.015),
                                    ct_phase_deg=0.8, noise_lsb=0.5))

    c = cal.Calibration(1)
    m = _meter(c)
    _feed(m, adc(5.0, 0.0), 2)
    before = m.results[0]
    assert abs(before.vrms / 230.0 - 1.02) < 0.002
    cal.gain_point(c.phases[0], before.vrms, before.irms, 230.0, 5.0)
    m = _meter(c)
    _feed(m, adc(5.0, 60.0), 2)
    cal.phase_point(c.phases[0], m.results[0].p_w, m.results[0].s_va, 60.0)
    assert abs(c.phases[0].phase_deg + 0.8) < 0.02  # the lead is taken out
    m = _meter(c)
    _feed(m, adc(5.0, 60.0), 2)
    r = m.results[0]
    assert abs(r.vrms - 230.0) < 0.2 and abs(r.irms - 5.0) < 0.005
    assert abs(r.p_w / 575.0 - 1) < 0.001


class EnvelopeADC:
    """Wraps a scenario ADC and scales the voltage of phase 1 by `factor` for frames in
    [start, end): a sag or swell of chosen depth and length."""

    def __init__(self, adc, start, end, factor):
        self.adc, self.start, self.end, self.factor = adc, start, end, factor
        self.channels = adc.channels
        self.frame = 0

    def read_block(self, samples):
        frames = self.adc.read_block(samples)
        for n in range(frames):
            if self.start <= self.frame + n < self.end:
                k = n * self.channels
                samples[k] = int(self.adc.mid + (samples[k] - self.adc.mid) * self.factor)
        self.frame += frames
        return frames


def test_sag_swell_loss_and_power_failure_events():
    seen = []
    calls = []

    class Sink:
        def add_energy(self, *mwh):
            pass

        def record_sag(self, phase):
            calls.append(("sag", phase))

        def record_swell(self, phase):
            calls.append(("swell", phase))

        def record_power_failure(self, end_utc, duration_s):
            calls.append(("failure", duration_s))

    m = _meter(sink=Sink(), events=lambda kind, ph, utc, on: seen.append((kind, ph, utc, on)))
    base = ScenarioADC(Scenario(phases=[PhaseScenario(230.0, 5.0, 0.0)], rate_hz=RATE,
                                v_scale=0.25, i_scale=0.05))
    # 3 cycles (240 frames) at 70 % in second 2; 2 cycles at 115 % in second 4;
    # the supply gone for seconds 6 and 7.
    adc = EnvelopeADC(base, RATE + 1000, RATE + 1240, 0.7)
    _feed(m, adc, 2)
    adc.start, adc.end, adc.factor = 3 * RATE + 500, 3 * RATE + 660, 1.15
    _feed(m, adc, 2)
    adc.start, adc.end, adc.factor = 5 * RATE, 7 * RATE, 0.0
    _feed(m, adc, 4)
    kinds = [(k, on) for k, ph, utc, on in seen]
    assert kinds.count((SAG, True)) == 1 and kinds.count((SWELL, True)) == 1
    assert (POWER_FAILURE, True) in kinds and (POWER_FAILURE, False) in kinds
    assert calls[:2] == [("sag", 1), ("swell", 1)]
    assert calls[2] == ("failure", 2)
    sag_at = [utc for k, ph, utc, on in seen if k == SAG and on][0]
    assert sag_at == 2  # the period in which it happened (period count stands in for UTC)


def test_reverse_flow_stuck_and_saturated():
    seen = []
    m = _meter(events=lambda kind, ph, utc, on: seen.append((kind, on)))
    _feed(m, ScenarioADC(Scenario(phases=[PhaseScenario(230.0, 5.0, 180.0)], rate_hz=RATE,
                                  v_scale=0.25, i_scale=0.05)), 1)
    assert (REVERSE_FLOW, True) in seen
    m = _meter(events=lambda kind, ph, utc, on: seen.append((kind, on)))
    _feed(m, ScenarioADC(Scenario(phases=[PhaseScenario(230.0, 0.0, 0.0)], rate_hz=RATE,
                                  v_scale=0.25, i_scale=0.05, noise_lsb=0.0)), 1)
    assert (ADC_STUCK, True) in seen  # a current channel with no noise at all
    m = _meter(events=lambda kind, ph, utc, on: seen.append((kind, on)))
    _feed(m, ScenarioADC(Scenario(phases=[PhaseScenario(230.0, 90.0, 0.0)], rate_hz=RATE,
                                  v_scale=0.25, i_scale=0.05)), 1)  # 127 A peak > 102 A
    assert (ADC_SATURATED, True) in seen
    assert m.results[0].saturated


def test_gapped_sampler_integrates_over_the_clock():
    # A sampler that stops while the firmware works (hal.stm32.TimedADCBlock): each period
    # of RATE samples here spans 1.25 s of clock time, so the energy is P * 1.25 s.
    from hal.clock import FakeClock

    clock = FakeClock(utc=1700000000)

    class GappedADC:
        def __init__(self, adc):
            self.adc = adc
            self.channels = adc.channels

        def read_block(self, samples):
            clock.advance_us(1250000 * (len(samples) // self.channels) // RATE)
            return self.adc.read_block(samples)

    cfg = MetrologyConfig(phases=1, rate_hz=RATE, v_scale=0.25, i_scale=0.05,
                          time_base="clock")
    m = Metrology(cfg, clock=clock)
    adc = GappedADC(ScenarioADC(Scenario(phases=[PhaseScenario(230.0, 10.0, 0.0)],
                                         rate_hz=RATE, v_scale=0.25, i_scale=0.05)))
    _feed(m, adc, 4)
    expected = 2300.0 * 1.25 * 4 * 1000  # mWs
    assert abs(m.energy.total_mws[IMPORT] / expected - 1) < 0.003
    raises(ValueError, MetrologyConfig, time_base="wall")


def test_task_yields_after_each_block_of_a_gapped_sampler():
    # A gapped sampler blocks while it samples: the task must let the other tasks run after
    # every block (not run a second's backlog in one go), and tell a sampler that follows
    # the mains the measured frequency.
    import asyncio

    from hal.clock import FakeClock
    from metrology.task import run

    clock = FakeClock(utc=1700000000)
    order = []

    class GappedADC:
        gapped = True

        def __init__(self, adc):
            self.adc = adc
            self.channels = adc.channels
            self.mains = []

        def read_block(self, samples):
            clock.advance_us(1000000 * (len(samples) // self.channels) // RATE)
            order.append("block")
            return self.adc.read_block(samples)

        def set_mains_hz(self, hz):
            self.mains.append(hz)

    cfg = MetrologyConfig(phases=1, rate_hz=RATE, v_scale=0.25, i_scale=0.05,
                          time_base="clock")
    m = Metrology(cfg, clock=clock)
    adc = GappedADC(ScenarioADC(Scenario(phases=[PhaseScenario(230.0, 10.0, 0.0)], freq_hz=49.5,
                                         rate_hz=RATE, v_scale=0.25, i_scale=0.05)))

    async def other():
        for _ in range(40):
            order.append("other")
            await asyncio.sleep(0)

    async def main():
        t = asyncio.create_task(other())
        await run(m, adc, clock, seconds=2)
        await t

    asyncio.run(main())
    blocks = 2 * cfg.rate_hz // cfg.block_frames
    assert order.count("block") == blocks
    # Between two blocks the other task ran (while it had work left).
    first = order.index("block")
    for i in range(first, first + 2 * min(blocks, 30) - 1, 2):
        assert order[i] == "block" and order[i + 1] == "other", order[i:i + 3]
    assert len(adc.mains) == m.periods >= 2
    assert abs(adc.mains[-1] - 49.5) < 0.05
