"""Arbitrary supply and load waveforms for the laboratory's type tests (host tool, CPython
with numpy), drawn through the same front-end model as firmware/hal/adc_sim.py, and their
reference (true) energy computed independently of the meter.

hal.adc_sim draws sinusoids with harmonics only; a type-test laboratory also applies
half-wave rectified, phase-fired (triac) and burst-fired currents, interrupted phases and a
reversed phase sequence. Here every voltage and current is a function of time, evaluated
on numpy arrays of seconds:

  Sine(rms, freq_hz, phase_deg, harmonics)   harmonics: (order, fraction, phase_deg), the
                                             order h term at h * (fundamental angle) + its own
  HalfWave(rms, freq_hz, phase_deg)          a sine with its negative half cycles removed
                                             (DC + fundamental + even harmonics); rms is the
                                             rectified current's: the sine's peak is 2 * rms
  PhaseFired(rms, freq_hz, firing_deg, ...)  a triac firing firing_deg into each half cycle
  BurstFired(rms, freq_hz, on, off, ...)     `on` whole cycles conducted, `off` blocked
  Zero()                                     an interrupted phase

WaveformADC is an ADC block sampler (hal interface ADCBlock: channels, rate_hz, bits,
read_block(samples)) with adc_sim's front-end physics: per channel gain and offset errors,
the CT's phase lead (a time advance of ct_phase_deg at the supply frequency, as adc_sim
shifts each harmonic by its order), the sequential-sampling skew (each current sampled
skew_us after its voltage), gaussian noise, rounding, clipping at the rails. Codes are
`bits` wide: unsigned around mid-scale like adc_sim (12-bit SAR, array('h') blocks) or,
with signed=True, centred on zero (sigma-delta, e.g. 24 bits into array('i') blocks).
The front end passes DC (a shunt): the half-wave test's DC reaches the ADC.
"""
import math

import numpy as np

TWO_PI = 2.0 * math.pi


class Sine:
    def __init__(self, rms, freq_hz=50.0, phase_deg=0.0, harmonics=()):
        self.rms = float(rms)
        self.freq_hz = float(freq_hz)
        self.phase_deg = float(phase_deg)
        self.harmonics = tuple(harmonics)
        self.pattern_s = 1.0 / self.freq_hz

    def __call__(self, t):
        theta = TWO_PI * self.freq_hz * t + math.radians(self.phase_deg)
        peak = self.rms * math.sqrt(2.0)
        out = peak * np.sin(theta)
        for order, fraction, deg in self.harmonics:
            out += peak * fraction * np.sin(order * theta + math.radians(deg))
        return out

    def series(self):
        """The Fourier series as (order, peak, phase_deg) terms of sin(order * w t + phase)."""
        peak = self.rms * math.sqrt(2.0)
        terms = [(1, peak, self.phase_deg)] if peak else []
        for order, fraction, deg in self.harmonics:
            terms.append((order, peak * fraction, order * self.phase_deg + deg))
        return terms


class HalfWave:
    def __init__(self, rms, freq_hz=50.0, phase_deg=0.0):
        self.rms = float(rms)
        self.freq_hz = float(freq_hz)
        self.phase_deg = float(phase_deg)
        self.peak = 2.0 * self.rms  # the RMS of a half-wave rectified sine is its peak / 2
        self.pattern_s = 1.0 / self.freq_hz

    def __call__(self, t):
        s = np.sin(TWO_PI * self.freq_hz * t + math.radians(self.phase_deg))
        return self.peak * np.maximum(s, 0.0)

    def series(self):
        # Closed form: DC peak/pi, the fundamental at half the sine's peak, in phase with it;
        # the even harmonics carry no power against a sinusoidal voltage.
        return [(1, self.peak / 2.0, self.phase_deg)]


