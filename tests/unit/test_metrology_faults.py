# Supply-fault suite: the metrology keeps metering through dropouts (1 sample to a minute,
# at several phases of the cycle, to mid-scale or to code 0), DC-only input, a stuck or
# saturated ADC, off-range supplies (40 and 70 Hz) and frequency steps. Each scenario checks
# that nothing raises, that the expected events start and end in the expected periods, that
# nothing else is left active, and that every whole period outside the fault measures its
# energy within 1 % (class 1) of the value computed here from the waveform's parameters.
# The waveforms are synthesized here (12-bit codes around mid-scale) at a low rate, so the
# suite stays quick on MicroPython.
import math

from metrology.config import MetrologyConfig
from metrology.energy import EXPORT, IMPORT
from metrology.events import (ADC_SATURATED, ADC_STUCK, FREQ_OUT_OF_RANGE, POWER_FAILURE,
                              REVERSE_FLOW, SAG, SWELL, VOLTAGE_LOSS)
from metrology.frontend import Metrology
from native import metro
from support import EnergySink

RATE = 2000
MID = 2048
TOP = 4095
V_SCALE, I_SCALE = 0.25, 0.05
VRMS, IRMS, ANGLE = 230.0, 10.0, 30.0  # current lagging 30 degrees
P_PHASE = VRMS * IRMS * math.cos(math.radians(ANGLE))  # W per phase
TWO_PI = 2 * math.pi


class SupplyADC:
    """ADC block sampler: V, I per phase at `freq` (steps: ((frame, hz), ...), phase-
    continuous), with faults ((start, end, kind, phases or None), ...) over frames
    [start, end). Kinds: "mid" (0 V: mid-scale), "zero" (code 0), "hold" (codes frozen),
    "rail" (the top code), "dc" (a DC level with a little noise), "clip" (voltage doubled,
    clipped at the rails)."""

    def __init__(self, phases=1, freq=50.0, steps=(), faults=()):
        self.phases = phases
        self.channels = 2 * phases
        self.freq = freq
        self.steps = steps
        self.faults = faults
        self.frame = 0
        self.x = 0.0
        self.vpk = VRMS * math.sqrt(2) / V_SCALE
        self.ipk = IRMS * math.sqrt(2) / I_SCALE
        self.held = [MID] * self.channels
        self.seed = 1

    def _fault(self, f):
        for fault in self.faults:
            if fault[0] <= f < fault[1]:
                return fault
        return None

    def _noise(self):
        self.seed = (self.seed * 1664525 + 1013904223) & 0x3FFFFFFF
        return (self.seed >> 27) - 4  # -4 .. 3 LSB

    def read_block(self, samples):
        ch = self.channels
        frames = len(samples) // ch
        first = self._fault(self.frame)
        if (first is not None and first[2] in ("mid", "zero", "rail") and first[3] is None
                and self.frame + frames <= first[1] and not self.steps):
            # Quick path for a constant block (long dropouts); the phase runs on.
            code = {"mid": MID, "zero": 0, "rail": TOP}[first[2]]
            for j in range(frames * ch):
                samples[j] = code
            self.x = (self.x + TWO_PI * self.freq * frames / RATE) % TWO_PI
            self.frame += frames
            return frames
        lag = math.radians(ANGLE)
        for j in range(frames):
            f = self.frame
            for at, hz in self.steps:
                if at == f:
                    self.freq = hz
            fault = self._fault(f)
            for p in range(self.phases):
                x = self.x - TWO_PI * p / 3
                v = MID + int(round(self.vpk * math.sin(x)))
                i = MID + int(round(self.ipk * math.sin(x - lag)))
                if fault is not None and (fault[3] is None or p in fault[3]):
                    kind = fault[2]
                    if kind == "mid":
                        v = i = MID
                    elif kind == "zero":
                        v = i = 0
                    elif kind == "rail":
                        v = i = TOP
                    elif kind == "hold":
                        v, i = self.held[2 * p], self.held[2 * p + 1]
                    elif kind == "dc":
                        v = MID + 600 + self._noise()
                        i = MID - 300 + self._noise()
                    elif kind == "clip":
                        v = min(TOP, max(0, MID + int(round(2 * self.vpk * math.sin(x)))))
                else:
                    self.held[2 * p] = v
                    self.held[2 * p + 1] = i
                samples[j * ch + 2 * p] = v
                samples[j * ch + 2 * p + 1] = i
            self.x = (self.x + TWO_PI * self.freq / RATE) % TWO_PI
            self.frame += 1
        return frames


