"""HAN BAIOP keywords about the ZCL attributes the hub served (docs/bap/han.md INF layer),
read from the capture by tshark: Metering on the ESI endpoint and the gas mirror, Time.
Values the BAP states are compared with what tshark decoded from our frames; time
attributes with the IANA rules of the profile's zone (zoneinfo)."""
import bisect
import datetime

from robot.libraries.BuiltIn import BuiltIn

from tools.baiop.p1rules import ZONES

# ZCL 2.6.2 data types.
ENUM8, UINT24, UINT48, INT24, INT32, UINT32, BITMAP8, UTC = (0x30, 0x22, 0x25, 0x2A, 0x2B,
                                                            0x23, 0x18, 0xE2)
UNSUPPORTED_ATTRIBUTE = 0x86
ZCL_EPOCH = 946684800  # 2000-01-01 00:00 UTC in UNIX seconds ([ZCL] 2.6.2.22)
# HAN-INF-003 and HAN-INF-004: attribute -> (data type, value as tshark prints it).
ELECTRICITY_UNITS = {0x0300: (ENUM8, "0"), 0x0301: (UINT24, "1"), 0x0302: (UINT24, "1000"),
                     0x0303: (BITMAP8, "0x33"), 0x0304: (BITMAP8, "0x13"),
                     0x0305: (BITMAP8, "0x33"), 0x0306: (BITMAP8, "0x00")}
GAS_UNITS = {0x0300: (ENUM8, "1"), 0x0301: (UINT24, "1"), 0x0302: (UINT24, "1000"),
             0x0303: (BITMAP8, "0x2b"), 0x0306: (BITMAP8, "0x80")}
# HAN-INF-002: the data types of the electricity values.
ELECTRICITY_TYPES = {0x0000: UINT48, 0x0001: UINT48, 0x0400: INT24, 0x0401: UINT24,
                     0x0403: UINT24, 0x0430: UINT24, 0x0440: UINT32}
INVALID = {UINT48: 0xFFFFFFFFFFFF, UINT32: 0xFFFFFFFF, UINT24: 0xFFFFFF, INT24: -0x800000}
# A report sent again (MAC retries, 3 APS retries of 10 s to a sleepy device: HAN-COM-005)
# carries the same ZCL and APS sequence numbers; after that they may come round again.
RETRY_WINDOW_S = 40
# How old the Time attribute may be when a frame carries it: a response held for a sleepy
# device's poll and its APS retries goes out as built (HAN-COM-004, HAN-COM-005).
HELD_S = 40


def utc_of(text):
    """tshark's UTCTime text ('Nov 30, 2026 15:54:02.000000000 UTC') in UNIX seconds."""
    stamp = text.replace(" UTC", "").split(".")[0]
    dt = datetime.datetime.strptime(" ".join(stamp.split()), "%b %d, %Y %H:%M:%S")
    return int(dt.replace(tzinfo=datetime.timezone.utc).timestamp())


