# The end device's periodic poll (han/mac/indirect.py PollWait) whatever the tick counter
# reads at start: a device started with its microsecond ticks in the upper half of their
# period (a host process, a board up for more than 9 minutes) polled only minutes later,
# so a sleepy gas meter never got its network key (found under make run). Tiers 1 and 2.
from hal.clock import FakeClock
from han.mac.indirect import PollWait


def _polls(start_us, seconds, interval_us=500000):
    clock = FakeClock()
    clock.advance_us(start_us)
    w = PollWait(clock, 0)
    n = 0
    for _ in range(seconds * 10):
        if w.due(clock.ticks_us(), interval_us):
            n += 1
        clock.advance_us(100000)
    return n


def test_polls_from_the_first_step_in_either_half_of_the_tick_period():
    assert _polls(1000, 5) == 10
    assert _polls((1 << 29) + 5000, 5) == 10  # upper half: was 0 polls in 5 s


def test_a_shorter_interval_takes_effect_at_once():
    clock = FakeClock()
    w = PollWait(clock, 0)
    assert w.due(clock.ticks_us(), 7000000)  # a slow poller (a gas meter, 7 s)
    clock.advance_us(100000)
    assert not w.due(clock.ticks_us(), 7000000)
    assert w.due(clock.ticks_us(), 250000)  # now awaiting an answer: poll fast at once
    assert w.wake_in(clock.ticks_us(), 250000) == 250000