def frames_at(seconds, deg=0.0, freq=50.0):
    """The frame at `seconds` (a whole number of cycles) plus `deg` of the cycle."""
    return int(round(seconds * RATE)) + int(round(deg / 360.0 * RATE / freq))


def run(seconds, phases=1, **adc_args):
    """Meter the scenario for `seconds` periods. Returns (metrology, events seen, energy
    per period in mWs, V offsets after each period (L1), sink)."""
    seen = []
    sink = EnergySink()
    m = Metrology(MetrologyConfig(phases=phases, rate_hz=RATE, v_scale=V_SCALE,
                                  i_scale=I_SCALE), sink=sink,
                  on_event=lambda kind, ph, utc, on: seen.append((kind, ph, utc, on)))
    adc = SupplyADC(phases, **adc_args)
    energy, offsets = [], []
    m.freq_log = []  # L1's tracked frequency after each period
    done = 0
    while m.periods < seconds:
        m.run_block(adc)
        if m.periods != len(energy):
            e = m.energy.total_mws
            energy.append(e[IMPORT] - e[EXPORT] - done)
            done = e[IMPORT] - e[EXPORT]
            offsets.append(m.state[metro.V_OFFSET])
            m.freq_log.append(m.results[0].freq_hz)
            assert 45.0 <= m.results[0].freq_hz <= 65.0  # bounded, whatever came in
            for r in m.results + [m.total]:
                for x in (r.vrms, r.irms, r.p_w, r.q_var, r.s_va, r.pf, r.freq_hz):
                    assert x == x and -1e9 < x < 1e9, (m.periods, x)  # finite, not NaN
    return m, seen, energy, offsets, sink


def intervals(seen, kind, phase):
    """[(start utc, end utc or None), ...] of one kind on one phase."""
    out = []
    for k, ph, utc, on in seen:
        if k == kind and ph == phase:
            if on:
                out.append([utc, None])
            else:
                assert out and out[-1][1] is None, (kind, phase, seen)
                out[-1][1] = utc
    return [tuple(x) for x in out]


def check_events(m, seen, expected, allowed=(), still_active=()):
    """expected: {(kind, phase): [(start, end), ...]} exactly; kinds in `allowed` may come
    and go (consequences at the fault's edges) but must have ended; any other kind must
    not appear at all."""
    kinds = set(k for k, ph, utc, on in seen)
    assert REVERSE_FLOW not in kinds, seen
    for k, ph, utc, on in seen:
        if (k, ph) not in expected:
            assert k in allowed, ("unexpected", k, ph, utc, on, seen)
    for (kind, phase), want in expected.items():
        assert intervals(seen, kind, phase) == want, (kind, phase, intervals(seen, kind,
                                                                                 phase), want)
    for kind, counter in m.events.counters.items():
        for k in range(m.config.phases):
            if (kind, k + 1) not in still_active:
                assert not counter.active[k], (kind, k + 1, seen)


def check_energy(energy, faults, phases=1, bound=True):
    """Every whole period clear of the faults (the first one after a fault included) within
    1 % of the analytic energy; a period with a fault never registers more than the supply
    could deliver in it (a fault's DC step must not read as power) nor export."""
    want = phases * P_PHASE * 1000.0  # mWs in one second
    checked = 0
    for p, got in enumerate(energy):
        lo, hi = p * RATE, (p + 1) * RATE
        if any(s < hi and e > lo for s, e in faults):
            assert not bound or 0 <= got <= 1.02 * want, ("fault period", p + 1, got, want)
            continue
        assert abs(got - want) <= 0.01 * want, ("period", p + 1, got, want)
        checked += 1
    return checked


def loss_events(start, end, phases=(1,), failure=True):
    """The voltage-loss, frequency and (failure: all phases lost) power-failure events of a
    supply lost over frames [start, end) on `phases`."""
    first, last = start // RATE + 1, (end - 1) // RATE + 1
    out = {(POWER_FAILURE, 0): [(first, last + 1)]} if failure else {}
    for ph in phases:
        out[(VOLTAGE_LOSS, ph)] = [(first, last + 1)]
        out[(FREQ_OUT_OF_RANGE, ph)] = [(first, last + 1)]
    return out, first, last


