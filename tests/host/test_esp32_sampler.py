"""Tier 1: the ESP32 ADC block sampler (hal.esp32.PacedADCBlock over machine.ADC) against the
fake esp32-port `machine` (tests/host/fakes/machine.py), whose Bench is the chip's time
base: ticks and conversions cost time, and the ADC pins carry signals sampled at the instant
of each conversion. Checked: the boards' wiring, the conversions' order and instants, the
rate the sampler reports, and the metrology (over the clock) on sine waves through it, each
against figures computed here from the signals. Only a board shows the real read cost
(docs/esp32-sampler.md)."""
import importlib.util
import math
import os
import sys
from array import array

import pytest

from tests.host.fakes import esp32 as fake_esp32
from tests.host.fakes import machine as fake_machine
from tests.host.fakes import neopixel as fake_neopixel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ESP32_PINS = (36, 39, 34, 35, 32, 33)  # boards/esp32: V1, I1, V2, I2, V3, I3
READ_US = 35  # a classic ESP32 one-shot read (docs/esp32-sampler.md)


@pytest.fixture
def esp32(monkeypatch):
    for name, mod in (("machine", fake_machine), ("esp32", fake_esp32),
                      ("neopixel", fake_neopixel)):
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.delitem(sys.modules, "hal.esp32", raising=False)
    monkeypatch.setattr(fake_machine, "bench", None)
    fake_machine.created.clear()
    import hal.esp32

    return hal.esp32


