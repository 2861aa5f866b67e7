"""The BAIOP case Report_Intervals (tools/baiop/hanzcl.py) on made-up sniffer rows: reports
on the hub's second pass; one its transmit path held back a quarter second, followed by an
on-time one 0.75 s later, passes, as does the first after a reboot held half a second; a
report half a second after an on-time one, or one past the maximum, fails."""
import pytest

from tools.baiop.hanzcl import HanReportingKeywords

T0 = 1796000000.48  # the hub builds its reports 0.48 s into each second of the air's clock
KEY = ("0x0002", "0x0001", "0x0702")


class Cap:
    def __init__(self, report_times, cut=None):
        self.report_times = report_times
        self.cut = cut  # (from, to): the hub off, then booted (its counters a block on)

    def _hub_frames(self):
        # Everything the hub sent: beacons and polls' answers every second besides the
        # reports, so that no silence reads as a power cut of the hub, but for a cut.
        end = int(max(self.report_times) - T0) + 1
        times = sorted(self.report_times + [T0 + n for n in range(end)])
        if self.cut is not None:
            times = [t for t in times if not self.cut[0] < t < self.cut[1]]
        return times

    def rows(self, display_filter, *fields):
        if "cmd.id == 0x06" in display_filter:  # Configure Reporting: 0x0400, min 1, max 30
            return [(["0x0002"], ["0x0001"], ["0x0702"], ["0x0400"], [], ["1"], ["30"])]
        if "cmd.id == 0x0a" in display_filter:
            return [([repr(t)], ["0x0002"], ["0x0001"], ["0x0702"], ["0x0400"], [], [str(n)],
                     [str(n + 40)]) for n, t in enumerate(self.report_times)]
        times = self._hub_frames()
        if "zbee_nwk.security" in display_filter:  # NWK counters: +256 after a boot
            booted = self.cut[1] if self.cut is not None else T0 + 1e6
            return [([repr(t)], [str(n + (256 if t >= booted else 0))])
                    for n, t in enumerate(times)]
        return [([repr(t)],) for t in times]


class Keywords(HanReportingKeywords):
    mode = "offline"
    target = None


def check(times, cut=None):
    k = Keywords()
    k.cap = Cap(times, cut)
    return k.report_intervals_should_follow_configuration()


def test_reports_on_the_hubs_second_pass():
    assert check([T0 + n for n in range(8)]) == 7


def test_a_report_held_a_quarter_second_is_credited_with_its_hold():
    # The first report after the configuration (or a boot): there is no gap before it
    # to show the hold, only where in the second it went out.
    times = [T0 + n for n in range(8)]
    times[0] += 0.25  # held behind a sleepy device's retries; the next comes on time
    assert check(times) == 7


def test_the_first_report_after_a_reboot_held_half_a_second_is_credited():
    # A clean-clone run: after the hub's power cut its first report went out 0.50 s past
    # the hub's report phase (behind the resumed network's End Device Timeout exchanges);
    # the next came on the phase, 0.5 s later, under min 1. The hold was then credited
    # up to 0.5 s only, exclusive.
    times = [T0 + n for n in range(8)]
    times[0] += 0.5
    assert check(times) == 7
    times[0] += 0.4  # held 0.9 s: still the engine's second before
    assert check(times) == 7


def test_after_a_short_cut_the_hubs_new_phase_is_found_from_its_counters():
    # The clean-clone run above, as a sniffer saw it: the hub off for 3.4 s (shorter than
    # the 8 s a silence needs to count as a cut), its NWK counters resumed a block of 256
    # on, and its reports built 0.37 s later in the second than before the cut; the first
    # held 0.5 s, the next on the new phase. The phase is the new boot's, not the whole
    # capture's.
    before = [T0 + n for n in range(6)]
    after = [T0 + 9.85 + n for n in range(8)]
    after[0] += 0.5
    k = Keywords()
    k.cap = Cap(before + after, (T0 + 5.5, T0 + 9.0))
    assert [round(up - T0, 2) for _, up in k.hub_boots()] == [9.0]
    assert k.report_intervals_should_follow_configuration() == 5 + 7


def test_a_report_half_a_second_after_an_on_time_one_fails():
    times = [T0 + n for n in range(8)]
    times.insert(4, T0 + 3.5)
    with pytest.raises(AssertionError, match="0.5 s apart"):
        check(times)


def test_a_report_past_its_maximum_fails():
    with pytest.raises(AssertionError, match="min 1 max 30"):
        check([T0, T0 + 1, T0 + 2, T0 + 40])
