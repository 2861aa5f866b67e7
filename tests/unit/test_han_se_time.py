# Time cluster (firmware/han/se/time.py): the hub's Time server from its clock and its
# market's zone (ZCL revision 6, 07-5123, 3.12), and the end device's Time client.
# Instants and their octets worked out by hand (ZCL time = Unix time - 946684800; EU
# summer time 2025: 30 March 01:00 UTC to 26 October 01:00 UTC, 2026: 29 March to 25
# October). Tiers 1 and 2.
from han.se import time as st
from han.zcl import frame as zf
from registers.clock import DST_EU, DST_NONE, MeterClock
from support import NoAllocation

JUL_1_2025_NOON = 1751371200     # ZCL 804686400 = 0x2FF68A40
DEC_1_2025 = 1764547200          # ZCL 817862400 = 0x30BF9700
JAN_15_2025_8H = 1736928000      # ZCL 790243200 = 0x2F1A2780
DST_START_2025 = 1743296400
DST_END_2025 = 1761440400
ALL = bytes.fromhex("0000" "0100" "0200" "0300" "0400" "0500" "0600" "0700" "0800" "0900")


class _Clock:
    def __init__(self, utc, synced=True):
        self.t = utc
        self.synced = synced

    def utc(self):
        return self.t


def _ask(server, frame, unicast=True):
    h = zf.ZclHeader()
    p = zf.parse(frame, 0, len(frame), h)
    out = bytearray(120)
    n = server.handle(h, frame, p, len(frame), out, unicast)
    return n if n <= 0 else bytes(out[:n])


# Where each record of the response to _read starts: 3-octet header, then id (2),
# status (1), type (1), value (4; TimeStatus 1).
_AT = (3, 11, 16, 24, 32, 40, 48, 56, 64, 72, 80)


def _recs(rsp, first, last):
    """The records of attributes first..last of a response to _read."""
    return rsp[_AT[first]:_AT[last + 1]]


def _read(seq):
    return bytes([0x00, seq, 0x00]) + ALL


def test_time_server_in_summer():
    clk = _Clock(JUL_1_2025_NOON)
    s = st.TimeServer(clk, 3600, DST_EU, last_set=lambda: JUL_1_2025_NOON - 86400)
    assert s.cluster_id == 0x000A
    want = bytes.fromhex(
        "18" "31" "01"
        "0000" "00" "E2" "408AF62F"     # Time 804686400
        "0100" "00" "18" "0D"           # TimeStatus: Master | MasterZoneDst | Superseding
        "0200" "00" "2B" "100E0000"     # TimeZone int32 3600
        "0300" "00" "23" "10547B2F"     # DstStart 2025-03-30 01:00 UTC = 796611600
        "0400" "00" "23" "0F2F9030"     # DstEnd: its last second, 814755599
        "0500" "00" "2B" "100E0000"     # DstShift 3600
        "0600" "00" "23" "5098F62F"     # StandardTime = Time + 3600
        "0700" "00" "23" "60A6F62F"     # LocalTime = Time + 7200 (summer)
        "0800" "00" "E2" "C038F52F"     # LastSetTime one day earlier: 804600000
        "0900" "00" "E2" "C0DBF72F")    # ValidUntilTime = Time + 86400
    assert _ask(s, _read(0x31)) == want


def test_time_server_after_summer_and_in_winter():
    clk = _Clock(DEC_1_2025)
    s = st.TimeServer(clk, 3600, DST_EU)
    rsp = _ask(s, _read(0x32))
    # After this year's summer time: next year's window (2026-03-29 01:00 UTC =
    # 828061200, last second 2026-10-25 00:59:59 UTC = 846205199); local = standard.
    assert _recs(rsp, 3, 5) == bytes.fromhex("0300" "00" "23" "10365B31"
                                             "0400" "00" "23" "0F117032"
                                             "0500" "00" "2B" "100E0000")
    assert _recs(rsp, 6, 7) == bytes.fromhex("0600" "00" "23" "10A5BF30"
                                             "0700" "00" "23" "10A5BF30")
    # No last_set: LastSetTime invalid (FFFFFFFF).
    assert _recs(rsp, 8, 8) == bytes.fromhex("0800" "00" "E2" "FFFFFFFF")
    # Before this year's summer time: this year's window.
    clk.t = JAN_15_2025_8H
    rsp = _ask(s, _read(0x33))
    assert _recs(rsp, 3, 3) == bytes.fromhex("0300" "00" "23" "10547B2F")
    assert _recs(rsp, 7, 7) == bytes.fromhex("0700" "00" "23" "90351A2F")  # +3600


