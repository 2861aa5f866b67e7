# Simulated ADC front end: synthesizes what a meter's ADC would sample from a described
# scenario, deterministically (same scenario and seed, same samples, on a given runtime).
# It stands in for the ADC on CPython tests, the unix port and the emulated board (which has
# no ADC), and writes the WAV files tools.metrology analyses (hal/adc_replay.py reads them).
#
# Per phase: voltage and current RMS, the current's phase lag (positive = inductive),
# frequency (shared), harmonics of voltage and current with their phases; per channel: ADC
# offset and gain errors; the current sensor's phase error (a CT leads by a few arcminutes);
# the sequential-sampling skew (each current sampled `skew_us` after its voltage); gaussian
# noise; ADC resolution and range (codes 0 .. 2**bits - 1 around mid-scale, clipped).
import math

_PHASE_BITS = 28  # integer phase accumulators: exact and drift-free on any float width
_PHASE_ONE = 1 << _PHASE_BITS
_TWO_PI = 2 * math.pi


class PhaseScenario:
    """One phase: vrms (V), irms (A), angle_deg (current lag), harmonics as
    (order, v_fraction, i_fraction, v_phase_deg, i_phase_deg) relative to the fundamental."""

    def __init__(self, vrms=230.0, irms=5.0, angle_deg=0.0, harmonics=()):
        self.vrms = vrms
        self.irms = irms
        self.angle_deg = angle_deg
        self.harmonics = tuple(harmonics)


class Scenario:
    """A whole front end. v_scale/i_scale: volts/amps per LSB at the ADC input (after the
    divider and the CT burden). Errors are per channel, ordered V1, I1, V2, I2, ..."""

    def __init__(self, phases=(PhaseScenario(),), freq_hz=50.0, rate_hz=8000, bits=12,
                 v_scale=0.25, i_scale=0.05, noise_lsb=0.5, offset_lsb=None, gain_error=None,
                 ct_phase_deg=0.0, skew_us=0.0, seed=1):
        self.phases = tuple(phases)
        self.freq_hz = freq_hz
        self.rate_hz = rate_hz
        self.bits = bits
        self.v_scale = v_scale
        self.i_scale = i_scale
        self.noise_lsb = noise_lsb
        n = 2 * len(self.phases)
        self.offset_lsb = tuple(offset_lsb) if offset_lsb else (0.0,) * n
        self.gain_error = tuple(gain_error) if gain_error else (0.0,) * n
        self.ct_phase_deg = ct_phase_deg
        self.skew_us = skew_us
        self.seed = seed

    @property
    def channels(self):
        return 2 * len(self.phases)


def household(rate_hz, v_scale=0.25, i_scale=0.05):
    """The simulated boards' default: three phases of a household, a resistive load on L1, a
    motor on L2, a rectifier-heavy load (strong third harmonic) on L3."""
    return Scenario(phases=[PhaseScenario(231.0, 6.5, 0.0), PhaseScenario(229.0, 3.2, 35.0),
                            PhaseScenario(232.5, 1.8, -20.0, ((3, 0.02, 0.35, 0.0, 0.0),))],
                    rate_hz=rate_hz, v_scale=v_scale, i_scale=i_scale)