def load_board(name):
    spec = importlib.util.spec_from_file_location("board_" + name,
                                                  os.path.join(ROOT, "boards", name, "board.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def sine(amplitude, freq_hz, phase_deg, mid=2048):
    """An ADC pin's signal: the code a 12-bit conversion started at t_us gives."""
    w = 2 * math.pi * freq_hz / 1e6
    ph = math.radians(phase_deg)
    return lambda t_us: int(round(mid + amplitude * math.sin(w * t_us + ph)))


def test_paced_adc_opens_the_pins_on_the_port_adc(esp32):
    s = esp32.paced_adc(ESP32_PINS, 2000, fake_machine.Bench())
    assert [a.gpio for a in s.adcs] == list(ESP32_PINS)
    assert all(a.atten == fake_machine.ADC.ATTN_11DB for a in s.adcs)
    assert (s.channels, s.rate_hz, s.bits, s.frames, s.gapped) == (6, 2000, 12, 200, True)
    with pytest.raises(ValueError):
        esp32.paced_adc((36, 21), 2000, fake_machine.Bench())  # GPIO21 has no ADC


@pytest.mark.parametrize("name", ["esp32", "esp32c6"])
def test_boards_wire_the_sampler_to_their_metrology(esp32, name):
    board = load_board(name)
    hal = board.make_hal()
    adc, cfg = hal.adc, board.metrology_config()
    assert isinstance(adc, esp32.PacedADCBlock)
    assert [a.gpio for a in adc.adcs] == list(board.ADC_PINS)
    assert adc.rate_hz == cfg.rate_hz == board.ADC_RATE_HZ
    assert adc.channels == cfg.channels == 2 * board.PHASES
    assert adc.frames == cfg.block_frames  # every metrology block is filled whole
    assert cfg.time_base == "clock" and adc.gapped
    assert cfg.skew_us == board.ADC_SKEW_US
    assert adc._ticks_us == hal.clock.ticks_us  # paced by the board's own clock


def test_block_is_interleaved_as_the_pins_are_listed(esp32):
    s = esp32.paced_adc(ESP32_PINS, 2000, fake_machine.Bench())
    block = array("h", [0] * (6 * 200))
    assert s.read_block(block) == 200
    # a pin without a signal reads gpio * 100 + its read count
    assert list(block[:12]) == [3600, 3900, 3400, 3500, 3200, 3300,
                                3601, 3901, 3401, 3501, 3201, 3301]
    assert list(block[-6:]) == [3799, 4099 % 4096, 3599, 3699, 3399, 3499]


def test_conversions_fall_on_the_schedule(esp32):
    bench = fake_machine.Bench(read_cost_us=READ_US, start_us=5000)
    fake_machine.bench = bench
    s = esp32.paced_adc(ESP32_PINS, 2000, bench)
    s.read_block(array("h", [0] * (6 * 200)))
    conv = bench.conversions
    assert len(conv) == 1200
    assert [g for g, _ in conv[:6]] == list(ESP32_PINS)
    v1 = [t for g, t in conv if g == 36]
    assert all(v1[n] - v1[0] == 500 * n for n in range(200))  # 2 kHz, no drift
    for n in range(200):  # the six reads follow each other at the read cost
        frame = [t for _, t in conv[6 * n:6 * n + 6]]
        assert frame == [v1[n] + READ_US * c for c in range(6)]
    assert s.achieved_rate_hz() == 2000.0 and s.late_frames == 0
    assert s.last_frame_us == 6 * READ_US + 1  # six reads and the tick read before them


def test_rate_reported_when_the_target_is_out_of_reach(esp32):
    # Six reads of 35 us take 210 us: 8 kHz (125 us) cannot be kept.
    bench = fake_machine.Bench(read_cost_us=READ_US)
    fake_machine.bench = bench
    s = esp32.paced_adc(ESP32_PINS, 8000, bench)
    s.read_block(array("h", [0] * (6 * 200)))
    v1 = [t for g, t in bench.conversions if g == 36]
    achieved = 199 * 1e6 / (v1[-1] - v1[0])  # from the conversions' own instants
    assert abs(s.achieved_rate_hz() - achieved) < 1e-9
    assert 4500 < achieved < 1e6 / (6 * READ_US)  # ~4.7 kHz: what the reads allow
    assert s.late_frames > 50


def run_metrology(esp32, freq_hz, phases, periods, follow_mains=False, angle_deg=30.0):
    """Three (or one) phases of sine waves through the sampler into the firmware's metrology
    on the bench's clock, the firmware taking 13 to 41 ms between blocks."""
    from metrology.config import MetrologyConfig
    from metrology.frontend import Metrology

    signals = {}
    for k in range(phases):
        v_pin, i_pin = ESP32_PINS[2 * k], ESP32_PINS[2 * k + 1]
        signals[v_pin] = sine(1400, freq_hz, -120 * k)
        signals[i_pin] = sine(900, freq_hz, -120 * k - angle_deg)
    bench = fake_machine.Bench(read_cost_us=READ_US, signals=signals, utc=1700000000)
    fake_machine.bench = bench
    sampler = esp32.paced_adc(ESP32_PINS[:2 * phases], 2000, bench)
    cfg = MetrologyConfig(phases=phases, rate_hz=2000, v_scale=0.2, i_scale=0.05,
                          skew_us=READ_US, time_base="clock")
    metrology = Metrology(cfg, clock=bench)
    t0 = bench.now_us
    work_us = (13000, 27000, 41000)
    n = seen = 0
    while metrology.periods < periods:
        metrology.run_block(sampler)
        if metrology.periods != seen:
            seen = metrology.periods
            t_end = bench.now_us
            if follow_mains:
                sampler.set_mains_hz(metrology.results[0].freq_hz)
        bench.advance_us(work_us[n % 3])
        n += 1
    return metrology, sampler, (t_end - t0) / 1e6


def expected(angle_deg=30.0):
    """Vrms, Irms, P, Q of the signals above, and the bounds the 12-bit rounding allows:
    an rms error of at most 0.5 LSB per channel (triangle inequality), so P and Q within
    0.5 * (Vrms + Irms) + 0.25 LSB^2 (Cauchy-Schwarz)."""
    v_lsb, i_lsb = 1400 / math.sqrt(2), 900 / math.sqrt(2)
    kv, ki = 0.2, 0.05
    vrms, irms = v_lsb * kv, i_lsb * ki
    p = vrms * irms * math.cos(math.radians(angle_deg))
    q = vrms * irms * math.sin(math.radians(angle_deg))
    power_bound = (0.5 * (v_lsb + i_lsb) + 0.25) * kv * ki
    return vrms, irms, p, q, 0.5 * kv, 0.5 * ki, power_bound


def test_metrology_over_the_clock_through_the_gapped_sampler(esp32):
    metrology, sampler, seconds = run_metrology(esp32, 50.0, phases=3, periods=4)
    vrms, irms, p, q, dv, di, dp = expected()
    for r in metrology.results:
        assert abs(r.vrms - vrms) <= dv and abs(r.irms - irms) <= di
        assert abs(r.p_w - p) <= dp and abs(r.q_var - q) <= dp
        assert abs(r.freq_hz - 50.0) < 0.01
    # The gaps are real (a period of samples spans over 1.25 s of clock) and aligned to
    # whole 20 ms cycles; the energy is P times the clock's time, gaps included.
    assert seconds / 4 > 1.25
    assert sampler.last_gap_us % 20000 == 0 and sampler.last_gap_us > 0
    energy_ws = metrology.energy.total_mws[0] / 1000
    assert abs(energy_ws - 3 * p * seconds) <= 3 * dp * seconds + 3 * p * 1e-5


def test_gaps_follow_the_measured_mains_frequency(esp32):
    # At 49.5 Hz, gaps of whole 20 ms cycles shift the waveform's phase at every join and the
    # kernel's zero crossings show a wrong frequency; following the measured frequency
    # (set_mains_hz once a period) removes the shift.
    nominal, _, _ = run_metrology(esp32, 49.5, phases=1, periods=2)
    followed, _, _ = run_metrology(esp32, 49.5, phases=1, periods=5, follow_mains=True)
    assert abs(nominal.results[0].freq_hz - 49.5) > 0.1
    r = followed.results[0]
    assert abs(r.freq_hz - 49.5) < 0.01
    vrms, irms, p, q, dv, di, dp = expected()
    # 2000 samples hold 49.5 cycles: the half cycle left over adds up to 1/(2 pi 49.5) of
    # the 2f ripple to the sums (about 0.32 %), on top of the rounding.
    leak = 1 / (2 * math.pi * 49.5)
    assert abs(r.vrms - vrms) <= dv + vrms * leak
    assert abs(r.p_w - p) <= dp + vrms * irms * leak


def test_report_rate_prints_each_block(esp32):
    bench = fake_machine.Bench(read_cost_us=READ_US)
    fake_machine.bench = bench
    lines = []
    lowest = esp32.report_rate(esp32.paced_adc(ESP32_PINS, 8000, bench), blocks=3,
                               out=lines.append)
    assert lines[0] == "target 8000 Hz, 6 channels, 200 frames per block"
    assert len(lines) == 4 and lines[1].startswith("block 0: ")
    assert "us per read" in lines[2] and "late frames" in lines[3]
    assert 4500 < lowest < 1e6 / (6 * READ_US)
