# A half-wave rectifying load on a shunt puts a real DC component into the current (IEC
# 62053-21's "DC and even harmonics in the AC current circuit" test; class 1 limit 3 %):
# it must be metered, also while it is switched on and off every period, and it must not
# make the metrology withhold the phase's energy (a DC step on the current channel is a
# load, not an ADC fault).
import math

from metrology.config import MetrologyConfig
from metrology.frontend import Metrology
from support import EnergySink

RATE = 2000
MID = 2048
V_SCALE, I_SCALE = 0.25, 0.05
VPK = 230.0 * math.sqrt(2)
IPK = 20.0  # A, peak of the half-wave current: mean 6.4 A = 127 LSB of DC


class HalfWaveADC:
    """V and a half-wave rectified in-phase current, the load on during the periods in
    `on` (a set of period numbers)."""

    def __init__(self, on):
        self.on = on
        self.frame = 0

    def read_block(self, samples):
        frames = len(samples) // 2
        for j in range(frames):
            f = self.frame
            s = math.sin(2 * math.pi * 50.0 * f / RATE)
            loaded = (f // RATE) in self.on
            samples[2 * j] = MID + int(round(VPK * s / V_SCALE))
            i = IPK * s if (loaded and s > 0) else 0.0
            samples[2 * j + 1] = MID + int(round(i / I_SCALE))
            self.frame += 1
        return frames


def _meter(on, periods):
    sink = EnergySink()
    m = Metrology(MetrologyConfig(phases=1, rate_hz=RATE, v_scale=V_SCALE, i_scale=I_SCALE),
                  sink=sink)
    adc = HalfWaveADC(on)
    powers = []
    while m.periods < periods:
        before = m.periods
        m.run_block(adc)
        if m.periods != before:
            powers.append(m.results[0].p_w)
    return m, sink, powers


def test_half_wave_load_is_metered_within_class_1_limit():
    # P = mean(v * i) over a cycle = VPK * IPK / 4 (the current flows half the cycle).
    p_true = VPK * IPK / 4
    m, sink, powers = _meter(on=set(range(1, 12)), periods=12)
    for p in powers[1:]:
        assert abs(p - p_true) / p_true < 0.03, (p, p_true)
    assert m.withheld_periods == 0


def test_half_wave_load_switched_every_period_is_never_withheld():
    p_true = VPK * IPK / 4
    on = set(range(1, 20, 2))  # on in odd periods, off in even ones
    m, sink, powers = _meter(on=on, periods=20)
    assert m.withheld_periods == 0
    total_wh = sink.mwh[0] / 1000
    expected_wh = p_true * len(on) / 3600
    assert abs(total_wh - expected_wh) / expected_wh < 0.03, (total_wh, expected_wh)
