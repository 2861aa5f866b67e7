# ZCL frame header (firmware/han/zcl/frame.py). Expected octets by hand from ZCL
# revision 6 (07-5123) 2.4.1: frame control bits 0-1 frame type, 2 manufacturer
# specific, 3 direction (1 = server to client), 4 disable default response; the
# manufacturer code little endian; then sequence number and command id. Tiers 1 and 2.
from han.zcl import frame as zf
from support import NoAllocation, lcg_bytes, raises


def test_build_global_to_server():
    h = zf.ZclHeader()
    zf.set_header(h, zf.FT_GLOBAL, zf.TO_SERVER, 0x01, 0x00)
    out = bytearray(8)
    assert zf.build(h, out, 2) == 5
    assert bytes(out[2:5]) == bytes.fromhex("000100")


def test_build_cluster_specific_to_client_manufacturer():
    h = zf.ZclHeader()
    # Cluster specific (1) + manufacturer (04) + to client (08) + disable DR (10) = 1D.
    zf.set_header(h, zf.FT_CLUSTER, zf.TO_CLIENT, 0x7F, 0x30, True, 0x1234)
    out = bytearray(5)
    assert zf.build(h, out, 0) == 5 and h.header_len == 5
    assert bytes(out) == bytes.fromhex("1D34127F30")


def test_parse():
    h = zf.ZclHeader()
    buf = bytes.fromhex("AA" "18" "05" "0B" "0200")
    assert zf.parse(buf, 1, len(buf), h) == 4
    assert (h.frame_type, h.manuf_specific, h.direction, h.disable_default_rsp,
            h.seq, h.command, h.header_len) == (zf.FT_GLOBAL, False, zf.TO_CLIENT, True,
                                                5, 0x0B, 3)
    buf = bytes.fromhex("0D3412" "7F" "00")
    assert zf.parse(buf, 0, 5, h) == 5
    assert (h.frame_type, h.manuf_specific, h.manuf_code, h.direction,
            h.disable_default_rsp, h.seq, h.command) == (zf.FT_CLUSTER, True, 0x1234,
                                                         zf.TO_CLIENT, False, 0x7F, 0)
    # Reserved bits 5-7 are ignored (E0 | 01 = cluster specific, to server).
    assert zf.parse(bytes.fromhex("E10203"), 0, 3, h) == 3
    assert h.frame_type == zf.FT_CLUSTER and h.seq == 2 and h.command == 3


def test_malformed_headers_refused():
    h = zf.ZclHeader()
    for hexs in ("", "00", "0001", "040100", "04341201"):   # truncated
        b = bytes.fromhex(hexs)
        raises(ValueError, zf.parse, b, 0, len(b), h)
    raises(ValueError, zf.parse, bytes.fromhex("020100"), 0, 3, h)  # frame type 2
    raises(ValueError, zf.parse, bytes.fromhex("030100"), 0, 3, h)  # frame type 3
    raises(ValueError, zf.parse, bytes.fromhex("000100"), 0, 4, h)  # end beyond buffer
    raises(ValueError, zf.parse, bytes.fromhex("000100"), 2, 1, h)
    h.frame_type = 2
    raises(ValueError, zf.build, h, bytearray(8), 0)
    zf.set_header(h, zf.FT_GLOBAL, zf.TO_SERVER, 1, 0, manuf_code=0x1000)
    raises(ValueError, zf.build, h, bytearray(6), 2)               # needs 5 octets
    h.seq = 256
    raises(ValueError, zf.build, h, bytearray(8), 0)


def test_garbage_only_raises_valueerror():
    h = zf.ZclHeader()
    data = lcg_bytes(400, seed=12)
    for i in range(0, 396, 3):
        for n in range(0, 6):
            try:
                zf.parse(data, i, i + n, h)
            except ValueError:
                pass


def test_header_round_trip_allocates_nothing():
    h = zf.ZclHeader()
    g = zf.ZclHeader()
    out = bytearray(8)
    zf.set_header(h, zf.FT_CLUSTER, zf.TO_CLIENT, 9, 0x00, False, 0x10DC)
    zf.build(h, out, 0)
    zf.parse(out, 0, 5, g)
    with NoAllocation():
        zf.set_header(h, zf.FT_CLUSTER, zf.TO_CLIENT, 10, 0x01, True, 0x10DC)
        n = zf.build(h, out, 1)
        p = zf.parse(out, 1, n, g)
    assert n == 6 and p == 6
    assert (g.seq, g.command, g.manuf_code, g.disable_default_rsp) == (10, 1, 0x10DC, True)
