"""The metering-IC front ends of the type tests (tools/metrology/typetest.py): the firmware's
metrology/ic_front.py (ICMetrology) reading a fake chip (hal/<chip>_sim.py) through its
real driver (hal/<chip>.py) over the fake's SPI bus, once per simulated second.

The IC integrates energy itself, so where a sampling front end's test exercises the
firmware's algorithm, here it exercises the chip's. The chip's DSP is not public: the fakes
model its documented behaviour from each phase's V, I, P, Q (hal.adc_sim.phase_quantities
of a PhaseScenario: harmonics included), its gain and phase registers, its no-load
thresholds and its energy count. So every result row carries a note saying what the fake
models there ("IC fake: ..."); a pass says the firmware reads, scales and integrates the
chip's registers right under that condition, not that the silicon meets it.

How each test's load reaches the fake:
  - one PhaseScenario per phase from the test's waveforms (waveforms.to_phase_scenario:
    Fourier terms up to the 39th, DC dropped as the chips' input high-pass filters drop it);
  - a current that does not repeat every cycle (burst firing, 2 cycles on, 2 off) is
    switched: the fake gets the conducting sine's scenario and the no-current scenario in
    turn, `on` and `off` cycles long (0.04 s steps at 50 Hz), as the chip integrates
    continuously;
  - time passes by fake.advance(), and ICMetrology.poll() reads the chip every second;
    the energy is the EnergyIntegrator's total_mws, as for the sampling front ends;
  - a single-phase test on the 3-phase ATM90E32AS loads all three elements alike (a
    polyphase meter's tests at balanced load); tests that need three phases (reversed
    sequence, interrupted phases) do not apply to the single-phase ADE7953.

Both fakes get hardware errors (voltage and current gain, the current sensor's phase) and
the production-line calibration at Ib (metrology.calibration's gain and phase points, on
the ICMetrology's readings) goes into the chips' gain and phase registers, as on a board.

The measurement runs long enough for the chip's energy count to resolve the result: at
least MIN_COUNTS counts (1 count in 2000: 0.05 %), in whole 4 s spans (whole burst
patterns).
"""
import math

from tools import fwpath
from tools.metrology import accuracy
from tools.metrology import waveforms as wf

fwpath.setup()

from metrology import calibration as cal  # noqa: E402
from metrology.config import MetrologyConfig  # noqa: E402
from metrology.energy import EXPORT, IMPORT  # noqa: E402

UN, IB, FN = accuracy.UN, accuracy.IB, accuracy.FN
MIN_COUNTS = 2000
SPAN_S = 4  # measurement lengths are whole multiples of this (whole 2+2 burst patterns)


def _no_wait(ms):
    pass


class Variants:
    """variant(): a copy of a front end with some attributes changed (rate_hz, i_scale,
    threshold_w, ...), calibrated afresh: the negative controls. _forget() drops what the
    copy must work out again."""

    def variant(self, name, **changes):
        import copy

        fe = copy.copy(self)
        fe.name = name
        for key, value in changes.items():
            if not hasattr(fe, key):
                raise AttributeError(key)
            setattr(fe, key, value)
        fe._forget()
        return fe

    def _forget(self):
        raise NotImplementedError