class HanZclKeywords:
    def _hub_records(self, cluster, endpoint):
        """Attribute records of the hub's read responses and reports from an endpoint."""
        found = self.cap.attribute_records(
            "wpan.src16 == 0x0000 && zbee_aps.cluster == %s && zbee_aps.src == %s && "
            "(zbee_zcl.cmd.id == 0x01 || zbee_zcl.cmd.id == 0x0a)" % (cluster, endpoint))
        if not found:
            BuiltIn().skip("no read response or report of cluster %s ep %s in the capture"
                           % (cluster, endpoint))
        return found

    def _expect(self, found, table, need):
        seen = set()
        for _, records in found:
            for attr, (status, dtype, value) in records.items():
                if attr not in table or status == UNSUPPORTED_ATTRIBUTE and attr not in need:
                    continue
                want_type, want = table[attr]
                if (status, dtype, (value or "").lower()) != (0, want_type, want):
                    raise AssertionError("attribute 0x%04x: status %s type %s value %s; "
                                         "type 0x%02x value %s expected"
                                         % (attr, status, dtype, value, want_type, want))
                seen.add(attr)
        missing = [hex(a) for a in need if a not in seen]
        if missing:
            raise AssertionError("never read: %s" % missing)

    def electricity_units_should_be_stated(self):
        self._expect(self._hub_records("0x0702", 1), ELECTRICITY_UNITS,
                     (0x0300, 0x0301, 0x0302, 0x0303, 0x0306))

    def gas_mirror_units_should_be_stated(self):
        found = self._hub_records("0x0702", 2)
        self._expect(found, GAS_UNITS, (0x0300, 0x0301, 0x0302, 0x0303, 0x0306))
        stamps = [r[0x0007] for _, r in found if 0x0007 in r and r[0x0007][0] == 0]
        if not stamps or any(dtype != UTC for _, dtype, _ in stamps):
            raise AssertionError("ReadingSnapShotTime (UTCTime) missing: %s" % stamps)

    def electricity_values_should_have_their_types(self):
        """Each value's data type; a value the meter does not have (e.g. today's
        consumption before the day's start was seen) is its type's invalid value."""
        found = self._hub_records("0x0702", 1)
        checked = 0
        for _, records in found:
            for attr, (status, dtype, value) in records.items():
                if attr not in ELECTRICITY_TYPES or status != 0:
                    continue
                checked += 1
                if dtype != ELECTRICITY_TYPES[attr]:
                    raise AssertionError("0x%04x has type 0x%02x" % (attr, dtype))
                v = int(value, 0)
                limit = INVALID[dtype]
                if dtype == INT24 and not -0x800000 <= v <= 0x7FFFFF or \
                        dtype != INT24 and not 0 <= v <= limit:
                    raise AssertionError("0x%04x = %s outside its type" % (attr, value))
        if not checked:
            raise AssertionError("no electricity value read")

    def invalid_values_should_mark_the_unknown(self):
        """The consumption attributes before their period's start was seen: the type's
        invalid value, never 0 ([SE] D.3.2.2.5; HAN-INF-005)."""
        found = self._hub_records("0x0702", 1)
        days = [r[0x0401] for _, r in found if 0x0401 in r and r[0x0401][0] == 0]
        if not days:
            BuiltIn().skip("CurrentDayConsumptionDelivered never read")
        # A hub started less than a day ago has not seen its day's start.
        for _, dtype, value in days:
            if int(value, 0) != INVALID[UINT24]:
                raise AssertionError("CurrentDayConsumptionDelivered %s on a hub that has "
                                     "not seen the day start" % value)

    def time_attributes_should_be_stated(self):
        import zoneinfo

        profile = self.profile
        zone = zoneinfo.ZoneInfo(ZONES.get(profile, "Europe/Amsterdam"))
        found = self.cap.attribute_records(
            "wpan.src16 == 0x0000 && zbee_aps.cluster == 0x000a && zbee_zcl.cmd.id == 0x01")
        if not found:
            BuiltIn().skip("no Time read response in the capture")
        fresh = []
        for layers, r in found:
            sent = float(layers["frame"]["frame.time_epoch"])
            t = utc_of(r[0x0000][2])
            fresh.append(t - sent)
            if not -HELD_S <= t - sent <= 2:
                raise AssertionError("Time %s is %.1f s from the frame's time" % (r[0x0000][2],
                                                                                t - sent))
            status = int(r[0x0001][2], 0)
            if status & 0x07 != 0x05:
                raise AssertionError("TimeStatus 0x%02x: master and master for zone/DST "
                                     "expected, synchronised bit clear" % status)
            std = int(zone.utcoffset(datetime.datetime(2026, 1, 15)).total_seconds())
            if int(r[0x0002][2]) != std:
                raise AssertionError("TimeZone %s, %d expected" % (r[0x0002][2], std))
            start = int(r[0x0003][2]) + ZCL_EPOCH
            end = int(r[0x0004][2]) + ZCL_EPOCH
            shift = int(r[0x0005][2])
            # DstEnd: the transition itself or the last second of summer time before it.
            for edges, dst in (((start,), True), ((end, end + 1), False)):
                if not any(_transition(zone, e, dst) for e in edges):
                    raise AssertionError("DST %s at %s is no transition of %s" % (
                        "start" if dst else "end", edges[0], zone))
            if shift != 3600 or not start < end or not sent < end:
                raise AssertionError("DstShift %d, period %d..%d" % (shift, start, end))
        if not any(abs(d) <= 2 for d in fresh):  # at least the answers sent at once
            raise AssertionError("no Time within 2 s of its frame: %s" % fresh)


