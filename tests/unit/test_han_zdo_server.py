# ZDO server (firmware/han/zdo/server.py): a coordinator with two endpoints and two
# associated end devices answers each request as ZigBee spec 05-3474 2.4.3 says; every
# request and expected response is written out in octets by hand (seq first, little
# endian, extended addresses reversed on air). Random payloads never raise. Tiers 1 and 2.
from han.zdo import frames as zf
from han.zdo.server import ZdoServer
from support import lcg_bytes

OWN = bytes.fromhex("0004A30B00C0FFEE")      # on air EEFFC0000BA30400
CHILD_A = bytes.fromhex("000D6F000A0B0C0D")  # nwk 0001, on air 0D0C0B0A006F0D00
CHILD_B = bytes.fromhex("0004A30B00000002")  # nwk 0002, on air 020000000BA30400
STRANGER = bytes.fromhex("1122334455667788")  # on air 8877665544332211
H = bytes.fromhex

# Coordinator node descriptor: its octets 00 40 8F 3412 52 5200 412C 5200 00 (see
# test_han_zdo_codec2.py).
ND = (0, False, False, 0x08, 0x8F, 0x1234, 0x52, 0x52, 0x2C41, 0x52, 0)
ND_BYTES = H("00408F3412525200412C520000")
ND_SLEEPY = (2, False, False, 0x08, 0x80, 0x1234, 0x52, 0x52, 0x2A00, 0x52, 0)
# Endpoint 1: Smart Energy (0109), ESI device 0500, version 1, in 0000 000A 0700 0702
# 0703, out 0702. Endpoint 2: Home Automation (0104), device 0007, in 0000, out 0006.
EP1 = (1, 0x0109, 0x0500, 1, [0x0000, 0x000A, 0x0700, 0x0702, 0x0703], [0x0702])
EP2 = (2, 0x0104, 0x0007, 0, [0x0000], [0x0006])
# Simple descriptor of endpoint 1: 01 | 0901 | 0005 | 01 | 05 0000 0A00 0007 0207 0307 |
# 01 0207: 1 + 2 + 2 + 1 + 11 + 3 = 20 octets (14).
EP1_BYTES = H("01" "0901" "0005" "01" "05" "0000" "0A00" "0007" "0207" "0307" "01" "0207")


class Calls:
    def __init__(self, result=None):
        self.calls = []
        self.result = result

    def __call__(self, *args):
        self.calls.append(args)
        return self.result


def _server(**kw):
    kids = [(0x0001, CHILD_A), (0x0002, CHILD_B)]
    args = dict(children=lambda: kids, on_permit_joining=Calls(), on_leave=Calls(),
                on_device_annce=Calls())
    args.update(kw)
    return ZdoServer(0x0000, OWN, ND, [EP1, EP2], **args)


def _ask(srv, cluster, req, broadcast=False):
    out = bytearray(128)
    r = srv.handle(cluster, req, len(req), out, broadcast)
    if r is None:
        return None
    return r[0], bytes(out[:r[1]])


def test_nwk_addr_req():
    s = _server()
    own = "EEFFC0000BA30400"
    # Single: seq 01 | SUCCESS | own IEEE | 0000.
    assert _ask(s, 0, H("01" + own + "00" "00"), True) == (0x8000, H("0100" + own + "0000"))
    # Extended: NumAssocDev 2 | StartIndex 0 | 0001 0002.
    assert _ask(s, 0, H("02" + own + "01" "00"), True) == (
        0x8000, H("0200" + own + "0000" "02" "00" "0100" "0200"))
    # Extended from index 1: one address left.
    assert _ask(s, 0, H("03" + own + "01" "01")) == (
        0x8000, H("0300" + own + "0000" "01" "01" "0200"))
    # Extended past the list: NumAssocDev 0 and nothing after it.
    assert _ask(s, 0, H("04" + own + "01" "05")) == (0x8000, H("0400" + own + "0000" "00"))
    # A child's IEEE address: answered on its behalf; extended gives it no list.
    assert _ask(s, 0, H("05" "0D0C0B0A006F0D00" "01" "00"), True) == (
        0x8000, H("0500" "0D0C0B0A006F0D00" "0100" "00"))
    # Reserved RequestType 02: INV_REQUESTTYPE, no list.
    assert _ask(s, 0, H("06" + own + "02" "00")) == (0x8000, H("0680" + own + "0000"))
    # An address we do not know: discarded, no response.
    assert _ask(s, 0, H("07" "8877665544332211" "00" "00"), True) is None


