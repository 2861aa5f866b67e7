# The metrology front: feeds ADC blocks to the sample kernel (native/metro: the C natmod or
# its Python fallback) and, at the end of each period (one second of samples), turns the
# kernel's integer sums into RMS, P, Q, S, PF and frequency per phase, integrates energy in
# integers (metrology/energy.py), decides events (metrology/events.py), and retunes the
# kernel: DC offsets from the period's means, the phase-compensation and quadrature taps
# from the measured frequency. Floats appear only here, once per period (EmonLibCM's split).
#
# Supply faults (docs/metrology.md, "Supply faults"): nothing here raises on any sample
# values. The frequency the taps follow is bounded to [freq_min_hz, freq_max_hz]; a period
# without a usable measurement keeps the last good one. A period in which the voltage is
# lost (RMS below loss_fraction, or no zero crossing for longer than loss_gap_cycles), or a
# channel is stuck or saturated, leaves the DC offsets where they were (otherwise they move
# by a bounded step), so the first whole period after a fault is measured as if the fault
# had not happened. A period whose VOLTAGE mean moved far from the tracked offset held a
# level the mains never has (ADC codes frozen, at a rail or at a DC level for part of it):
# its samples are not a measurement (the step alone would read as power), so that phase's P
# and Q are reported and integrated as zero for the period. The current channel is not
# judged so: a half-wave rectifying load puts a real DC component into a shunt's current
# (IEC 62053-21's "DC and even harmonics" test), and withholding on it would let such a
# load, switched on and off, keep a phase from being metered.
import math
from array import array

from metrology import taps
from metrology.calibration import Calibration
from metrology.energy import EnergyIntegrator
from metrology.events import EventDetector
from native import metro

# In a period whose cycles are not alike (a cycle's RMS more than _DOUBT_SPREAD from the
# period's: a dip or a jump within it) or with a stuck or saturated channel, a frequency
# further than _DOUBT_SLEW_HZ from the last good one is not believed (a dropout of a cycle
# or two removes crossings and reads a few per cent low); other periods may move the
# frequency anywhere in range. (Relative to the period, not to nominal: a steady
# undervoltage is no reason to stop tracking.)
_DOUBT_SLEW_HZ = 0.5
_DOUBT_SPREAD = 0.1


class PhaseResult:
    """One phase's results for the last period (SI units; PF signed like P).
    freq_hz: the frequency the metrology tracks (the taps use it): the last good
    measurement, nominal before the first. freq_measured_hz: this period's own measurement,
    0.0 when there was none (voltage lost, fewer than two zero crossings). freq_valid: this
    period's measurement was in range and believed (freq_hz is then that measurement)."""

    def __init__(self):
        self.vrms = self.irms = self.p_w = self.q_var = self.s_va = self.pf = 0.0
        self.freq_hz = self.freq_measured_hz = 0.0
        self.freq_valid = False
        self.cycle_min_vrms = self.cycle_max_vrms = 0.0
        self.stuck = self.saturated = False
        self.interrupted = False  # no zero crossing for longer than loss_gap_cycles
        self.dc_step = False  # samples held away from the offset: P, Q withheld (zero)
        self.voltage_lost = False  # RMS below loss_fraction of nominal, or interrupted
        self.frames = 0


def _finite(x):
    # NaN fails every comparison; inf fails the bound.
    return -1e30 < x < 1e30


