# ZDO codec, second part (firmware/han/zdo/addr.py, nodedesc.py, bind.py): NWK_addr and
# IEEE_addr requests and responses (single and extended), the node descriptor and
# Node_Desc, Bind/Unbind with group and extended destinations, the status-only responses.
# Expected octets written by hand from ZigBee spec 05-3474 2.3.2.3, 2.4.3 and 2.4.4
# (seq first, little endian, extended addresses reversed on air). Tiers 1 and 2.
from han.zdo import addr as za
from han.zdo import bind as zb
from han.zdo import nodedesc as zn
from support import lcg_bytes, raises

IEEE = bytes.fromhex("000D6F000A0B0C0D")   # on air 0D0C0B0A006F0D00
IEEE2 = bytes.fromhex("0004A30B00000002")  # on air 020000000BA30400

# NWK_addr_req: seq 21 | IEEEAddr | RequestType 01 (extended) | StartIndex 00.
NWK_REQ = bytes.fromhex("21" "0D0C0B0A006F0D00" "01" "00")
# IEEE_addr_req: seq 22 | NWKAddrOfInterest 796F | RequestType 00 | StartIndex 00.
IEEE_REQ = bytes.fromhex("22" "6F79" "00" "00")
# NWK_addr_rsp single: seq 21 | SUCCESS | IEEE | NWK 0000.
RSP_SINGLE = bytes.fromhex("21" "00" "0D0C0B0A006F0D00" "0000")
# Extended, three associated devices from index 1: NumAssocDev 03 | StartIndex 01 |
# 0002 0003 1A2B.
RSP_EXT = bytes.fromhex("21" "00" "0D0C0B0A006F0D00" "0000" "03" "01" "0200" "0300" "2B1A")
# Extended with no associated device: NumAssocDev 00, no StartIndex, no list.
RSP_EXT_EMPTY = bytes.fromhex("21" "00" "0D0C0B0A006F0D00" "0000" "00")
# Failed: seq 22 | DEVICE_NOT_FOUND 81 | IEEE FF..FF | NWK 796F.
RSP_FAIL = bytes.fromhex("22" "81" "FFFFFFFFFFFFFFFF" "6F79")

# Node descriptor of a coordinator: octet 0 logical type 0, no complex/user descriptor;
# octet 1 frequency band 2400 MHz (bit 6) = 40; MAC capability 8F (allocate, rx on,
# mains, FFD, alternate PAN coordinator); manufacturer 1234 -> 34 12; max buffer 52;
# max incoming 0052 -> 52 00; server mask primary TC (bit 0) + network manager (bit 6) +
# revision 22 in bits 9-15 (22 * 512 = 0x2C00) = 2C41 -> 41 2C; max outgoing 0052;
# descriptor capability 00.
ND_COORD = (0, False, False, zn.BAND_2400, 0x8F, 0x1234, 0x52, 0x52, 0x2C41, 0x52, 0)
ND_COORD_BYTES = bytes.fromhex("00" "40" "8F" "3412" "52" "5200" "412C" "5200" "00")
# A sleepy end device: logical 2 + user descriptor (bit 4) = 12; band 868 (bit 3) +
# 2400 (bit 6) = 48; capability 80; manufacturer 10DC; buffer 50; in 00A0; mask revision
# 21 only (0x2A00); out 0080; descriptor capability 03 (extended lists).
ND_ED = (2, False, True, zn.BAND_868 | zn.BAND_2400, 0x80, 0x10DC, 0x50, 0xA0, 0x2A00,
         0x80, 3)
ND_ED_BYTES = bytes.fromhex("12" "48" "80" "DC10" "50" "A000" "002A" "8000" "03")
# Node_Desc_req: seq 40 | NWK 0000. Node_Desc_rsp: seq 40 | 00 | NWK 0000 | descriptor.
ND_REQ = bytes.fromhex("40" "0000")
ND_RSP = bytes.fromhex("40" "00" "0000") + ND_COORD_BYTES
# Failed: seq 41 | NO_DESCRIPTOR 89 | NWK 0001, no descriptor.
ND_RSP_FAIL = bytes.fromhex("41" "89" "0100")

# Bind_req, extended destination: seq 30 | SrcAddress | SrcEndp 01 | ClusterID 0702 ->
# 02 07 | DstAddrMode 03 | DstAddress | DstEndp 0A.
BIND_EXT = bytes.fromhex("30" "0D0C0B0A006F0D00" "01" "0207" "03" "020000000BA30400" "0A")
# Bind_req, group destination: seq 31 | SrcAddress | 01 | ClusterID 0006 | 01 | 1234.
BIND_GROUP = bytes.fromhex("31" "0D0C0B0A006F0D00" "01" "0600" "01" "3412")


