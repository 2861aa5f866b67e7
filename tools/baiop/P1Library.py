"""Robot Framework keyword library of the H1 (P1 port) BAIOP cases (tools/baiop/suites).

Each keyword observes the target at its P1 port (tools/baiop/targets.py) and fails with a
message that names what it saw. CRCs, frames and values are checked with dsmr_parser and
`cryptography` (PyPI), the peers a reader uses, never with our firmware's code; framing,
line syntax, formats and timing by tools/baiop/p1rules.py, which states them from the
specifications (docs/bap/h1.md names the clauses).
"""
import re
import statistics
import time

from robot.api import logger
from robot.libraries.BuiltIn import BuiltIn

from tools.baiop import p1rules as rules
from tools.p1.decode import PROFILE_SPEC  # each profile's dsmr_parser specification
from tools.baiop import targets as tg
from tools.baiop.capture import Capture
from tools.baiop.p1keys_dr import DataRequestKeywords
from tools.baiop.p1keys_reg import RegisterKeywords
from tools.baiop.p1keys_sec import SecurityKeywords

# DSMR 5.0.2 6.4: "/" + 3 letters + the baud rate character + identification, CR LF CR LF;
# 6.2: "!" + 4 upper-case hexadecimal CRC characters + CR LF.
_HEADER = re.compile(rb"/[A-Za-z]{3}[0-9][^\r\n]{1,96}\r\n\r\n")
_CRC_END = re.compile(rb"![0-9A-F]{4}\r\n\Z")


