# The ADS131M04 sigma-delta ADC backend (hal/ads131m04.py) against the fake chip
# (hal/ads131m04_sim.py): CRC check values, register reset values and round trips, the
# frame format, corrupted frames, PGA gain and clipping, sign extension, no allocation per
# frame or block, blocks joined on whole mains cycles, a chip that stops or resets, and the
# whole chain into the 24-bit metrology on a 230 V / 5 A PF 0.5 load. Tiers 1 and 2.
from array import array

from hal.adc_sim import PhaseScenario
from hal.ads131m04 import ADS131M04, crc16_ccitt
from hal.ads131m04_block import ADS131M04Block
from hal.ads131m04_sim import ADS131M04Sim
from metrology.config import MetrologyConfig
from metrology.frontend import Metrology
from support import EnergySink, NoAllocation, raises

FS = 8388608  # 2^23 codes for +-1.2 V / gain (data sheet, "Data Format")
DIVIDER = 354.4  # the fake's default front end: mains volts per volt at channel 0
CT_OHMS_PER_TURN = 24.9 / 2000  # 2000:1 CT into 24.9 ohm: volts at channel 1 per amp


def ccitt(data):
    """The test's own CRC-16-CCITT (poly 1021h, seed FFFFh, MSB first), bit by bit."""
    crc = 0xFFFF
    for b in data:
        for bit in range(7, -1, -1):
            top = (crc >> 15) ^ ((b >> bit) & 1)
            crc = (crc << 1) & 0xFFFF
            if top:
                crc ^= 0x1021
    return crc


def make(gains=(1, 1, 1, 1), lock=True, **chip_kw):
    chip = ADS131M04Sim(**chip_kw)
    adc = ADS131M04(chip.spi, chip.cs, chip.drdy, chip.clock, chip.clock.sleep_us,
                    reset=chip.sync_reset, gains=gains, lock=lock)
    return chip, adc


def exchange(chip, words, w=3, total=6, crc=True):
    """One frame built here: 16-bit words MSB-aligned in w-byte words, the input CRC after
    them when crc, zeros to `total` words; returns the bytes the chip sent."""
    tx = bytearray(w * total)
    for k, word in enumerate(words):
        tx[k * w], tx[k * w + 1] = word >> 8, word & 0xFF
    if crc:
        c = ccitt(tx[:w * len(words)])
        k = len(words)
        tx[k * w], tx[k * w + 1] = c >> 8, c & 0xFF
    rx = bytearray(len(tx))
    chip.cs.value(0)
    chip.spi.write_readinto(tx, rx)
    chip.cs.value(1)
    return rx


def word(rx, k, w=3):
    return (rx[k * w] << 8) | rx[k * w + 1]