def test_ieee_addr_req():
    s = _server()
    own = "EEFFC0000BA30400"
    assert _ask(s, 1, H("10" "0000" "00" "00")) == (0x8001, H("1000" + own + "0000"))
    assert _ask(s, 1, H("11" "0200" "00" "00")) == (0x8001, H("1100" "020000000BA30400"
                                                              "0200"))
    # Unknown NWK address: DEVICE_NOT_FOUND when unicast, nothing when broadcast.
    assert _ask(s, 1, H("12" "3412" "00" "00")) == (0x8001, H("1281" "FFFFFFFFFFFFFFFF"
                                                              "3412"))
    assert _ask(s, 1, H("12" "3412" "00" "00"), True) is None
    assert _ask(s, 1, H("13" "0000" "07" "00")) == (0x8001, H("1380" + own + "0000"))


def test_node_desc_req():
    s = _server()
    assert _ask(s, 2, H("20" "0000")) == (0x8002, H("2000" "0000") + ND_BYTES)
    # A child's descriptor is not cached here: NO_DESCRIPTOR; an unknown address:
    # DEVICE_NOT_FOUND; both without descriptor.
    assert _ask(s, 2, H("21" "0100")) == (0x8002, H("2189" "0100"))
    assert _ask(s, 2, H("22" "3412")) == (0x8002, H("2281" "3412"))
    # An end device asked about another address: INV_REQUESTTYPE.
    ed = ZdoServer(0x796F, OWN, ND_SLEEPY, [EP1])
    assert _ask(ed, 2, H("23" "0000")) == (0x8002, H("2380" "0000"))
    assert _ask(ed, 2, H("24" "6F79"))[1][:4] == H("2400" "6F79")


def test_simple_desc_req():
    s = _server()
    assert _ask(s, 4, H("30" "0000" "01")) == (0x8004, H("3000" "0000" "14") + EP1_BYTES)
    # Endpoint 00 or FF: INVALID_EP; an endpoint without descriptor: NOT_ACTIVE.
    assert _ask(s, 4, H("31" "0000" "00")) == (0x8004, H("3182" "0000" "00"))
    assert _ask(s, 4, H("32" "0000" "FF")) == (0x8004, H("3282" "0000" "00"))
    assert _ask(s, 4, H("33" "0000" "05")) == (0x8004, H("3383" "0000" "00"))
    assert _ask(s, 4, H("34" "0000" "F2")) == (0x8004, H("3483" "0000" "00"))
    assert _ask(s, 4, H("35" "0100" "01")) == (0x8004, H("3589" "0100" "00"))
    assert _ask(s, 4, H("36" "3412" "01")) == (0x8004, H("3681" "3412" "00"))


def test_active_ep_req():
    s = _server()
    assert _ask(s, 5, H("40" "0000")) == (0x8005, H("4000" "0000" "02" "0102"))
    assert _ask(s, 5, H("41" "0200")) == (0x8005, H("4189" "0200" "00"))
    assert _ask(s, 5, H("42" "3412")) == (0x8005, H("4281" "3412" "00"))
    assert _ask(s, 5, H("42" "3412"), True) is None


def test_match_desc_req():
    s = _server()
    # IHD looking for a Metering server: SE profile, in 0702, to 0xFFFD -> endpoint 1.
    assert _ask(s, 6, H("50" "FDFF" "0901" "01" "0207" "00"), True) == (
        0x8006, H("5000" "0000" "01" "01"))
    # Matching on the output list: a client of On/Off (out 0006) -> endpoint 2.
    assert _ask(s, 6, H("51" "0000" "0401" "00" "01" "0600")) == (
        0x8006, H("5100" "0000" "01" "02"))
    # Wildcard profile FFFF in the request: Basic (0000) on both endpoints.
    assert _ask(s, 6, H("52" "FFFF" "FFFF" "01" "0000" "00"), True) == (
        0x8006, H("5200" "0000" "02" "0102"))
    # Profile mismatch: unicast gets SUCCESS with an empty list, broadcast nothing.
    assert _ask(s, 6, H("53" "0000" "0401" "01" "0207" "00")) == (
        0x8006, H("5300" "0000" "00"))
    assert _ask(s, 6, H("53" "FDFF" "0401" "01" "0207" "00"), True) is None
    # Empty cluster lists match nothing.
    assert _ask(s, 6, H("54" "FDFF" "0901" "00" "00"), True) is None
    assert _ask(s, 6, H("54" "0000" "0901" "00" "00")) == (0x8006, H("5400" "0000" "00"))
    # About a child / an unknown device by unicast.
    assert _ask(s, 6, H("55" "0100" "0901" "01" "0207" "00")) == (
        0x8006, H("5589" "0100" "00"))
    assert _ask(s, 6, H("56" "3412" "0901" "01" "0207" "00")) == (
        0x8006, H("5681" "3412" "00"))
    # A wildcard profile on our side matches any requested profile.
    w = ZdoServer(0x0000, OWN, ND, [(7, 0xFFFF, 1, 0, [0x0019], [])])
    assert _ask(w, 6, H("57" "FDFF" "0901" "01" "1900" "00"), True) == (
        0x8006, H("5700" "0000" "01" "07"))
    # A sleepy end device is not among 0xFFFD's receivers, nor among routers (0xFFFC).
    ed = ZdoServer(0x796F, OWN, ND_SLEEPY, [EP1])
    assert _ask(ed, 6, H("58" "FDFF" "0901" "01" "0207" "00"), True) is None
    assert _ask(ed, 6, H("58" "FCFF" "0901" "01" "0207" "00"), True) is None
    assert _ask(ed, 6, H("58" "FFFF" "0901" "01" "0207" "00"), True) == (
        0x8006, H("5800" "6F79" "01" "01"))