class ScenarioADC:
    """ADC block sampler (hal interface ADCBlock) over a Scenario."""

    def __init__(self, scenario):
        sc = scenario
        self.scenario = sc
        self.channels = sc.channels
        self.rate_hz = sc.rate_hz
        self.bits = sc.bits
        self.code_max = (1 << sc.bits) - 1
        self.mid = 1 << (sc.bits - 1)
        self._step = int(round(sc.freq_hz / sc.rate_hz * _PHASE_ONE))
        self._phase = 0
        self._noise = sc.seed & 0x3FFFFFFF or 1
        # Per channel: list of (harmonic order, peak in LSB, phase offset in radians).
        skew = _TWO_PI * sc.freq_hz * sc.skew_us * 1e-6
        self._terms = []
        for k, ph in enumerate(sc.phases):
            rot = -_TWO_PI * k / 3  # L2, L3 lag L1 by 120 and 240 degrees
            v_peak = ph.vrms * math.sqrt(2) / sc.v_scale * (1 + sc.gain_error[2 * k])
            i_peak = ph.irms * math.sqrt(2) / sc.i_scale * (1 + sc.gain_error[2 * k + 1])
            i_phase = rot - math.radians(ph.angle_deg) + math.radians(sc.ct_phase_deg)
            v_terms = [(1, v_peak, rot)]
            i_terms = [(1, i_peak, i_phase + skew)]
            for order, vf, i_f, vdeg, ideg in ph.harmonics:
                v_terms.append((order, v_peak * vf, order * rot + math.radians(vdeg)))
                i_terms.append((order, i_peak * i_f,
                                order * (i_phase + skew) + math.radians(ideg)))
            self._terms.append(v_terms)
            self._terms.append(i_terms)

    def _gauss(self):
        # Irwin-Hall: the sum of 4 uniforms, centred and scaled to unit variance; the LCG is
        # Numerical Recipes' (mod 2**30 here, to stay a small int on 32-bit MicroPython).
        total = 0
        x = self._noise
        for _ in range(4):
            x = (x * 1664525 + 1013904223) & 0x3FFFFFFF
            total += x
        self._noise = x
        return (total / 0x40000000 - 2.0) * 1.7320508

    def read_block(self, samples):
        """Fill samples (array('h'), a whole number of frames) with ADC codes; return the
        number of frames."""
        sc = self.scenario
        ch = self.channels
        frames = len(samples) // ch
        noise = sc.noise_lsb
        offsets = sc.offset_lsb
        i = 0
        for _ in range(frames):
            angle = _TWO_PI * self._phase / _PHASE_ONE
            for c in range(ch):
                value = self.mid + offsets[c]
                for order, peak, phase in self._terms[c]:
                    value += peak * math.sin(order * angle + phase)
                if noise:
                    value += noise * self._gauss()
                code = int(value + 0.5) if value >= 0 else 0
                samples[i] = code if code <= self.code_max else self.code_max
                i += 1
            self._phase = (self._phase + self._step) & (_PHASE_ONE - 1)
        return frames


class TableADC:
    """A Scenario sampled once into a table and replayed cyclically: the same waveform at
    a small fraction of the cost per sample, for boards that synthesize in real time (the
    emulated board). The scenario must have a whole number of samples per cycle; the table
    holds `cycles` cycles, so its noise repeats every `cycles` cycles."""

    def __init__(self, scenario, cycles=10):
        from array import array

        per_cycle = scenario.rate_hz / scenario.freq_hz
        if per_cycle != int(per_cycle):
            raise ValueError("rate_hz must be a whole multiple of freq_hz")
        source = ScenarioADC(scenario)
        self.channels = source.channels
        self.rate_hz = source.rate_hz
        self.bits = source.bits
        self.mid = source.mid
        self.table = array("h", [0] * (int(per_cycle) * cycles * self.channels))
        source.read_block(self.table)
        self._pos = 0

    def read_block(self, samples):
        table = self.table
        size = len(table)
        n = len(samples) - len(samples) % self.channels
        pos = self._pos
        for i in range(n):
            samples[i] = table[pos]
            pos += 1
            if pos == size:
                pos = 0
        self._pos = pos
        return n // self.channels


def phase_quantities(phase):
    """What an ideal meter measures on one PhaseScenario (the metering-IC fakes start from
    this): (vrms, irms, p_w, q_var) with harmonics included. P and Q sum each order's
    V_h * I_h * cos / sin of the angle by which that order's current lags its voltage
    (Budeanu's Q); the fundamental's lag is angle_deg, order h's is h * angle_deg plus the
    harmonic's own current phase less its voltage phase (as ScenarioADC draws them)."""
    v1, i1 = phase.vrms, phase.irms
    vv, ii = 1.0, 1.0
    lag = math.radians(phase.angle_deg)
    p = math.cos(lag)
    q = math.sin(lag)
    for order, vf, i_f, vdeg, ideg in phase.harmonics:
        vv += vf * vf
        ii += i_f * i_f
        h_lag = order * lag + math.radians(vdeg - ideg)
        p += vf * i_f * math.cos(h_lag)
        q += vf * i_f * math.sin(h_lag)
    return v1 * math.sqrt(vv), i1 * math.sqrt(ii), v1 * i1 * p, v1 * i1 * q
