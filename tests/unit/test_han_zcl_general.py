# ZCL general commands (firmware/han/zcl/general.py): Read Attributes and its response,
# Write Attributes (three forms) and its response, Default Response, Discover Attributes
# and its response. Expected payloads by hand from ZCL revision 6 (07-5123) 2.5.1-2.5.6,
# 2.5.12-2.5.14 and Table 2-10 type ids. Tiers 1 and 2.
from han.zcl import general as zg
from han.zcl import types as zt
from support import NoAllocation, lcg_bytes, raises

# Read Attributes of Metering 0x0000 (CurrentSummationDelivered), 0x0400
# (InstantaneousDemand): 0000 0004.
READ_REQ = bytes.fromhex("0000" "0004")
# Its response: 0x0000 SUCCESS uint48 (25) 1234567 = 0x12D687; 0x0400 SUCCESS int24 (2A)
# -1500 = 0xFFFA24; 0x0300 SUCCESS enum8 (30) 0 (kWh); 0x0999 UNSUPPORTED_ATTRIBUTE (86);
# Basic 0x0005 SUCCESS character string (42) "HUB" = 03 48 55 42.
READ_RSP = bytes.fromhex("0000" "00" "25" "87D612000000"
                         "0004" "00" "2A" "24FAFF"
                         "0003" "00" "30" "00"
                         "9909" "86"
                         "0500" "00" "42" "03485542")
# Write Attributes of Time: 0x0000 Time UTC (E2) 789004800 = 0x2F074200; 0x0002
# TimeZone int32 (2B) 3600 = 0x0E10.
WRITE_REQ = bytes.fromhex("0000" "E2" "0042072F" "0200" "2B" "100E0000")


def test_read_attributes_request():
    out = bytearray(8)
    assert zg.build_read_attributes(out, 1, [0x0000, 0x0400]) == 5
    assert bytes(out[1:5]) == READ_REQ
    assert zg.read_request_count(READ_REQ, 0, 4) == 2
    assert [zg.read_request_id(READ_REQ, 0, i) for i in range(2)] == [0x0000, 0x0400]
    raises(ValueError, zg.read_request_count, READ_REQ, 0, 3)     # half an id
    raises(ValueError, zg.read_request_count, READ_REQ, 0, 5)     # beyond the buffer
    raises(ValueError, zg.build_read_attributes, bytearray(3), 0, [1, 2])


def test_read_attributes_response_built():
    out = bytearray(40)
    p = zg.put_read_value(out, 0, 0x0000, zt.UINT48, 1234567)
    p = zg.put_read_value(out, p, 0x0400, zt.INT24, -1500)
    p = zg.put_read_value(out, p, 0x0300, zt.ENUM8, 0)
    p = zg.put_read_status(out, p, 0x0999, zg.UNSUPPORTED_ATTRIBUTE)
    p = zt.put_str(zt.CHAR_STR, out, zg.put_read_header(out, p, 0x0005, zt.CHAR_STR), b"HUB")
    assert bytes(out[:p]) == READ_RSP
    raises(ValueError, zg.put_read_status, out, 0, 1, zg.SUCCESS)


def test_read_attributes_response_parsed():
    rec = zg.AttrRecord()
    got = []
    p, end = 0, len(READ_RSP)
    while p < end:
        p = zg.next_read_record(READ_RSP, p, end, rec)
        got.append((rec.attr_id, rec.status, rec.type, rec.value))
    assert got == [(0x0000, 0, 0x25, 1234567), (0x0400, 0, 0x2A, -1500),
                   (0x0300, 0, 0x30, 0), (0x0999, 0x86, 0, 0), (0x0005, 0, 0x42, 0)]
    assert (rec.value_off, rec.value_end) == (end - 4, end)
    assert zt.str_len(rec.type, READ_RSP, rec.value_off, end) == 3
    # Every cut inside a record is truncation.
    for cut in (1, 2, 4, 9, 11, 15, 18, 23, 26, 27, 29, 32):
        p = 0
        try:
            while p < cut:
                p = zg.next_read_record(READ_RSP, p, cut, rec)
        except ValueError:
            continue
        raise AssertionError("cut at %d accepted" % cut)
    # A type we cannot walk (array 0x48) is refused, not skipped.
    raises(ValueError, zg.next_read_record, bytes.fromhex("00000048020000"), 0, 7, rec)