class PhaseFired:
    """Conducts from firing_deg to 180 deg of each half cycle (a triac dimmer)."""

    def __init__(self, rms, freq_hz=50.0, firing_deg=90.0, phase_deg=0.0):
        self.rms = float(rms)
        self.freq_hz = float(freq_hz)
        self.firing_deg = float(firing_deg)
        self.phase_deg = float(phase_deg)
        a = math.radians(firing_deg)
        # RMS of the conducted part: peak * sqrt((pi - a + sin(2a)/2) / (2 pi))
        self.peak = self.rms / math.sqrt((math.pi - a + math.sin(2 * a) / 2) / (2 * math.pi))
        self.pattern_s = 1.0 / self.freq_hz

    def __call__(self, t):
        theta = TWO_PI * self.freq_hz * t + math.radians(self.phase_deg)
        within = np.mod(theta, math.pi)
        on = within >= math.radians(self.firing_deg)
        return np.where(on, self.peak * np.sin(theta), 0.0)

    def series(self):
        # Closed form of the fundamental: in phase with the sine, amplitude
        # peak * (pi - a + sin(2a)/2) / pi (peak / 2 at a = 90 deg); the quadrature part
        # -peak * sin(a)^2 / pi is reactive against a sinusoidal voltage.
        a = math.radians(self.firing_deg)
        b1 = self.peak * (math.pi - a + math.sin(2 * a) / 2) / math.pi
        c1 = -self.peak * math.sin(a) ** 2 / math.pi
        return [(1, math.hypot(b1, c1), self.phase_deg + math.degrees(math.atan2(c1, b1)))]


class BurstFired:
    """`on` whole cycles conducted, then `off` cycles blocked (sub-harmonics)."""

    def __init__(self, rms, freq_hz=50.0, on=2, off=2, phase_deg=0.0):
        self.rms = float(rms)
        self.freq_hz = float(freq_hz)
        self.on, self.off = int(on), int(off)
        self.phase_deg = float(phase_deg)
        self.on_rms = self.rms * math.sqrt((on + off) / on)
        self.pattern_s = (on + off) / self.freq_hz

    def __call__(self, t):
        cycles = self.freq_hz * t
        theta = TWO_PI * cycles + math.radians(self.phase_deg)
        # Cycle k of the pattern counts from the sine's positive-going zero.
        k = np.floor(cycles + self.phase_deg / 360.0)
        on = np.mod(k, self.on + self.off) < self.on
        return np.where(on, self.on_rms * math.sqrt(2.0) * np.sin(theta), 0.0)

    def series(self):
        # Over whole patterns only the 50 Hz component meets a sinusoidal voltage: its
        # amplitude is the conducted share of the sine's.
        share = self.on / (self.on + self.off)
        return [(1, share * self.on_rms * math.sqrt(2.0), self.phase_deg)]


class Zero:
    rms = 0.0
    pattern_s = None

    def __call__(self, t):
        return np.zeros_like(t)

    def series(self):
        return []


class Shifted:
    """A waveform delayed by `delay_s` (a polyphase supply's phases 2 and 3)."""

    def __init__(self, wave, delay_s):
        self.wave = wave
        self.delay_s = delay_s
        self.pattern_s = wave.pattern_s
        self.rms = wave.rms

    def __call__(self, t):
        return self.wave(t - self.delay_s)

    def series(self):
        f = getattr(self.wave, "freq_hz", None)
        return [(h, a, deg - h * 360.0 * f * self.delay_s) for h, a, deg in self.wave.series()]


def polyphase(v, i, phases=3, reversed_sequence=False, freq_hz=50.0):
    """[(v, i), ...] per phase: L2 and L3 lag L1 by 120 and 240 degrees (delayed by a third
    and two thirds of a cycle; each harmonic rotates by its order times that), or with a
    reversed sequence lead it by them."""
    out = []
    for k in range(phases):
        delay = (k * (-1 if reversed_sequence else 1) % 3) / (3.0 * freq_hz)
        out.append((Shifted(v, delay), Shifted(i, delay)) if delay else (v, i))
    return out


# -- reference energy, independent of the meter ----------------------------------------------
def analytic_power(v, i):
    """Mean power of v * i in W from the waveforms' Fourier series (closed forms), or None
    when a product has no closed form here (e.g. a distorted voltage against a half-wave
    current: their even harmonics would meet)."""
    if isinstance(v, Zero) or isinstance(i, Zero):
        return 0.0
    vs, is_ = v.series(), i.series()
    base_v = v.wave if isinstance(v, Shifted) else v
    base_i = i.wave if isinstance(i, Shifted) else i
    v_pure = isinstance(base_v, Sine) and not base_v.harmonics
    if not (isinstance(base_i, Sine) or v_pure):
        return None  # only the fundamental of i is given in closed form
    if isinstance(base_i, Sine) and isinstance(base_v, Sine) and base_v.freq_hz != base_i.freq_hz:
        return None
    p = 0.0
    for hv, av, dv in vs:
        for hi, ai, di in is_:
            if hv == hi:
                p += av * ai / 2.0 * math.cos(math.radians(dv - di))
    return p