class P1Library(DataRequestKeywords, SecurityKeywords, RegisterKeywords):
    ROBOT_LIBRARY_SCOPE = "GLOBAL"

    def __init__(self):
        self.target = None
        self.cap = Capture()
        self.telegrams = []
        self.between = []
        self.profile = None
        self.key = None
        self._shared = (Capture(), [], [])

    # --- the target --------------------------------------------------------------------
    def open_target(self, spec, profile, key=None, period=1, han=""):
        self.profile = profile
        self.period = float(period)
        self.key = bytes.fromhex(key) if key else None
        live = han[5:] if han.startswith("live:") else None
        self.target = tg.parse(spec, profile, key, live)
        self.target.start()

    def close_target(self):
        if self.target is not None:
            self.target.stop()
            self.target = None

    def skip_unless_target_can(self, what):
        if not self.target.can(what):
            BuiltIn().skip("the target cannot do %s (%s)" % (what, type(self.target).__name__))

    def skip_unless_profile_is(self, *profiles):
        if self.profile not in profiles:
            BuiltIn().skip("a case of profile %s" % "/".join(profiles))

    def capture_p1(self, seconds):
        """Read the P1 port for seconds; the keywords after it check what came."""
        self._take(self.target.capture(float(seconds)))

    def _take(self, cap):
        self.cap = cap
        self.telegrams, self.between = cap.split()
        for t in self.telegrams:
            if t.encrypted:
                try:
                    t.counter = rules.frame_fields(t.raw)[2]
                except ValueError as e:  # the cases that need it say so
                    logger.info("a frame at %d: %s" % (t.start, e))
                    continue
                if self.key is not None:
                    t.plain = rules.open_frame(t.raw, self.key)
        logger.info("%d octets, %d telegrams" % (len(cap.data), len(self.telegrams)))

    def capture_shared(self, seconds):
        """One capture at the start of the run for every case that only observes."""
        self.capture_p1(seconds)
        self._shared = (self.cap, self.telegrams, self.between)

    def use_shared_capture(self):
        self.cap, self.telegrams, self.between = self._shared

    def set_data_request(self, level):
        self.target.data_request(int(level))

    def restore_data_request(self):
        if self.target is not None and self.target.can("data-request"):
            self.target.data_request(1)

    def reboot_target(self):
        self.target.reboot()

    # --- framing (DSMR 5.0.2 6.2, 6.4) -----------------------------------------------------
    def telegram_count_should_be_at_least(self, n):
        if len(self.telegrams) < int(n):
            raise AssertionError("%d telegrams, at least %s expected" % (len(self.telegrams), n))

    def stray_runs(self):
        """What lies between the telegrams, less the telegram the window may cut at each of
        its two ends."""
        end = len(self.cap.data)
        return [(o, b) for o, b in self.between
                if not (o == 0 and b[:1] not in (b"/", b"\xdb")) and o + len(b) != end]

    def nothing_should_lie_between_telegrams(self):
        """The window may cut one telegram at each of its two ends; nothing else."""
        bad = self.stray_runs()
        if bad:
            o, b = bad[0]
            raise AssertionError("%d stray runs; first at %d: %r" % (len(bad), o, b[:60]))

    def every_telegram_should_have_the_layout(self):
        for t in self._plain():
            if not _HEADER.match(t) or not _CRC_END.search(t):
                raise AssertionError("not / ident CR LF CR LF ... ! CRC CR LF: %r...%r"
                                     % (t[:30], t[-10:]))

    def every_identification_should_be(self, ident):
        for t in self._plain():
            first = t.split(b"\r\n", 1)[0]
            if first != b"/" + ident.encode():
                raise AssertionError("identification %r, %r expected" % (first, ident))

    def every_line_should_end_with_cr_lf(self):
        for t in self._plain():
            crlf = t.count(b"\r\n")
            if t.count(b"\n") != crlf or t.count(b"\r") != crlf:
                raise AssertionError("bare CR or LF in %r..." % t[:30])
            if any(not (32 <= b < 127 or b in (13, 10)) for b in t):
                raise AssertionError("a byte that is not printable ASCII in %r" % t[:30])

    def every_crc_should_be_right(self):
        """Four upper-case hex digits that dsmr_parser's CRC-16 check accepts."""
        from dsmr_parser.parsers import TelegramParser

        for t in self._plain():
            if not _CRC_END.search(t):
                raise AssertionError("telegram end %r" % t[-12:])
            try:
                TelegramParser.validate_checksum(t.decode("ascii"))
            except Exception as e:
                raise AssertionError("dsmr_parser: %s" % e)

    def a_corrupted_telegram_should_fail_its_crc(self):
        """Every single-octet change of a data line makes dsmr_parser reject the CRC."""
        from dsmr_parser.parsers import TelegramParser

        t = bytearray(self._plain()[0])
        start = t.find(b"\n") + 1  # after the identification line
        for i in range(start, t.index(b"!"), 7):
            if t[i] in (13, 10):
                continue
            bad = bytearray(t)
            bad[i] = ord("1") if bad[i] != ord("1") else ord("2")
            try:
                TelegramParser.validate_checksum(bytes(bad).decode("ascii"))
            except Exception:
                continue
            raise AssertionError("a change at octet %d passed the CRC" % i)

    def every_line_should_have_the_obis_syntax(self):
        for t in self._plain():
            seen = set()
            for ln in rules.lines(t):
                if not rules.LINE.match(ln):
                    raise AssertionError("not OBIS(value)...: %r" % ln[:60])
                o = rules.OBIS.match(ln).group(1)
                if o in seen:
                    raise AssertionError("%s twice in one telegram" % o.decode())
                seen.add(o)

    def no_telegram_should_be_longer_than(self, n):
        for t in self.telegrams:
            if len(t.raw) > int(n):
                raise AssertionError("a telegram of %d octets" % len(t.raw))

    def no_line_should_be_longer_than(self, n):
        for t in self._plain():
            for line in t.split(b"\r\n"):
                if len(line) > int(n):
                    raise AssertionError("a line of %d characters: %r" % (len(line), line[:40]))

    # --- objects and values ----------------------------------------------------------------
    def every_telegram_should_parse_with_dsmr_parser(self):
        """With the profile's specification, CRC checking on, every line known to it."""
        from dsmr_parser import telegram_specifications as specs
        from dsmr_parser.parsers import TelegramParser

        spec = getattr(specs, PROFILE_SPEC[self.profile])
        patterns = [re.compile(o["obis_reference"]) for o in spec["objects"]]
        parser = TelegramParser(spec, apply_checksum_validation=True)
        encrypted = [t for t in self.telegrams if t.encrypted]
        if encrypted and self.key is None:
            raise AssertionError("encrypted frames and no key to open them (--key)")
        for t in encrypted:  # dsmr_parser opens each frame itself (dlms-cosem)
            try:
                parser.parse(t.raw.hex(), encryption_key=self.key.hex(),
                             authentication_key=rules.SMARTY_AK.hex(), throw_ex=True)
            except Exception as e:
                raise AssertionError("dsmr_parser, frame %d: %s" % (t.start, e))
        for t in self._plain():
            text = t.decode("ascii")
            try:
                if not encrypted:
                    parser.parse(text, throw_ex=True)
            except Exception as e:
                raise AssertionError("dsmr_parser: %s" % e)
            for ln in text.split("\r\n")[2:]:
                if ln and not ln.startswith("!") and \
                        not any(p.match(ln + "\r\n") for p in patterns):
                    raise AssertionError("%r is not in %s" % (ln, PROFILE_SPEC[self.profile]))

    def objects_should_be_in_order(self, *obis):
        """Exactly these objects, in this order (a BAP statement's list)."""
        for t in self._plain():
            got = rules.objects(t)
            if got != list(obis):
                extra = [o for o in got if o not in obis]
                missing = [o for o in obis if o not in got]
                raise AssertionError("objects differ: missing %s, extra %s%s" % (
                    missing, extra, "" if missing or extra else ", order differs"))

    def objects_should_be_as_stated(self, statement_id, *optional):
        """Exactly the objects a BAP statement lists (docs/bap), in its order; those in
        optional may be absent (the M-Bus lines before a gas reading)."""
        from tools.baiop import bap

        text = [s.text for s in bap.load() if s.id == statement_id]
        if not text:
            raise AssertionError("no statement %s in docs/bap" % statement_id)
        stated = re.findall(r"`(\d+-\d+:\d+\.\d+\.\d+)`", text[0])
        for t in self._plain():
            got = rules.objects(t)
            want = [o for o in stated if o in got or o not in optional]
            if got != want:
                raise AssertionError("objects %s, stated %s" % (got, want))

    def objects_should_include(self, *obis):
        for t in self._plain():
            missing = [o for o in obis if o not in rules.objects(t)]
            if missing:
                raise AssertionError("missing %s" % missing)

    def objects_should_exclude(self, *obis):
        for t in self._plain():
            there = [o for o in obis if o in rules.objects(t)]
            if there:
                raise AssertionError("present: %s" % there)

    def values_should_match(self, kind, *obis):
        """Each line of obis (those present) has the format of kind for the profile:
        energy, power, voltage, current, counter, or a regular expression. Returns how
        many lines it checked (a profile may have none of them: the case then skips)."""
        fn = getattr(rules, "%s_pattern" % kind, None)
        pattern = fn(self.profile) if fn else kind.encode()
        rx = re.compile(pattern + rb"\Z")
        checked = 0
        for t in self._plain():
            for o in obis:
                v = rules.line_of(t, o)
                if v is None:
                    continue
                checked += 1
                if not rx.match(v):
                    raise AssertionError("%s%s is not %s" % (o, v.decode(), kind))
        return checked

    def every_unit_should_be_one_of_the_bap(self):
        for t in self._plain():
            for unit in re.findall(rb"\*([A-Za-z0-9]+)\)", t):
                if unit not in rules.UNITS:
                    raise AssertionError("unit %r" % unit)

    def hex_values_should_be_upper_case(self, *obis):
        for t in self._plain():
            for o in obis:
                v = rules.line_of(t, o)
                if v is not None and not re.match(rb"\(([0-9A-F]{2})*\)\Z", v):
                    raise AssertionError("%s%r is not upper-case hex octets" % (o, v))

    def registers_should_never_decrease(self, *obis):
        last = {}
        for t in self._plain():
            for o in obis:
                v = rules.line_of(t, o)
                m = re.search(rb"\((\d+\.\d+)\*", v) if v else None
                if not m:
                    continue
                x = float(m.group(1))
                if o in last and x < last[o]:
                    raise AssertionError("%s went from %s to %s" % (o, last[o], x))
                last[o] = x
        return last

    def first_values_should_not_be_below(self, last):
        for o, x in last.items():
            v = rules.line_of(self._plain()[0], o)
            m = re.search(rb"\((\d+\.\d+)\*", v) if v else None
            if m and float(m.group(1)) < x:
                raise AssertionError("%s came back at %s, below %s" % (o, m.group(1), x))

    def timestamps_should_carry_their_summer_flag(self, obis=None):
        """Every TST (YYMMDDhhmmssX) of the telegrams, or of the line obis, has the summer
        flag X its instant has in the profile's zone (zoneinfo's IANA rules)."""
        n = 0
        for t in self._plain():
            where = rules.line_of(t, obis) or b"" if obis else t
            for tst in re.findall(rb"\((\d{12}[SW])\)", where):
                n += 1
                if not rules.utc_of_tst(tst, self.profile)[1]:
                    raise AssertionError("%r: wrong summer flag for %s" % (tst, self.profile))
        if not n:
            BuiltIn().skip("no timestamp of that kind in these telegrams")

    def telegram_times_should_match_arrival(self, period, slack=2.5):
        """0-0:1.0.0 steps by the period and is, in UTC, the second the telegram started
        (arrival time by the host clock; the emulated meter is set from it)."""
        prev = None
        for t in self.telegrams:
            v = rules.line_of(t.plain or b"", "0-0:1.0.0")
            if v is None or t.t is None:
                continue
            utc, flag_ok = rules.utc_of_tst(v[1:14], self.profile)
            if not flag_ok:
                raise AssertionError("summer flag of %r" % v)
            wall = t.t - time.monotonic() + time.time()
            if abs(utc - wall) > float(slack):
                raise AssertionError("0-0:1.0.0 %r is %.1f s from its arrival" % (v, utc - wall))
            if prev is not None and utc - prev != int(period):
                raise AssertionError("0-0:1.0.0 stepped %d s" % (utc - prev))
            prev = utc

    # --- timing ------------------------------------------------------------------------------
    def period_should_be(self, nominal, tolerance):
        gaps = self._gaps()
        mean = statistics.mean(gaps)
        if abs(mean - float(nominal)) > float(tolerance):
            raise AssertionError("mean period %.3f s, %s +- %s expected" % (mean, nominal,
                                                                            tolerance))

    def jitter_should_be_below(self, nominal, limit):
        gaps = self._gaps()
        worst = max(abs(g - float(nominal)) for g in gaps)
        logger.info("%d gaps, worst deviation %.3f s" % (len(gaps), worst))
        if worst > float(limit):
            raise AssertionError("a gap deviates %.3f s from %s s (limit %s)"
                                 % (worst, nominal, limit))

    def every_telegram_should_end_within(self, seconds):
        for t in self.telegrams:
            last = self.cap.time_at(t.end - 1)
            if t.t is not None and last is not None and last - t.t > float(seconds):
                raise AssertionError("a telegram took %.3f s" % (last - t.t))

    def plot_period_histogram(self, path):
        from tools.baiop.plots import period_histogram

        period_histogram(self._gaps(), path, self.profile)
        logger.info('<a href="%s">period histogram</a>' % path, html=True)

    def _gaps(self):
        times = [t.t for t in self.telegrams if t.t is not None]
        if len(times) < 3:
            BuiltIn().skip("no arrival times (a replayed capture) or too few telegrams")
        return [b - a for a, b in zip(times, times[1:])]

    def _plain(self):
        out = [t.plain for t in self.telegrams if t.plain is not None]
        if not out:
            raise AssertionError("no telegram to check")
        return out