def test_write_attributes_and_response():
    out = bytearray(16)
    p = zg.put_attr_value(out, 0, 0x0000, zt.UTC, 789004800)
    p = zg.put_attr_value(out, p, 0x0002, zt.INT32, 3600)
    assert bytes(out[:p]) == WRITE_REQ
    rec = zg.AttrRecord()
    assert zg.next_attr_record(WRITE_REQ, 0, p, rec) == 7
    assert (rec.attr_id, rec.type, rec.value) == (0, zt.UTC, 789004800)
    assert zg.next_attr_record(WRITE_REQ, 7, p, rec) == p
    assert (rec.attr_id, rec.type, rec.value) == (2, zt.INT32, 3600)
    raises(ValueError, zg.next_attr_record, WRITE_REQ, 7, p - 1, rec)
    # Octet string record: 0x0010 (Basic LocationDescription) char string "" = 10 00 42 00.
    assert zg.put_attr_str(out, 0, 0x0010, zt.CHAR_STR, b"") == 4
    assert bytes(out[:4]) == bytes.fromhex("10004200")
    # Response: all written = one SUCCESS octet; otherwise status + id per failure:
    # READ_ONLY 0x0000 -> 88 0000, UNSUPPORTED 0x0005 -> 86 0500.
    assert zg.build_write_success(out, 0) == 1 and out[0] == 0
    assert zg.next_write_status(out, 0, 1, rec) == 1
    assert (rec.status, rec.attr_id) == (0, 0xFFFF)
    p = zg.put_write_status(out, 0, zg.READ_ONLY, 0x0000)
    p = zg.put_write_status(out, p, zg.UNSUPPORTED_ATTRIBUTE, 0x0005)
    assert bytes(out[:p]) == bytes.fromhex("880000" "860500")
    assert zg.next_write_status(out, 0, p, rec) == 3 and (rec.status, rec.attr_id) == (0x88, 0)
    assert zg.next_write_status(out, 3, p, rec) == 6 and (rec.status, rec.attr_id) == (0x86, 5)
    raises(ValueError, zg.next_write_status, out, 0, 2, rec)
    assert (zg.WRITE_ATTRIBUTES, zg.WRITE_ATTRIBUTES_UNDIVIDED, zg.WRITE_ATTRIBUTES_RSP,
            zg.WRITE_ATTRIBUTES_NO_RSP) == (2, 3, 4, 5)


def test_default_response():
    out = bytearray(4)
    assert zg.build_default_response(out, 1, zg.WRITE_ATTRIBUTES, zg.SUCCESS) == 3
    assert bytes(out[1:3]) == bytes.fromhex("0200")
    rec = zg.AttrRecord()
    assert zg.parse_default_response(bytes.fromhex("0081"), 0, 2, rec) == 2
    assert (rec.command, rec.status) == (0, zg.UNSUP_CLUSTER_COMMAND)
    raises(ValueError, zg.parse_default_response, bytes.fromhex("00"), 0, 1, rec)
    raises(ValueError, zg.parse_default_response, bytes.fromhex("008100"), 0, 3, rec)
    # 2.5.12.2: errors are always answered, successes unless disabled; never broadcasts,
    # a Default Response, or a command that got its own response.
    need = zg.default_response_needed
    assert need(False, True, False, zg.SUCCESS, False)
    assert not need(True, True, False, zg.SUCCESS, False)
    assert need(True, True, False, zg.UNSUP_CLUSTER_COMMAND, False)
    assert not need(False, False, False, zg.FAILURE, False)
    assert not need(False, True, True, zg.FAILURE, False)
    assert not need(False, True, False, zg.SUCCESS, True)


def test_discover_attributes():
    out = bytearray(16)
    assert zg.build_discover_attributes(out, 0, 0x0000, 5) == 3
    assert bytes(out[:3]) == bytes.fromhex("000005")
    rec = zg.AttrRecord()
    zg.parse_discover_attributes(bytes.fromhex("000405"), 0, 3, rec)
    assert (rec.attr_id, rec.value) == (0x0400, 5)
    raises(ValueError, zg.parse_discover_attributes, bytes.fromhex("0004"), 0, 2, rec)
    raises(ValueError, zg.parse_discover_attributes, bytes.fromhex("00040500"), 0, 4, rec)
    # Response, complete: 01 | 0000 uint48 | 0004 int24 | 0002 bitmap8.
    p = zg.put_discover_complete(out, 0, True)
    p = zg.put_discover_record(out, p, 0x0000, zt.UINT48)
    p = zg.put_discover_record(out, p, 0x0400, zt.INT24)
    p = zg.put_discover_record(out, p, 0x0200, zt.BITMAP8)
    want = bytes.fromhex("01" "000025" "00042A" "000218")
    assert bytes(out[:p]) == want
    assert zg.discover_complete(want, 0, p)
    got = []
    q = 1
    while q < p:
        q = zg.next_discover_record(want, q, p, rec)
        got.append((rec.attr_id, rec.type))
    assert got == [(0, 0x25), (0x0400, 0x2A), (0x0200, 0x18)]
    raises(ValueError, zg.next_discover_record, want, 7, 9, rec)
    raises(ValueError, zg.discover_complete, bytes.fromhex("02"), 0, 1)
    assert not zg.discover_complete(bytes.fromhex("00"), 0, 1)


def test_status_codes_table_2_12():
    assert (zg.UNSUPPORTED_ATTRIBUTE, zg.INVALID_VALUE, zg.READ_ONLY,
            zg.UNREPORTABLE_ATTRIBUTE, zg.INVALID_DATA_TYPE, zg.MALFORMED_COMMAND,
            zg.UNSUP_GENERAL_COMMAND) == (0x86, 0x87, 0x88, 0x8C, 0x8D, 0x80, 0x82)


def test_walkers_on_garbage_raise_only_valueerror():
    rec = zg.AttrRecord()
    data = lcg_bytes(600, seed=5)
    for start in range(0, 580, 7):
        for walker in (zg.next_read_record, zg.next_attr_record, zg.next_write_status,
                       zg.next_discover_record):
            p, end = start, start + 20
            try:
                while p < end:
                    p = walker(data, p, end, rec)
            except ValueError:
                pass


def test_read_response_walk_allocates_nothing():
    rec = zg.AttrRecord()
    acc = [0]
    zg.next_read_record(READ_RSP, 0, len(READ_RSP), rec)
    with NoAllocation():
        p, end = 0, len(READ_RSP)
        while p < end:
            p = zg.next_read_record(READ_RSP, p, end, rec)
            acc[0] += rec.attr_id
    assert acc[0] == 0x0400 + 0x0300 + 0x0999 + 0x0005
