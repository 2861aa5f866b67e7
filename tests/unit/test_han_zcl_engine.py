# The attribute reporting engine (firmware/han/zcl/engine.py, with reportcfg.py answering
# whole frames): Configure Reporting statuses (ZCL revision 6, 07-5123, 2.5.7.3 / 2.5.8),
# Read Reporting Configuration (2.5.10), minimum and maximum intervals and the reportable
# change (2.5.7.1.5-7), reports of one cluster to one destination sharing a frame, the
# wake-up time of a polled node, time across the ticks' wrap, the configurations packed
# for the record store, and no allocation when reporting. A fake clock; expected frames
# worked by hand: header 18 = server to client (08) + disable default response (10), then
# the sequence number and Report Attributes 0A. Tiers 1 and 2.
from hal.clock import FakeClock
from han.zcl import dispatch as zd
from han.zcl import engine as ze
from han.zcl import frame as zf
from han.zcl import general as zg
from han.zcl import reportcfg as zc
from han.zcl import types as zt
from support import NoAllocation, raises

S = 1000000
METERING = 0x0702
IHD = 0x1234
# summation (Wh), demand (W), status, label
V = [1234567, -1500, 0, b"kWh"]


def _table():
    return zd.AttrTable([
        zd.Attr(0x0000, zt.UINT48, zd.READ | zd.REPORT, getter=lambda: V[0]),
        zd.Attr(0x0400, zt.INT24, zd.READ | zd.REPORT, getter=lambda: V[1]),
        zd.Attr(0x0200, zt.BITMAP8, zd.READ | zd.REPORT, getter=lambda: V[2]),
        zd.Attr(0x0300, zt.ENUM8, zd.READ, value=0),        # not reportable
        zd.Attr(0x0010, zt.CHAR_STR, zd.READ | zd.REPORT, getter=lambda: V[3]),
    ])


def _reset():
    V[0], V[1], V[2], V[3] = 1234567, -1500, 0, b"kWh"


def _engine(slots=4, start_us=0, check_s=1):
    _reset()
    clock = FakeClock()
    clock.advance_us(start_us)
    return ze.ReportEngine(slots, clock, check_s), clock, _table()


def _cfg(e, c, t, attr_id, typ, mn, mx, change=0, dst=IHD):
    return e.configure(dst, 1, 1, METERING, t, attr_id, typ, mn, mx, change,
                       c.ticks_us())


def _next(e, c, size=82):
    out = bytearray(size)
    r = e.build_next(c.ticks_us(), out)
    if r is None:
        return None
    dst, dst_ep, src_ep, cluster, n = r
    return (dst, dst_ep, src_ep, cluster, bytes(out[:n]).hex().upper())


def test_configure_statuses():
    e, c, t = _engine(slots=2)
    assert _cfg(e, c, t, 0x0000, zt.UINT48, 5, 60, 10) == zg.SUCCESS
    assert _cfg(e, c, t, 0x0999, zt.UINT8, 5, 60, 1) == 0x86       # UNSUPPORTED_ATTRIBUTE
    assert _cfg(e, c, t, 0x0300, zt.ENUM8, 5, 60) == 0x8C           # UNREPORTABLE
    assert _cfg(e, c, t, 0x0400, zt.INT32, 5, 60, 1) == 0x8D        # INVALID_DATA_TYPE
    assert _cfg(e, c, t, 0x0400, zt.INT24, 61, 60, 1) == 0x87       # min > max
    assert _cfg(e, c, t, 0x0400, zt.INT24, 1, 60, -1) == 0x87       # negative change
    assert e.used() == 1
    # Max 0 with min 5: change-based only (2.5.7.1.6), accepted.
    assert _cfg(e, c, t, 0x0400, zt.INT24, 5, 0, 100) == zg.SUCCESS
    assert e.used() == 2
    assert _cfg(e, c, t, 0x0200, zt.BITMAP8, 0, 10) == 0x89         # INSUFFICIENT_SPACE
    # The same destination and attribute again replaces its slot; another display's
    # does not fit.
    assert _cfg(e, c, t, 0x0000, zt.UINT48, 1, 30, 5) == zg.SUCCESS and e.used() == 2
    i = e.find(IHD, 1, 1, METERING, 0x0000)
    assert (e.min_s[i], e.max_s[i], e.change[i]) == (1, 30, 5)
    assert _cfg(e, c, t, 0x0000, zt.UINT48, 1, 30, 5, dst=0x2222) == 0x89
    # Max 0xFFFF stops reporting and frees the slot; so does max 0 with min 0xFFFF
    # (back to the default, which is not to report).
    assert _cfg(e, c, t, 0x0000, zt.UINT48, 0, 0xFFFF) == zg.SUCCESS and e.used() == 1
    assert _cfg(e, c, t, 0x0400, zt.INT24, 0xFFFF, 0) == zg.SUCCESS and e.used() == 0
    assert _cfg(e, c, t, 0x0200, zt.BITMAP8, 0, 0xFFFF) == zg.SUCCESS   # none to stop
    # A discrete type keeps no reportable change.
    assert _cfg(e, c, t, 0x0200, zt.BITMAP8, 0, 10, 7) == zg.SUCCESS
    assert e.change[e.find(IHD, 1, 1, METERING, 0x0200)] == 0


