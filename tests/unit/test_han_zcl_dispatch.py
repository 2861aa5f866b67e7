# Attribute table dispatch (firmware/han/zcl/dispatch.py): Read, Write (three forms) and
# Discover Attributes answered from a declared table, with the statuses of ZCL revision 6
# (07-5123) 2.5.2-2.5.6 / 2.6.3 and the Default Response rules of 2.5.12.2. Expected
# response frames by hand: header 18 = server to client (08) + disable default response
# (10), the request's sequence number, the response command id. Tiers 1 and 2.
from han.zcl import dispatch as zd
from han.zcl import frame as zf
from han.zcl import general as zg
from han.zcl import types as zt
from support import NoAllocation

_state = {"summation": 1234567, "demand": -1500}


def _location(value, commit):
    if value is not None and len(value) > 16:
        return zg.INVALID_VALUE
    if commit:
        _state["location"] = value
    return zg.SUCCESS


def _table():
    return zd.AttrTable([
        zd.Attr(0x0400, zt.INT24, zd.READ | zd.REPORT, getter=lambda: _state["demand"]),
        zd.Attr(0x0000, zt.UINT48, zd.READ | zd.REPORT,
                getter=lambda: _state["summation"]),
        zd.Attr(0x0300, zt.ENUM8, zd.READ, value=0),
        zd.Attr(0x0002, zt.INT32, zd.READ | zd.WRITE, value=0),
        zd.Attr(0x0010, zt.CHAR_STR, zd.READ | zd.WRITE, setter=_location, value=b"HUB"),
        zd.Attr(0x0100, zt.UINT8, zd.WRITE, value=0),
    ])


def _ask(table, frame, unicast=True):
    h = zf.ZclHeader()
    rh = zf.ZclHeader()
    p = zf.parse(frame, 0, len(frame), h)
    out = bytearray(80)
    n = zd.respond(table, h, frame, p, len(frame), out, unicast, rh)
    return n if n <= 0 else bytes(out[:n])


def test_read_attributes():
    t = _table()
    t.find(0x0010).value = b"HUB"
    req = bytes.fromhex("00" "21" "00" "0000" "0004" "9909" "0001" "1000")
    # 0x0000 uint48 1234567 | 0x0400 int24 -1500 | 0x0999 UNSUPPORTED_ATTRIBUTE |
    # 0x0100 (write only) WRITE_ONLY 8F | 0x0010 char string "HUB" (via getter-less value).
    want = bytes.fromhex("18" "21" "01" "0000" "00" "25" "87D612000000"
                         "0004" "00" "2A" "24FAFF" "9909" "86" "0001" "8F"
                         "1000" "00" "42" "03485542")
    assert _ask(t, req) == want
    # The same request broadcast still gets its response (only Default Responses are
    # withheld from broadcasts).
    assert _ask(t, req, unicast=False) == want


def test_read_response_limited_to_buffer():
    t = _table()
    h = zf.ZclHeader()
    rh = zf.ZclHeader()
    req = bytes.fromhex("00" "22" "00" "0000" "0004")
    p = zf.parse(req, 0, len(req), h)
    out = bytearray(3 + 10 + 6)   # room for the first record, not the second (7)
    n = zd.respond(t, h, req, p, len(req), out, True, rh)
    assert bytes(out[:n]) == bytes.fromhex("182201" "0000" "00" "25" "87D612000000")


def test_write_attributes_statuses():
    t = _table()
    # 0x0002 int32 3600 (ok) | 0x0300 enum8 1 (READ_ONLY 88) | 0x0999 uint8 (UNSUPPORTED
    # 86) | 0x0010 as uint8 (INVALID_DATA_TYPE 8D).
    req = bytes.fromhex("00" "30" "02" "0200" "2B" "100E0000" "0003" "30" "01"
                        "9909" "20" "05" "1000" "20" "07")
    assert _ask(t, req) == bytes.fromhex("18" "30" "04" "880003" "869909" "8D1000")
    assert t.find(0x0002).value == 3600 and t.find(0x0300).value == 0
    # A setter refusing the value: INVALID_VALUE 87 for a 17-octet location.
    req = bytes.fromhex("00" "31" "02" "1000" "42" "11") + b"A" * 17
    assert _ask(t, req) == bytes.fromhex("18" "31" "04" "871000")
    # All written: the lone SUCCESS octet.
    req = bytes.fromhex("00" "32" "02" "1000" "42" "07") + b"Kitchen"
    assert _ask(t, req) == bytes.fromhex("18" "32" "04" "00")
    assert _state["location"] == b"Kitchen"


