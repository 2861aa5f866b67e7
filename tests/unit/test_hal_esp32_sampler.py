# The ESP32 ADC block sampler's pacing core (hal.esp32.PacedADCBlock) against a clock that
# moves only when the sampler works: block layout, the schedule, the rate it measures, the
# gaps between blocks aligned to mains cycles, and no allocation per block (tier 2).
from array import array

from hal.esp32 import PacedADCBlock
from support import NoAllocation, raises

_PERIOD = 1 << 30  # MicroPython's ticks period on 32-bit ports


class StepClock:
    """Ticks that advance only by the work done: tick_us per ticks_us() call, plus what the
    ADCs spend converting (advance)."""

    def __init__(self, start_us=0, tick_us=1):
        self.now = start_us
        self.tick_us = tick_us

    def advance(self, us):
        self.now = (self.now + us) & (_PERIOD - 1)

    def ticks_us(self):
        t = self.now
        self.now = (t + self.tick_us) & (_PERIOD - 1)
        return t

    def ticks_diff(self, end, start):
        half = _PERIOD >> 1
        return ((end - start + half) & (_PERIOD - 1)) - half

    def ticks_add(self, t, delta):
        return (t + delta) & (_PERIOD - 1)


class CountingADC:
    """A channel whose n-th read returns base + n and costs cost_us; it keeps the tick at
    which each of its first len(times) conversions started."""

    def __init__(self, clock, base, cost_us=0, keep=256):
        self.clock = clock
        self.base = base
        self.cost_us = cost_us
        self.count = 0
        self.times = array("i", [0] * keep)

    def read(self):
        n = self.count
        if n < len(self.times):
            self.times[n] = self.clock.now
        self.count = n + 1
        self.clock.advance(self.cost_us)
        return self.base + n


def make(rate_hz=2000, channels=2, cost_us=0, frames=200, align_hz=50, start_us=0, tick_us=1):
    clock = StepClock(start_us, tick_us)
    adcs = [CountingADC(clock, 1000 * (c + 1), cost_us) for c in range(channels)]
    return clock, adcs, PacedADCBlock(adcs, rate_hz, clock, frames=frames, align_hz=align_hz)


def test_block_is_interleaved_in_channel_order():
    _, _, s = make(channels=3)
    block = array("h", [0] * (3 * 200))
    assert s.read_block(block) == 200
    assert list(block[:7]) == [1000, 2000, 3000, 1001, 2001, 3001, 1002]
    assert list(block[-3:]) == [1199, 2199, 3199]
    assert (s.channels, s.rate_hz, s.bits, s.gapped) == (3, 2000, 12, True)


def test_frames_limited_by_block_and_by_sampler():
    _, adcs, s = make(channels=2, frames=50)
    block = array("h", [0] * (2 * 80 + 1))
    assert s.read_block(block) == 50  # the sampler's block length
    assert adcs[0].count == 50 and block[100] == 0
    _, _, s = make(channels=2)
    assert s.read_block(array("h", [0] * 21)) == 10  # whole frames the block holds
    assert s.read_block(array("h", [0])) == 0


def test_frames_fall_on_their_slots():
    # 2 kHz: a frame every 500 us from the first, whatever the reads cost within that.
    _, adcs, s = make(rate_hz=2000, channels=2, cost_us=35, start_us=12345)
    s.read_block(array("h", [0] * 400))
    v, i = adcs[0].times, adcs[1].times
    assert v[0] == 12345 + 2  # after the two ticks read to start the block
    for n in range(200):
        assert v[n] == v[0] + 500 * n
        assert i[n] == v[n] + 35  # the current follows its voltage by one read
    assert s.late_frames == 0
    assert s.last_span_us == 199 * 500
    assert s.achieved_rate_hz() == 2000.0
    assert s.last_frame_us == 2 * 35 + 1  # two reads and the tick read that started them