def test_min_max_and_reportable_change():
    e, c, t = _engine()
    assert _cfg(e, c, t, 0x0000, zt.UINT48, 5, 60, 10) == 0
    assert _cfg(e, c, t, 0x0400, zt.INT24, 1, 60, 100) == 0
    assert not e.due(c.ticks_us()) and _next(e, c) is None
    assert e.wake_in(c.ticks_us()) == 1 * S                  # demand's minimum
    c.advance_us(S)
    # t = 1 s: demand's first report (nothing reported yet counts as a change).
    assert e.due(c.ticks_us())
    assert _next(e, c) == (IHD, 1, 1, METERING, "18000A" "0004" "2A" "24FAFF")
    assert _next(e, c) is None
    assert e.wake_in(c.ticks_us()) == 1 * S                  # demand is checked each second
    c.advance_us(4 * S)
    # t = 5 s: summation's first report; demand unchanged stays out.
    assert _next(e, c) == (IHD, 1, 1, METERING, "18010A" "0000" "25" "87D612000000")
    V[1] = -1550                                             # moved 50 < 100: not due
    c.advance_us(S)
    assert not e.due(c.ticks_us())
    V[1] = -1600                                             # moved 100: due (t = 6 s)
    assert e.wake_in(c.ticks_us()) == 0
    assert _next(e, c) == (IHD, 1, 1, METERING, "18020A" "0004" "2A" "C0F9FF")
    V[0] = 1234567 + 9                                       # under the change of 10
    c.advance_us(58 * S)
    assert _next(e, c) is None                               # t = 64 s
    assert e.wake_in(c.ticks_us()) == 1 * S                  # summation's max at 65
    c.advance_us(S)
    # t = 65 s: the maximum interval of the summation (60 s after its report at 5 s);
    # 1234576 = 0x12D690.
    assert _next(e, c) == (IHD, 1, 1, METERING, "18030A" "0000" "25" "90D612000000")
    c.advance_us(S)
    # t = 66 s: demand's maximum interval (60 s after 6 s), unchanged value.
    assert _next(e, c) == (IHD, 1, 1, METERING, "18040A" "0004" "2A" "C0F9FF")
    assert e.reports == 5


