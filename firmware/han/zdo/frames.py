# ZigBee Device Profile command frames (ZigBee spec 05-3474, 2.4.3 requests, 2.4.4
# responses): the APS payload of endpoint 0, profile 0x0000. Every frame starts with the
# transaction sequence number (2.4.2.8); multi-octet fields are little endian on air.
#
#   build_*(out, ...) -> frame length, written into the caller's buffer out[0:length]
#   parse_*(buf, n=-1) -> a small tuple of the fields of buf[0:n] (n = -1: all of buf)
#
# Builders raise ValueError when out is too small or a field does not fit its width;
# parsers raise ValueError on truncated or inconsistent input (never IndexError). Octets
# after the last field are ignored (2.4.2: later revisions may append fields).
# Not hot paths: ZDO traffic happens when devices join and are discovered, so parsers
# allocate their result tuples and cluster / endpoint lists, and builders iterate lists.
# Extended addresses are 8-byte bytes in written order (most significant byte first, as
# han.mac.frame and han.nwk.frame keep them); on air they are little endian.
from micropython import const
from han.octets import need as _need

# Cluster ids of the requests (2.4.3); a response is the request id | RSP (2.4.4).
NWK_ADDR = const(0x0000)
IEEE_ADDR = const(0x0001)
NODE_DESC = const(0x0002)
SIMPLE_DESC = const(0x0004)
ACTIVE_EP = const(0x0005)
MATCH_DESC = const(0x0006)
DEVICE_ANNCE = const(0x0013)  # 2.4.3.1.11: no response
BIND = const(0x0021)
UNBIND = const(0x0022)
MGMT_LEAVE = const(0x0034)
MGMT_PERMIT_JOINING = const(0x0036)
RSP = const(0x8000)

SIMPLE_DESC_RSP = const(0x8004)
ACTIVE_EP_RSP = const(0x8005)
MATCH_DESC_RSP = const(0x8006)

# ZDP status values (2.4.5, Table 2-138) the responses here use.
SUCCESS = const(0x00)
INV_REQUESTTYPE = const(0x80)
DEVICE_NOT_FOUND = const(0x81)
INVALID_EP = const(0x82)
NOT_ACTIVE = const(0x83)

# Mgmt_Leave_req options (2.4.3.3.5): bits 0-5 reserved.
LEAVE_REMOVE_CHILDREN = const(0x40)
LEAVE_REJOIN = const(0x80)

_EXT = const(8)
_MAX_LIST = const(255)  # one-octet counts


def _end(buf, n):
    if n < 0:
        return len(buf)
    if n > len(buf):
        raise ValueError("ZDO frame length beyond its buffer")
    return n


def _room(out, k):
    if k > len(out):
        raise ValueError("ZDO output buffer too small")


def _u8(v):
    if not 0 <= v <= 0xFF:
        raise ValueError("ZDO field out of range")
    return v


def _put16(out, p, v):
    if not 0 <= v <= 0xFFFF:
        raise ValueError("ZDO field out of range")
    out[p] = v & 0xFF
    out[p + 1] = v >> 8
    return p + 2


def _get16(buf, p):
    return buf[p] | (buf[p + 1] << 8)


def _put_ext(out, p, ext):
    if len(ext) != _EXT:
        raise ValueError("extended address must be 8 octets")
    for i in range(_EXT):
        out[p + i] = ext[_EXT - 1 - i]
    return p + _EXT


def _get_ext(buf, p):
    e = bytearray(_EXT)
    for i in range(_EXT):
        e[i] = buf[p + _EXT - 1 - i]
    return bytes(e)


def _put_list16(out, p, items):
    k = len(items)
    if k > _MAX_LIST:
        raise ValueError("ZDO list longer than 255")
    _room(out, p + 1 + 2 * k)
    out[p] = k
    p += 1
    for v in items:
        p = _put16(out, p, v)
    return p


def _get_list16(buf, p, n):
    _need(p, 1, n)
    k = buf[p]
    p += 1
    _need(p, 2 * k, n)
    return [_get16(buf, p + 2 * i) for i in range(k)], p + 2 * k


