"""Write scenario captures as RIFF/WAVE integer PCM holding the ADC's codes as they are:
signed (code - mid-scale), in 16-bit samples for codes of up to 16 bits and in 32-bit
samples above (a 24-bit sigma-delta's codes), channels interleaved V1, I1 (, V2, I2, V3, I3).
`analyse --bits N` reads them back without loss (hal/adc_replay.py).

Supply faults can be written into a capture (`synth --fault`, docs/metrology.md "Supply
faults"): each is (kind, start s, duration s, phases (0-based) or None for all), applied to
the ADC codes over [start, start + duration):
  dropout  0 V: mid-scale codes on V and I        zero  code 0 (the bottom rail)
  stuck    codes frozen at their last value        rail  the top code
  dc       a DC level (V +1/4, I -1/8 of full scale) with a little noise, no AC
  clip     the voltage doubled and clipped at the rails (an overdriven front end)
and frequency steps (start s, Hz) change the supply's frequency from then on, phase-
continuously."""
import array
import struct

from tools import fwpath

fwpath.setup()

from hal.adc_sim import ScenarioADC  # noqa: E402

FAULT_KINDS = ("dropout", "zero", "stuck", "rail", "dc", "clip")


def parse_fault(spec):
    """"KIND:START:DURATION[:PHASES]" (PHASES: digits 1-3, e.g. "2" or "13") ->
    (kind, start, duration, phases or None)."""
    parts = spec.split(":")
    if len(parts) not in (3, 4) or parts[0] not in FAULT_KINDS:
        raise ValueError("--fault %r: KIND:START:DURATION[:PHASES], KIND one of %s"
                         % (spec, ", ".join(FAULT_KINDS)))
    start, duration = float(parts[1]), float(parts[2])
    if start < 0 or duration <= 0:
        raise ValueError("--fault %r: START >= 0 and DURATION > 0 seconds" % spec)
    phases = None
    if len(parts) == 4:
        if not parts[3] or any(c not in "123" for c in parts[3]):
            raise ValueError("--fault %r: PHASES are digits 1..3" % spec)
        phases = tuple(sorted(set(int(c) - 1 for c in parts[3])))
    return parts[0], start, duration, phases


def parse_freq_step(spec):
    """"START:HZ" -> (start, hz)."""
    parts = spec.split(":")
    if len(parts) != 2:
        raise ValueError("--freq-step %r: START:HZ" % spec)
    start, hz = float(parts[0]), float(parts[1])
    if start < 0 or not 1.0 <= hz <= 1000.0:
        raise ValueError("--freq-step %r: START >= 0, 1 <= HZ <= 1000" % spec)
    return start, hz


def _set_frequency(adc, hz):
    # ScenarioADC keeps its frequency as a phase step per sample (fixed point), set from the
    # scenario at construction; hal/adc_sim.py offers no setter, so the step is rewritten
    # here. Its phase accumulator runs on, so the waveform stays continuous.
    if not hasattr(adc, "_step"):
        raise ValueError("this hal.adc_sim cannot step the frequency")
    adc._step = int(round(hz / adc.rate_hz * (1 << 28)))


class _Faults:
    """Applies faults, by frame, to blocks of ADC codes."""

    def __init__(self, scenario, faults):
        rate = scenario.rate_hz
        self.faults = [(kind, int(round(s * rate)), int(round((s + d) * rate)), phases)
                       for kind, s, d, phases in faults]
        for kind, s, e, phases in self.faults:
            if phases is not None and max(phases) >= len(scenario.phases):
                raise ValueError("a fault names a phase the capture does not have")
        self.top = (1 << scenario.bits) - 1
        self.mid = 1 << (scenario.bits - 1)
        self.held = [self.mid] * scenario.channels
        self.seed = 12345

    def boundaries(self):
        return [f[1] for f in self.faults] + [f[2] for f in self.faults]

    def apply(self, codes, first, frames, ch):
        for j in range(frames):
            f = first + j
            active = None
            for fault in self.faults:
                if fault[1] <= f < fault[2]:
                    active = fault
            for c in range(ch):
                x = j * ch + c
                phase = c // 2
                if active is None or (active[3] is not None and phase not in active[3]):
                    self.held[c] = codes[x]
                    continue
                kind = active[0]
                if kind == "dropout":
                    codes[x] = self.mid
                elif kind == "zero":
                    codes[x] = 0
                elif kind == "rail":
                    codes[x] = self.top
                elif kind == "stuck":
                    codes[x] = self.held[c]
                elif kind == "dc":
                    self.seed = (self.seed * 1664525 + 1013904223) & 0x3FFFFFFF
                    level = (self.top + 1) // 4 if c % 2 == 0 else -(self.top + 1) // 8
                    codes[x] = self.mid + level + (self.seed >> 28) - 2
                elif kind == "clip" and c % 2 == 0:
                    codes[x] = min(self.top, max(0, self.mid + 2 * (codes[x] - self.mid)))


def write_scenario(path, scenario, seconds, faults=(), freq_steps=()):
    """Synthesize `seconds` of the scenario (with faults and frequency steps as above);
    returns the (v, i) scale of the file in volts and amps per code (the ADC's own)."""
    if not 2 <= scenario.bits <= 24:
        raise ValueError("bits: 2..24")
    adc = ScenarioADC(scenario)
    code = "h" if scenario.bits <= 16 else "i"
    sample_bits = 16 if code == "h" else 32
    ch = scenario.channels
    rate = scenario.rate_hz
    frames_total = int(round(seconds * rate))
    fx = _Faults(scenario, faults) if faults else None
    steps = sorted((int(round(s * rate)), hz) for s, hz in freq_steps)
    cuts = sorted(set([s for s, hz in steps] + (fx.boundaries() if fx else [])))
    data = bytearray()
    done = 0
    while done < frames_total:
        for at, hz in steps:
            if at == done:
                _set_frequency(adc, hz)
        n = min(400, frames_total - done)
        for cut in cuts:
            if done < cut < done + n:
                n = cut - done
                break
        view = array.array("i", [0] * (ch * n))
        adc.read_block(view)
        if fx is not None:
            fx.apply(view, done, n, ch)
        out = array.array(code, [c - adc.mid for c in view])
        data += out.tobytes()
        done += n
    width = sample_bits // 8
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16,
                         1, ch, rate, rate * ch * width, ch * width, sample_bits, b"data",
                         len(data))
    with open(path, "wb") as f:
        f.write(header)
        f.write(data)
    return scenario.v_scale, scenario.i_scale