def numeric_power(v, i, pattern_s, points=1 << 18):
    """Mean power of v * i in W by fine numerical integration (midpoint rule, `points`
    samples) over one whole pattern (a cycle, or a burst pattern): for the waveforms with no
    closed form, and to check the closed forms. The midpoint rule is exact to rounding for
    the sinusoids' products and within about 1e-6 relative at the triac's jumps."""
    t = (np.arange(points) + 0.5) * (pattern_s / points)
    return float(np.mean(v(t) * i(t)))


def reference_power(phase_waves):
    """(total mean power in W, method) over whole patterns of a list of (v, i) per phase:
    closed form where there is one, numerical integration otherwise."""
    total, method = 0.0, "analytic"
    for v, i in phase_waves:
        p = analytic_power(v, i)
        if p is None:
            pattern = max(x for x in (v.pattern_s, i.pattern_s) if x)
            p, method = numeric_power(v, i, pattern), "numeric"
        total += p
    return total, method


# -- the ADC -------------------------------------------------------------------------------
class FrontEndModel:
    """An ADC front end's physics, as hal.adc_sim.Scenario describes it. Per channel
    (V1, I1, V2, I2, ...): offset_lsb, gain_error. ct_phase_deg: the CT's phase lead at the
    supply frequency; skew_us: each current sampled that long after its voltage.
    sinc3_oversampling: see below."""

    def __init__(self, rate_hz=8000, bits=12, signed=False, v_scale=0.2, i_scale=0.05,
                 noise_lsb=0.5, offset_lsb=(), gain_error=(), ct_phase_deg=0.0, skew_us=0.0,
                 sinc3_oversampling=0):
        self.rate_hz = rate_hz
        # A sigma-delta ADC's decimation filter (sinc3, e.g. the ADS131M04's): each output
        # sample is the sinc3-weighted mean of the input over three output periods (here
        # the input at `sinc3_oversampling` points per output period); 0: instantaneous
        # samples (a SAR ADC, as hal.adc_sim). The filter is the same on every channel.
        self.sinc3_oversampling = sinc3_oversampling
        self.bits = bits
        self.signed = signed
        self.v_scale = v_scale
        self.i_scale = i_scale
        self.noise_lsb = noise_lsb
        self.offset_lsb = tuple(offset_lsb)
        self.gain_error = tuple(gain_error)
        self.ct_phase_deg = ct_phase_deg
        self.skew_us = skew_us

    def channel(self, c, table):
        return table[c] if c < len(table) else 0.0


class WaveformADC:
    """ADC block sampler over per-phase (v(t), i(t)) waveforms through a FrontEndModel."""

    def __init__(self, model, phase_waves, freq_hz=50.0, seed=1, start_s=0.0):
        self.model = model
        self.waves = list(phase_waves)
        self.channels = 2 * len(self.waves)
        self.rate_hz = model.rate_hz
        self.bits = model.bits
        self.signed = model.signed
        if model.signed:
            self.lo, self.hi = -(1 << (model.bits - 1)), (1 << (model.bits - 1)) - 1
            self.mid = 0
        else:
            self.lo, self.hi = 0, (1 << model.bits) - 1
            self.mid = 1 << (model.bits - 1)
        # The current's time advance: the CT's lead (constant in degrees at the supply
        # frequency, like adc_sim) and the later sampling instant.
        self._i_advance = model.ct_phase_deg / (360.0 * freq_hz) + model.skew_us * 1e-6
        self._rng = np.random.default_rng(seed)
        self._frame = int(round(start_s * model.rate_hz))
        self._gains = [1.0 + model.channel(c, model.gain_error) for c in range(self.channels)]
        self._offsets = [model.channel(c, model.offset_lsb) for c in range(self.channels)]
        m = model.sinc3_oversampling
        if m:
            box = np.ones(m) / m
            self._sinc3 = np.convolve(np.convolve(box, box), box)
        else:
            self._sinc3 = None

    def _draw(self, wave, t):
        """The wave as the ADC's output samples at times t (after its decimation filter)."""
        w = self._sinc3
        if w is None:
            return wave(t)
        m = self.model.sinc3_oversampling
        step = 1.0 / (m * self.model.rate_hz)
        sub = t[0] + (np.arange(-(len(w) - 1), len(t) * m)) * step
        return np.convolve(wave(sub), w, "valid")[::m]

    def read_block(self, samples):
        """Fill samples (array('h') or array('i'), a whole number of frames) with codes;
        return the number of frames."""
        m = self.model
        ch = self.channels
        frames = len(samples) // ch
        t = (self._frame + np.arange(frames)) / float(m.rate_hz)
        self._frame += frames
        out = np.empty((frames, ch))
        for k, (v, i) in enumerate(self.waves):
            out[:, 2 * k] = self._draw(v, t) / m.v_scale * self._gains[2 * k]
            out[:, 2 * k + 1] = (self._draw(i, t + self._i_advance) / m.i_scale
                                 * self._gains[2 * k + 1])
        out += np.asarray(self._offsets) + self.mid
        if m.noise_lsb:
            out += m.noise_lsb * self._rng.standard_normal(out.shape)
        codes = np.clip(np.floor(out + 0.5), self.lo, self.hi)
        dtype = np.int16 if samples.itemsize == 2 else np.int32
        view = np.frombuffer(samples, dtype=dtype)
        view[:frames * ch] = codes.reshape(-1).astype(dtype)
        return frames


