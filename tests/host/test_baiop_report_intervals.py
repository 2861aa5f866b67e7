"""The BAIOP case Report_Intervals (tools/baiop/hanzcl.py) on made-up sniffer rows: reports
on the hub's second pass; one its transmit path held back a quarter second, followed by an
on-time one 0.75 s later, passes; a report half a second after an on-time one, or one past
the maximum, fails."""
import pytest

from tools.baiop.hanzcl import HanReportingKeywords

T0 = 1796000000.48  # the hub builds its reports 0.48 s into each second of the air's clock
KEY = ("0x0002", "0x0001", "0x0702")


class Cap:
    def __init__(self, report_times):
        self.report_times = report_times

    def rows(self, display_filter, *fields):
        if "cmd.id == 0x06" in display_filter:  # Configure Reporting: 0x0400, min 1, max 30
            return [(["0x0002"], ["0x0001"], ["0x0702"], ["0x0400"], [], ["1"], ["30"])]
        if "cmd.id == 0x0a" in display_filter:
            return [([repr(t)], ["0x0002"], ["0x0001"], ["0x0702"], ["0x0400"], [], [str(n)],
                     [str(n + 40)]) for n, t in enumerate(self.report_times)]
        # Everything the hub sent: beacons and polls' answers every second besides the
        # reports, so that no silence reads as a power cut of the hub.
        end = int(max(self.report_times) - T0) + 1
        return [([repr(t)],) for t in sorted(self.report_times + [T0 + n for n in range(end)])]


class Keywords(HanReportingKeywords):
    mode = "offline"
    target = None


def check(times):
    k = Keywords()
    k.cap = Cap(times)
    return k.report_intervals_should_follow_configuration()


def test_reports_on_the_hubs_second_pass():
    assert check([T0 + n for n in range(8)]) == 7


def test_a_report_held_a_quarter_second_is_credited_with_its_hold():
    # The first report after the configuration (or a boot): there is no gap before it
    # to show the hold, only where in the second it went out.
    times = [T0 + n for n in range(8)]
    times[0] += 0.25  # held behind a sleepy device's retries; the next comes on time
    assert check(times) == 7


def test_a_report_half_a_second_after_an_on_time_one_fails():
    times = [T0 + n for n in range(8)]
    times.insert(4, T0 + 3.5)
    with pytest.raises(AssertionError, match="0.5 s apart"):
        check(times)


def test_a_report_past_its_maximum_fails():
    with pytest.raises(AssertionError, match="min 1 max 30"):
        check([T0, T0 + 1, T0 + 2, T0 + 40])
