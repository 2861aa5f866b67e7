# ZCL reporting commands (firmware/han/zcl/reporting.py): Configure Reporting with and
# without a reportable change, its response, Read Reporting Configuration and its
# response, Report Attributes; report building and walking with the heap locked.
# Expected payloads by hand from ZCL revision 6 (07-5123) 2.5.7-2.5.11: the reportable
# change is present only for analog types (Table 2-10). Tiers 1 and 2.
from han.zcl import frame as zf
from han.zcl import general as zg
from han.zcl import reporting as zr
from han.zcl import types as zt
from support import NoAllocation, raises

# Configure Reporting records:
#   direction 0, 0x0400 int24 (2A), min 1, max 60 (3C), change 100 (64 00 00);
#   direction 0, 0x0200 bitmap8 (18), min 0, max 3600 (10 0E): discrete, no change;
#   direction 0, 0x0000 uint48 (25), min 10, max 60, change 10 (0A 00 00 00 00 00);
#   direction 1, 0x0000, timeout 600 (58 02).
CONFIG = bytes.fromhex("00" "0004" "2A" "0100" "3C00" "640000"
                       "00" "0002" "18" "0000" "100E"
                       "00" "0000" "25" "0A00" "3C00" "0A0000000000"
                       "01" "0000" "5802")
# Read Reporting Configuration Response: the first, last records as SUCCESS, then
# UNSUPPORTED_ATTRIBUTE (86) for direction 0 attribute 0x0999.
CONFIG_RSP = bytes.fromhex("00" "00" "0004" "2A" "0100" "3C00" "640000"
                           "00" "01" "0000" "5802"
                           "86" "00" "9909")
# Report Attributes: 0x0000 uint48 1234567, 0x0400 int24 -1500, 0x0200 bitmap8 01,
# 0x0300 enum8 00 (kWh), 0x0306 bitmap8 00.
REPORT = bytes.fromhex("0000" "25" "87D612000000" "0004" "2A" "24FAFF" "0002" "18" "01"
                       "0003" "30" "00" "0603" "18" "00")


def test_configure_reporting_built():
    out = bytearray(48)
    p = zr.put_report_config(out, 0, 0x0400, zt.INT24, 1, 60, 100)
    p = zr.put_report_config(out, p, 0x0200, zt.BITMAP8, 0, 3600, 99)   # change dropped
    p = zr.put_report_config(out, p, 0x0000, zt.UINT48, 10, 60, 10)
    p = zr.put_report_timeout(out, p, 0x0000, 600)
    assert bytes(out[:p]) == CONFIG


def test_configure_reporting_parsed():
    rec = zg.AttrRecord()
    got = []
    p, end = 0, len(CONFIG)
    while p < end:
        p = zr.next_config_record(CONFIG, p, end, rec)
        got.append((rec.direction, rec.attr_id, rec.type, rec.min_interval,
                    rec.max_interval, rec.has_change, rec.change, rec.timeout)
                   if rec.direction == 0 else (1, rec.attr_id, rec.timeout))
    assert got == [(0, 0x0400, 0x2A, 1, 60, True, 100, 0),
                   (0, 0x0200, 0x18, 0, 3600, False, 0, 0),
                   (0, 0x0000, 0x25, 10, 60, True, 10, 0),
                   (1, 0x0000, 600)]
    # Record boundaries 11, 19, 33, 38: a cut anywhere else is truncation.
    for cut in (2, 5, 10, 13, 18, 25, 32, 35, 37):
        p = 0
        try:
            while p < cut:
                p = zr.next_config_record(CONFIG, p, cut, rec)
        except ValueError:
            continue
        raise AssertionError("cut at %d accepted" % cut)
    raises(ValueError, zr.next_config_record, bytes.fromhex("0200005802"), 0, 5, rec)
    raises(ValueError, zr.next_config_record,
           bytes.fromhex("00000048" "0100" "3C00"), 0, 8, rec)      # array: unknown


def test_configure_reporting_response():
    out = bytearray(12)
    assert zr.build_config_success(out, 0) == 1 and out[0] == 0
    rec = zg.AttrRecord()
    assert zr.next_config_status(out, 0, 1, rec) == 1
    assert (rec.status, rec.attr_id) == (0, 0xFFFF)
    # UNREPORTABLE_ATTRIBUTE (8C) direction 0 0x0400; INVALID_DATA_TYPE (8D) 0x0000.
    p = zr.put_config_status(out, 0, zg.UNREPORTABLE_ATTRIBUTE, 0, 0x0400)
    p = zr.put_config_status(out, p, zg.INVALID_DATA_TYPE, 0, 0x0000)
    assert bytes(out[:p]) == bytes.fromhex("8C000004" "8D000000")
    assert zr.next_config_status(out, 0, p, rec) == 4
    assert (rec.status, rec.direction, rec.attr_id) == (0x8C, 0, 0x0400)
    assert zr.next_config_status(out, 4, p, rec) == 8 and rec.status == 0x8D
    raises(ValueError, zr.next_config_status, out, 0, 3, rec)


