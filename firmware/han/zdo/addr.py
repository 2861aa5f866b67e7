# ZDO address discovery (ZigBee spec 05-3474, 2.4.3.1.1-2 requests, 2.4.4.2.1-2
# responses): NWK_addr_req / NWK_addr_rsp and IEEE_addr_req / IEEE_addr_rsp. Same
# conventions as frames.py (seq first, little endian on air, extended addresses kept most
# significant octet first, ValueError on malformed input), whose helpers it shares.
from micropython import const

from han.zdo.frames import (_end, _get16, _get_ext, _need, _put16, _put_ext, _room,
                            _seq_addr, _u8)

NWK_ADDR_RSP = const(0x8000)
IEEE_ADDR_RSP = const(0x8001)

# RequestType (2.4.3.1.1.1, Table 2-45): 0x02-0xFF reserved (answered INV_REQUESTTYPE).
REQ_SINGLE = const(0x00)    # the device's own addresses only
REQ_EXTENDED = const(0x01)  # plus the NWK addresses of its associated devices

# The associated device list is cut to whole entries that fit an unfragmented APS payload:
# 13 octets of fixed fields plus 2 per entry; 32 entries (77 octets) fit every security
# level (NWK aux header + MIC and APS headers leave at least 80 octets of 127).
MAX_ASSOC_IN_RSP = const(32)


# --- NWK_addr_req (2.4.3.1.1): seq, IEEEAddr (8), RequestType (1), StartIndex (1) --------

def build_nwk_addr_req(out, seq, ieee, request_type=REQ_SINGLE, start=0):
    _room(out, 11)
    out[0] = _u8(seq)
    p = _put_ext(out, 1, ieee)
    out[p] = _u8(request_type)
    out[p + 1] = _u8(start)
    return 11


def parse_nwk_addr_req(buf, n=-1):
    """-> (seq, ieee, request_type, start_index)"""
    n = _end(buf, n)
    _need(0, 11, n)
    return buf[0], _get_ext(buf, 1), buf[9], buf[10]


# --- IEEE_addr_req (2.4.3.1.2): seq, NWKAddrOfInterest (2), RequestType, StartIndex ------

def build_ieee_addr_req(out, seq, nwk, request_type=REQ_SINGLE, start=0):
    p = _seq_addr(out, seq, nwk, 5)
    out[p] = _u8(request_type)
    out[p + 1] = _u8(start)
    return 5


def parse_ieee_addr_req(buf, n=-1):
    """-> (seq, nwk, request_type, start_index)"""
    n = _end(buf, n)
    _need(0, 5, n)
    return buf[0], _get16(buf, 1), buf[3], buf[4]


# --- NWK_addr_rsp (2.4.4.2.1) and IEEE_addr_rsp (2.4.4.2.2): one layout ------------------
# seq, Status, IEEEAddrRemoteDev (8), NWKAddrRemoteDev (2), then only for a successful
# extended response: NumAssocDev (1, the count of addresses that follow), and when it is
# not 0, StartIndex (1) and NWKAddrAssocDevList (2 each). A single-device or failed
# response ends after the NWK address. assoc=None builds that form; a list (possibly
# empty) the extended one.

def build_addr_rsp(out, seq, status, ieee, nwk, assoc=None, start=0):
    _room(out, 12)
    out[0] = _u8(seq)
    out[1] = _u8(status)
    p = _put_ext(out, 2, ieee)
    p = _put16(out, p, nwk)
    if assoc is None:
        return p
    k = len(assoc)
    if k > MAX_ASSOC_IN_RSP:
        raise ValueError("associated device list too long for one response")
    if k == 0:
        _room(out, p + 1)
        out[p] = 0
        return p + 1
    _room(out, p + 2 + 2 * k)
    out[p] = k
    out[p + 1] = _u8(start)
    p += 2
    for a in assoc:
        p = _put16(out, p, a)
    return p


def parse_addr_rsp(buf, n=-1):
    """-> (seq, status, ieee, nwk, start_index, assoc): assoc None when the frame ends after
    the NWK address (single-device or failed response), else the list (start_index 0 when
    the list is empty)."""
    n = _end(buf, n)
    _need(0, 12, n)
    head = buf[0], buf[1], _get_ext(buf, 2), _get16(buf, 10)
    if n == 12:
        return head + (0, None)
    k = buf[12]
    if k == 0:
        return head + (0, [])
    _need(13, 1 + 2 * k, n)
    return head + (buf[13], [_get16(buf, 14 + 2 * i) for i in range(k)])


build_nwk_addr_rsp = build_addr_rsp
build_ieee_addr_rsp = build_addr_rsp
parse_nwk_addr_rsp = parse_addr_rsp
parse_ieee_addr_rsp = parse_addr_rsp