def test_bind_and_unbind():
    s = _server(binding_size=2)
    own = "EEFFC0000BA30400"
    # Bind endpoint 1, Metering, to CHILD_B endpoint 0A.
    bind_b = H("60" + own + "01" "0207" "03" "020000000BA30400" "0A")
    assert _ask(s, 0x21, bind_b) == (0x8021, H("6000"))
    assert _ask(s, 0x21, bind_b) == (0x8021, H("6000"))  # already bound: no new entry
    assert s.destinations(1, 0x0702) == [(3, CHILD_B, 0x0A)]
    # Group 1234, On/Off from endpoint 2.
    assert _ask(s, 0x21, H("61" + own + "02" "0600" "01" "3412")) == (0x8021, H("6100"))
    assert s.destinations(2, 0x0006) == [(1, 0x1234, None)]
    # Table full.
    assert _ask(s, 0x21, H("62" + own + "01" "0007" "01" "3412")) == (0x8021, H("628C"))
    # Not our source address (no binding cache here): NOT_SUPPORTED.
    assert _ask(s, 0x21, H("63" "0D0C0B0A006F0D00" "01" "0207" "01" "3412")) == (
        0x8021, H("6384"))
    # Endpoints 00 / FF / not ours: INVALID_EP.
    assert _ask(s, 0x21, H("64" + own + "00" "0207" "01" "3412")) == (0x8021, H("6482"))
    assert _ask(s, 0x21, H("65" + own + "09" "0207" "01" "3412")) == (0x8021, H("6582"))
    assert _ask(s, 0x21, H("66" + own + "01" "0207" "03" "020000000BA30400" "FF")) == (
        0x8021, H("6682"))
    # Unbind: the entry goes; a second time NO_ENTRY.
    unbind_b = H("67" + own + "01" "0207" "03" "020000000BA30400" "0A")
    assert _ask(s, 0x22, unbind_b) == (0x8022, H("6700"))
    assert _ask(s, 0x22, unbind_b) == (0x8022, H("6788"))
    assert s.destinations(1, 0x0702) == [] and len(s.bindings) == 1
    # No binding table at all: NOT_SUPPORTED.
    none = _server(binding_size=0)
    assert _ask(none, 0x21, bind_b) == (0x8021, H("6084"))


def test_permit_joining():
    s = _server()
    assert _ask(s, 0x36, H("70" "B4" "01")) == (0x8036, H("7000"))
    assert _ask(s, 0x36, H("71" "00" "00"), True) is None  # broadcast: acted on, no answer
    assert s.on_permit_joining.calls == [(180, True), (0, False)]
    refused = _server(on_permit_joining=Calls(0x8D))  # NOT_AUTHORIZED from the TC policy
    assert _ask(refused, 0x36, H("72" "3C" "01")) == (0x8036, H("728D"))
    assert _ask(_server(on_permit_joining=None), 0x36, H("73" "3C" "01")) == (
        0x8036, H("7384"))


def test_mgmt_leave():
    s = _server()
    assert _ask(s, 0x34, H("80" "EEFFC0000BA30400" "80")) == (0x8034, H("8000"))
    assert _ask(s, 0x34, H("81" "0000000000000000" "40")) == (0x8034, H("8100"))
    assert _ask(s, 0x34, H("82" "020000000BA30400" "00")) == (0x8034, H("8200"))
    # Not us, not a child: NLME-LEAVE.confirm's UNKNOWN_DEVICE (C8), callback not called.
    assert _ask(s, 0x34, H("83" "8877665544332211" "00")) == (0x8034, H("83C8"))
    assert s.on_leave.calls == [(None, False, True), (None, True, False),
                                (CHILD_B, False, False)]
    assert _ask(_server(on_leave=None), 0x34, H("84" "0000000000000000" "00")) == (
        0x8034, H("8484"))