def test_read_reporting_configuration():
    out = bytearray(40)
    p = zr.put_read_config(out, 0, 0, 0x0400)
    p = zr.put_read_config(out, p, 1, 0x0000)
    assert bytes(out[:p]) == bytes.fromhex("000004" "010000")
    rec = zg.AttrRecord()
    assert zr.next_read_config(out, 3, p, rec) == 6 and (rec.direction, rec.attr_id) == (1, 0)
    raises(ValueError, zr.next_read_config, bytes.fromhex("050000"), 0, 3, rec)
    p = zr.put_config_rsp(out, 0, 0x0400, zt.INT24, 1, 60, 100)
    p = zr.put_config_rsp_timeout(out, p, 0x0000, 600)
    p = zr.put_config_rsp_status(out, p, zg.UNSUPPORTED_ATTRIBUTE, 0, 0x0999)
    assert bytes(out[:p]) == CONFIG_RSP
    raises(ValueError, zr.put_config_rsp_status, out, 0, zg.SUCCESS, 0, 1)
    got = []
    q = 0
    while q < p:
        q = zr.next_config_rsp(CONFIG_RSP, q, p, rec)
        got.append((rec.status, rec.direction, rec.attr_id, rec.min_interval,
                    rec.max_interval, rec.change, rec.timeout))
    assert got[0] == (0, 0, 0x0400, 1, 60, 100, 0)
    assert got[1][:3] == (0, 1, 0) and got[1][6] == 600
    assert got[2][:3] == (0x86, 0, 0x0999)
    raises(ValueError, zr.next_config_rsp, CONFIG_RSP, 0, 10, rec)


def test_report_attributes():
    out = bytearray(40)
    p = zr.put_report(out, 0, 0x0000, zt.UINT48, 1234567)
    p = zr.put_report(out, p, 0x0400, zt.INT24, -1500)
    p = zr.put_report(out, p, 0x0200, zt.BITMAP8, 1)
    p = zr.put_report(out, p, 0x0300, zt.ENUM8, 0)
    p = zr.put_report(out, p, 0x0306, zt.BITMAP8, 0)
    assert bytes(out[:p]) == REPORT
    rec = zg.AttrRecord()
    got = []
    q = 0
    while q < p:
        q = zr.next_report_record(REPORT, q, p, rec)
        got.append((rec.attr_id, rec.type, rec.value))
    assert got == [(0, 0x25, 1234567), (0x0400, 0x2A, -1500), (0x0200, 0x18, 1),
                   (0x0300, 0x30, 0), (0x0306, 0x18, 0)]
    raises(ValueError, zr.next_report_record, REPORT, 0, 8, rec)


def _report(h, out, summation, demand, status, utc):
    zf.set_header(h, zf.FT_GLOBAL, zf.TO_CLIENT, 0x21, zg.REPORT_ATTRIBUTES, True)
    p = zf.build(h, out, 0)
    p = zr.put_report(out, p, 0x0000, zt.UINT48, summation)
    p = zr.put_report(out, p, 0x0400, zt.INT24, demand)
    p = zr.put_report(out, p, 0x0200, zt.BITMAP8, status)
    p = zr.put_report_header(out, p, 0x0001, zt.UTC)
    return zt.put(zt.UTC, out, p, utc)


def test_report_building_and_walking_allocate_nothing():
    h = zf.ZclHeader()
    g = zf.ZclHeader()
    rec = zg.AttrRecord()
    out = bytearray(64)
    acc = [0, 0]
    _report(h, out, 1, 1, 0, 1)
    with NoAllocation():
        n = _report(h, out, 1234567, -1500, 1, 789004800)
        p = zf.parse(out, 0, n, g)
        while p < n:
            p = zr.next_report_record(out, p, n, rec)
            acc[0] += rec.value
            acc[1] += 1
        zr.put_report_config(out, n, 0x0400, zt.INT24, 1, 60, 100)
    # 18 = disable DR (10) + to client (08); seq 21; Report Attributes 0A.
    assert bytes(out[:n]) == bytes.fromhex("18210A" "0000" "25" "87D612000000"
                                           "0004" "2A" "24FAFF" "0002" "18" "01"
                                           "0100" "E2" "0042072F")
    assert acc == [1234567 - 1500 + 1 + 789004800, 4]
