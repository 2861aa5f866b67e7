# ZDO node descriptor (ZigBee spec 05-3474, 2.3.2.3) and Node_Desc_req / Node_Desc_rsp
# (2.4.3.1.3, 2.4.4.2.3). Conventions and helpers as frames.py.
#
# The 13-octet node descriptor, passed as the tuple
#   (logical_type, complex_desc, user_desc, band, mac_capability, manufacturer,
#    max_buffer, max_in, server_mask, max_out, desc_capability)
# octet 0: logical type (bits 0-2), complex descriptor available (3), user descriptor
#          available (4), bits 5-7 reserved
# octet 1: APS flags (bits 0-2, not supported: 0), frequency band (bits 3-7)
# octet 2: MAC capability flags (IEEE 802.15.4 association capability octet)
# 3-4 manufacturer code, 5 maximum buffer size, 6-7 maximum incoming transfer size,
# 8-9 server mask (2.3.2.3.10; stack compliance revision in bits 9-15), 10-11 maximum
# outgoing transfer size, 12 descriptor capability field (2.3.2.3.12).
# Reserved bits and the APS flags are sent as 0 and ignored on receipt.
from micropython import const

from han.zdo.frames import _end, _get16, _need, _put16, _room, _seq_addr, _u8

NODE_DESC_RSP = const(0x8002)
NO_DESCRIPTOR = const(0x89)  # 2.4.5: a child's descriptor we do not hold

NODE_DESC_LEN = const(13)

# Logical type (2.3.2.3.1).
LOGICAL_COORDINATOR = const(0)
LOGICAL_ROUTER = const(1)
LOGICAL_END_DEVICE = const(2)

# Frequency band bits of the 5-bit field (2.3.2.3.5, Table 2-33).
BAND_868 = const(0x01)
BAND_902 = const(0x04)
BAND_2400 = const(0x08)
BAND_EU_SUB_GHZ = const(0x10)

# MAC capability flags (2.3.2.3.6 = IEEE 802.15.4 7.3.1.2).
CAP_ALT_PAN_COORD = const(0x01)
CAP_FFD = const(0x02)
CAP_MAINS = const(0x04)
CAP_RX_ON_IDLE = const(0x08)
CAP_SECURITY = const(0x40)
CAP_ALLOCATE = const(0x80)

# Server mask (2.3.2.3.10, Table 2-34): bits 7-8 reserved, stack compliance revision in
# bits 9-15 (0 before R21; 21 = R21, 22 = R22).
SRV_PRIMARY_TC = const(0x0001)
SRV_BACKUP_TC = const(0x0002)
SRV_PRIMARY_BINDING_CACHE = const(0x0004)
SRV_BACKUP_BINDING_CACHE = const(0x0008)
SRV_PRIMARY_DISCOVERY_CACHE = const(0x0010)
SRV_BACKUP_DISCOVERY_CACHE = const(0x0020)
SRV_NETWORK_MANAGER = const(0x0040)
REVISION_SHIFT = const(9)
REVISION_R22 = const(22)

# Descriptor capability field (2.3.2.3.12).
DESC_EXT_ACTIVE_EP_LIST = const(0x01)
DESC_EXT_SIMPLE_DESC_LIST = const(0x02)


def server_mask(flags, revision=REVISION_R22):
    if not 0 <= revision <= 0x7F or flags & 0xFF80:
        raise ValueError("server mask flag or revision out of range")
    return flags | (revision << REVISION_SHIFT)


def stack_revision(mask):
    return mask >> REVISION_SHIFT


def build_node_desc(out, p, desc):
    """Writes the descriptor at out[p:p + 13]; -> p + 13."""
    (logical, complex_desc, user_desc, band, cap, manufacturer, max_buffer, max_in,
     mask, max_out, desc_cap) = desc
    if not 0 <= logical <= 7 or not 0 <= band <= 0x1F:
        raise ValueError("node descriptor field out of range")
    _room(out, p + NODE_DESC_LEN)
    out[p] = logical | (0x08 if complex_desc else 0) | (0x10 if user_desc else 0)
    out[p + 1] = band << 3
    out[p + 2] = _u8(cap)
    _put16(out, p + 3, manufacturer)
    out[p + 5] = _u8(max_buffer)
    _put16(out, p + 6, max_in)
    _put16(out, p + 8, mask)
    _put16(out, p + 10, max_out)
    out[p + 12] = _u8(desc_cap)
    return p + NODE_DESC_LEN


def parse_node_desc(buf, p, n):
    """The descriptor at buf[p:p + 13] (n: end of the frame) -> the tuple above."""
    _need(p, NODE_DESC_LEN, n)
    b0 = buf[p]
    return (b0 & 0x07, bool(b0 & 0x08), bool(b0 & 0x10), buf[p + 1] >> 3, buf[p + 2],
            _get16(buf, p + 3), buf[p + 5], _get16(buf, p + 6), _get16(buf, p + 8),
            _get16(buf, p + 10), buf[p + 12])


# --- Node_Desc_req (2.4.3.1.3): seq, NWKAddrOfInterest ----------------------------------

def build_node_desc_req(out, seq, nwk):
    return _seq_addr(out, seq, nwk, 3)


def parse_node_desc_req(buf, n=-1):
    """-> (seq, nwk)"""
    n = _end(buf, n)
    _need(0, 3, n)
    return buf[0], _get16(buf, 1)


# --- Node_Desc_rsp (2.4.4.2.3): seq, Status, NWKAddrOfInterest, NodeDescriptor (13, only
# when Status is SUCCESS) ---------------------------------------------------------------

def build_node_desc_rsp(out, seq, status, nwk, desc):
    """desc None: the failed form, ending after NWKAddrOfInterest."""
    _room(out, 4)
    out[0] = _u8(seq)
    out[1] = _u8(status)
    p = _put16(out, 2, nwk)
    if desc is None:
        return p
    return build_node_desc(out, p, desc)


def parse_node_desc_rsp(buf, n=-1):
    """-> (seq, status, nwk, desc or None): desc only with status SUCCESS."""
    n = _end(buf, n)
    _need(0, 4, n)
    head = buf[0], buf[1], _get16(buf, 2)
    if buf[1] != 0:
        return head + (None,)
    return head + (parse_node_desc(buf, 4, n),)