def test_one_frame_per_cluster_and_destination():
    e, c, t = _engine(slots=6)
    for dst in (IHD, 0x5678):
        assert _cfg(e, c, t, 0x0000, zt.UINT48, 0, 30, 1, dst=dst) == 0
        assert _cfg(e, c, t, 0x0400, zt.INT24, 0, 30, 1, dst=dst) == 0
    # Another cluster to the same display: a frame of its own.
    assert e.configure(IHD, 1, 1, 0x0700, t, 0x0200, zt.BITMAP8, 0, 30, 0,
                       c.ticks_us()) == 0
    both = "0000" "25" "87D612000000" "0004" "2A" "24FAFF"
    assert _next(e, c) == (IHD, 1, 1, METERING, "18000A" + both)
    assert _next(e, c) == (0x5678, 1, 1, METERING, "18010A" + both)
    assert _next(e, c) == (IHD, 1, 1, 0x0700, "18020A" "0002" "18" "00")
    assert _next(e, c) is None
    c.advance_us(30 * S)
    # t = 30 s: all at their maximum interval together; an output of 15 octets holds
    # the header and the summation (3 + 9), not the demand (6): it follows in a frame of
    # its own, next (each pass starts after the slot that led the last frame).
    assert _next(e, c, 15) == (IHD, 1, 1, METERING, "18030A" "0000" "25" "87D612000000")
    assert _next(e, c, 15) == (IHD, 1, 1, METERING, "18040A" "0004" "2A" "24FAFF")
    assert _next(e, c, 15) == (0x5678, 1, 1, METERING, "18050A" "0000" "25" "87D612000000")
    assert _next(e, c, 15) == (0x5678, 1, 1, METERING, "18060A" "0004" "2A" "24FAFF")
    assert _next(e, c, 15) == (IHD, 1, 1, 0x0700, "18070A" "0002" "18" "00")
    assert _next(e, c, 15) is None
    # The node's shared sequence numbers, when given.
    e.next_seq = lambda: 0x42
    V[2] = 1
    assert _next(e, c) == (IHD, 1, 1, 0x0700, "18420A" "0002" "18" "01")


