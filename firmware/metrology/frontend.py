# The metrology front: feeds ADC blocks to the sample kernel (native/metro: the C natmod or
# its Python fallback) and, at the end of each period (one second of samples), turns the
# kernel's integer sums into RMS, P, Q, S, PF and frequency per phase, integrates energy in
# integers (metrology/energy.py), decides events (metrology/events.py), and retunes the
# kernel: DC offsets from the period's means, the phase-compensation and quadrature taps
# from the measured frequency. Floats appear only here, once per period (EmonLibCM's split).
import math
from array import array

from metrology import taps
from metrology.calibration import Calibration
from metrology.energy import EnergyIntegrator
from metrology.events import EventDetector
from native import metro


class PhaseResult:
    """One phase's results for the last period (SI units; PF signed like P)."""

    def __init__(self):
        self.vrms = self.irms = self.p_w = self.q_var = self.s_va = self.pf = 0.0
        self.freq_hz = 0.0
        self.cycle_min_vrms = self.cycle_max_vrms = 0.0
        self.stuck = self.saturated = False
        self.frames = 0


class Metrology:
    def __init__(self, config, calibration=None, sink=None, clock=None, on_event=None,
                 kernel=None):
        self.config = config
        n = config.phases
        self.calibration = calibration or Calibration(n)
        if len(self.calibration.phases) != n:
            raise ValueError("calibration is for %d phases" % len(self.calibration.phases))
        self.kernel = kernel or metro.process
        self.clock = clock
        self.energy = EnergyIntegrator(sink)
        self.events = EventDetector(config, sink, on_event)
        self.results = [PhaseResult() for _ in range(n)]
        self.total = PhaseResult()
        self.periods = 0
        self._period_start_us = clock.ticks_us() if clock else 0
        self.block = array("h", [0] * (config.block_frames * config.channels))
        self.state = array("i", [0] * (n * metro.STATE_STRIDE))
        self.hist = array("h", [0] * (n * metro.HIST_LEN))
        self.acc = array("q", [0] * (n * metro.ACC_STRIDE))
        self._gain_c = [1.0] * n
        self._gain_q = [1.0] * n
        self._blocks = 0
        lo, hi = config.rails
        mid = 0 if config.adc_signed else 1 << (config.adc_bits - 1)
        for k in range(n):
            b = k * metro.STATE_STRIDE
            st = self.state
            st[b + metro.V_OFFSET] = st[b + metro.I_OFFSET] = st[b + metro.I_PREV] = mid
            st[b + metro.RAIL_LO] = lo
            st[b + metro.RAIL_HI] = hi
            st[b + metro.CYC_START] = -1
            # Ignore crossings closer than 60 % of a nominal cycle: noise near zero.
            st[b + metro.ZC_HOLDOFF] = int(0.6 * config.rate_hz / config.nominal_hz)
            self._set_taps(k, config.nominal_hz)

    def set_calibration(self, calibration):
        """Take a new calibration (from the configuration path) from the next period on."""
        if len(calibration.phases) != self.config.phases:
            raise ValueError("calibration is for %d phases" % len(calibration.phases))
        self.calibration = calibration
        for k in range(self.config.phases):
            self._set_taps(k, self.results[k].freq_hz or self.config.nominal_hz)

    # -- per block (hot path) ---------------------------------------------------------------
    def run_block(self, adc):
        """Read one block from an ADC block sampler and process it."""
        frames = adc.read_block(self.block)
        self.process(self.block, frames)

    def process(self, samples, frames):
        cfg = self.config
        check = 1 if self._blocks % cfg.saturation_check_every == 0 else 0
        self._blocks += 1
        st = self.state
        for k in range(cfg.phases):
            st[k * metro.STATE_STRIDE + metro.CHECK_SAT] = check
        self.kernel(samples, frames, cfg.channels, cfg.phases, st, self.hist, self.acc)
        if self.acc[metro.N] >= cfg.rate_hz:
            self._end_period()

    # -- per period -------------------------------------------------------------------------
    def _set_taps(self, k, freq_hz):
        cfg = self.config
        cal = self.calibration.phases[k]
        theta = 2 * math.pi * freq_hz / cfg.rate_hz
        # Voltage delay relative to the current pass's pairing (i[n-1] with v[n-1]): the
        # calibrated phase, less the skew (a current sampled skew_us after its voltage shows
        # a later instant, so the voltage is taken that much later too).
        delta = math.radians(cal.phase_deg) - 2 * math.pi * freq_hz * cfg.skew_us * 1e-6
        lag_c = max(0.0, theta + delta)
        tc, kc, self._gain_c[k] = taps.interpolation_taps(lag_c, theta)
        tq, kq, self._gain_q[k] = taps.interpolation_taps(lag_c + math.pi / 2, theta)
        if tq + 1 >= metro.HISTORY:
            raise ValueError("quadrature delay exceeds the kernel's history: lower the rate")
        b = k * metro.STATE_STRIDE
        self.state[b + metro.TC] = tc
        self.state[b + metro.KC] = kc
        self.state[b + metro.TQ] = tq
        self.state[b + metro.KQ] = kq

    def _end_period(self):
        cfg = self.config
        acc = self.acc
        st = self.state
        utc = self.clock.time() if self.clock else self.periods + 1
        tot = self.total
        tot.p_w = tot.q_var = 0.0
        for k in range(cfg.phases):
            a = k * metro.ACC_STRIDE
            b = k * metro.STATE_STRIDE
            r = self.results[k]
            self._phase_results(k, r, a)
            tot.p_w += r.p_w
            tot.q_var += r.q_var
            # Follow the ADC's DC offsets (the kernel subtracts them before squaring).
            n = acc[a + metro.N]
            st[b + metro.V_OFFSET] += int(round(acc[a + metro.SV] / n))
            st[b + metro.I_OFFSET] += int(round(acc[a + metro.SI] / n))
            self._set_taps(k, r.freq_hz if r.freq_hz else cfg.nominal_hz)
            # Start the next period's sums; carried crossing data moves to the new origin.
            mark = acc[a + metro.CYC_MARK] - acc[a + metro.SVV]
            for j in range(metro.ACC_STRIDE):
                acc[a + j] = 0
            acc[a + metro.CYC_MARK] = mark
            start = st[b + metro.CYC_START]
            if start >= 0:
                st[b + metro.CYC_START] = start - n
            st[b + metro.FRAME] = 0
        tot.s_va = math.sqrt(tot.p_w * tot.p_w + tot.q_var * tot.q_var)
        tot.pf = tot.p_w / tot.s_va if tot.s_va else 0.0
        self.periods += 1
        self.energy.add_period(tot.p_w, tot.q_var, self._period_seconds())
        self.events.period(self.results, utc)

    def _period_seconds(self):
        """How long the period lasted: its samples' span, or the clock's for a gapped
        sampler (config.time_base == "clock")."""
        if self.config.time_base == "clock" and self.clock is not None:
            now = self.clock.ticks_us()
            seconds = self.clock.ticks_diff(now, self._period_start_us) / 1000000
            self._period_start_us = now
            return seconds
        return self.results[0].frames / self.config.rate_hz

    def _phase_results(self, k, r, a):
        cfg = self.config
        cal = self.calibration.phases[k]
        acc = self.acc
        n = acc[a + metro.N]
        r.frames = n
        sv, si = acc[a + metro.SV], acc[a + metro.SI]
        # Exact integer DC removal before any float: n*sum(x^2) - sum(x)^2 = n^2 * variance.
        v_var = (n * acc[a + metro.SVV] - sv * sv) / (n * n)
        i_var = (n * acc[a + metro.SII] - si * si) / (n * n)
        p_lsb = (n * acc[a + metro.SVI] - sv * si) / (n * n)
        q_lsb = (n * acc[a + metro.SQI] - sv * si) / (n * n)
        kv = cfg.v_scale * cal.v_gain
        ki = cfg.i_scale * cal.i_gain
        r.vrms = math.sqrt(max(v_var, 0.0)) * kv
        irms2 = max(i_var, 0.0) * ki * ki - cal.i_noise_a * cal.i_noise_a
        r.irms = math.sqrt(max(irms2, 0.0))
        r.p_w = p_lsb * kv * ki / self._gain_c[k]
        r.q_var = q_lsb * kv * ki / self._gain_q[k]
        r.s_va = r.vrms * r.irms
        r.pf = max(-1.0, min(1.0, r.p_w / r.s_va)) if r.s_va else 0.0
        count = acc[a + metro.ZC_COUNT]
        span = acc[a + metro.ZC_LAST] - acc[a + metro.ZC_FIRST]
        r.freq_hz = (count - 1) * 65536 * cfg.rate_hz / span if count >= 2 and span else 0.0
        r.cycle_min_vrms = self._cycle_rms(acc[a + metro.CYC_MIN_SVV], acc[a + metro.CYC_MIN_N], kv)
        r.cycle_max_vrms = self._cycle_rms(acc[a + metro.CYC_MAX_SVV], acc[a + metro.CYC_MAX_N], kv)
        r.stuck = v_var < cfg.stuck_lsb2 or i_var < cfg.stuck_lsb2
        r.saturated = acc[a + metro.SAT_V] + acc[a + metro.SAT_I] > 0

    @staticmethod
    def _cycle_rms(total, frames, kv):
        return math.sqrt(total / frames) * kv if frames else 0.0
