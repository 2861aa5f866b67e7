# A deadline any distance ahead for code that keeps time in ticks (han/): the boards' ticks
# wrap every 2**30 us (17.9 min) and ticks_add refuses a delta of half that or more
# (MicroPython's ticks_diff could not give it back), so a wait of minutes to days - the OTA
# client's daily query, a stand-in device's hourly report - is taken in legs of LEG_US.
#   d = Deadline(clock); d.set(now, us); d.wait(now) -> microseconds left (0: due)
# wait() must be called at least once per leg (it never returns more than LEG_US, which a
# caller that sleeps for what it returns does). Nothing allocates while the values stay
# small ints.
from micropython import const

LEG_US = const(500000000)  # 500 s, below half the 2**30 us ticks period


class Deadline:
    def __init__(self, clock):
        self.clock = clock
        self.at = clock.ticks_us()
        self.left = 0  # microseconds still to wait after self.at

    def set(self, now, us):
        leg = us if us < LEG_US else LEG_US
        self.at = self.clock.ticks_add(now, leg)
        self.left = us - leg

    def wait(self, now):
        c = self.clock
        while True:
            w = c.ticks_diff(self.at, now)
            if w > 0:
                return w
            if self.left <= 0:
                return 0
            leg = self.left if self.left < LEG_US else LEG_US
            self.left -= leg
            self.at = c.ticks_add(self.at, leg)