def test_write_undivided_and_no_response():
    t = _table()
    # One bad record: nothing is written, the failure is listed, response id 04.
    req = bytes.fromhex("00" "40" "03" "0200" "2B" "100E0000" "0003" "30" "01")
    assert _ask(t, req) == bytes.fromhex("18" "40" "04" "880003")
    assert t.find(0x0002).value == 0
    req = bytes.fromhex("00" "41" "03" "0200" "2B" "100E0000" "0001" "20" "09")
    assert _ask(t, req) == bytes.fromhex("18" "41" "04" "00")
    assert (t.find(0x0002).value, t.find(0x0100).value) == (3600, 9)
    # No Response: written, nothing sent.
    req = bytes.fromhex("00" "42" "05" "0200" "2B" "F1FFFFFF")
    assert _ask(t, req) == 0 and t.find(0x0002).value == -15


def test_discover_attributes():
    t = _table()
    # From 0x0000, at most 3: 0000 uint48, 0002 int32, 0010 char string; more follow.
    req = bytes.fromhex("00" "50" "0C" "0000" "03")
    assert _ask(t, req) == bytes.fromhex("18" "50" "0D" "00" "000025" "02002B" "100042")
    # From 0x0300: 0300 enum8, 0400 int24 and nothing after: complete.
    req = bytes.fromhex("00" "51" "0C" "0003" "0A")
    assert _ask(t, req) == bytes.fromhex("18" "51" "0D" "01" "000330" "00042A")


def test_default_responses():
    t = _table()
    # Malformed Read Attributes (half an id): Default Response MALFORMED_COMMAND (80)
    # for command 00, even with default responses disabled; none for a broadcast.
    req = bytes.fromhex("10" "60" "00" "000004")
    assert _ask(t, req) == bytes.fromhex("18" "60" "0B" "0080")
    assert _ask(t, req, unicast=False) == 0
    # A truncated Write Attributes record: nothing written, MALFORMED_COMMAND.
    req = bytes.fromhex("00" "61" "02" "0200" "2B" "100E0000" "0001" "20")
    assert _ask(t, req) == bytes.fromhex("18" "61" "0B" "0280")
    assert t.find(0x0002).value == 0
    # Manufacturer-specific general command: UNSUP_MANUF_GENERAL_COMMAND (84), with the
    # manufacturer code echoed: 1C = manufacturer (04) + to client (08) + disable DR.
    req = bytes.fromhex("04" "3412" "62" "00" "0000")
    assert _ask(t, req) == bytes.fromhex("1C" "3412" "62" "0B" "0084")
    # Not ours: Report Attributes, cluster-specific commands.
    assert _ask(t, bytes.fromhex("18630A000020" "05")) == -1
    assert _ask(t, bytes.fromhex("016400")) == -1


def test_read_answer_allocates_nothing():
    t = _table()
    h = zf.ZclHeader()
    rh = zf.ZclHeader()
    req = bytes.fromhex("00" "70" "00" "0000" "0004" "0003" "9909")
    out = bytearray(64)
    res = [0, 0]
    p = zf.parse(req, 0, len(req), h)
    zd.respond(t, h, req, p, len(req), out, True, rh)
    _state["summation"] = 7654321
    with NoAllocation():
        res[0] = zf.parse(req, 0, len(req), h)
        res[1] = zd.respond(t, h, req, res[0], len(req), out, True, rh)
    # 7654321 = 0x74CBB1.
    assert bytes(out[:res[1]]) == bytes.fromhex("18" "70" "01" "0000" "00" "25" "B1CB74000000"
                                                "0004" "00" "2A" "24FAFF" "0003" "00" "30" "00"
                                                "9909" "86")
    _state["summation"] = 1234567
