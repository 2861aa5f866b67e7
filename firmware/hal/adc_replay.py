# Replays a recorded capture as an ADC block sampler: a RIFF/WAVE file of 16-bit or 32-bit
# integer PCM, channels interleaved V1, I1 (, V2, I2, V3, I3), holding the ADC's codes as
# they are (a 12-bit SAR's -2048..2047, or 0..4095 when `signed` is False; a 24-bit
# sigma-delta's codes in 32-bit words). `bits` declares the codes' width: a code outside it
# is an error (ValueError naming the frame and channel), never silently clipped or scaled.
# `meter_bits` below `bits` requantizes on purpose, dropping the low bits as a meter with a
# coarser ADC would see the signal (floor, like an ADC's transfer function); by default the
# codes reach the meter unchanged. Blocks are int16 for a meter of up to 12 bits and int32
# above (metrology.config). Reads through one preallocated scratch array: no per-block
# allocation.
import struct
from array import array

_MAX_BLOCK = 2048  # frames x channels read at a time into the scratch array


class WavADC:
    def __init__(self, stream, bits=12, meter_bits=None, signed=True):
        meter_bits = bits if meter_bits is None else meter_bits
        if not 2 <= bits <= 32:
            raise ValueError("bits: the codes' width is 2..32")
        if not 2 <= meter_bits <= bits:
            raise ValueError("the meter's resolution (%d bits) must be 2..%d, the codes' width"
                             % (meter_bits, bits))
        self._f = stream
        self.bits = meter_bits  # what the meter sees
        self.code_bits = bits
        self.signed = signed
        self._shift = bits - meter_bits
        if signed:
            self._lo, self._hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        else:
            self._lo, self._hi = 0, (1 << bits) - 1
        self.channels, self.rate_hz, sample_bits, size = self._header(stream)
        self.sample_bits = sample_bits
        if bits > sample_bits:
            raise ValueError("%d-bit codes do not fit the file's %d-bit samples"
                             % (bits, sample_bits))
        self.frames_left = size // (sample_bits // 8 * self.channels)
        self.frames_read = 0
        n = _MAX_BLOCK - _MAX_BLOCK % self.channels
        self._scratch = array("h" if sample_bits == 16 else "i", [0] * n)
        self._view = memoryview(self._scratch)

    @staticmethod
    def _header(stream):
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
        if audio_format == 0xFFFE and len(fmt) >= 26:  # WAVE_FORMAT_EXTENSIBLE: its sub-format
            audio_format = struct.unpack("<H", fmt[24:26])[0]
        if audio_format != 1 or sample_bits not in (16, 32):
            raise ValueError("only 16-bit and 32-bit integer PCM WAV files are supported")
        if channels < 1:
            raise ValueError("the file has no channels")
        return channels, rate, sample_bits, size

    def read_block(self, samples):
        """Fill samples with up to len(samples) // channels frames; return how many."""
        ch = self.channels
        want = min(len(samples) // ch, self.frames_left)
        done = 0
        step = len(self._scratch) // ch
        width = self.sample_bits // 8
        while done < want:
            n = min(step, want - done) * ch
            got = self._f.readinto(self._view[:n]) // width
            frames = got // ch
            self._copy(samples, done * ch, frames)
            done += frames
            if got < n:
                self.frames_left = 0  # a file cut short: what it holds is read
                return done
        self.frames_left -= done
        return done

    def _copy(self, samples, at, frames):
        src = self._scratch
        lo, hi, shift = self._lo, self._hi, self._shift
        ch = self.channels
        for i in range(frames * ch):
            c = src[i]
            if c < lo or c > hi:
                raise ValueError(
                    "frame %d, channel %d: code %d is outside the %d-bit %s range %d..%d "
                    "(declare the codes' width with --bits, or --unsigned for 0-based codes)"
                    % (self.frames_read + i // ch, i % ch + 1, c, self.code_bits,
                       "signed" if self.signed else "unsigned", lo, hi))
            samples[at + i] = c >> shift
        self.frames_read += frames
