# Statistical test of the CSMA-CA backoff (2006 7.5.1.4 step 2: random(2^BE - 1) unit
# backoff periods, every value equally likely): the delays measured at the radio (CCA
# times) on an always-busy channel, for BE = 3, 4 and 5, pass a chi-square test against the
# uniform distribution; a draw masked to one bit (the bug HAN.md mentions) fails it.
# Tier 1 only.
import random

from hal.clock import FakeClock
from han.mac import csma

# Chi-square critical values at p = 0.001 for 7, 15, 31 degrees of freedom (tables).
CRITICAL = {3: 24.322, 4: 37.697, 5: 61.098}


class BusyRadio:
    def __init__(self, clock):
        self.clock = clock
        self.cca = []

    def channel_clear(self):
        self.cca.append(self.clock.ticks_us())
        return False


def _backoffs(rand_bits, trials):
    """Backoff counts per BE observed from CCA timing."""
    seen = {3: [], 4: [], 5: []}
    clock = FakeClock()
    for _ in range(trials):
        radio = BusyRadio(clock)
        e = csma.CsmaTx(radio, clock, rand_bits)
        start = clock.ticks_us()
        e.start(b"\x01\x00\x00", 3, 0, False, start)
        while e.step(clock.ticks_us()) == csma.BUSY:
            d = e.wake_in(clock.ticks_us())
            if d > 0:  # a zero backoff: CCA at once, in the next step
                clock.advance_us(d)
        prev = start
        for i, t in enumerate(radio.cca):
            units, rest = divmod(t - prev, csma.A_UNIT_BACKOFF_US)
            assert rest == 0
            seen[min(3 + i, 5)].append(units)
            prev = t
    return seen


def _chi_square(values, be):
    k = 1 << be
    counts = [0] * k
    for v in values:
        assert 0 <= v < k
        counts[v] += 1
    expected = len(values) / k
    return sum((c - expected) ** 2 / expected for c in counts)


def test_backoff_is_uniform_over_0_to_2be_minus_1():
    seen = _backoffs(random.Random(12345).getrandbits, 3000)
    assert len(seen[3]) == 3000 and len(seen[4]) == 3000 and len(seen[5]) == 9000
    for be in (3, 4, 5):
        assert set(seen[be]) == set(range(1 << be))  # the extremes occur too
        assert _chi_square(seen[be], be) < CRITICAL[be], be


def test_the_test_catches_a_one_bit_backoff():
    rng = random.Random(1)
    seen = _backoffs(lambda n: rng.getrandbits(n) & 1, 500)
    assert _chi_square(seen[3], 3) > CRITICAL[3]