def test_discrete_string_and_change_only():
    e, c, t = _engine()
    assert _cfg(e, c, t, 0x0200, zt.BITMAP8, 2, 0) == 0        # change-based only
    assert _cfg(e, c, t, 0x0010, zt.CHAR_STR, 0, 0) == 0
    assert _next(e, c) == (IHD, 1, 1, METERING, "18000A" "1000" "42" "03" "6B5768")
    c.advance_us(2 * S)
    assert _next(e, c) == (IHD, 1, 1, METERING, "18010A" "0002" "18" "00")
    # Unchanged: nothing for an hour, and the node is told to check each second.
    for _ in range(60):
        c.advance_us(60 * S)
        assert _next(e, c) is None
    assert e.wake_in(c.ticks_us()) == 1 * S
    V[2] = 0x04                                                # a discrete change of any size
    V[3] = b"m3"
    c.advance_us(S // 2)
    # The string's slot leads (the last frame was led by the bitmap's), the bitmap joins.
    assert _next(e, c) == (IHD, 1, 1, METERING,
                           "18020A" "1000" "42" "02" "6D33" "0002" "18" "04")
    V[3] = None                                               # the invalid string
    c.advance_us(S // 2)
    assert _next(e, c) == (IHD, 1, 1, METERING, "18030A" "1000" "42" "FF")
    # A record that can never fit the output is dropped, not retried for ever.
    V[3] = b"x" * 40
    c.advance_us(S)
    assert _next(e, c, 20) is None and e.dropped == 1


def test_wake_in_and_mid_second_configuration():
    e, c, t = _engine()
    assert e.wake_in(c.ticks_us()) == -1                       # nothing configured
    c.advance_us(S // 2)
    # Configured half-way through second 0: min 2 waits until second 3 (2.5 s later,
    # never less than 2 s), max 10 falls at second 10 (9.5 s later, never more than 10).
    assert _cfg(e, c, t, 0x0000, zt.UINT48, 2, 10, 1000) == 0
    assert e.wake_in(c.ticks_us()) == 2 * S + S // 2
    c.advance_us(2 * S + S // 2 - 1)
    assert not e.due(c.ticks_us())
    assert e.wake_in(c.ticks_us()) == 1
    c.advance_us(1)
    assert _next(e, c) == (IHD, 1, 1, METERING, "18000A" "0000" "25" "87D612000000")
    # Sent on the second: its max is 10 s on, checks every second from its min on.
    assert e.wake_in(c.ticks_us()) == 2 * S
    c.advance_us(2 * S)
    assert e.wake_in(c.ticks_us()) == 1 * S
    e.check_s = 30                                             # a sleepy node checks rarely
    assert e.wake_in(c.ticks_us()) == 8 * S                     # the max (second 13) first
    # Long intervals: the wait is capped so the seconds keep counting over the wrap.
    assert _cfg(e, c, t, 0x0000, zt.UINT48, 600, 3600, 1) == 0
    assert e.wake_in(c.ticks_us()) == ze.WAKE_MAX_US
    # Min 0 needs no whole second: a change is reported at once.
    assert _cfg(e, c, t, 0x0200, zt.BITMAP8, 0, 0) == 0
    c.advance_us(S // 4)
    assert _next(e, c) == (IHD, 1, 1, METERING, "18010A" "0002" "18" "00")
    V[2] = 2
    c.advance_us(S // 4)
    assert e.wake_in(c.ticks_us()) == 0
    assert _next(e, c) == (IHD, 1, 1, METERING, "18020A" "0002" "18" "02")


def test_periodic_reports_across_the_ticks_wrap():
    # The fake ticks_us wraps at 2**30 us (about 17.9 min) 1.5 s after the start; two
    # hours driven by wake_in alone give a report every 300 s exactly, on time.
    e, c, t = _engine(start_us=(1 << 30) - 1500000)
    t0 = c._us
    assert _cfg(e, c, t, 0x0000, zt.UINT48, 300, 300, 0) == 0
    sent = []
    while c._us - t0 < 7200 * S:
        w = e.wake_in(c.ticks_us())
        assert 0 <= w <= ze.WAKE_MAX_US
        c.advance_us(w)
        if _next(e, c) is not None:
            sent.append((c._us - t0) // S)
    assert sent == [300 * k for k in range(1, 25)]


def test_fairness_between_destinations():
    e, c, t = _engine(slots=3)
    for dst in (0x0001, 0x0002, 0x0003):
        assert _cfg(e, c, t, 0x0200, zt.BITMAP8, 0, 1, dst=dst) == 0
    # Every slot is due each second, and the node sends one frame a second: each pass
    # starts after the slot that led the last frame, so no display is starved.
    order = []
    for _ in range(4):
        c.advance_us(S)
        order.append(_next(e, c)[0])
    assert order == [0x0001, 0x0002, 0x0003, 0x0001]


def _answer(e, t, frame, now, src=IHD, unicast=True, size=82):
    h = zf.ZclHeader()
    rh = zf.ZclHeader()
    p = zf.parse(frame, 0, len(frame), h)
    out = bytearray(size)
    n = zc.answer(e, t, METERING, src, 1, 1, h, frame, p, len(frame), out, unicast, rh, now)
    return n if n <= 0 else bytes(out[:n]).hex().upper()


def test_answer_configure_reporting():
    e, c, t = _engine()
    now = c.ticks_us()
    # 0x0000 uint48 min 10 max 300 change 10; 0x0400 int24 min 1 max 60 change 100.
    req = bytes.fromhex("00" "21" "06" "00" "0000" "25" "0A00" "2C01" "0A0000000000"
                        "00" "0004" "2A" "0100" "3C00" "640000")
    assert _answer(e, t, req, now) == "182107" "00"          # all SUCCESS: one octet
    assert e.used() == 2
    # 0x0999 unsupported (86), 0x0300 unreportable (8C), 0x0200 configured, direction 1
    # timeout on 0x0000 (not kept: 86): only the failures are listed (2.5.8.1).
    req = bytes.fromhex("00" "22" "06" "00" "9909" "20" "0100" "0200" "01"
                        "00" "0003" "30" "0000" "1000"
                        "00" "0002" "18" "0000" "1000"
                        "01" "0000" "5802")
    assert _answer(e, t, req, now) == "182207" "86009909" "8C000003" "86010000"
    assert e.used() == 3
    # A truncated last record: Default Response MALFORMED_COMMAND (80) for command 06,
    # nothing applied (the 0x0200 stop in the first record is not done).
    req = bytes.fromhex("00" "23" "06" "00" "0002" "18" "0000" "FFFF" "00" "0004" "2A" "01")
    assert _answer(e, t, req, now) == "18230B" "0680"
    assert e.used() == 3
    assert _answer(e, t, req, now, unicast=False) == 0
    # Manufacturer specific: 84, manufacturer code echoed (1C = 04 + 08 + 10).
    req = bytes.fromhex("04" "3412" "24" "06" "00" "0002" "18" "0000" "FFFF")
    assert _answer(e, t, req, now) == "1C3412240B" "0684"
    # Not ours: Read Attributes, cluster commands.
    assert _answer(e, t, bytes.fromhex("002500" "0000"), now) == -1
    assert _answer(e, t, bytes.fromhex("012600"), now) == -1


def test_answer_read_reporting_configuration():
    e, c, t = _engine()
    now = c.ticks_us()
    assert _cfg(e, c, t, 0x0400, zt.INT24, 1, 60, 100) == 0
    assert _cfg(e, c, t, 0x0200, zt.BITMAP8, 0, 3600) == 0
    req = bytes.fromhex("00" "31" "08" "000004" "000002" "000000" "000003" "009909"
                        "010000")
    # 0x0400 configured; 0x0200 configured (discrete: no change); 0x0000 reportable, not
    # configured: NOT_FOUND (8B); 0x0300 8C; 0x0999 86; direction 1: 86.
    assert _answer(e, t, req, now) == ("183109" "00000004" "2A" "0100" "3C00" "640000"
                                       "00000002" "18" "0000" "100E"
                                       "8B000000" "8C000003" "86009909" "86010000")
    # Another display's configuration is its own.
    assert _answer(e, t, req[:6], now, src=0x9999) == "183109" "8B000004"
    raises(ValueError, e.read_config, IHD, 1, 1, METERING, t, 0, 0x0400, bytearray(8), 0)


def test_pack_unpack_round_trip():
    e, c, t = _engine()
    assert not e.dirty
    assert _cfg(e, c, t, 0x0000, zt.UINT48, 10, 300, 0x0102030405) == 0
    assert _cfg(e, c, t, 0x0400, zt.INT24, 1, 60, 100, dst=0x5678) == 0
    assert e.configure(0x0000, 2, 1, 0x000A, t, 0x0200, zt.BITMAP8, 0, 0, 0,
                       c.ticks_us(), False) == 0
    assert e.dirty
    buf = bytearray(ze.ReportEngine.packed_size(4))
    n = e.pack(buf)
    assert n == 2 + 3 * 22 and not e.dirty
    # The first slot by hand: dst 1234, cluster 0702, attr 0000, dst ep 01, src ep 01,
    # uint48, min 10, max 300, to client, change 0x0102030405 in 8 octets.
    assert bytes(buf[:24]).hex().upper() == ("5203" "3412" "0207" "0000" "01" "01" "25"
                                             "0A00" "2C01" "02" "0504030201000000")
    asked = []

    def find_table(src_ep, cluster, to_client):
        asked.append((src_ep, cluster, to_client))
        return t if cluster != 0x000A else None      # the Time table is gone
    c2 = FakeClock()
    f = ze.ReportEngine(4, c2)
    assert f.unpack(buf, n, find_table, c2.ticks_us()) == 2
    assert asked == [(1, METERING, True), (1, METERING, True), (1, 0x000A, False)]
    for dst, attr_id in ((IHD, 0x0000), (0x5678, 0x0400)):
        i, j = e.find(dst, 1, 1, METERING, attr_id), f.find(dst, 1, 1, METERING, attr_id)
        assert j >= 0
        assert (f.type[j], f.min_s[j], f.max_s[j], f.change[j], f.flags[j] & 2) == \
            (e.type[i], e.min_s[i], e.max_s[i], e.change[i], e.flags[i] & 2)
    assert not f.dirty
    # After the reboot each slot reports once its minimum has passed.
    c2.advance_us(S)
    assert f.build_next(c2.ticks_us(), bytearray(82))[0] == 0x5678
    raises(ValueError, f.unpack, buf, n - 1, find_table, 0)
    raises(ValueError, f.unpack, bytes(n), n, find_table, 0)
    raises(ValueError, e.pack, bytearray(10))
    # A device that leaves takes its configurations with it.
    e.drop(IHD)
    assert e.used() == 2 and e.find(IHD, 1, 1, METERING, 0) < 0


def test_reporting_allocates_nothing():
    e, c, t = _engine()
    assert _cfg(e, c, t, 0x0000, zt.UINT48, 0, 10, 5) == 0
    assert _cfg(e, c, t, 0x0400, zt.INT24, 0, 10, 100) == 0
    assert _cfg(e, c, t, 0x0010, zt.CHAR_STR, 0, 10) == 0
    out = bytearray(82)
    e.build_next(c.ticks_us(), out)                          # warm-up
    e.wake_in(c.ticks_us())
    res = [0, 0, 0, 0]
    c.advance_us(10 * S)
    now = c.ticks_us()
    with NoAllocation():
        res[0] = e.due(now)
        res[1] = e.wake_in(now)
        r = e.build_next(now, out)
        res[2] = r[4]
        res[3] = e.build_next(now, out) is None
    assert res == [True, 0, 3 + 9 + 6 + 7, True]
    # Past every minimum, nothing moved: the values are read and compared, nothing sent.
    c.advance_us(S)
    now = c.ticks_us()
    with NoAllocation():
        res[0] = e.due(now)
        res[1] = e.wake_in(now)
        res[3] = e.build_next(now, out) is None
    assert (res[0], res[1], res[3]) == (False, S, True)
    # Led by the slot after the one that led the warm-up frame: demand, label, summation.
    assert bytes(out[:res[2]]).hex().upper() == ("18010A" "0004" "2A" "24FAFF"
                                                 "1000" "42" "03" "6B5768"
                                                 "0000" "25" "87D612000000")


def _summation_reported_on_a_second():
    """An engine whose summation (min 1, max 900) was configured at 0.1 s and reported
    at 2.0 s, on the second."""
    e, c, t = _engine()
    c.advance_us(S // 10)
    assert _cfg(e, c, t, 0x0000, zt.UINT48, 1, 900, 1) == 0
    c.advance_us(e.wake_in(c.ticks_us()))
    assert _next(e, c) is not None
    return e, c


def test_a_stale_time_from_a_caller_moves_no_second():
    # The hub hands the engine the time of its own loop, which may be older than what a
    # receive handler gave it a moment ago: the seconds the minimum interval counts stay
    # whole (a report 0.5 s after the previous one with min 1 was seen on the air).
    e, c = _summation_reported_on_a_second()
    sent_at = c.ticks_us()
    stale = c.ticks_add(sent_at, -S // 2)                   # a loop time 0.5 s old
    assert not e.due(stale)
    V[0] += 10
    for _ in range(9):                                       # 0.1 s steps to 2.9 s
        c.advance_us(S // 10)
        if c.ticks_diff(c.ticks_us(), sent_at) < S:
            assert not e.due(c.ticks_us()), c.ticks_diff(c.ticks_us(), sent_at)
    c.advance_us(S + S // 10)
    assert _next(e, c) is not None


def test_a_report_built_with_a_stale_time_counts_as_late():
    # The hub's loop time may lag a receive handler's: a report built with it, while the
    # real time is well into the second, must still wait a whole minimum (seen: a mirror
    # report 0.5 s after the previous one under min 1, after the gas meter's report).
    e, c = _summation_reported_on_a_second()
    V[0] += 10
    c.advance_us(S + 3 * S // 10)                            # 3.3 s: a handler sees it
    real = c.ticks_us()
    assert e.due(real)
    stale = c.ticks_add(real, -S // 2)                       # the loop's time: 2.8 s
    out = bytearray(82)
    assert e.build_next(stale, out) is not None              # sent at 3.3 s really
    V[0] += 10
    c.advance_us(7 * S // 10)                                # 4.0 s: 0.7 s later
    assert not e.due(c.ticks_us())
    c.advance_us(S)                                          # 5.0 s
    assert e.due(c.ticks_us())