def _built(fn, *args):
    out = bytearray(96)
    return bytes(out[:fn(out, *args)])


def _truncations_raise(parse, frame):
    for k in range(len(frame)):
        raises(ValueError, parse, frame[:k])
        raises(ValueError, parse, bytearray(frame), k)


def test_cluster_and_status_values():
    assert (za.NWK_ADDR_RSP, za.IEEE_ADDR_RSP, zn.NODE_DESC_RSP) == (0x8000, 0x8001, 0x8002)
    assert (zb.BIND_RSP, zb.UNBIND_RSP) == (0x8021, 0x8022)
    assert (zb.MGMT_LEAVE_RSP, zb.MGMT_PERMIT_JOINING_RSP) == (0x8034, 0x8036)
    assert (zb.NOT_SUPPORTED, zb.NO_ENTRY, zn.NO_DESCRIPTOR, zb.TABLE_FULL) == (
        0x84, 0x88, 0x89, 0x8C)


def test_addr_requests():
    assert _built(za.build_nwk_addr_req, 0x21, IEEE, za.REQ_EXTENDED, 0) == NWK_REQ
    assert za.parse_nwk_addr_req(NWK_REQ) == (0x21, IEEE, 1, 0)
    assert _built(za.build_ieee_addr_req, 0x22, 0x796F) == IEEE_REQ
    assert za.parse_ieee_addr_req(IEEE_REQ) == (0x22, 0x796F, 0, 0)
    _truncations_raise(za.parse_nwk_addr_req, NWK_REQ)
    _truncations_raise(za.parse_ieee_addr_req, IEEE_REQ)


def test_addr_responses():
    assert _built(za.build_addr_rsp, 0x21, 0, IEEE, 0) == RSP_SINGLE
    assert za.parse_addr_rsp(RSP_SINGLE) == (0x21, 0, IEEE, 0, 0, None)
    assert _built(za.build_addr_rsp, 0x21, 0, IEEE, 0, [2, 3, 0x1A2B], 1) == RSP_EXT
    assert za.parse_addr_rsp(RSP_EXT) == (0x21, 0, IEEE, 0, 1, [2, 3, 0x1A2B])
    assert _built(za.build_addr_rsp, 0x21, 0, IEEE, 0, [], 5) == RSP_EXT_EMPTY
    assert za.parse_addr_rsp(RSP_EXT_EMPTY) == (0x21, 0, IEEE, 0, 0, [])
    assert _built(za.build_addr_rsp, 0x22, 0x81, b"\xff" * 8, 0x796F) == RSP_FAIL
    assert za.parse_ieee_addr_rsp(RSP_FAIL) == (0x22, 0x81, b"\xff" * 8, 0x796F, 0, None)
    _truncations_raise(za.parse_addr_rsp, RSP_SINGLE)
    # RSP_EXT cut right after the NWK address is a valid single-device response; every
    # other cut is truncated (NumAssocDev 3 needs StartIndex and three addresses).
    for k in range(len(RSP_EXT)):
        if k != 12:
            raises(ValueError, za.parse_addr_rsp, RSP_EXT[:k])
    # NumAssocDev 3 with only two addresses is inconsistent.
    raises(ValueError, za.parse_addr_rsp, RSP_EXT[:-2])
    # The list is capped to what fits one APS payload.
    raises(ValueError, za.build_addr_rsp, bytearray(128), 1, 0, IEEE, 0, [1] * 33)
    assert len(_built(za.build_addr_rsp, 1, 0, IEEE, 0, list(range(32)))) == 14 + 64


def test_node_descriptor():
    assert _built(zn.build_node_desc_rsp, 0x40, 0, 0, ND_COORD) == ND_RSP
    assert zn.parse_node_desc_rsp(ND_RSP) == (0x40, 0, 0, ND_COORD)
    out = bytearray(13)
    assert zn.build_node_desc(out, 0, ND_ED) == 13 and bytes(out) == ND_ED_BYTES
    assert zn.parse_node_desc(ND_ED_BYTES, 0, 13) == ND_ED
    assert _built(zn.build_node_desc_req, 0x40, 0) == ND_REQ
    assert zn.parse_node_desc_req(ND_REQ) == (0x40, 0)
    assert _built(zn.build_node_desc_rsp, 0x41, 0x89, 1, None) == ND_RSP_FAIL
    assert zn.parse_node_desc_rsp(ND_RSP_FAIL) == (0x41, 0x89, 1, None)
    _truncations_raise(zn.parse_node_desc_rsp, ND_RSP)
    _truncations_raise(zn.parse_node_desc_req, ND_REQ)
    # Reserved bits 5-7 of octet 0 and the APS flags are ignored on receipt.
    b = bytearray(ND_RSP)
    b[4] |= 0xE0
    b[5] |= 0x07
    assert zn.parse_node_desc_rsp(b)[3] == ND_COORD