class ICFrontEnd(Variants):
    """A metering IC behind ICMetrology. Subclasses build the fake and its driver
    (_build) and know the chip's thresholds. threshold_w: None = the chip's configured
    default, 0 = no-load detection off, else that threshold in W."""

    rate_hz = 8000  # a valid MetrologyConfig; the IC samples on its own
    driver_module = sim_module = ""
    phases = 1

    def __init__(self, name, title, klass, limit_scale):
        self.name, self.title, self.klass, self.limit_scale = name, title, klass, limit_scale
        self._calibration = None
        self._count_ws = None
        self.calibration_off = False  # negative controls: run uncalibrated

    def _forget(self):
        self._calibration = None
        self._count_ws = None

    def unavailable(self):
        import importlib

        for module in ("metrology.ic_front", self.driver_module, self.sim_module):
            try:
                importlib.import_module(module)
            except ImportError as e:
                return "needs %s (issue 15): %s" % (module, e)
        try:
            self.meter(calibrated=False)
        except (ValueError, OSError, TypeError, AttributeError) as e:
            return "the IC front end does not start: %s" % e
        return None

    # -- the meter ------------------------------------------------------------------------
    def config(self):
        return MetrologyConfig(phases=self.phases, rate_hz=self.rate_hz, nominal_v=UN,
                               nominal_hz=FN, time_base="clock")

    def meter(self, threshold_w=None, calibrated=True):
        """(ICMetrology, the fake chip): begun, calibrated, idle (no load)."""
        from metrology.ic_front import ICMetrology

        c = self.calibrate() if calibrated and not self.calibration_off else None
        sim, drv = self._build(threshold_w)
        m = ICMetrology(self.config(), drv, calibration=c)
        self._after_begin(sim, drv, threshold_w)
        return m, sim

    def calibrate(self):
        """The production-line procedure at Ib (gain point at PF 1, phase point at PF 0.5
        inductive) on the ICMetrology's readings, into the chip's registers."""
        if self._calibration is not None:
            return self._calibration
        c = cal.Calibration(self.phases)
        m, sim = self.meter(calibrated=False)
        m.set_calibration(c)

        def run(angle):
            for k in range(self.phases):
                sim.set_load(k, self._scenario(UN, IB, angle), FN)
            for _ in range(3):
                sim.advance(1.0)
                m.poll()
            return m.results

        for k, r in enumerate(run(0.0)):
            cal.gain_point(c.phases[k], r.vrms, r.irms, UN, IB)
        m.set_calibration(c)
        for k, r in enumerate(run(60.0)):
            cal.phase_point(c.phases[k], r.p_w, r.s_va, 60.0)
        m.set_calibration(c)  # refused (ValueError) if the registers cannot hold it
        self._calibration = c
        return c

    @staticmethod
    def _scenario(v, i, angle):
        from hal.adc_sim import PhaseScenario

        return PhaseScenario(v, i, angle)

    # -- the load -------------------------------------------------------------------------
    def applied(self, phase_waves):
        """The waves the chip's phases carry: a single-phase test on every element alike."""
        if len(phase_waves) == 1 and self.phases > 1:
            return list(phase_waves) * self.phases
        return list(phase_waves)

    def applicable(self, phases):
        return phases <= self.phases

    @staticmethod
    def schedule(phase_waves, freq):
        """[(duration s or None, [PhaseScenario per phase])]: one constant load (None), or
        the repeating segments of a burst-fired current."""
        bursts = [i for _, i in phase_waves if isinstance(i, wf.BurstFired)]
        if not bursts:
            return [(None, [wf.to_phase_scenario(v, i, freq) for v, i in phase_waves])]
        b = bursts[0]
        on = [wf.to_phase_scenario(v, wf.Sine(i.on_rms, freq, i.phase_deg) if isinstance(
            i, wf.BurstFired) else i, freq) for v, i in phase_waves]
        off = [wf.to_phase_scenario(v, wf.Zero() if isinstance(i, wf.BurstFired) else i, freq)
               for v, i in phase_waves]
        for _, i in phase_waves:
            if isinstance(i, wf.BurstFired) and (i.on, i.off, i.phase_deg) != (
                    b.on, b.off, b.phase_deg):
                raise ValueError("burst patterns differ between phases")
        return [(b.on / freq, on), (b.off / freq, off)]

    class _Runner:
        """Steps the fake through a schedule: advance() in pieces that end where the load
        changes, poll() at each whole second."""

        def __init__(self, m, sim, schedule, freq):
            self.m, self.sim, self.schedule, self.freq = m, sim, schedule, freq
            self.segment = 0
            self.left = schedule[0][0]
            self._load(schedule[0][1])

        def _load(self, scenarios):
            for k, sc in enumerate(scenarios):
                self.sim.set_load(k, sc, self.freq)

        def second(self):
            if self.left is None:
                self.sim.advance(1.0)
            else:
                remaining = 1.0
                while remaining > 1e-9:
                    take = min(remaining, self.left)
                    self.sim.advance(take)
                    remaining -= take
                    self.left -= take
                    if self.left <= 1e-9:
                        self.segment = (self.segment + 1) % len(self.schedule)
                        self.left += self.schedule[self.segment][0]
                        self._load(self.schedule[self.segment][1])
            self.m.poll()

    def measure_seconds(self, p_w):
        """Seconds for at least MIN_COUNTS energy counts at p_w, whole SPAN_S spans."""
        need = MIN_COUNTS * self.count_ws() / abs(p_w) if p_w else 0.0
        return SPAN_S * max(1, int(math.ceil(need / SPAN_S)))

    def measure(self, phase_waves, freq=FN, seconds=SPAN_S, settle=1, seed=1, creep_w=None):
        """(net active energy Ws of the measured seconds, the ICMetrology, per-second Ws).
        phase_waves: one (v, i) per chip phase (applied()). seed: unused (the fakes model
        no noise)."""
        if len(phase_waves) != self.phases:
            raise ValueError("%s measures %d phase(s)" % (self.name, self.phases))
        m, sim = self.meter(creep_w)
        run = self._Runner(m, sim, self.schedule(phase_waves, freq), freq)
        for _ in range(settle):
            run.second()
        e = m.energy.total_mws
        start = e[IMPORT] - e[EXPORT]
        per_second = []
        for _ in range(seconds):
            before = e[IMPORT] - e[EXPORT]
            run.second()
            per_second.append((e[IMPORT] - e[EXPORT] - before) / 1000.0)
        return (e[IMPORT] - e[EXPORT] - start) / 1000.0, m, per_second

    def count_ws(self):
        """Ws per energy count (the driver's exact ENERGY_MWS_PER_COUNT)."""
        if self._count_ws is None:
            num, den = self._build(None)[1].ENERGY_MWS_PER_COUNT
            self._count_ws = num / den / 1000.0
        return self._count_ws

    def threshold_of(self, m):
        return self.threshold_w(m.chip)

    # -- no load --------------------------------------------------------------------------
    def noload(self, seconds, creep_w=None):
        """115 % Un, no current, the idle residual (residual()) for `seconds`: no energy may
        register; a twin chip with its no-load detection off shows what it held back."""
        m, sim = self.meter(creep_w)
        twin, tsim = self.meter(0.0)
        self.residual(sim, True)
        self.residual(tsim, True)
        peak_p = peak_q = 0.0
        for second in range(seconds):
            for s, meter in ((sim, m), (tsim, twin)):
                s.advance(1.0)
                meter.poll()
            if second >= 1:
                peak_p = max(peak_p, abs(twin.total.p_w))
                peak_q = max(peak_q, abs(twin.total.q_var))
        return m, twin, peak_p, peak_q

    # -- notes ----------------------------------------------------------------------------
    NOTES = {
        "voltage": "IC fake: P, Q scale with V (phase_quantities); the chip's own "
                   "voltage dependence is not modelled",
        "frequency": "IC fake: no frequency response modelled; the phase register is a "
                     "time delay, so its correction scales with f",
        "harmonics": "IC fake: harmonics' power summed ideally (phase_quantities); the "
                     "real chip's bandwidth decides",
        "half_wave": "IC fake: DC dropped (the chip's HPF), harmonics to the 39th; no "
                     "input clipping modelled",
        "phase_fired": "IC fake: Fourier terms to the 39th as a PhaseScenario; the chip's "
                       "own sampling of the triac's jump is not modelled",
        "burst_fired": "IC fake: load switched on/off every 2 cycles (0.04 s steps), the "
                       "chip integrates continuously",
        "reversed": "IC fake: each phase measured on its own: the sequence does not enter "
                    "(the chip's sequence flag is not modelled)",
        "unbalance": "IC fake: a phase without voltage adds no power",
    }

    def note(self, limit_key):
        return self.NOTES[limit_key]