def test_time_server_zone_without_summer_time_and_unsynced_clock():
    # Sweden's profile: standard time all year; Lithuania: EET (7200).
    s = st.TimeServer(_Clock(JUL_1_2025_NOON), 3600, DST_NONE)
    rsp = _ask(s, _read(0x34))
    assert _recs(rsp, 3, 7) == bytes.fromhex(
        "0300" "00" "23" "FFFFFFFF" "0400" "00" "23" "FFFFFFFF" "0500" "00" "2B" "00000000"
        "0600" "00" "23" "5098F62F" "0700" "00" "23" "5098F62F")
    clk = _Clock(JAN_15_2025_8H, synced=False)
    s = st.TimeServer(clk, 7200, DST_EU)
    rsp = _ask(s, _read(0x35))
    # A clock only resumed from flash claims nothing: TimeStatus 0, ValidUntil invalid.
    assert _recs(rsp, 1, 1) == bytes.fromhex("0100" "00" "18" "00")
    assert _recs(rsp, 9, 9) == bytes.fromhex("0900" "00" "E2" "FFFFFFFF")
    assert _recs(rsp, 7, 7) == bytes.fromhex("0700" "00" "23" "A0431A2F")  # EET, winter


def test_time_server_is_read_only():
    s = st.TimeServer(_Clock(JUL_1_2025_NOON))
    req = bytes.fromhex("00" "36" "02" "0000" "E2" "00000000" "0200" "2B" "00000000")
    assert _ask(s, req) == bytes.fromhex("18" "36" "04" "880000" "880200")


def test_local_time_agrees_with_the_meter_clock():
    """The server's LocalTime is the meter's own local time (registers.clock) at every
    hour of 2025 and at the seconds around each switch."""
    for zone, rule in ((3600, DST_EU), (7200, DST_EU), (3600, DST_NONE)):
        clk = _Clock(0)
        s = st.TimeServer(clk, zone, rule)
        mc = MeterClock(None, zone, rule)
        instants = [1735689600 + 3600 * k for k in range(0, 365 * 24, 7)]
        instants += [DST_START_2025 - 1, DST_START_2025, DST_END_2025 - 1, DST_END_2025]
        for utc in instants:
            s.at(utc)
            assert s.local_time() == mc.local(utc) - st.ZCL_EPOCH_UNIX, (zone, rule, utc)
    s = st.TimeServer(_Clock(0))
    s.at(DST_END_2025 - 1)
    assert s.local_time() - s.standard_time() == 3600
    s.at(DST_END_2025)
    assert s.local_time() == s.standard_time()


def test_time_server_read_allocates_nothing():
    clk = _Clock(JUL_1_2025_NOON)
    s = st.TimeServer(clk)
    req = _read(0x37)
    h = zf.ZclHeader()
    out = bytearray(120)
    res = [0, 0]
    p = zf.parse(req, 0, len(req), h)
    s.handle(h, req, p, len(req), out, True)
    clk.t += 60
    with NoAllocation():
        res[0] = zf.parse(req, 0, len(req), h)
        res[1] = s.handle(h, req, res[0], len(req), out, True)
    assert bytes(out[3:11]) == bytes.fromhex("0000" "00" "E2" "7C8AF62F")  # +60 s