class Metrology:
    def __init__(self, config, calibration=None, sink=None, clock=None, on_event=None,
                 kernel=None):
        self.config = config
        n = config.phases
        # 12-bit codes: int16 blocks and history, 32-bit block sums; wider codes (sigma-delta
        # front ends, up to 24 bits): int32 blocks and history, 64-bit sums.
        self.kernel = kernel or (metro.process_wide if config.wide else metro.process)
        code = "i" if config.wide else "h"
        self.clock = clock
        self.energy = EnergyIntegrator(sink)
        self.events = EventDetector(config, sink, on_event)
        self.results = [PhaseResult() for _ in range(n)]
        self.total = PhaseResult()
        self.periods = 0
        self._period_start_us = clock.ticks_us() if clock else 0
        self.block = array(code, [0] * (config.block_frames * config.channels))
        self.state = array("i", [0] * (n * metro.STATE_STRIDE))
        self.hist = array(code, [0] * (n * metro.HIST_LEN))
        self.acc = array("q", [0] * (n * metro.ACC_STRIDE))
        self._gain_c = [1.0] * n
        self._gain_q = [1.0] * n
        self._blocks = 0
        self._freq_good = [float(config.nominal_hz)] * n
        # Interruption watch (per block): the frame (within the period) of the last
        # crossing, and whether a gap was seen.
        self._zc_frame = [0] * n
        self._gap = [False] * n
        self._gap_frames = int(config.loss_gap_cycles * config.rate_hz / config.nominal_hz)
        lo, hi = config.rails
        mid = 0 if config.adc_signed else 1 << (config.adc_bits - 1)
        # Offsets stay within an eighth of the ADC's range of mid-scale: then |raw - offset|
        # stays below 2560 LSB at 12 bits and the kernel's 32-bit block sums cannot overflow
        # (240 * 2560^2 < 2^31) whatever codes the ADC delivers; at 24 bits likewise below
        # 1.25 * 2^23, within the wide kernel's 64-bit bounds (native/metro.py).
        span = (hi - lo + 1) >> 3
        self._off_lo = mid - span
        self._off_hi = mid + span
        # A period mean further than this from the offset is a DC step (a whole sine's
        # partial cycle moves the mean by at most 0.7 % of full scale at 45 Hz: 14 LSB at
        # 12 bits); once a phase's offsets have settled they move by at most a quarter of it
        # per period, so a fault the checks miss cannot displace them into the next period.
        self._dc_limit = max(4, (hi - lo + 1) >> 7)
        self._offset_step = self._dc_limit >> 2
        self._settled = [False] * n
        self.withheld_periods = 0  # phase-periods whose energy was withheld (dc_step)
        for k in range(n):
            b = k * metro.STATE_STRIDE
            st = self.state
            st[b + metro.V_OFFSET] = st[b + metro.I_OFFSET] = st[b + metro.I_PREV] = mid
            st[b + metro.RAIL_LO] = lo
            st[b + metro.RAIL_HI] = hi
            st[b + metro.CYC_START] = -1
            # Ignore crossings closer than 60 % of a nominal cycle: noise near zero.
            st[b + metro.ZC_HOLDOFF] = int(0.6 * config.rate_hz / config.nominal_hz)
        self.calibration = None
        self.set_calibration(calibration or Calibration(n))

    def check_calibration(self, calibration):
        """ValueError unless set_calibration would take this calibration (for a command
        parser that must reject before anything changes); returns every phase's taps."""
        n = self.config.phases
        if len(calibration.phases) != n:
            raise ValueError("calibration is for %d phases" % len(calibration.phases))
        return [self._checked_taps(k, calibration.phases[k]) for k in range(n)]

    def set_calibration(self, calibration):
        """Take a new calibration (from the configuration path) from the next period on.
        Everything is checked and every phase's taps computed first: a rejected calibration
        (ValueError) changes nothing."""
        n = self.config.phases
        new = self.check_calibration(calibration)
        self.calibration = calibration
        for k in range(n):
            self._apply_taps(k, new[k])

    def _checked_taps(self, k, cal):
        """The taps for phase k under calibration cal at the tracked frequency; ValueError
        unless cal is finite and usable at every frequency the metrology may track."""
        cfg = self.config
        if not (_finite(cal.v_gain) and _finite(cal.i_gain) and _finite(cal.phase_deg)
                and _finite(cal.i_noise_a)):
            raise ValueError("calibration of L%d is not finite" % (k + 1))
        if cal.v_gain <= 0 or cal.i_gain <= 0 or cal.i_noise_a < 0:
            raise ValueError("calibration of L%d: gains must be > 0, noise >= 0" % (k + 1))
        # The quadrature delay is longest at one end of the range (it is monotonic in 1/f).
        for f in (cfg.freq_min_hz, cfg.freq_max_hz):
            if self._taps(cal, f) is None:
                raise ValueError("L%d: the delays exceed the kernel's history at %g Hz: "
                                 "lower the rate or the phase" % (k + 1, f))
        return self._taps(cal, self._freq_good[k])

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
        acc = self.acc
        for k in range(cfg.phases):
            st[k * metro.STATE_STRIDE + metro.CHECK_SAT] = check
        self.kernel(samples, frames, cfg.channels, cfg.phases, st, self.hist, acc)
        # Interruptions: CYC_START is the frame of the last crossing (a block is shorter than
        # the kernel's longest cycle, so one in this block is still there); otherwise the
        # time since the last crossing has grown by a block. Only the int32 state is read
        # here: a 64-bit accumulator read makes a long int on MicroPython (an allocation).
        at = self._zc_frame
        for k in range(cfg.phases):
            b = k * metro.STATE_STRIDE
            start = st[b + metro.CYC_START]
            end = st[b + metro.FRAME]
            if start >= end - frames:
                at[k] = start
            elif end - at[k] > self._gap_frames:
                self._gap[k] = True
        if st[metro.FRAME] >= cfg.rate_hz:  # FRAME counts the period's frames, like N
            self._end_period()

    # -- per period -------------------------------------------------------------------------
    def _taps(self, cal, freq_hz):
        """(TC, KC, gain_c, TQ, KQ, gain_q) for a calibration phase at freq_hz, or None if
        the quadrature delay does not fit the kernel's history."""
        cfg = self.config
        theta = 2 * math.pi * freq_hz / cfg.rate_hz
        # Voltage delay relative to the current pass's pairing (i[n-1] with v[n-1]): the
        # calibrated phase, less the skew (a current sampled skew_us after its voltage shows
        # a later instant, so the voltage is taken that much later too).
        delta = math.radians(cal.phase_deg) - 2 * math.pi * freq_hz * cfg.skew_us * 1e-6
        lag_c = max(0.0, theta + delta)
        tc, kc, gc = taps.interpolation_taps(lag_c, theta)
        tq, kq, gq = taps.interpolation_taps(lag_c + math.pi / 2, theta)
        if tq + 1 >= metro.HISTORY:
            return None
        return tc, kc, gc, tq, kq, gq

    def _apply_taps(self, k, t):
        b = k * metro.STATE_STRIDE
        st = self.state
        st[b + metro.TC], st[b + metro.KC], self._gain_c[k] = t[0], t[1], t[2]
        st[b + metro.TQ], st[b + metro.KQ], self._gain_q[k] = t[3], t[4], t[5]

    def _end_period(self):
        cfg = self.config
        acc = self.acc
        st = self.state
        utc = self.clock.time() if self.clock else self.periods + 1
        tot = self.total
        tot.p_w = tot.q_var = 0.0
        limit = -self._gap_frames - 1
        for k in range(cfg.phases):
            a = k * metro.ACC_STRIDE
            b = k * metro.STATE_STRIDE
            r = self.results[k]
            sat_v, sat_i = self._phase_results(k, r, a)
            r.interrupted = self._gap[k]
            self._gap[k] = False
            r.voltage_lost = r.vrms < cfg.loss_fraction * cfg.nominal_v or r.interrupted
            n = acc[a + metro.N]
            lim = self._dc_limit * n
            r.dc_step = abs(acc[a + metro.SV]) > lim  # voltage only: see the top of the file
            if r.dc_step and self._settled[k]:
                r.p_w = r.q_var = r.pf = 0.0
                self.withheld_periods += 1
            tot.p_w += r.p_w
            tot.q_var += r.q_var
            if self._track_frequency(k, r, a):
                t = self._taps(self.calibration.phases[k], r.freq_hz)
                if t is not None:  # always, for a checked calibration in range
                    self._apply_taps(k, t)
            # Follow the ADC's DC offsets (the kernel subtracts them before squaring), but
            # not from a period that shows a fault: a DC level, a stuck code or the rails
            # would drag them away from where the signal returns.
            if not (r.voltage_lost or r.stuck or sat_v or sat_i):
                step = self._offset_step if self._settled[k] else 1 << 30
                self._follow_offset(b + metro.V_OFFSET, acc[a + metro.SV], n, step)
                self._follow_offset(b + metro.I_OFFSET, acc[a + metro.SI], n, step)
                self._settled[k] = True
            # Start the next period's sums; carried crossing data moves to the new origin.
            mark = acc[a + metro.CYC_MARK] - acc[a + metro.SVV]
            for j in range(metro.ACC_STRIDE):
                acc[a + j] = 0
            acc[a + metro.CYC_MARK] = mark
            start = st[b + metro.CYC_START]
            if start >= 0:
                st[b + metro.CYC_START] = start - n
            st[b + metro.FRAME] = 0
            # (bounded, so a supply lost for days stays a small int)
            self._zc_frame[k] = max(self._zc_frame[k] - n, limit)
        tot.s_va = math.sqrt(tot.p_w * tot.p_w + tot.q_var * tot.q_var)
        tot.pf = tot.p_w / tot.s_va if tot.s_va else 0.0
        self.periods += 1
        self.energy.add_period(tot.p_w, tot.q_var, self._period_seconds())
        self.events.period(self.results, utc)

    def _follow_offset(self, i, total, n, step):
        move = min(max(int(round(total / n)), -step), step)
        self.state[i] = min(max(self.state[i] + move, self._off_lo), self._off_hi)

    def _track_frequency(self, k, r, a):
        """Measure the period's frequency, decide whether the taps follow it; sets freq_hz,
        freq_measured_hz and freq_valid. Returns True when the measurement was taken."""
        cfg = self.config
        acc = self.acc
        count = acc[a + metro.ZC_COUNT]
        span = acc[a + metro.ZC_LAST] - acc[a + metro.ZC_FIRST]
        f = 0.0
        if count >= 2 and span > 0 and not r.voltage_lost:
            f = (count - 1) * 65536 * cfg.rate_hz / span
        r.freq_measured_hz = f
        good = self._freq_good[k]
        ok = cfg.freq_min_hz <= f <= cfg.freq_max_hz
        if ok and abs(f - good) > _DOUBT_SLEW_HZ:
            v = r.vrms
            doubtful = (r.stuck or r.saturated or 0 < r.cycle_min_vrms < (1 - _DOUBT_SPREAD) * v
                        or r.cycle_max_vrms > (1 + _DOUBT_SPREAD) * v)
            ok = not doubtful
        r.freq_valid = ok
        if ok:
            self._freq_good[k] = f
        r.freq_hz = self._freq_good[k]
        return ok

    def _period_seconds(self):
        """How long the period lasted: its samples' span, or the clock's for a gapped
        sampler (config.time_base == "clock")."""
        if self.config.time_base == "clock" and self.clock is not None:
            now = self.clock.ticks_us()
            seconds = self.clock.ticks_diff(now, self._period_start_us) / 1000000
            self._period_start_us = now
            return seconds if seconds > 0 else 0.0
        return self.results[0].frames / self.config.rate_hz

    def _phase_results(self, k, r, a):
        """Fills r from phase k's sums; returns (voltage saturated, current saturated)."""
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
        # Anti-creep (IEC 62053-21 no-load test): below the threshold a phase registers
        # nothing; the threshold sits between an idle front end's noise and the starting power.
        creep = cfg.creep_w
        if -creep < r.p_w < creep:
            r.p_w = 0.0
        if -creep < r.q_var < creep:
            r.q_var = 0.0
        r.s_va = r.vrms * r.irms
        r.pf = max(-1.0, min(1.0, r.p_w / r.s_va)) if r.s_va else 0.0
        r.cycle_min_vrms = self._cycle_rms(acc[a + metro.CYC_MIN_SVV], acc[a + metro.CYC_MIN_N], kv)
        r.cycle_max_vrms = self._cycle_rms(acc[a + metro.CYC_MAX_SVV], acc[a + metro.CYC_MAX_N], kv)
        r.stuck = v_var < cfg.stuck_lsb2 or i_var < cfg.stuck_lsb2
        sat_v = acc[a + metro.SAT_V] > 0
        sat_i = acc[a + metro.SAT_I] > 0
        r.saturated = sat_v or sat_i
        return sat_v, sat_i

    @staticmethod
    def _cycle_rms(total, frames, kv):
        return math.sqrt(total / frames) * kv if frames > 0 and total > 0 else 0.0
