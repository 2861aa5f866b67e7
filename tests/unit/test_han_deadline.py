# han/deadline.py: waits of minutes to days in ticks-based code. The boards' ticks wrap
# every 2**30 us and ticks_add refuses half of that or more (hal.clock.FakeClock does as
# they do), so a day is waited in legs of at most 500 s; the deadline falls on the very
# microsecond asked for. Portable: tiers 1 and 2.
from hal.clock import FakeClock
from han.deadline import LEG_US, Deadline
from support import raises

DAY_US = 86400 * 1000000


def test_the_fake_clock_refuses_what_the_boards_refuse():
    c = FakeClock()
    c.ticks_add(0, (1 << 29) - 1)
    raises(OverflowError, c.ticks_add, 0, 1 << 29)
    raises(OverflowError, c.ticks_add, 0, DAY_US)


def test_a_day_is_waited_in_legs_and_ends_on_the_microsecond():
    c = FakeClock()
    c.advance_us(123457)
    d = Deadline(c)
    start = c.ticks_us()
    d.set(start, DAY_US)
    waited = 0
    legs = 0
    while True:
        w = d.wait(c.ticks_us())
        if w == 0:
            break
        assert 0 < w <= LEG_US == 500000000
        c.advance_us(w)  # the caller sleeps for what it was told
        waited += w
        legs += 1
    assert waited == DAY_US and legs == 173  # 86 400 s / 500 s, rounded up


def test_a_short_or_zero_wait():
    c = FakeClock()
    d = Deadline(c)
    d.set(c.ticks_us(), 0)
    assert d.wait(c.ticks_us()) == 0
    d.set(c.ticks_us(), 2500)
    assert d.wait(c.ticks_us()) == 2500
    c.advance_us(2500)
    assert d.wait(c.ticks_us()) == 0