def block_array(bits, frames, channels):
    """An empty block of the type the meter's kernel takes for `bits`-bit codes."""
    from array import array

    return array("h" if bits <= 12 else "i", [0] * (frames * channels))


# -- the metering-IC fakes' load description ---------------------------------------------------
def fourier_terms(wave, freq_hz, max_order=39, points=1 << 16):
    """[(order, peak, phase_deg)] of sin(order * w t + phase) for orders 1..max_order of a
    waveform that repeats every supply cycle (numerical: an FFT of one cycle sampled at the
    midpoints, so a triac's jumps cost O(1/points^2)); DC dropped."""
    t = (np.arange(points) + 0.5) / (points * freq_hz)
    spectrum = np.fft.rfft(wave(t)) / points
    out = []
    for h in range(1, max_order + 1):
        peak = 2.0 * abs(spectrum[h])
        if peak > 1e-9:
            # sin(u) = (e^iu - e^-iu) / 2i: the phase is the bin's angle + 90 degrees, less
            # the half-sample start
            phase = np.angle(spectrum[h]) + math.pi / 2 - math.pi * h / points
            out.append((h, peak, math.degrees(phase)))
    return out


def to_phase_scenario(v, i, freq_hz=50.0, max_order=39):
    """The (v, i) pair as a hal.adc_sim.PhaseScenario for the metering-IC fakes, whose
    set_load() takes a PhaseScenario (fundamental and integer harmonics): the Fourier terms
    of one cycle up to max_order. A DC component is dropped (the ICs' input high-pass filters
    remove it: their documented behaviour, and it carries no power against a sinusoidal
    voltage). ValueError for a waveform that does not repeat every cycle (burst firing: its
    sub-harmonics have no place in a PhaseScenario)."""
    from hal.adc_sim import PhaseScenario

    for w in (v, i):
        if w.pattern_s is not None and abs(w.pattern_s * freq_hz - 1.0) > 1e-9:
            raise ValueError("%s does not repeat every cycle: no PhaseScenario holds it"
                             % type(getattr(w, "wave", w)).__name__)
    vs, is_ = fourier_terms(v, freq_hz, max_order), fourier_terms(i, freq_hz, max_order)
    v1 = [x for x in vs if x[0] == 1]
    i1 = [x for x in is_ if x[0] == 1]
    vpk, vdeg = (v1[0][1], v1[0][2]) if v1 else (0.0, 0.0)
    ipk, ideg = (i1[0][1], i1[0][2]) if i1 else (0.0, 0.0)
    angle = vdeg - ideg  # the current's lag
    harmonics = []
    for h in sorted({x[0] for x in vs + is_ if x[0] != 1}):
        hv = [x for x in vs if x[0] == h]
        hi = [x for x in is_ if x[0] == h]
        vf = hv[0][1] / vpk if hv and vpk else 0.0
        i_f = hi[0][1] / ipk if hi and ipk else 0.0
        # ScenarioADC draws V_h at h*theta + vdeg_h and I_h at h*(theta - angle) + ideg_h,
        # theta being the voltage's fundamental angle (zero at vdeg).
        vd = hv[0][2] - h * vdeg if hv else 0.0
        idd = hi[0][2] - h * (vdeg - angle) if hi else 0.0
        harmonics.append((h, vf, i_f, vd, idd))
    harmonics = [tuple(float(x) if j else int(x) for j, x in enumerate(h)) for h in harmonics]
    return PhaseScenario(float(vpk / math.sqrt(2.0)), float(ipk / math.sqrt(2.0)), float(angle),
                         harmonics)