def _put_list8(out, p, items):
    k = len(items)
    if k > _MAX_LIST:
        raise ValueError("ZDO list longer than 255")
    _room(out, p + 1 + k)
    out[p] = k
    p += 1
    for v in items:
        out[p] = _u8(v)
        p += 1
    return p


def _get_list8(buf, p, n):
    _need(p, 1, n)
    k = buf[p]
    p += 1
    _need(p, k, n)
    return [buf[p + i] for i in range(k)], p + k


def _seq_addr(out, seq, nwk, size):
    # seq (1) || NWKAddrOfInterest (2): the start of most requests and responses.
    _room(out, size)
    out[0] = _u8(seq)
    return _put16(out, 1, nwk)


# --- Device_annce (2.4.3.1.11): seq, NWKAddr (2), IEEEAddr (8), Capability (1) ---------
# Capability is the MAC capability information octet of association (IEEE 802.15.4
# 7.3.1.2): bit 1 FFD, 2 mains powered, 3 receiver on when idle, 6 security, 7 allocate.

def build_device_annce(out, seq, nwk, ieee, capability):
    p = _seq_addr(out, seq, nwk, 12)
    p = _put_ext(out, p, ieee)
    out[p] = _u8(capability)
    return p + 1


def parse_device_annce(buf, n=-1):
    """-> (seq, nwk, ieee, capability)"""
    n = _end(buf, n)
    _need(0, 12, n)
    return buf[0], _get16(buf, 1), _get_ext(buf, 3), buf[11]


# --- Active_EP_req (2.4.3.1.6) / Active_EP_rsp (2.4.4.1.6) -------------------------------

def build_active_ep_req(out, seq, nwk):
    return _seq_addr(out, seq, nwk, 3)


def parse_active_ep_req(buf, n=-1):
    """-> (seq, nwk)"""
    n = _end(buf, n)
    _need(0, 3, n)
    return buf[0], _get16(buf, 1)


def build_active_ep_rsp(out, seq, status, nwk, endpoints):
    """Status, NWKAddrOfInterest, ActiveEPCount, ActiveEPList (empty unless SUCCESS)."""
    _room(out, 4)
    out[0] = _u8(seq)
    out[1] = _u8(status)
    p = _put16(out, 2, nwk)
    return _put_list8(out, p, endpoints)


def parse_active_ep_rsp(buf, n=-1):
    """-> (seq, status, nwk, [endpoint, ...])"""
    n = _end(buf, n)
    _need(0, 4, n)
    eps, _ = _get_list8(buf, 4, n)
    return buf[0], buf[1], _get16(buf, 2), eps


# --- Simple_Desc_req (2.4.3.1.5) / Simple_Desc_rsp (2.4.4.1.5) ---------------------------
# Simple descriptor (2.3.2.5): endpoint (1), application profile id (2), application
# device id (2), device version (bits 0-3; bits 4-7 reserved), input cluster count (1)
# and list (2 each), output cluster count (1) and list. Passed as the tuple
# (endpoint, profile, device, version, in_clusters, out_clusters).

def build_simple_desc_req(out, seq, nwk, endpoint):
    p = _seq_addr(out, seq, nwk, 4)
    out[p] = _u8(endpoint)
    return p + 1


def parse_simple_desc_req(buf, n=-1):
    """-> (seq, nwk, endpoint)"""
    n = _end(buf, n)
    _need(0, 4, n)
    return buf[0], _get16(buf, 1), buf[3]


def build_simple_desc_rsp(out, seq, status, nwk, desc):
    """Status, NWKAddrOfInterest, Length, SimpleDescriptor; desc None gives Length 0 (the
    form of a response whose status is not SUCCESS)."""
    _room(out, 5)
    out[0] = _u8(seq)
    out[1] = _u8(status)
    _put16(out, 2, nwk)
    if desc is None:
        out[4] = 0
        return 5
    endpoint, profile, device, version, in_clusters, out_clusters = desc
    if not 0 <= version <= 0x0F:
        raise ValueError("device version is 4 bits")
    _room(out, 11)
    out[5] = _u8(endpoint)
    _put16(out, 6, profile)
    _put16(out, 8, device)
    out[10] = version
    p = _put_list16(out, 11, in_clusters)
    p = _put_list16(out, p, out_clusters)
    if p - 5 > 0xFF:
        raise ValueError("simple descriptor longer than 255 octets")
    out[4] = p - 5
    return p


