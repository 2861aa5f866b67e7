"""Register keywords of P1Library: counters read from the telegrams, the factory tariff
calendar checked against the telegrams' own time (zoneinfo), and signs never printed."""
import datetime
import re

from robot.libraries.BuiltIn import BuiltIn

from tools.baiop import p1rules as rules

# docs/bap/h1.md H1-FUN-007: (first hour, end hour, tariff inside, tariff outside) on
# weekdays; weekends and the fixed public holidays take the outside tariff all day.
FACTORY = {"nl": (7, 23, 2, 1), "nl4": (7, 23, 2, 1), "be": (7, 22, 1, 2)}
FIXED_HOLIDAYS = ("01-01", "12-25", "12-26")  # the ones H1-FUN-007 names


class RegisterKeywords:
    def counter_value(self, obis):
        """The integer value of a line in the last telegram (a counter)."""
        v = rules.line_of(self._plain()[-1], obis)
        m = re.match(rb"\((\d+)\)", v or b"")
        if not m:
            raise AssertionError("no counter %s in %r" % (obis, v))
        return int(m.group(1))

    def no_value_should_carry_a_sign(self):
        """[DSMR5] 6.4: Fn and In fields are digits only."""
        for t in self._plain():
            m = re.search(rb"\([+-]\d", t)
            if m:
                raise AssertionError("a signed value: %r" % t[m.start() - 20:m.end() + 10])

    def tariff_should_follow_the_factory_calendar(self):
        """0-0:96.14.0 of each telegram against the profile's factory calendar at the
        telegram's own local time (0-0:1.0.0); lu, se and lt: tariff 1 always."""
        n = 0
        for t in self._plain():
            stamp = rules.line_of(t, "0-0:1.0.0")
            tariff = rules.line_of(t, "0-0:96.14.0")
            if stamp is None or tariff is None:
                continue
            local = datetime.datetime.strptime(stamp[1:13].decode(), "%y%m%d%H%M%S")
            want = _factory_tariff(self.profile, local)
            if int(tariff[1:-1]) != want:
                raise AssertionError("%s: tariff %s, the factory calendar says %d"
                                     % (stamp.decode(), tariff.decode(), want))
            n += 1
        if not n:
            BuiltIn().skip("no telegram with a time and a tariff")

    def text_line_should_be(self, text):
        """0-0:96.13.0 of the last telegram: the text's octets as upper-case hex."""
        v = rules.line_of(self._plain()[-1], "0-0:96.13.0")
        want = b"(" + text.encode().hex().upper().encode() + b")"
        if v != want:
            raise AssertionError("0-0:96.13.0%r, %r expected" % (v, want))


def _factory_tariff(profile, local):
    if profile not in FACTORY:
        return 1
    first, end, inside, outside = FACTORY[profile]
    if local.weekday() >= 5 or local.strftime("%m-%d") in FIXED_HOLIDAYS:
        return outside
    return inside if first <= local.hour < end else outside
