"""Write scenario captures as RIFF/WAVE 16-bit PCM: signed ADC codes (code - mid-scale),
left-justified to 16 bits, channels interleaved V1, I1 (, V2, I2, V3, I3)."""
import array
import struct

from tools import fwpath

fwpath.setup()

from hal.adc_sim import ScenarioADC  # noqa: E402


def write_scenario(path, scenario, seconds):
    """Synthesize `seconds` of the scenario; returns the (v, i) scale of the file in volts
    and amps per WAV LSB (the ADC's per-LSB scales divided by the left-justification)."""
    adc = ScenarioADC(scenario)
    shift = 16 - scenario.bits
    ch = scenario.channels
    frames_total = int(round(seconds * scenario.rate_hz))
    block = array.array("h", [0] * (ch * 400))
    data = bytearray()
    done = 0
    while done < frames_total:
        n = min(400, frames_total - done)
        view = array.array("h", [0] * (ch * n)) if n < 400 else block
        adc.read_block(view)
        out = array.array("h", [(c - adc.mid) << shift for c in view[:n * ch]])
        data += out.tobytes()
        done += n
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16,
                         1, ch, scenario.rate_hz, scenario.rate_hz * ch * 2, ch * 2, 16,
                         b"data", len(data))
    with open(path, "wb") as f:
        f.write(header)
        f.write(data)
    return scenario.v_scale / (1 << shift), scenario.i_scale / (1 << shift)
