# Metrology configuration: how the front end samples, its scales, and event thresholds.
# Set by the board (boards/<b>/board.py) and the authenticated configuration path.


def block_frames_for(rate_hz, limit):
    """The largest block length <= limit that divides the sample rate, so that every
    period (1 s) is a whole number of blocks and no block straddles two periods."""
    for frames in range(limit, 0, -1):
        if rate_hz % frames == 0:
            return frames
    return 1


class MetrologyConfig:
    """phases: 1 (V1, I1) or 3 (V1, I1, V2, I2, V3, I3 interleaved).
    v_scale / i_scale: volts / amps per ADC LSB at the front end's nominal gain.
    skew_us: how long after its voltage each current is sampled (sequential ADC).
    adc_bits / adc_signed: codes 0 .. 2**bits - 1, or centred on 0 (WAV replay, sigma-delta
    ADCs). Up to 12 bits the samples go in array('h') blocks to the 12-bit kernel; 13 to 24
    bits in array('i') blocks to the wide kernel (native/metro.py, process_wide).
    creep_w: the anti-creep threshold (IEC 62053-21's no-load test): a phase whose |P| is
    below it registers no active power, and one whose |Q| is below it (in var) no reactive
    power. It must lie above an idle front end's noise power and below the starting power
    (0.004 Ib at Un: 4.6 W for Ib 5 A); 0 turns it off.
    Thresholds are fractions of nominal_v; reverse_w is the reverse-flow threshold.
    freq_min_hz / freq_max_hz: the range in which the measured frequency is tracked (the
    taps follow it); outside it they stay at the last good frequency and an event is raised.
    loss_gap_cycles: no zero crossing for longer than this many nominal cycles is a voltage
    loss in that period even when its RMS stays above loss_fraction (an interruption).
    time_base: see below."""

    def __init__(self, phases=1, rate_hz=8000, v_scale=0.25, i_scale=0.05, nominal_v=230.0,
                 nominal_hz=50.0, skew_us=0.0, adc_bits=12, adc_signed=False, block_limit=240,
                 sag_fraction=0.9, swell_fraction=1.1, loss_fraction=0.4, reverse_w=10.0,
                 saturation_check_every=4, stuck_lsb2=0.01, time_base="samples",
                 freq_min_hz=45.0, freq_max_hz=65.0, loss_gap_cycles=3.0, creep_w=1.0):
        if phases not in (1, 3):
            raise ValueError("phases must be 1 or 3")
        if not 1000 <= rate_hz <= 48000:
            raise ValueError("rate_hz out of range (1000..48000)")
        if not 40.0 <= nominal_hz <= 70.0:
            raise ValueError("nominal_hz out of range")
        if not 40.0 <= freq_min_hz < nominal_hz < freq_max_hz <= 70.0:
            raise ValueError("need 40 <= freq_min_hz < nominal_hz < freq_max_hz <= 70")
        if not 1 <= saturation_check_every <= 1000:
            raise ValueError("saturation_check_every out of range (1..1000)")
        if not 1.5 <= loss_gap_cycles <= 50:
            raise ValueError("loss_gap_cycles out of range (1.5..50)")
        if not (0 < v_scale < 1e6 and 0 < i_scale < 1e6 and 0 < nominal_v < 1e6):
            raise ValueError("scales and nominal_v must be positive and finite")
        if time_base not in ("samples", "clock"):
            raise ValueError("time_base is 'samples' or 'clock'")
        if not 8 <= adc_bits <= 24:
            raise ValueError("adc_bits must be 8..24 (12-bit and wide kernels)")
        if not 0.0 <= creep_w < 1000.0:
            raise ValueError("creep_w out of range (0 .. 1000 W)")
        self.phases = phases
        self.rate_hz = rate_hz
        self.v_scale = v_scale
        self.i_scale = i_scale
        self.nominal_v = nominal_v
        self.nominal_hz = nominal_hz
        self.skew_us = skew_us
        self.adc_bits = adc_bits
        self.adc_signed = adc_signed
        self.block_frames = block_frames_for(rate_hz, block_limit)
        self.sag_fraction = sag_fraction
        self.swell_fraction = swell_fraction
        self.loss_fraction = loss_fraction
        self.reverse_w = reverse_w
        self.saturation_check_every = saturation_check_every
        self.stuck_lsb2 = stuck_lsb2
        self.freq_min_hz = float(freq_min_hz)
        self.freq_max_hz = float(freq_max_hz)
        self.loss_gap_cycles = loss_gap_cycles
        self.creep_w = float(creep_w)
        # Energy integration time: "samples" (a period is rate_hz samples: continuous
        # samplers), or "clock" (the clock's time between period ends: gapped samplers that
        # do not sample while the firmware processes, e.g. hal.stm32.TimedADCBlock).
        self.time_base = time_base

    @property
    def wide(self):
        """True when the samples need the wide kernel (more than 12 bits)."""
        return self.adc_bits > 12

    @property
    def channels(self):
        return 2 * self.phases

    @property
    def rails(self):
        """(lowest, highest) code: a sample at or beyond either is saturated."""
        if self.adc_signed:
            half = 1 << (self.adc_bits - 1)
            return -half, half - 1
        return 0, (1 << self.adc_bits) - 1