def test_device_annce_and_unserved_clusters():
    s = _server()
    assert _ask(s, 0x13, H("90" "0300" "8877665544332211" "80"), True) is None
    assert s.on_device_annce.calls == [(3, STRANGER, 0x80)]
    # Requests not served: NOT_SUPPORTED when unicast only, in the response's layout:
    # Power_Desc_rsp keeps NWKAddrOfInterest (2.4.4.2.4); Mgmt_Lqi_rsp has its entry
    # count, StartIndex and list count (2.4.4.4.2) at 0; Extended_Simple_Desc_rsp
    # NWKAddrOfInterest, Endpoint, two cluster counts and StartIndex (2.4.4.2.21).
    assert _ask(s, 0x0003, H("91" "6F79")) == (0x8003, H("9184" "6F79"))
    assert _ask(s, 0x0003, H("91" "6F79"), True) is None
    assert _ask(s, 0x0031, H("92" "00")) == (0x8031, H("9284" "000000"))
    assert _ask(s, 0x001D, H("93" "0000" "01" "00")) == (0x801D, H("9384" "000001"
                                                                 "000000"))
    assert _ask(s, 0x0038, H("94" "00080000" "FE" "01")) == (0x8038, H("9484" + "00" * 9))
    # Find_node_cache_req: only a discovery cache holding the device would answer.
    assert _ask(s, 0x001C, H("95" "0100" "0D0C0B0A006F0D00")) is None
    # A cluster this stack does not know: seq and status.
    assert _ask(s, 0x0040, H("96" "00")) == (0x8040, H("9684"))
    # Responses are not the server's.
    assert _ask(s, 0x8005, H("4000" "0000" "00")) is None
    assert s.unsupported == 7


def test_malformed_requests_dropped_and_counted():
    s = _server()
    frames = [(0, H("01" "EEFF")), (1, H("10" "00")), (2, H("20")), (4, H("30" "0000")),
              (6, H("50" "FDFF" "0901" "02" "0207")), (0x21, H("60" + "00" * 12 + "02")),
              (0x34, H("80" "EEFF")), (0x36, H("70" "B4")), (0x13, H("90")),
              (0x0003, b""), (0x0003, H("91" "00"))]
    for cluster, f in frames:
        assert _ask(s, cluster, f) is None
    assert s.malformed == len(frames)


def test_random_payloads_never_raise():
    s = _server()
    r = lcg_bytes(4000, seed=5)
    out = bytearray(128)
    clusters = (0, 1, 2, 3, 4, 5, 6, 0x13, 0x21, 0x22, 0x34, 0x36, 0x38, 0x8000)
    for i in range(400):
        k = r[i] % 24
        payload = r[i * 9:i * 9 + k]
        for c in clusters:
            res = s.handle(c, payload, len(payload), out, bool(i & 1))
            assert res is None or (res[0] == c | 0x8000 and 2 <= res[1] <= len(out))
    assert s.malformed > 0


def test_length_argument_bounds_the_frame():
    s = _server()
    buf = bytearray(H("40" "0000") + b"\xEE" * 10)
    out = bytearray(64)
    assert s.handle(zf.ACTIVE_EP, buf, 3, out) == (0x8005, 7)
    assert s.handle(zf.ACTIVE_EP, buf, 2, out) is None
    assert s.handle(0x0040, b"\x01", 2, out) is None  # n beyond the buffer
    assert s.malformed == 2


def test_payload_as_a_view_into_the_aps_frame():
    # The APS layer hands the ZDO payload as a slice of its frame buffer.
    s = _server()
    frame = bytearray(H("AABBCCDD" "50" "FDFF" "0901" "01" "0207" "00" "EEEE"))
    out = bytearray(64)
    r = s.handle(zf.MATCH_DESC, memoryview(frame)[4:14], 10, out, True)
    assert r == (0x8006, 6) and bytes(out[:6]) == H("5000" "0000" "01" "01")
    nwk_req = bytearray(H("00" "21" "EEFFC0000BA30400" "00" "00"))
    r = s.handle(zf.NWK_ADDR, memoryview(nwk_req)[1:], 11, out, True)
    assert r == (0x8000, 12) and bytes(out[:12]) == H("2100" "EEFFC0000BA30400" "0000")