def parse_simple_desc_rsp(buf, n=-1):
    """-> (seq, status, nwk, desc or None); desc as build_simple_desc_rsp takes it."""
    n = _end(buf, n)
    _need(0, 5, n)
    length = buf[4]
    if length == 0:
        return buf[0], buf[1], _get16(buf, 2), None
    end = 5 + length
    _need(0, end, n)
    _need(5, 6, end)
    ins, p = _get_list16(buf, 11, end)
    outs, p = _get_list16(buf, p, end)
    if p != end:
        raise ValueError("simple descriptor length does not match its cluster lists")
    desc = (buf[5], _get16(buf, 6), _get16(buf, 8), buf[10] & 0x0F, ins, outs)
    return buf[0], buf[1], _get16(buf, 2), desc


# --- Match_Desc_req (2.4.3.1.7) / Match_Desc_rsp (2.4.4.1.7) -----------------------------

def build_match_desc_req(out, seq, nwk, profile, in_clusters, out_clusters):
    """NWKAddrOfInterest (0xFFFD: every receiver with rx on), ProfileID, NumInClusters,
    InClusterList, NumOutClusters, OutClusterList."""
    p = _seq_addr(out, seq, nwk, 5)
    p = _put16(out, p, profile)
    p = _put_list16(out, p, in_clusters)
    return _put_list16(out, p, out_clusters)


def parse_match_desc_req(buf, n=-1):
    """-> (seq, nwk, profile, [in cluster, ...], [out cluster, ...])"""
    n = _end(buf, n)
    _need(0, 5, n)
    ins, p = _get_list16(buf, 5, n)
    outs, p = _get_list16(buf, p, n)
    return buf[0], _get16(buf, 1), _get16(buf, 3), ins, outs


def build_match_desc_rsp(out, seq, status, nwk, endpoints):
    """Status, NWKAddrOfInterest, MatchLength, MatchList (the matching endpoints)."""
    return build_active_ep_rsp(out, seq, status, nwk, endpoints)  # the same layout


def parse_match_desc_rsp(buf, n=-1):
    """-> (seq, status, nwk, [endpoint, ...])"""
    return parse_active_ep_rsp(buf, n)


# --- Mgmt_Permit_Joining_req (2.4.3.3.7): seq, PermitDuration, TC_Significance ----------
# PermitDuration in seconds; 0x00 closes joining, 0xFF opens it (without limit before R21).

def build_mgmt_permit_joining_req(out, seq, duration, tc_significance=True):
    _room(out, 3)
    out[0] = _u8(seq)
    out[1] = _u8(duration)
    out[2] = 1 if tc_significance else 0
    return 3


def parse_mgmt_permit_joining_req(buf, n=-1):
    """-> (seq, duration, tc_significance)"""
    n = _end(buf, n)
    _need(0, 3, n)
    return buf[0], buf[1], buf[2] != 0


# --- Mgmt_Leave_req (2.4.3.3.5): seq, DeviceAddress (8), options ------------------------

def build_mgmt_leave_req(out, seq, ieee, remove_children=False, rejoin=False):
    _room(out, 10)
    out[0] = _u8(seq)
    _put_ext(out, 1, ieee)
    out[9] = ((LEAVE_REMOVE_CHILDREN if remove_children else 0)
              | (LEAVE_REJOIN if rejoin else 0))
    return 10


def parse_mgmt_leave_req(buf, n=-1):
    """-> (seq, ieee, remove_children, rejoin)"""
    n = _end(buf, n)
    _need(0, 10, n)
    opt = buf[9]
    return (buf[0], _get_ext(buf, 1), bool(opt & LEAVE_REMOVE_CHILDREN),
            bool(opt & LEAVE_REJOIN))
