# Basic (0x0000) and Identify (0x0003) servers (firmware/han/se/basic.py, identify.py):
# ZCL revision 6 (07-5123) 3.2 and 3.5 over the dispatch of han.zcl. Expected frames by
# hand: a response header 18 = server to client (08) + disable default response (10),
# 19 = the same for a cluster-specific command. Tiers 1 and 2.
from han.se import basic, identify
from han.zcl import frame as zf
from support import NoAllocation, raises


def _ask(server, frame, unicast=True):
    h = zf.ZclHeader()
    p = zf.parse(frame, 0, len(frame), h)
    out = bytearray(100)
    n = server.handle(h, frame, p, len(frame), out, unicast)
    return n if n <= 0 else bytes(out[:n])


def _basic():
    return basic.BasicServer(zcl_version=2, app_version=1, stack_version=2, hw_version=1,
                             manufacturer=b"MPY", model=b"meter-fw", date_code=b"20260101",
                             power_source=basic.POWER_MAINS_3PH, sw_build_id=b"0.1.0")


def test_basic_read_every_attribute():
    s = _basic()
    assert s.cluster_id == 0x0000
    req = bytes.fromhex("00" "01" "00" "0000" "0100" "0200" "0300" "0400" "0500" "0600"
                        "0700" "0040")
    want = bytes.fromhex("18" "01" "01"
                         "0000" "00" "20" "02"          # ZCLVersion uint8 2
                         "0100" "00" "20" "01"          # ApplicationVersion
                         "0200" "00" "20" "02"          # StackVersion
                         "0300" "00" "20" "01"          # HWVersion
                         "0400" "00" "42" "03" "4D5059"                 # "MPY"
                         "0500" "00" "42" "08" "6D657465722D6677"       # "meter-fw"
                         "0600" "00" "42" "08" "3230323630313031"       # "20260101"
                         "0700" "00" "30" "02"          # PowerSource enum8: 3-phase mains
                         "0040" "00" "42" "05" "302E312E30")            # "0.1.0"
    assert _ask(s, req) == want


def test_basic_is_read_only_and_has_no_commands():
    s = _basic()
    # Write ManufacturerName: READ_ONLY (88) for attribute 0x0004.
    req = bytes.fromhex("00" "02" "02" "0400" "42" "01" "41")
    assert _ask(s, req) == bytes.fromhex("18" "02" "04" "88" "0400")
    # Reset to Factory Defaults (cluster command 00): UNSUP_CLUSTER_COMMAND (81), even
    # with default responses disabled (an error); nothing to a broadcast.
    assert _ask(s, bytes.fromhex("11" "03" "00")) == bytes.fromhex("18" "03" "0B" "0081")
    assert _ask(s, bytes.fromhex("11" "03" "00"), unicast=False) == 0
    # Frames travelling server -> client (a response) and reporting commands are not
    # this server's: -1, the node routes them elsewhere.
    assert _ask(s, bytes.fromhex("18" "04" "01" "0000" "00" "20" "02")) == -1
    assert _ask(s, bytes.fromhex("00" "05" "06" "00" "0000" "20" "0100" "0A00" "01")) == -1
    # Unknown attribute: UNSUPPORTED_ATTRIBUTE (86).
    assert _ask(s, bytes.fromhex("00" "06" "00" "0800")) == bytes.fromhex("18060108" "0086")


def test_basic_refuses_bad_configuration():
    raises(ValueError, basic.BasicServer, manufacturer=b"x" * 33)
    raises(ValueError, basic.BasicServer, date_code=b"x" * 17)
    raises(ValueError, basic.BasicServer, hw_version=256)


def test_basic_numeric_read_allocates_nothing():
    s = _basic()
    req = bytes.fromhex("00" "07" "00" "0000" "0300" "0700")
    h = zf.ZclHeader()
    out = bytearray(64)
    res = [0, 0]
    p = zf.parse(req, 0, len(req), h)
    s.handle(h, req, p, len(req), out, True)
    with NoAllocation():
        res[0] = zf.parse(req, 0, len(req), h)
        res[1] = s.handle(h, req, res[0], len(req), out, True)
    assert bytes(out[:res[1]]) == bytes.fromhex("180701" "0000" "00" "20" "02"
                                                "0300" "00" "20" "01" "0700" "00" "30" "02")


class _Clock:
    def __init__(self):
        self.t = 100

    def __call__(self):
        return self.t


def test_identify_command_query_and_countdown():
    clk = _Clock()
    seen = []
    s = identify.IdentifyServer(clk, seen.append)
    assert s.cluster_id == 0x0003
    # Identify for 60 s (0x003C): Default Response SUCCESS to command 00.
    assert _ask(s, bytes.fromhex("01" "10" "00" "3C00")) == bytes.fromhex("18" "10" "0B" "0000")
    assert seen == [60]
    clk.t = 130
    # IdentifyTime uint16 (21) counts down: 30 = 0x001E.
    assert _ask(s, bytes.fromhex("00" "11" "00" "0000")) == bytes.fromhex(
        "18" "11" "01" "0000" "00" "21" "1E00")
    # Identify Query: Identify Query Response (cluster command 00, server -> client) with
    # the time left; header 19 = cluster-specific (01) + to client (08) + DDR (10).
    assert _ask(s, bytes.fromhex("01" "12" "01")) == bytes.fromhex("19" "12" "00" "1E00")
    # The same query broadcast is answered too (a specific response, not a Default one).
    assert _ask(s, bytes.fromhex("01" "12" "01"), unicast=False) == bytes.fromhex("19" "12" "00" "1E00")
    clk.t = 160
    # Done identifying: the query gets nothing (3.5.2.3.2), IdentifyTime reads 0.
    assert _ask(s, bytes.fromhex("01" "13" "01")) == 0
    assert s.remaining() == 0


def test_identify_write_stop_and_errors():
    clk = _Clock()
    seen = []
    s = identify.IdentifyServer(clk, seen.append)
    # Writing IdentifyTime 10 starts identifying: the lone SUCCESS octet.
    assert _ask(s, bytes.fromhex("00" "20" "02" "0000" "21" "0A00")) == bytes.fromhex("182004" "00")
    assert s.remaining() == 10 and seen == [10]
    # Identify 0 with default responses disabled: stops, and success is not answered.
    assert _ask(s, bytes.fromhex("11" "21" "00" "0000")) == 0
    assert s.remaining() == 0 and seen == [10, 0]
    # Identify with one octet of payload: MALFORMED_COMMAND (80).
    assert _ask(s, bytes.fromhex("01" "22" "00" "05")) == bytes.fromhex("18" "22" "0B" "0080")
    # Trigger Effect (40) is not supported: UNSUP_CLUSTER_COMMAND (81).
    assert _ask(s, bytes.fromhex("01" "23" "40" "0000")) == bytes.fromhex("18" "23" "0B" "4081")
    # A manufacturer-specific cluster command: UNSUP_MANUF_CLUSTER_COMMAND (83), the
    # manufacturer code echoed (1C = manufacturer 04 + to client 08 + DDR 10).
    assert _ask(s, bytes.fromhex("05" "3412" "24" "00" "0A00")) == bytes.fromhex(
        "1C" "3412" "24" "0B" "0083")
    # An Identify Query Response reaching the server side is not its own: -1.
    assert _ask(s, bytes.fromhex("19" "25" "00" "0A00")) == -1
