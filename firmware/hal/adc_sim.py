# Simulated ADC front end (deterministic), for CPython tests, the unix port and the emulated
# board, which has no ADC. The metrology issue grows this into the full scenario synthesizer.
import math


class SimADCBlock:
    """An ADC front end sampling sinusoids: channel k is amplitude[k] * sin(2*pi*f*t + phase[k]).

    Integer samples (int16 range, `bits` of resolution around mid-scale 0), interleaved
    per frame. One period is tabulated at construction, so read_block() does no float work.
    A placeholder for the full scenario synthesizer of the metrology issue.
    """

    def __init__(self, channels=2, rate_hz=4000, freq_hz=50, amplitude=(1000, 500),
                 phase_deg=(0.0, -30.0), bits=12):
        if len(amplitude) != channels or len(phase_deg) != channels:
            raise ValueError("one amplitude and one phase per channel")
        if rate_hz % freq_hz:
            raise ValueError("rate_hz must be a whole multiple of freq_hz")
        self.channels = channels
        self.rate_hz = rate_hz
        self.bits = bits
        limit = (1 << (bits - 1)) - 1
        per_period = rate_hz // freq_hz
        self._table = []
        for k in range(channels):
            if abs(amplitude[k]) > limit:
                raise ValueError("amplitude beyond the ADC's range")
            phase = math.radians(phase_deg[k])
            self._table.append([
                int(round(amplitude[k] * math.sin(2 * math.pi * n / per_period + phase)))
                for n in range(per_period)
            ])
        self._period = per_period
        self._n = 0

    def read_block(self, samples):
        frames = len(samples) // self.channels
        n = self._n
        i = 0
        for _ in range(frames):
            for k in range(self.channels):
                samples[i] = self._table[k][n]
                i += 1
            n += 1
            if n == self._period:
                n = 0
        self._n = n
        return frames
