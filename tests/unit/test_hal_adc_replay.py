# hal/adc_replay.py: captures read as they are. A WAV of 16- or 32-bit integer PCM holds ADC
# codes; the declared width is checked, nothing is rescaled unless requantizing is asked for.
import io
import struct
from array import array

from hal.adc_replay import WavADC
from support import raises


def wav(codes, channels=2, sample_bits=16, rate=8000, extensible=False):
    fmt_code = "<%d%s" % (len(codes), "h" if sample_bits == 16 else "i")
    data = struct.pack(fmt_code, *codes)
    width = sample_bits // 8
    if extensible:
        # WAVE_FORMAT_EXTENSIBLE: cbSize 22, valid bits, channel mask, then the sub-format
        # GUID whose first two octets are the format code (1: PCM).
        fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * channels * width,
                          channels * width, sample_bits, 22, sample_bits, 0) + \
            b"\x01\x00" + bytes(14)
    else:
        fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * width,
                          channels * width, sample_bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"LIST" + \
        struct.pack("<I", 3) + b"abc\x00" + b"data" + struct.pack("<I", len(data)) + data
    return io.BytesIO(b"RIFF" + struct.pack("<I", len(body)) + body)


def test_twelve_bit_codes_in_an_int16_file_arrive_unchanged():
    codes = [-2048, 2047, -1, 0, 1000, -999]
    adc = WavADC(wav(codes), 12)
    assert adc.channels == 2 and adc.rate_hz == 8000 and adc.bits == 12
    block = array("h", [0] * 8)
    assert adc.read_block(block) == 3
    assert list(block[:6]) == codes
    assert adc.read_block(block) == 0


def test_a_code_outside_the_declared_width_is_an_error_naming_where():
    adc = WavADC(wav([0, 0, 5, 2048]), 12)
    block = array("h", [0] * 4)
    try:
        adc.read_block(block)
    except ValueError as e:
        text = str(e)
    else:
        text = ""
    assert "frame 1, channel 2: code 2048" in text and "12-bit" in text


def test_unsigned_codes_of_a_raw_dump():
    adc = WavADC(wav([0, 4095, 2048, 17]), 12, signed=False)
    block = array("h", [0] * 4)
    assert adc.read_block(block) == 2 and list(block) == [0, 4095, 2048, 17]
    bad = WavADC(wav([-1, 0]), 12, signed=False)
    assert raises(ValueError, bad.read_block, array("h", [0] * 2))


def test_twenty_four_bit_codes_in_an_int32_file_reach_a_wide_block():
    codes = [-(1 << 23), (1 << 23) - 1, 123456, -654321]
    adc = WavADC(wav(codes, sample_bits=32, extensible=True), 24)
    block = array("i", [0] * 4)
    assert adc.read_block(block) == 2 and list(block) == codes
    assert raises(ValueError, WavADC(wav([1 << 23, 0], sample_bits=32), 24).read_block,
                  array("i", [0] * 2))


def test_sixteen_bit_codes_widened_into_an_int32_block():
    codes = [-32768, 32767, -5, 5]
    block = array("i", [0] * 4)
    assert WavADC(wav(codes), 16).read_block(block) == 2 and list(block) == codes


def test_requantizing_is_asked_for_and_drops_the_low_bits():
    # 16-bit codes measured as a 12-bit meter: floor division by 16, as an ADC's steps.
    adc = WavADC(wav([-32768, 32767, -17, 31]), 16, 12)
    assert adc.bits == 12 and adc.code_bits == 16
    block = array("h", [0] * 4)
    assert adc.read_block(block) == 2 and list(block) == [-2048, 2047, -2, 1]


def test_bad_declarations_are_refused():
    assert raises(ValueError, WavADC, wav([0, 0]), 24)  # 24-bit codes in 16-bit samples
    assert raises(ValueError, WavADC, wav([0, 0]), 12, 14)  # a meter finer than the codes
    assert raises(ValueError, WavADC, io.BytesIO(b"RIFX...."), 12)
    f = wav([0, 0])
    raw = bytearray(f.getvalue())
    raw[20] = 3  # IEEE float samples
    assert raises(ValueError, WavADC, io.BytesIO(bytes(raw)), 12)


def test_blocks_longer_than_the_scratch_and_a_file_cut_short():
    n = 3000  # frames: longer than one scratch read
    codes = [(k % 4000) - 2000 for k in range(2 * n)]
    f = wav(codes)
    cut = io.BytesIO(f.getvalue()[:-6])  # three int16 samples short: the last frame is torn
    adc = WavADC(cut, 12)
    block = array("h", [0] * (2 * n))
    assert adc.read_block(block) == n - 2
    assert list(block[:2 * (n - 2)]) == codes[:2 * (n - 2)]
    assert adc.read_block(block) == 0