def test_rate_with_a_fractional_period_does_not_drift():
    # 3 kHz: 333.33 us; frame n is due at floor(n * 1e6 / 3000) us after the first.
    _, adcs, s = make(rate_hz=3000, channels=1)
    s.read_block(array("h", [0] * 200))
    t = adcs[0].times
    assert [t[n] - t[0] for n in (1, 2, 3, 199)] == [333, 666, 1000, 66333]


def test_too_slow_reads_are_counted_late_and_the_rate_measured():
    # Six reads of 40 us cannot keep 8 kHz (125 us a frame): frames come as fast as the reads
    # allow, the schedule restarts from each missed slot, and the rate says what was achieved.
    _, adcs, s = make(rate_hz=8000, channels=6, cost_us=40, frames=100)
    s.read_block(array("h", [0] * 600))
    t = adcs[0].times
    spacing = [t[n + 1] - t[n] for n in range(99)]
    assert min(spacing) >= 240 and max(spacing) <= 250
    assert s.late_frames > 0
    expected = 99 * 1000000 / (t[99] - t[0])  # from the conversions' own instants
    assert abs(s.achieved_rate_hz() - expected) < 1e-6
    assert 3990 < s.achieved_rate_hz() < 4170


def test_next_block_continues_the_grid_a_whole_mains_cycle_later():
    clock, adcs, s = make(rate_hz=2000, channels=2, cost_us=30)
    block = array("h", [0] * 400)
    s.read_block(block)
    last = adcs[0].times[199]
    clock.advance(13000)  # the firmware works on the block for 13 ms
    s.read_block(block)
    first = adcs[0].times[200]
    # The next slot was last + 500; it has passed, so the block starts one 20 ms cycle on.
    assert first == last + 500 + 20000
    assert s.last_gap_us == 20000
    clock.advance(47000)  # 47 ms: three cycles needed
    s.read_block(block)
    assert s.last_gap_us == 60000
    assert s.blocks == 3


def test_no_gap_when_the_firmware_returns_within_a_period():
    clock, adcs, s = make(rate_hz=2000, channels=2, cost_us=30)
    block = array("h", [0] * 200)  # 100 frames
    s.read_block(block)
    s.read_block(block)
    t = adcs[0].times
    assert t[100] - t[99] == 500 and s.last_gap_us == 0


def test_without_alignment_the_block_starts_at_once():
    clock, adcs, s = make(rate_hz=2000, channels=1, align_hz=0)
    block = array("h", [0] * 100)
    s.read_block(block)
    end = clock.now
    clock.advance(13000)
    s.read_block(block)
    assert adcs[0].times[100] - (end + 13000) < 5  # the start-up ticks only
    assert 12400 < s.last_gap_us < 12600


def test_alignment_follows_the_measured_mains_frequency():
    clock, adcs, s = make(rate_hz=2000, channels=1)
    block = array("h", [0] * 100)
    s.read_block(block)
    s.set_mains_hz(49.5)  # a cycle of 20202 us
    s.set_mains_hz(0.0)  # no signal: ignored
    clock.advance(13000)
    s.read_block(block)
    assert s.last_gap_us == 20202


def test_ticks_wrap_inside_a_block():
    _, adcs, s = make(rate_hz=2000, channels=2, start_us=_PERIOD - 30002)
    block = array("h", [0] * 400)
    s.read_block(block)
    t = adcs[0].times
    assert t[59] == _PERIOD - 500 and t[60] == 0 and t[199] == 139 * 500
    assert s.last_span_us == 199 * 500 and s.late_frames == 0


def test_bad_arguments():
    clock = StepClock()
    raises(ValueError, PacedADCBlock, [], 2000, clock)
    raises(ValueError, PacedADCBlock, [CountingADC(clock, 0)], 0, clock)


def test_read_block_allocates_nothing():
    clock, adcs, s = make(rate_hz=2000, channels=6, cost_us=30)
    block = array("h", [0] * (6 * 200))
    s.read_block(block)  # the first block (no previous grid)
    clock.advance(15000)
    with NoAllocation():
        s.read_block(block)
        s.read_block(block)
    assert s.blocks == 3 and s.last_gap_us == 0 and block[6] == 1000 + 401