def test_crc_check_values():
    assert ccitt(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE check value
    assert crc16_ccitt(b"123456789", 9) == 0x29B1
    # A frame read from a real ADS131M04 (24-bit words, STATUS 8100h, all channels 0),
    # posted on TI's E2E forum (thread 1011774): its CRC word is B42Dh.
    frame = bytes([0x81, 0, 0] + [0] * 12)
    assert crc16_ccitt(frame, 15) == 0xB42D and ccitt(frame) == 0xB42D
    assert crc16_ccitt(b"6789", 4, crc16_ccitt(b"12345", 5)) == 0x29B1  # continues


def test_reset_values_read_through_the_driver():
    chip, adc = make()
    assert adc.read_register(0x00) >> 8 == 0x24  # ID 24xxh
    # Register Map reset values: STATUS, MODE, CLOCK, GAIN1, CFG, CH0/CH3 GCAL_MSB.
    for reg, value in ((0x01, 0x0500), (0x02, 0x0510), (0x03, 0x0F0E), (0x04, 0x0000),
                       (0x06, 0x0600), (0x07, 0x0000), (0x0C, 0x8000), (0x1B, 0x8000)):
        assert adc.read_register(reg) == value, hex(reg)


def test_reset_command_answers_ff24_with_a_full_frame_only():
    chip, _ = make()
    chip.regs[4] = 0x0333
    exchange(chip, [0x0011], total=2)  # short frame: no reset
    assert word(exchange(chip, [0x0000]), 0) == 0x0500  # STATUS, not FF24h
    assert chip.regs[4] == 0x0333
    exchange(chip, [0x0011])
    assert word(exchange(chip, [0x0000]), 0) == 0xFF24
    assert chip.regs[4] == 0 and word(exchange(chip, [0x0000]), 0) == 0x0500


def test_begin_configures_verifies_and_locks():
    chip, adc = make(gains=(1, 2, 1, 128))
    adc.begin()
    # MODE: RX_CRC_EN, 24-bit words, timeout, RESET cleared; CLOCK: 4 channels, OSR 2048
    # (100b), high resolution; GAIN1: PGAGAIN1 001b, PGAGAIN3 111b.
    assert (chip.regs[2], chip.regs[3], chip.regs[4]) == (0x1110, 0x0F12, 0x7010)
    assert chip.locked and adc.locked and adc.rate_hz == 2000
    codes = array("i", [0] * 4)
    assert adc.read_frame(codes, 0)
    assert adc.status & 0xFF00 == 0x8100  # LOCK, 24-bit words, no RESET, no CRC_ERR


def test_register_round_trips_and_a_locked_chip_refuses_writes():
    chip, adc = make(lock=False)
    adc.begin()
    for reg, value in ((0x0F, 0x1234), (0x10, 0xAB00), (0x13, 0x0042), (0x1B, 0x7FFF)):
        adc.write_register(reg, value)
        assert adc.read_register(reg) == value and chip.regs[reg] == value
    adc._lock()
    raises(OSError, adc.write_register, 0x0F, 0x5555)  # no WREG acknowledgment
    assert chip.regs[0x0F] == 0x1234 and adc.read_register(0x0F) == 0x1234


def test_multiple_register_read_and_word_sizes():
    chip, _ = make(noise_lsb=0, inputs=(None, None, None, None))
    exchange(chip, [0xA000 | (0x02 << 7) | 2])  # RREG MODE, 3 registers
    rx = exchange(chip, [0x0000])
    assert [word(rx, k) for k in range(4)] == [0xE000 | (0x02 << 7) | 2, 0x0510, 0x0F0E, 0]
    assert word(rx, 4) == ccitt(rx[:12])  # CRC after the registers, no channel data
    chip.regs[0x0A], chip.regs[0x0B] = 0x0000, 0x0500  # CH0 offset 5: reads -5
    exchange(chip, [0x6000 | (0x02 << 7), 0x0310])  # WREG MODE: 32-bit, sign-extended
    chip.clock.advance_us(600)  # conversions at 4 kSPS (reset OSR 1024)
    rx = exchange(chip, [0x0000], w=4)
    assert len(rx) == 24 and word(rx, 0, 4) == 0x4000 | (0x02 << 7)  # ack, 32-bit words
    assert list(rx[4:8]) == [0xFF, 0xFF, 0xFF, 0xFB] and word(rx, 5, 4) == ccitt(rx[:20])
    exchange(chip, [0x6000 | (0x02 << 7), 0x0210], w=4)  # 32-bit, zero-padded
    chip.clock.advance_us(600)
    rx = exchange(chip, [0x0000], w=4)
    assert list(rx[4:8]) == [0xFF, 0xFF, 0xFB, 0x00]
    exchange(chip, [0x6000 | (0x02 << 7), 0x0010], w=4)  # 16-bit words: 16 MSBs
    chip.clock.advance_us(600)
    rx = exchange(chip, [0x0000], w=2)
    assert list(rx[2:4]) == [0xFF, 0xFF] and word(rx, 5, 2) == ccitt(rx[:10])


def test_no_chip_or_another_chip_fails_begin():
    class Nothing:  # MISO held low, pins that do nothing
        def write_readinto(self, w, r):
            for i in range(len(r)):
                r[i] = 0

        def value(self, v=None):
            return 1

    clock = ADS131M04Sim().clock
    adc = ADS131M04(Nothing(), Nothing(), Nothing(), clock, clock.sleep_us)
    raises(OSError, adc.begin)
    _, m02 = make(chip_id=0x2201)  # an ADS131M02 answers the reset, then its ID
    raises(OSError, m02.begin)


def test_a_corrupted_frame_is_detected_counted_and_held():
    chip, adc = make(noise_lsb=0)
    adc.begin()
    codes = array("i", [7, 7, 7, 7])
    assert adc.read_frame(codes, 0) and codes[1] != 7
    before = list(codes)
    chip.flip[0], chip.flip[1] = 5, 0x01  # one bit of channel 0 flipped on MISO
    assert not adc.read_frame(codes, 0)
    assert adc.crc_errors == 1 and list(codes) == before
    block = ADS131M04Block(adc)
    samples = array("i", [0] * 80)
    block.read_block(samples)
    chip.flip[0], chip.flip[1], chip.flip[2] = 8, 0x40, 20  # in the block's 21st frame
    block.read_block(samples)
    held = [n for n in range(1, 40) if list(samples[2 * n:2 * n + 2])
            == list(samples[2 * n - 2:2 * n])]
    assert block.held_frames == 1 and held == [20]  # that frame repeats its predecessor


def test_the_chip_refuses_a_command_whose_input_crc_fails():
    chip, adc = make(lock=False)
    adc.begin()
    rx = exchange(chip, [0x6000 | (0x04 << 7), 0x0007], crc=False)  # WREG GAIN1, no CRC
    assert chip.regs[4] == 0 and chip.crc_in_errors == 1
    assert word(exchange(chip, [0x0000]), 0) & 0x1000  # STATUS.CRC_ERR
    assert not word(exchange(chip, [0x0000]), 0) & 0x1000  # cleared once reported
    assert word(rx, 5) == ccitt(rx[:15])


def test_gain_scales_codes_and_clips_at_full_scale():
    chip, adc = make(noise_lsb=0, lock=True)
    adc.begin()
    codes = array("i", [0] * 160)

    def cycle_rms(channel):  # 40 frames: one 50 Hz cycle at 2 kSPS
        for n in range(40):
            adc.read_frame(codes, 4 * n)
        return (sum(codes[4 * n + channel] ** 2 for n in range(40)) / 40) ** 0.5

    # 5 A through the 2000:1 CT into 24.9 ohm: 62.25 mV rms against 1.2 V / 2^23 per code.
    rms = 5.0 * CT_OHMS_PER_TURN / 1.2 * FS
    assert abs(cycle_rms(1) - rms) <= 1
    v_peak = 230.0 * 2 ** 0.5 / DIVIDER / 1.2 * FS  # 325 V / 354.4 against 1.2 V
    assert abs(max(codes[4 * n] for n in range(40)) - v_peak) <= 2  # peak sampled (n = 10)
    adc.set_gain(1, 4)
    assert chip.regs[4] == 0x0020 and chip.locked
    assert abs(cycle_rms(1) - 4 * rms) <= 4
    adc.set_gain(0, 2)  # 0.92 V peak against +-0.6 V: clipped at the rails
    for n in range(40):
        adc.read_frame(codes, 4 * n)
    v = [codes[4 * n] for n in range(40)]
    assert max(v) == FS - 1 and min(v) == -FS
    assert abs(adc.lsb_volts(0) - 1.2 / 2 / FS) < 1e-15
    raises(ValueError, adc.set_gain, 0, 3)


def test_negative_codes_are_sign_extended():
    chip, adc = make(noise_lsb=0, lock=False, inputs=(None, None, None, None))
    adc.begin()
    # Offset calibration subtracts CHn_OCAL (24-bit two's complement) from a shorted input.
    for reg, value in ((0x0A, 0x0003), (0x0B, 0xE800),  # CH0: +1000 -> -1000
                       (0x0F, 0x7FFF), (0x10, 0xFF00),  # CH1: +8388607 -> -8388607
                       (0x14, 0xFFFC), (0x15, 0x1800)):  # CH2: -1000 -> +1000
        adc.write_register(reg, value)
    codes = array("i", [0] * 4)
    adc.read_frame(codes, 0)
    adc.read_frame(codes, 0)
    assert list(codes) == [-1000, -8388607, 1000, 0]


def test_read_frame_and_read_block_allocate_nothing():
    chip, adc = make()
    block = ADS131M04Block(adc)
    samples = array("i", [0] * 400)
    codes = array("i", [0] * 8)
    block.read_block(samples)  # begins the chip
    chip.clock.advance_us(37000)  # a gap: stale frames dropped, the join aligned
    with NoAllocation():
        ok = adc.read_frame(codes, 4)
        frames = block.read_block(samples)
        chip.flip[0], chip.flip[1], chip.flip[2] = 8, 0x40, 5
        frames += block.read_block(samples)  # one frame held
    assert ok and frames == 400 and block.held_frames == 1 and block.skipped_frames > 0


def test_blocks_join_on_whole_mains_cycles():
    chip, adc = make(noise_lsb=0)
    block = ADS131M04Block(adc)
    first = array("i", [0] * 400)
    second = array("i", [0] * 400)
    block.read_block(first)
    chip.clock.advance_us(37000)  # the firmware works on the block for 37 ms
    block.read_block(second)
    assert block.last_gap_frames == 80  # 74 conversions passed: the join skips two cycles
    assert chip.fifo_overflows > 0  # the chip kept converting meanwhile
    # 200 frames are 5 cycles, so the second block starts where the first one did.
    assert list(second[:40]) == list(first[:40])


def test_a_stopped_chip_raises_and_a_reset_chip_is_configured_again():
    chip, adc = make(gains=(1, 2, 1, 1))
    block = ADS131M04Block(adc)
    samples = array("i", [0] * 400)
    block.read_block(samples)
    chip.standby = True  # no conversions, DRDY stays high
    raises(OSError, block.read_block, samples)
    chip.standby = False
    chip._restart()
    chip.power_on()  # a supply dip: registers back to their reset values
    assert chip.regs[4] == 0 and not chip.locked
    assert block.read_block(samples) == 200
    assert block.chip_resets == 1 and chip.regs[4] == 0x0010 and chip.locked


def test_end_to_end_230v_5a_pf05_into_the_24_bit_metrology():
    # Needs the wide kernel (MetrologyConfig(adc_bits=24), issue 15's wide-sample kernel).
    chip, adc = make(phases=(PhaseScenario(230.0, 5.0, 60.0),))
    block = ADS131M04Block(adc)
    lsb = 1.2 / FS
    cfg = MetrologyConfig(phases=1, rate_hz=2000, v_scale=lsb * DIVIDER,
                          i_scale=lsb / CT_OHMS_PER_TURN, adc_bits=24, adc_signed=True,
                          skew_us=0.0, time_base="clock")
    sink = EnergySink()
    start = chip.clock.ticks_us()
    m = Metrology(cfg, sink=sink, clock=chip.clock)
    while m.periods < 4:
        m.run_block(block)
        if m.periods < 4:
            chip.clock.advance_us(30000)  # the firmware's work between blocks
    seconds = chip.clock.ticks_diff(chip.clock.ticks_us(), start) / 1e6
    r = m.results[0]
    # Analytic: P = 230 * 5 * cos 60 = 575 W. Class 0.5S at Ib, PF 0.5 inductive: 0.6 %.
    assert abs(r.p_w - 575.0) <= 575.0 * 0.006, r.p_w
    assert abs(r.vrms - 230.0) <= 0.23 and abs(r.irms - 5.0) <= 0.005
    assert abs(r.pf - 0.5) <= 0.003 and abs(r.freq_hz - 50.0) <= 0.01
    assert block.held_frames == 0 and block.late_frames == 0
    expected_mwh = 575.0 * seconds / 3.6
    assert abs(sink.mwh[0] - expected_mwh) <= expected_mwh * 0.006 + 1, (sink.mwh, expected_mwh)