def test_dropouts_at_several_phases_of_the_cycle():
    # (start s, length in frames, whole-supply loss expected). 0.94 s inside a period
    # leaves a cycle or two at each end: crossings that read about 2 Hz.
    lengths = ((2.3, 1, False), (2.3, RATE // 50, False), (2.05, 9 * RATE // 10, True),
               (2.03, 94 * RATE // 100, True), (2.3, 5 * RATE, True))
    for start_s, length, lost in lengths:
        for kind in ("mid", "zero"):
            for deg in (0.0, 90.0, 217.0):
                start = frames_at(start_s, deg)
                end = start + length
                seconds = end // RATE + 3
                m, seen, energy, offsets, sink = run(seconds, faults=((start, end, kind,
                                                                       None),))
                case = (start_s, length, kind, deg)
                allowed = (SAG, SWELL, ADC_SATURATED, ADC_STUCK)
                if lost:
                    expected, first, last = loss_events(start, end)
                    check_events(m, seen, expected, allowed)
                    assert intervals(seen, POWER_FAILURE, 0) == [(first, last + 1)], case
                    assert sink.failures == [(last + 1, last + 1 - first)], case
                else:
                    check_events(m, seen, {}, allowed)
                    assert sink.failures == [], case
                    # A cycle's dropout loses a crossing (49 Hz read): not believed.
                    assert max(abs(f - 50.0) for f in m.freq_log) < 0.05, (case, m.freq_log)
                checked = check_energy(energy, ((start, end),))
                assert checked >= 3, case
                # The offsets are back at (or never left) the signal's mid-scale, the
                # frequency tracked again.
                assert abs(offsets[-1] - MID) <= 2, (case, offsets)
                r = m.results[0]
                assert r.freq_valid and abs(r.freq_hz - 50.0) < 0.05, (case, r.freq_hz)


def test_long_dropouts_keep_the_offsets_and_the_taps():
    # The supply gone for a minute: the period after it is metered right, and the kernel's
    # offsets and taps never moved from their pre-fault values.
    start, end = frames_at(1.5, 90.0), frames_at(61.5, 90.0)
    m, seen, energy, offsets, sink = run(63, faults=((start, end, "mid", None),))
    expected, first, last = loss_events(start, end)
    check_events(m, seen, expected, (SAG, ADC_STUCK))
    assert sink.failures == [(63, 61)]
    assert check_energy(energy, ((start, end),)) == 2
    assert max(abs(x - MID) for x in offsets) <= 2
    assert m.events.last_bad_freq_mhz[0] == 0  # no frequency measured: none
    st = m.state
    assert (st[metro.TC], st[metro.KC]) == (1, 0)  # one sample, at any frequency
    assert st[metro.TQ] == 11  # a quarter of 40 samples per cycle, plus the one sample


def test_dc_only_stuck_and_saturated_adc():
    for kind in ("dc", "hold", "rail"):
        start, end = frames_at(2.4, 217.0), frames_at(4.6, 0.0)
        m, seen, energy, offsets, sink = run(7, faults=((start, end, kind, None),))
        expected, first, last = loss_events(start, end)
        if kind == "hold":
            expected[(ADC_STUCK, 1)] = [(4, 5)]  # the one period wholly stuck
        if kind == "rail":
            expected[(ADC_STUCK, 1)] = [(4, 5)]
            expected[(ADC_SATURATED, 1)] = [(3, 6)]
        check_events(m, seen, expected, (SAG, SWELL))
        assert sink.failures == [(6, 3)], kind
        assert check_energy(energy, ((start, end),)) == 4
        # Neither the DC level nor the rails dragged the offsets: the first period after
        # the fault starts from the pre-fault offset.
        assert offsets[2] == offsets[3] == offsets[4] == offsets[1], (kind, offsets)
        assert abs(offsets[1] - MID) <= 2


def test_clipping_voltage_is_saturation_and_swell_not_loss():
    start, end = frames_at(2.0), frames_at(4.0)
    m, seen, energy, offsets, sink = run(6, faults=((start, end, "clip", None),))
    check_events(m, seen, {(ADC_SATURATED, 1): [(3, 5)], (SWELL, 1): [(3, 5)]})
    # (the doubled voltage does deliver more power: metered, clipped)
    assert check_energy(energy, ((start, end),), bound=False) == 4
    assert 1.5 * energy[1] < energy[2] < 2 * energy[1]
    assert offsets[2] == offsets[3] == offsets[1]


def test_off_range_supplies_are_metered_at_the_last_good_frequency():
    for hz in (40.0, 70.0):
        m, seen, energy, offsets, sink = run(4, freq=hz)
        # One event for the whole excursion, still active; the taps stay at nominal.
        check_events(m, seen, {(FREQ_OUT_OF_RANGE, 1): [(1, None)]},
                     still_active=((FREQ_OUT_OF_RANGE, 1),))
        r = m.results[0]
        assert not r.freq_valid and r.freq_hz == 50.0
        assert abs(r.freq_measured_hz - hz) < 0.05
        assert abs(m.events.last_bad_freq_mhz[0] - hz * 1000) < 50
        assert check_energy(energy, ()) == 4
        assert abs(r.vrms - VRMS) < 0.5 and abs(r.irms - IRMS) < 0.05


def test_frequency_steps():
    # 50 -> 40 -> 70 -> 50 Hz at period boundaries, then 50 -> 47 -> 52 mid-period (in
    # range: followed, no event).
    steps = ((2 * RATE, 40.0), (4 * RATE, 70.0), (6 * RATE, 50.0), (8 * RATE + 700, 47.0),
             (10 * RATE + 300, 52.0))
    m, seen, energy, offsets, sink = run(12, steps=steps)
    check_events(m, seen, {(FREQ_OUT_OF_RANGE, 1): [(3, 7)]})
    assert abs(m.events.last_bad_freq_mhz[0] - 70000) < 50
    assert check_energy(energy, ()) == 12
    r = m.results[0]
    assert r.freq_valid and abs(r.freq_hz - 52.0) < 0.05


def test_three_phase_dropouts():
    # All phases gone inside one period: three voltage losses and one power failure of a
    # period; then L2 alone gone for 1.5 s: its loss only, no power failure.
    start, end = frames_at(2.05, 90.0), frames_at(2.95, 90.0)
    m, seen, energy, offsets, sink = run(5, phases=3, faults=((start, end, "mid", None),))
    expected, first, last = loss_events(start, end, (1, 2, 3))
    check_events(m, seen, expected, (SAG, SWELL))
    assert intervals(seen, POWER_FAILURE, 0) == [(3, 4)] and sink.failures == [(4, 1)]
    assert check_energy(energy, ((start, end),), 3) == 4
    start, end = frames_at(1.5), frames_at(3.0)
    m, seen, energy, offsets, sink = run(5, phases=3, faults=((start, end, "zero", (1,)),))
    expected, first, last = loss_events(start, end, (2,), False)
    check_events(m, seen, expected, (SAG, SWELL, ADC_SATURATED, ADC_STUCK))
    assert sink.failures == [] and intervals(seen, POWER_FAILURE, 0) == []
    assert check_energy(energy, ((start, end),), 3) == 3


def test_rejected_calibration_changes_nothing():
    from metrology.calibration import Calibration

    m = Metrology(MetrologyConfig(phases=1, rate_hz=RATE, v_scale=V_SCALE, i_scale=I_SCALE))
    before = list(m.state)
    good = m.calibration
    for phase, v_gain, noise in ((1e6, 1.0, 0.0), (float("nan"), 1.0, 0.0),
                                 (0.0, float("inf"), 0.0), (0.0, -1.0, 0.0),
                                 (0.0, 1.0, float("nan"))):
        cal = Calibration(1)
        cal.phases[0].phase_deg = phase
        cal.phases[0].v_gain = v_gain
        cal.phases[0].i_noise_a = noise
        try:
            m.check_calibration(cal)
        except ValueError:
            pass
        else:
            raise AssertionError("passed %r" % ((phase, v_gain, noise),))
        try:
            m.set_calibration(cal)
        except ValueError:
            pass
        else:
            raise AssertionError("accepted %r" % ((phase, v_gain, noise),))
        assert m.calibration is good and list(m.state) == before
    cal = Calibration(1)
    cal.phases[0].phase_deg = 5.0
    m.set_calibration(cal)  # accepted: the taps move
    assert m.calibration is cal and list(m.state) != before


def test_per_block_path_allocates_nothing_through_a_dropout():
    # The interruption watch runs per block: with the natmod kernel, nothing it adds
    # allocates (tier 2), with the supply present or gone.
    from support import NoAllocation

    m = Metrology(MetrologyConfig(phases=3, rate_hz=RATE, v_scale=V_SCALE, i_scale=I_SCALE))
    adc = SupplyADC(3, faults=((RATE // 2, RATE, "mid", None),))
    frames = m.config.block_frames
    for _ in range(RATE // frames - 1):  # up to the last block of the first period
        adc.read_block(m.block)
        if metro.IMPLEMENTATION == "natmod":
            with NoAllocation():
                m.process(m.block, frames)
        else:
            m.process(m.block, frames)
    assert m.periods == 0 and m._gap == [True, True, True]