def test_time_client_syncs_from_our_server():
    c = st.TimeClient(std_offset_s=0, drift_ppm=100, max_error_s=10)
    out = bytearray(40)
    n = c.build_read(out, 0x40)
    # Read Attributes of Time, TimeStatus, TimeZone, DstStart, DstEnd, DstShift,
    # ValidUntilTime.
    assert bytes(out[:n]) == bytes.fromhex("00" "40" "00" "0000" "0100" "0200" "0300" "0400"
                                           "0500" "0900")
    assert c.needs_sync(0)
    server = st.TimeServer(_Clock(JUL_1_2025_NOON))
    h = zf.ZclHeader()
    req = bytes(out[:n])
    p = zf.parse(req, 0, n, h)
    rsp = bytearray(120)
    m = server.handle(h, req, p, n, rsp, True)
    p = zf.parse(rsp, 0, m, h)
    assert c.take(h, rsp, p, m, 1000)
    assert c.offset_s == JUL_1_2025_NOON - 1000
    assert c.utc(1010) == JUL_1_2025_NOON + 10
    # The zone came with it: summer time in July, standard time in December.
    assert (c.std_offset_s, c.dst_shift) == (3600, 3600)
    assert c.local(JUL_1_2025_NOON) == JUL_1_2025_NOON + 7200
    assert c.local(DEC_1_2025) == DEC_1_2025 + 3600
    assert c.local(DST_END_2025 - 1) == DST_END_2025 - 1 + 7200
    assert c.local(DST_END_2025) == DST_END_2025 + 3600
    # The same response again: its sequence number is spent.
    assert not c.take(h, rsp, p, m, 1000)
    # Drift: 100 ppm, so after 50 000 s the error bound is 1 + 5 s, after 100 000 s 11 s.
    assert c.error_s(51000) == 6 and not c.needs_sync(51000)
    assert c.error_s(101000) == 11 and c.needs_sync(101000)


def test_time_client_refuses_non_sources_and_keeps_time_monotonic():
    c = st.TimeClient()
    out = bytearray(40)
    h = zf.ZclHeader()
    # An unsynced server (TimeStatus 0) is no time source.
    server = st.TimeServer(_Clock(JUL_1_2025_NOON, synced=False))
    n = c.build_read(out, 0x41)
    req = bytes(out[:n])
    p = zf.parse(req, 0, n, h)
    rsp = bytearray(120)
    m = server.handle(h, req, p, n, rsp, True)
    p = zf.parse(rsp, 0, m, h)
    assert not c.take(h, rsp, p, m, 0) and c.refused == 1 and not c.synced
    # By hand: Time 1000 s after the ZCL epoch from a Master, then 5 s earlier.
    rsp = bytes.fromhex("18" "42" "01" "0000" "00" "E2" "E8030000" "0100" "00" "18" "01")
    c.build_read(out, 0x42)
    p = zf.parse(rsp, 0, len(rsp), h)
    assert c.take(h, rsp, p, len(rsp), 0)
    assert c.utc(0) == st.ZCL_EPOCH_UNIX + 1000
    assert c.std_offset_s == 0          # no MasterZoneDst bit: the zone is not taken
    rsp = bytes.fromhex("18" "43" "01" "0000" "00" "E2" "E3030000" "0100" "00" "18" "01")
    c.build_read(out, 0x43)
    p = zf.parse(rsp, 0, len(rsp), h)
    assert c.take(h, rsp, p, len(rsp), 0)
    # The clock went back 5 s: utc() holds still until it catches up.
    assert c.utc(0) == st.ZCL_EPOCH_UNIX + 1000
    assert c.utc(5) == st.ZCL_EPOCH_UNIX + 1000
    assert c.utc(6) == st.ZCL_EPOCH_UNIX + 1001
    # A malformed response (a record cut short) is refused.
    c.build_read(out, 0x44)
    rsp = bytes.fromhex("18" "44" "01" "0000" "00" "E2" "E803")
    p = zf.parse(rsp, 0, len(rsp), h)
    assert not c.take(h, rsp, p, len(rsp), 0) and c.refused == 2
