# ZigBee Device Profile codec (firmware/han/zdo/frames.py): every message built and parsed
# against octets written by hand from the field layouts of ZigBee spec 05-3474 2.4.3 / 2.4.4
# (transaction sequence number first, multi-octet fields little endian, extended addresses
# reversed on air), random round trips, and truncated or inconsistent input -> ValueError.
# Portable: tiers 1 and 2.
from han.zdo import frames as z
from support import lcg_bytes, raises

IEEE = bytes.fromhex("000D6F000A0B0C0D")  # written order, most significant octet first

# Hand-written frames: (builder args, parse result, octets).
# Device_annce: seq 42 | NWKAddr 1234 -> 34 12 | IEEE reversed | capability 8E (allocate
# address, rx on when idle, mains powered, FFD).
ANNCE = bytes.fromhex("42" "3412" "0D0C0B0A006F0D00" "8E")
# Active_EP_req: seq 01 | NWKAddrOfInterest 796F.
AEP_REQ = bytes.fromhex("01" "6F79")
# Active_EP_rsp: seq 01 | status 00 | NWK 796F | count 02 | endpoints 01 F2.
AEP_RSP = bytes.fromhex("01" "00" "6F79" "02" "01F2")
# Simple_Desc_req: seq 05 | NWK 0000 | endpoint 01.
SD_REQ = bytes.fromhex("05" "0000" "01")
# Simple_Desc_rsp: seq 05 | status 00 | NWK 796F | length 0x10 | endpoint 01 | profile 0109
# (Smart Energy) | device 0501 | version 1 | 3 in: 0000 0702 0800 | 1 out: 000A.
# Length = 1 + 2 + 2 + 1 + (1 + 6) + (1 + 2) = 16.
SD_DESC = (1, 0x0109, 0x0501, 1, [0x0000, 0x0702, 0x0800], [0x000A])
SD_RSP = bytes.fromhex("05" "00" "6F79" "10" "01" "0901" "0105" "01"
                       "03" "0000" "0207" "0008" "01" "0A00")
# Simple_Desc_rsp, failure: seq 06 | status 82 INVALID_EP | NWK 796F | length 00.
SD_RSP_FAIL = bytes.fromhex("06" "82" "6F79" "00")
# Match_Desc_req: seq 09 | NWK FFFD (broadcast) | profile 0109 | 1 in: 0702 | 0 out.
MD_REQ = bytes.fromhex("09" "FDFF" "0901" "01" "0207" "00")
# Match_Desc_rsp: seq 09 | status 00 | NWK 796F | match length 01 | endpoint 01.
MD_RSP = bytes.fromhex("09" "00" "6F79" "01" "01")
# Mgmt_Permit_Joining_req: seq 10 | duration B4 (180 s) | TC significance 01.
PJ_REQ = bytes.fromhex("10" "B4" "01")
# Mgmt_Leave_req: seq 11 | device address reversed | options 80 (rejoin, keep children).
LEAVE_REQ = bytes.fromhex("11" "0D0C0B0A006F0D00" "80")


def _built(fn, *args):
    out = bytearray(64)
    n = fn(out, *args)
    return bytes(out[:n])


def _truncations_raise(parse, frame):
    for k in range(len(frame)):
        raises(ValueError, parse, frame[:k])
        raises(ValueError, parse, bytearray(frame), k)  # length given, buffer longer


def test_cluster_ids():
    assert (z.NWK_ADDR, z.IEEE_ADDR, z.NODE_DESC, z.SIMPLE_DESC) == (0, 1, 2, 4)
    assert (z.ACTIVE_EP, z.MATCH_DESC, z.DEVICE_ANNCE) == (5, 6, 0x13)
    assert (z.BIND, z.UNBIND, z.MGMT_LEAVE, z.MGMT_PERMIT_JOINING) == (0x21, 0x22, 0x34, 0x36)
    assert z.SIMPLE_DESC | z.RSP == z.SIMPLE_DESC_RSP == 0x8004
    assert z.ACTIVE_EP_RSP == 0x8005 and z.MATCH_DESC_RSP == 0x8006


def test_device_annce():
    assert _built(z.build_device_annce, 0x42, 0x1234, IEEE, 0x8E) == ANNCE
    assert z.parse_device_annce(ANNCE) == (0x42, 0x1234, IEEE, 0x8E)
    _truncations_raise(z.parse_device_annce, ANNCE)


def test_active_ep():
    assert _built(z.build_active_ep_req, 1, 0x796F) == AEP_REQ
    assert z.parse_active_ep_req(AEP_REQ) == (1, 0x796F)
    assert _built(z.build_active_ep_rsp, 1, z.SUCCESS, 0x796F, [1, 0xF2]) == AEP_RSP
    assert z.parse_active_ep_rsp(AEP_RSP) == (1, 0, 0x796F, [1, 0xF2])
    _truncations_raise(z.parse_active_ep_req, AEP_REQ)
    _truncations_raise(z.parse_active_ep_rsp, AEP_RSP)


def test_simple_desc():
    assert _built(z.build_simple_desc_req, 5, 0, 1) == SD_REQ
    assert z.parse_simple_desc_req(SD_REQ) == (5, 0, 1)
    assert _built(z.build_simple_desc_rsp, 5, z.SUCCESS, 0x796F, SD_DESC) == SD_RSP
    assert z.parse_simple_desc_rsp(SD_RSP) == (5, 0, 0x796F, SD_DESC)
    assert _built(z.build_simple_desc_rsp, 6, z.INVALID_EP, 0x796F, None) == SD_RSP_FAIL
    assert z.parse_simple_desc_rsp(SD_RSP_FAIL) == (6, 0x82, 0x796F, None)
    for f in (SD_REQ, SD_RSP, SD_RSP_FAIL):
        _truncations_raise(z.parse_simple_desc_req if f is SD_REQ else
                           z.parse_simple_desc_rsp, f)
    # Reserved version bits 4-7 are ignored on receipt.
    b = bytearray(SD_RSP)
    b[10] = 0xF1
    assert z.parse_simple_desc_rsp(b)[3][3] == 1


