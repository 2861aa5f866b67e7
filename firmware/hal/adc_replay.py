# Replays a recorded capture as an ADC block sampler: a RIFF/WAVE file of 16-bit PCM,
# channels interleaved V1, I1 (, V2, I2, V3, I3), holding signed ADC codes left-justified to
# 16 bits (tools.metrology synth writes them so). Samples are shifted right to `bits` (the
# meter's ADC resolution), so analysis sees what the meter's ADC would. Reads straight into
# the caller's array: no per-block allocation.
import struct


class WavADC:
    def __init__(self, stream, bits=12):
        self._f = stream
        self.bits = bits
        self._shift = 16 - bits
        if stream.read(4) != b"RIFF":
            raise ValueError("not a RIFF file")
        stream.read(4)
        if stream.read(4) != b"WAVE":
            raise ValueError("not a WAVE file")
        fmt = None
        while True:
            head = stream.read(8)
            if len(head) < 8:
                raise ValueError("no data chunk")
            tag, size = head[:4], struct.unpack("<I", head[4:])[0]
            if tag == b"fmt ":
                fmt = stream.read(size)
                if size & 1:
                    stream.read(1)
            elif tag == b"data":
                break
            else:
                stream.read(size + (size & 1))
        if fmt is None:
            raise ValueError("no fmt chunk before the data")
        audio_format, channels, rate, _, _, sample_bits = struct.unpack("<HHIIHH", fmt[:16])
        if audio_format != 1 or sample_bits != 16:
            raise ValueError("only 16-bit PCM WAV files are supported")
        self.channels = channels
        self.rate_hz = rate
        self.frames_left = size // (2 * channels)

    def read_block(self, samples):
        """Fill samples with up to len(samples) // channels frames; return how many."""
        want = min(len(samples) // self.channels, self.frames_left)
        if want <= 0:
            return 0
        got = self._f.readinto(memoryview(samples)[:want * self.channels]) // 2
        frames = got // self.channels
        self.frames_left = self.frames_left - frames if got == want * self.channels else 0
        if self._shift:
            shift = self._shift
            for i in range(frames * self.channels):
                samples[i] >>= shift
        return frames