def test_server_mask():
    assert zn.server_mask(zn.SRV_PRIMARY_TC | zn.SRV_NETWORK_MANAGER) == 0x2C41
    assert zn.server_mask(0, 21) == 0x2A00 and zn.server_mask(0x7F, 0) == 0x007F
    assert zn.stack_revision(0x2C41) == 22
    raises(ValueError, zn.server_mask, 0x80)
    raises(ValueError, zn.server_mask, 0, 128)
    raises(ValueError, zn.build_node_desc, bytearray(13), 0, (8,) + ND_COORD[1:])
    raises(ValueError, zn.build_node_desc, bytearray(12), 0, ND_COORD)


def test_bind_requests():
    assert _built(zb.build_bind_req, 0x30, IEEE, 1, 0x0702, zb.ADDR_EXT, IEEE2,
                  0x0A) == BIND_EXT
    assert zb.parse_bind_req(BIND_EXT) == (0x30, IEEE, 1, 0x0702, 3, IEEE2, 0x0A)
    assert _built(zb.build_unbind_req, 0x31, IEEE, 1, 0x0006, zb.ADDR_GROUP,
                  0x1234) == BIND_GROUP
    assert zb.parse_unbind_req(BIND_GROUP) == (0x31, IEEE, 1, 6, 1, 0x1234, None)
    _truncations_raise(zb.parse_bind_req, BIND_EXT)
    _truncations_raise(zb.parse_bind_req, BIND_GROUP)
    for mode in (0, 2, 4, 0xFF):  # reserved address modes
        b = bytearray(BIND_EXT)
        b[12] = mode
        raises(ValueError, zb.parse_bind_req, b)
        raises(ValueError, zb.build_bind_req, bytearray(32), 1, IEEE, 1, 6, mode, 1)
    raises(ValueError, zb.build_bind_req, bytearray(32), 1, IEEE, 1, 6, zb.ADDR_EXT, IEEE2)
    raises(ValueError, zb.build_bind_req, bytearray(21), 1, IEEE, 1, 6, zb.ADDR_EXT,
           IEEE2, 1)
    raises(ValueError, zb.build_bind_req, bytearray(32), 1, IEEE, 1, 6, zb.ADDR_GROUP,
           0x10000)


def test_status_responses():
    assert _built(zb.build_status_rsp, 0x30, 0) == b"\x30\x00"
    assert _built(zb.build_status_rsp, 0x31, zb.TABLE_FULL) == b"\x31\x8c"
    assert zb.parse_status_rsp(b"\x31\x8c\x00") == (0x31, 0x8C)
    _truncations_raise(zb.parse_status_rsp, b"\x31\x8c")
    raises(ValueError, zb.build_status_rsp, bytearray(1), 1, 0)


def test_random_round_trips():
    r = lcg_bytes(600, seed=11)
    for i in range(25):
        o = i * 24
        seq, nwk = r[o], r[o + 1] | (r[o + 2] << 8)
        ieee, dst = bytes(r[o + 3:o + 11]), bytes(r[o + 11:o + 19])
        k = r[o + 19] % 7
        assoc = [r[o + 3 + j] | (r[o + 4 + j] << 8) for j in range(k)]
        f = _built(za.build_addr_rsp, seq, 0, ieee, nwk, assoc, r[o + 20])
        start = r[o + 20] if k else 0
        assert za.parse_addr_rsp(f) == (seq, 0, ieee, nwk, start, assoc)
        f = _built(za.build_nwk_addr_req, seq, ieee, r[o + 21], r[o + 22])
        assert za.parse_nwk_addr_req(f) == (seq, ieee, r[o + 21], r[o + 22])
        nd = (r[o] & 7, bool(k & 1), bool(k & 2), r[o + 21] & 0x1F, r[o + 22], nwk,
              r[o + 23], nwk ^ 0xFFFF, r[o + 1] | (r[o + 4] << 8), nwk, r[o + 5])
        f = _built(zn.build_node_desc_rsp, seq, 0, nwk, nd)
        assert zn.parse_node_desc_rsp(f) == (seq, 0, nwk, nd)
        f = _built(zb.build_bind_req, seq, ieee, r[o + 21], nwk, zb.ADDR_EXT, dst,
                   r[o + 22])
        assert zb.parse_bind_req(f) == (seq, ieee, r[o + 21], nwk, 3, dst, r[o + 22])