class ATM90E32Front(ICFrontEnd):
    """The CircuitSetup board's ATM90E32AS (boards/esp32-atm90e32: its gain register
    values and the chip's default meter constant, 3200 imp/kWh: 11.25 Ws per energy
    count at 0.01 CF); the hardware's errors below, calibrated away at Ib."""

    driver_module, sim_module = "hal.atm90e32", "hal.atm90e32_sim"
    phases = 3
    V_ERROR = (0.012, -0.008, 0.005)
    I_ERROR = (-0.015, 0.010, 0.020)
    PHASE_ERROR_DEG = (-0.30, -0.20, -0.40)  # the CTs' phase lead
    # The fake models no idle noise or crosstalk: a residual active power per phase stands
    # for it (a small current in phase with 115 % Un), below the all-phase start threshold
    # (3 x 0.5 W < 2.4 W) though above the per-phase one (0.24 W).
    RESIDUAL_W = 0.5

    def _build(self, threshold_w):
        from hal.atm90e32 import ATM90E32
        from hal.atm90e32_sim import ATM90E32Sim

        sim = ATM90E32Sim(v_error=list(self.V_ERROR), i_error=list(self.I_ERROR),
                          phase_error_deg=list(self.PHASE_ERROR_DEG))
        kw = {}
        if threshold_w is not None:
            # the all-phase threshold as asked, the per-phase one a tenth of it (as the
            # driver's defaults 2.4 W / 0.24 W)
            kw = {"start_w": threshold_w, "phase_start_w": threshold_w / 10.0}
        drv = ATM90E32(sim.spi, sim.cs, line_hz=int(FN), sleep_ms=_no_wait, **kw)
        return sim, drv

    def _after_begin(self, sim, drv, threshold_w):
        pass

    def threshold_w(self, drv):
        return drv.start_lsb / 3125.0  # PStartTh, 0.00032 W per LSB (as the driver)

    def residual(self, sim, on):
        v = 1.15 * UN
        i = self.RESIDUAL_W / v if on else 0.0
        for k in range(3):
            sim.set_load(k, self._scenario(v, i, 0.0), FN)

    def residual_note(self):
        return ("IC fake: no idle noise modelled; %.1f W per phase (%.2f mA at 115 %% Un) "
                "stands for it, under PStartTh" % (
                    self.RESIDUAL_W, 1000 * self.RESIDUAL_W / (1.15 * UN)))

    def starting_note(self, m):
        return ("IC fake: PStartTh %.2f W (all phases), energy count %.2f Ws; balanced load"
                % (self.threshold_of(m), self.count_ws()))