def _transition(zone, edge, into_dst):
    before = datetime.datetime.fromtimestamp(edge - 1, zone).dst()
    after = datetime.datetime.fromtimestamp(edge, zone).dst()
    return bool(before) != into_dst and bool(after) == into_dst


def _report_phase(times):
    """Where in the second the hub builds its reports (it builds them as a second of its
    clock begins; han/zcl/engine.py): the fraction of a second, on the air's clock, that
    the most reports follow within 50 ms (the medium's access and retries; a held one
    comes further on, and must not pull the phase towards it)."""
    fracs = sorted(t % 1.0 for t in times)
    best, phase = -1, 0.0
    for f in fracs:
        n = sum(1 for g in fracs if (g - f) % 1.0 < 0.05)
        if n > best:
            best, phase = n, f
    return phase


def _ids(met, generic):
    return [int(a, 16) for a in (met or generic)]


class HanReportingKeywords:
    def report_intervals_should_follow_configuration(self, slack=2.0):
        """[ZCL] 2.5.7-2.5.11: each reported attribute goes to the device that configured
        it no sooner than its minimum interval after the previous report and no later than
        its maximum (+ slack for the medium), except across a power cut of the hub. The
        minimum is the hub's, not the air's: a report its transmit path held back (behind
        a trust centre's key work, a sleepy device's retries) is credited with that hold,
        measured two ways: past its own minimum, when less than the minimum (1.5 s seen),
        and past the second on which the hub builds its reports (_report_phase; 0.25 and
        0.50 s seen), less than a second."""
        conf = {}
        for src, ep, cluster, met, generic, mins, maxs in self.cap.rows(
                "zbee_zcl.cmd.id == 0x06 && wpan.dst16 == 0x0000", "wpan.src16",
                "zbee_aps.dst", "zbee_aps.cluster", "zbee_zcl_se.met.attr_id",
                "zbee_zcl.attr.id", "zbee_zcl.attr.minint", "zbee_zcl.attr.maxint"):
            for a, lo, hi in zip(_ids(met, generic), mins, maxs):
                conf[(src[0], ep[0], cluster[0], a)] = (int(lo), int(hi))
        if not conf:
            BuiltIn().skip("no Configure Reporting in the capture")
        last, checked, seen, prev_gap, reports = {}, 0, {}, {}, []
        outages = self.hub_silences() + self.hub_boots() + (
            getattr(self.target, "outages", []) if self.mode == "live" else [])
        for t, dst, ep, cluster, met, generic, tsn, aps in self.cap.rows(
                "zbee_zcl.cmd.id == 0x0a && wpan.src16 == 0x0000", "frame.time_epoch",
                "wpan.dst16", "zbee_aps.src", "zbee_aps.cluster", "zbee_zcl_se.met.attr_id",
                "zbee_zcl.attr.id", "zbee_zcl.cmd.tsn", "zbee_aps.counter"):
            t = float(t[0])
            frame = (dst[0], ep[0], tsn[0], aps[0])
            if t - seen.get(frame, -1e9) < RETRY_WINDOW_S:
                continue  # a MAC or APS retry of the same report
            seen[frame] = t
            reports.append((t, dst, ep, cluster, met, generic))
        # The phase is the hub's clock's: a new one after each boot. It is found per
        # stretch between the hub's cuts.
        cuts = sorted(up for _, up in outages)
        boot = [bisect.bisect_right(cuts, r[0]) for r in reports]  # each report's boot
        phases = {}
        for b, r in zip(boot, reports):
            phases.setdefault(b, []).append(r[0])
        phases = {b: _report_phase(v) for b, v in phases.items()}
        hold = {}
        for b, (t, dst, ep, cluster, met, generic) in zip(boot, reports):
            phase = phases[b]
            # How far past the phase it went out; a hair before it (clock noise in the
            # fractions) is on it, not a whole second late.
            h = (t - phase + 0.02) % 1.0 - 0.02
            for a in _ids(met, generic):
                key = (dst[0], ep[0], cluster[0], a)
                if key not in conf:
                    continue
                lo, hi = conf[key]
                gap = None
                if key in last and not any(last[key] < up and down < t for down, up in outages):
                    gap = t - last[key]
                    checked += 1
                    # A report the hub's transmit path held back (behind a trust centre's
                    # key work, a busy medium: 1.5 s seen) came late by that much past its
                    # minimum; the next, on the engine's schedule, may come as much sooner.
                    # Only for a hold shorter than the minimum itself: a report long after
                    # its previous one is a change or the maximum, not a held one.
                    held = prev_gap.get(key, 0.0) - lo
                    held = held if 0.0 < held < lo else 0.0
                    held_phase = hold.get(key, 0.0) - h
                    # The engine builds reports only as a second of the hub's clock
                    # begins, so a report seen h (< 1 s) past that phase was held h (0.50 s
                    # seen: the first report after a hub reboot, behind the resumed
                    # network's End Device Timeout exchanges).
                    held = max(held, held_phase if held_phase < 1.0 else 0.0)
                    if gap + held < lo - 0.2 or gap > hi + float(slack):
                        raise AssertionError("%s: reports %.1f s apart (the previous %.1f s "
                                             "after its own, held %.2f s), min %d max %d"
                                             % (key, gap, prev_gap.get(key, 0.0), held, lo,
                                                hi))
                last[key] = t
                hold[key] = h
                prev_gap[key] = gap or 0.0
        if not checked:
            raise AssertionError("no two reports of a configured attribute")
        return checked

    def hub_silences(self, longer_than=8.0):
        """(from, to) times the hub sent nothing for longer than that: its power cuts, as
        a sniffer sees them (the hub answers polls and sends reports every few seconds;
        a cut lasts its boot, about 10 s, and a busy hub was seen silent for 5.5 s)."""
        times = [float(r[0][0]) for r in self.cap.rows("wpan.src16 == 0x0000",
                                                         "frame.time_epoch")]
        return [(a, b) for a, b in zip(times, times[1:]) if b - a > float(longer_than)]

    def hub_boots(self, quiet=2.0, jump=16):
        """(from, to) around each boot of the hub a sniffer can tell from a short cut:
        a silence over `quiet` s after which the hub's NWK frame counter is more than
        `jump` above all it used before (a booted hub resumes at its next reserved block of
        256, han/nwk/store.py; retries and held frames reorder counters by a few only)."""
        out, top, last_t = [], None, None
        for t, c in self.cap.rows("wpan.src16 == 0x0000 && zbee_nwk.security == 1",
                                  "frame.time_epoch", "zbee.sec.counter"):
            t, c = float(t[0]), int(c[0])
            if top is not None and c > top + jump and t - last_t > quiet:
                out.append((last_t, t))
            top = c if top is None else max(top, c)
            last_t = t
        return out

    def power_cut_of_the_hub_after_configuration(self):
        """A supply failure of the hub unless one came after the last Configure
        Reporting."""
        self._refresh()
        times = [float(r[0][0]) for r in self.cap.rows("zbee_zcl.cmd.id == 0x06",
                                                         "frame.time_epoch")]
        if not times:
            raise AssertionError("no Configure Reporting in the capture")
        if not any(down > max(times) for down, _ in self.target.outages):
            self.target.reboot()
        self.run_han_for(2)

    def reporting_should_survive_the_power_cut(self):
        """After the hub's power cut the configured reports flow again to the devices
        without a new Configure Reporting from them."""
        outages = getattr(self.target, "outages", [])
        if not outages:
            BuiltIn().skip("no power cut of the hub in this run")
        up = outages[-1][1]
        self._wait(lambda: self.cap.count("zbee_zcl.cmd.id == 0x0a && wpan.src16 == 0x0000 "
                                          "&& frame.time_epoch > %f" % up), 60,
                   "no report from the hub after its power cut", step=2)
        again = self.cap.count("zbee_zcl.cmd.id == 0x06 && frame.time_epoch > %f" % up)
        if again:
            raise AssertionError("%d Configure Reporting after the cut: the hub forgot "
                                 "them" % again)
