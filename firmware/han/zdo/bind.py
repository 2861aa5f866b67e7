# ZDO Bind_req / Unbind_req (ZigBee spec 05-3474, 2.4.3.2.2-3) and the responses that carry
# only a status: Bind_rsp, Unbind_rsp (2.4.4.3.2-3), Mgmt_Leave_rsp (2.4.4.4.5),
# Mgmt_Permit_Joining_rsp (2.4.4.4.7). Conventions and helpers as frames.py.
from micropython import const

from han.zdo.frames import _end, _get16, _get_ext, _need, _put16, _put_ext, _room, _u8

BIND_RSP = const(0x8021)
UNBIND_RSP = const(0x8022)
MGMT_LEAVE_RSP = const(0x8034)
MGMT_PERMIT_JOINING_RSP = const(0x8036)

# ZDP status values (2.4.5, Table 2-138) beyond those in frames.py.
NOT_SUPPORTED = const(0x84)
NO_ENTRY = const(0x88)
TABLE_FULL = const(0x8C)
NOT_AUTHORIZED = const(0x8D)

# DstAddrMode of Bind_req / Unbind_req (2.4.3.2.2, Table 2-64); 0x00, 0x02 and 0x04-0xFF
# are reserved: a frame carrying one is malformed (ValueError).
ADDR_GROUP = const(0x01)  # DstAddress is a 16-bit group address, no DstEndp
ADDR_EXT = const(0x03)    # DstAddress is a 64-bit extended address, DstEndp follows


# --- Bind_req / Unbind_req: seq, SrcAddress (8), SrcEndp (1), ClusterID (2), DstAddrMode
# (1), DstAddress (2 or 8), DstEndp (1, mode 0x03 only) ----------------------------------
# dst is an int for ADDR_GROUP, an 8-byte address for ADDR_EXT; dst_ep None for a group.

def build_bind_req(out, seq, src, src_ep, cluster, mode, dst, dst_ep=None):
    if mode == ADDR_GROUP:
        size = 15
    elif mode == ADDR_EXT:
        size = 22
        if dst_ep is None:
            raise ValueError("extended destination needs an endpoint")
    else:
        raise ValueError("reserved bind destination address mode")
    _room(out, size)
    out[0] = _u8(seq)
    p = _put_ext(out, 1, src)
    out[p] = _u8(src_ep)
    p = _put16(out, p + 1, cluster)
    out[p] = mode
    p += 1
    if mode == ADDR_GROUP:
        return _put16(out, p, dst)
    p = _put_ext(out, p, dst)
    out[p] = _u8(dst_ep)
    return p + 1


def parse_bind_req(buf, n=-1):
    """-> (seq, src, src_ep, cluster, mode, dst, dst_ep)"""
    n = _end(buf, n)
    _need(0, 14, n)
    mode = buf[12]
    head = buf[0], _get_ext(buf, 1), buf[9], _get16(buf, 10), mode
    if mode == ADDR_GROUP:
        _need(13, 2, n)
        return head + (_get16(buf, 13), None)
    if mode == ADDR_EXT:
        _need(13, 9, n)
        return head + (_get_ext(buf, 13), buf[21])
    raise ValueError("reserved bind destination address mode")


build_unbind_req = build_bind_req
parse_unbind_req = parse_bind_req


# --- seq, Status: Bind_rsp, Unbind_rsp, Mgmt_Leave_rsp, Mgmt_Permit_Joining_rsp ----------

def build_status_rsp(out, seq, status):
    _room(out, 2)
    out[0] = _u8(seq)
    out[1] = _u8(status)
    return 2


def parse_status_rsp(buf, n=-1):
    """-> (seq, status)"""
    n = _end(buf, n)
    _need(0, 2, n)
    return buf[0], buf[1]