class ADE7953Front(ICFrontEnd):
    """An ADE7953 (boards/esp32-ade7953's divider, 350 V full scale) with its current range
    set for this meter's Imax: PGA 4 on the 1 mOhm shunt, 88.38 A RMS full scale (125 A
    peak: the half-wave test's 84.9 A peak fits; the board's PGA 8, 62.5 A peak, would
    clip it, and the fake models no clipping). Energy count: full-scale power / 206.9 kHz
    (0.15 Ws); no-load threshold the chip's default, full-scale power / 10000 (3.09 W)."""

    driver_module, sim_module = "hal.ade7953", "hal.ade7953_sim"
    phases = 1
    V_FS, I_FS = 350.0, 88.38
    V_ERROR, I_ERROR, I_PHASE_DEG = 0.012, -0.015, -0.20
    RESIDUAL_W = 1.0  # the fake's offset_w: an idle front end's crosstalk and noise

    def _build(self, threshold_w):
        from hal.ade7953 import ADE7953
        from hal.ade7953_sim import ADE7953Sim

        sim = ADE7953Sim(v_fs=self.V_FS, ia_fs=self.I_FS, ib_fs=self.I_FS,
                         v_gain_error=self.V_ERROR, i_gain_error=self.I_ERROR,
                         i_phase_deg=self.I_PHASE_DEG)
        kw = {}
        if threshold_w:  # full scale / range; 0 switches the detection off (DISNOLOAD)
            rng = int(round(self.V_FS * self.I_FS / threshold_w))
            kw["noload_range"] = min(91750, max(2, rng))
        drv = ADE7953(sim.spi, sim.cs, v_fs=self.V_FS, ia_fs=self.I_FS, ib_fs=self.I_FS,
                      pga_v=1, pga_ia=4, pga_ib=4, nominal_v=UN, nominal_hz=FN,
                      sleep_ms=_no_wait, **kw)
        drv.sim = sim  # threshold_w() reads the fake's own figure
        return sim, drv

    def _after_begin(self, sim, drv, threshold_w):
        if threshold_w == 0:
            drv.write_reg(0x001, 0x07)  # DISNOLOAD: no-load detection off (AP, VAR, VA)

    def threshold_w(self, drv):
        if drv.read_reg(0x001) & 1:
            return 0.0
        return drv.sim.noload_threshold_w(0)

    def residual(self, sim, on):
        sim.offset_w = self.RESIDUAL_W if on else 0.0
        sim.set_load(0, self._scenario(1.15 * UN, 0.0, 0.0), FN)

    def residual_note(self):
        return ("IC fake: idle residual offset_w %.1f W (no-load test only; at load it "
                "would be an offset the chip's AWATTOS trims)" % self.RESIDUAL_W)

    def starting_note(self, m):
        return ("IC fake: AP_NOLOAD threshold %.2f W, energy count %.3f Ws"
                % (self.threshold_of(m), self.count_ws()))