def test_simple_desc_rsp_length_must_match_lists():
    longer = bytearray(SD_RSP + b"\x00")
    longer[4] = 0x11  # claims one octet more than the lists hold
    raises(ValueError, z.parse_simple_desc_rsp, longer)
    shorter = bytearray(SD_RSP)
    shorter[4] = 0x0F  # the out list runs past the descriptor
    raises(ValueError, z.parse_simple_desc_rsp, shorter)
    tiny = bytearray(SD_RSP)
    tiny[4] = 0x03  # shorter than the fixed fields
    raises(ValueError, z.parse_simple_desc_rsp, tiny)


def test_match_desc():
    assert _built(z.build_match_desc_req, 9, 0xFFFD, 0x0109, [0x0702], []) == MD_REQ
    assert z.parse_match_desc_req(MD_REQ) == (9, 0xFFFD, 0x0109, [0x0702], [])
    assert _built(z.build_match_desc_rsp, 9, z.SUCCESS, 0x796F, [1]) == MD_RSP
    assert z.parse_match_desc_rsp(MD_RSP) == (9, 0, 0x796F, [1])
    _truncations_raise(z.parse_match_desc_req, MD_REQ)
    _truncations_raise(z.parse_match_desc_rsp, MD_RSP)


def test_mgmt_permit_joining_and_leave():
    assert _built(z.build_mgmt_permit_joining_req, 0x10, 180, True) == PJ_REQ
    assert z.parse_mgmt_permit_joining_req(PJ_REQ) == (0x10, 180, True)
    assert _built(z.build_mgmt_permit_joining_req, 0x10, 0, False) == b"\x10\x00\x00"
    assert _built(z.build_mgmt_leave_req, 0x11, IEEE, False, True) == LEAVE_REQ
    assert z.parse_mgmt_leave_req(LEAVE_REQ) == (0x11, IEEE, False, True)
    both = _built(z.build_mgmt_leave_req, 0x11, IEEE, True, True)
    assert both[9] == 0xC0 and z.parse_mgmt_leave_req(both)[2:] == (True, True)
    _truncations_raise(z.parse_mgmt_permit_joining_req, PJ_REQ)
    _truncations_raise(z.parse_mgmt_leave_req, LEAVE_REQ)


def test_trailing_octets_ignored():
    assert z.parse_device_annce(ANNCE + b"\xAA") == (0x42, 0x1234, IEEE, 0x8E)
    assert z.parse_match_desc_rsp(MD_RSP + b"\x00\x00") == (9, 0, 0x796F, [1])


def test_random_round_trips():
    r = lcg_bytes(400, seed=7)
    for i in range(20):
        o = i * 20
        seq, nwk = r[o], r[o + 1] | (r[o + 2] << 8)
        ieee = bytes(r[o + 3:o + 11])
        k = r[o + 11] % 6
        clusters = [r[o + 12 + j] | (r[o + 13 + j] << 8) for j in range(k)]
        eps = [r[o + 12 + j] for j in range(k)]
        f = _built(z.build_device_annce, seq, nwk, ieee, r[o + 19])
        assert z.parse_device_annce(f) == (seq, nwk, ieee, r[o + 19])
        f = _built(z.build_active_ep_rsp, seq, 0, nwk, eps)
        assert z.parse_active_ep_rsp(f) == (seq, 0, nwk, eps)
        desc = (r[o + 18], nwk, nwk ^ 0xFFFF, r[o] & 0x0F, clusters, clusters[:1])
        f = _built(z.build_simple_desc_rsp, seq, 0, nwk, desc)
        assert z.parse_simple_desc_rsp(f) == (seq, 0, nwk, desc)
        f = _built(z.build_match_desc_req, seq, nwk, 0x0104, clusters[1:], clusters)
        assert z.parse_match_desc_req(f) == (seq, nwk, 0x0104, clusters[1:], clusters)
        f = _built(z.build_mgmt_leave_req, seq, ieee, bool(k & 1), bool(k & 2))
        assert z.parse_mgmt_leave_req(f) == (seq, ieee, bool(k & 1), bool(k & 2))


def test_builders_refuse_what_does_not_fit():
    raises(ValueError, z.build_device_annce, bytearray(11), 1, 2, IEEE, 0)
    raises(ValueError, z.build_device_annce, bytearray(12), 1, 2, IEEE[:7], 0)
    raises(ValueError, z.build_active_ep_req, bytearray(3), 256, 0)
    raises(ValueError, z.build_active_ep_req, bytearray(3), 1, 0x10000)
    raises(ValueError, z.build_active_ep_rsp, bytearray(6), 1, 0, 2, [1, 2])
    raises(ValueError, z.build_match_desc_req, bytearray(64), 1, 2, 0x0104, [0x10000], [])
    raises(ValueError, z.build_match_desc_req, bytearray(8), 1, 2, 0x0104, [1, 2], [])
    raises(ValueError, z.build_simple_desc_rsp, bytearray(64), 1, 0, 2,
           (1, 0x0104, 1, 16, [], []))
    raises(ValueError, z.build_simple_desc_rsp, bytearray(12), 1, 0, 2, SD_DESC)
    raises(ValueError, z.build_mgmt_leave_req, bytearray(9), 1, IEEE)
    raises(ValueError, z.build_mgmt_permit_joining_req, bytearray(2), 1, 60)
    raises(ValueError, z.parse_device_annce, ANNCE, len(ANNCE) + 1)
