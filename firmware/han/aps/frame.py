# ZigBee APS frame codec (ZigBee spec 05-3474, 2.2.5 frame formats), fields <-> bytes in
# caller buffers and nothing else.
#
#   parse(buf, off, n, h) -> header length; fills the preallocated ApsHeader h from the
#       APS frame at buf[off:n]. Raises ValueError on malformed input (never IndexError):
#       truncated, reserved delivery mode 1, reserved fragmentation value 3.
#   build(h, out, off) -> header length written at out[off:].
#
#   frame control (2.2.5.1.1): bits 0-1 frame type, 2-3 delivery mode, 4 ack format,
#       5 security, 6 ack request, 7 extended header present.
#   data:     fc | dst endpoint (unicast, broadcast) or group (group) | cluster (2) |
#             profile (2) | src endpoint | counter | extended header
#   command:  fc | counter | extended header            (the command id opens the payload)
#   ack:      fc | [dst endpoint | cluster | profile | src endpoint when ack format 0,
#             a data ack] | counter | extended header   (2.2.5.2.3)
#   inter-PAN (SE 1.x Annex B.4): fc | group (group delivery) | cluster | profile
#   extended header (2.2.5.1.8): extended frame control (bits 0-1 fragmentation) |
#       block number (fragmentation 1 or 2) | ack bitfield (acks with fragmentation)
# With security set the payload starts with the APS auxiliary header (security.py).
from micropython import const
from han.octets import need as _need

# Frame types, 2.2.5.1.1.1 (Table 2-20).
FT_DATA = const(0)
FT_CMD = const(1)
FT_ACK = const(2)
FT_INTERPAN = const(3)

# Delivery modes, 2.2.5.1.1.2 (Table 2-21): 1 (indirect, ZigBee 2006) is reserved.
DM_UNICAST = const(0)
DM_BROADCAST = const(2)
DM_GROUP = const(3)

# Fragmentation, 2.2.5.1.8.1.1 (Table 2-22): 3 is reserved.
FRAG_NONE = const(0)
FRAG_FIRST = const(1)
FRAG_MORE = const(2)

# APS command identifiers, 4.4.11 (Table 4-27); checked against Wireshark's dissector.
CMD_TRANSPORT_KEY = const(0x05)
CMD_UPDATE_DEVICE = const(0x06)
CMD_REMOVE_DEVICE = const(0x07)
CMD_REQUEST_KEY = const(0x08)
CMD_SWITCH_KEY = const(0x09)
CMD_TUNNEL = const(0x0E)
CMD_VERIFY_KEY = const(0x0F)
CMD_CONFIRM_KEY = const(0x10)

_FC_ACK_FORMAT = const(0x10)
_FC_SECURITY = const(0x20)
_FC_ACK_REQUEST = const(0x40)
_FC_EXT_HEADER = const(0x80)


class ApsHeader:
    """The decoded fields of one APS header; allocate once and reuse for every frame."""

    def __init__(self):
        self.clear()

    def clear(self):
        self.frame_type = FT_DATA
        self.delivery = DM_UNICAST
        self.ack_format = False  # acks: True = command ack (no addressing fields)
        self.security = False
        self.ack_request = False
        self.ext_header = False
        self.dst_ep = 0
        self.group = 0  # group delivery instead of dst_ep
        self.cluster = 0
        self.profile = 0
        self.src_ep = 0
        self.counter = 0
        self.frag = FRAG_NONE  # extended header, when ext_header
        self.block = 0
        self.ack_bits = 0
        self.length = 0


def _fields(ft, dm, ack_format):
    # Which addressing fields a frame carries: (dst_ep, group, cluster/profile, src_ep,
    # counter) as booleans packed into bits 0-4.
    if ft == FT_DATA:
        return (2 if dm == DM_GROUP else 1) | 4 | 8 | 16
    if ft == FT_CMD:
        return 16
    if ft == FT_ACK:
        return 16 if ack_format else 1 | 4 | 8 | 16
    return (2 if dm == DM_GROUP else 0) | 4  # inter-PAN: no endpoints, no counter


def parse(buf, off, n, h):
    if n > len(buf) or off < 0:
        raise ValueError("bad frame bounds")
    _need(off, 1, n)
    fc = buf[off]
    ft = fc & 3
    dm = (fc >> 2) & 3
    if dm == 1:
        raise ValueError("reserved APS delivery mode")
    h.frame_type = ft
    h.delivery = dm
    h.ack_format = bool(fc & _FC_ACK_FORMAT)
    h.security = bool(fc & _FC_SECURITY)
    h.ack_request = bool(fc & _FC_ACK_REQUEST)
    h.ext_header = bool(fc & _FC_EXT_HEADER)
    f = _fields(ft, dm, h.ack_format)
    p = off + 1
    h.dst_ep = h.group = h.cluster = h.profile = h.src_ep = h.counter = 0
    if f & 1:
        _need(p, 1, n)
        h.dst_ep = buf[p]
        p += 1
    if f & 2:
        _need(p, 2, n)
        h.group = buf[p] | (buf[p + 1] << 8)
        p += 2
    if f & 4:
        _need(p, 4, n)
        h.cluster = buf[p] | (buf[p + 1] << 8)
        h.profile = buf[p + 2] | (buf[p + 3] << 8)
        p += 4
    if f & 8:
        _need(p, 1, n)
        h.src_ep = buf[p]
        p += 1
    if f & 16:
        _need(p, 1, n)
        h.counter = buf[p]
        p += 1
    h.frag = FRAG_NONE
    h.block = h.ack_bits = 0
    if h.ext_header:
        _need(p, 1, n)
        efc = buf[p]
        p += 1
        h.frag = efc & 3
        if h.frag == 3 or efc & 0xFC:
            raise ValueError("reserved APS extended frame control")
        if h.frag != FRAG_NONE:
            _need(p, 1, n)
            h.block = buf[p]
            p += 1
            if ft == FT_ACK:
                _need(p, 1, n)
                h.ack_bits = buf[p]
                p += 1
    h.length = p - off
    return h.length


def build(h, out, off):
    ft = h.frame_type & 3
    dm = h.delivery
    if dm == 1 or not 0 <= dm <= 3:
        raise ValueError("reserved APS delivery mode")
    if h.ext_header and not 0 <= h.frag <= FRAG_MORE:
        raise ValueError("reserved APS fragmentation value")
    fc = ft | (dm << 2)
    if h.ack_format:
        fc |= _FC_ACK_FORMAT
    if h.security:
        fc |= _FC_SECURITY
    if h.ack_request:
        fc |= _FC_ACK_REQUEST
    if h.ext_header:
        fc |= _FC_EXT_HEADER
    f = _fields(ft, dm, h.ack_format)
    k = 1 + (f & 1) + (2 if f & 2 else 0) + (4 if f & 4 else 0) + ((f >> 3) & 1)
    k += (f >> 4) & 1
    if h.ext_header:
        k += 1
        if h.frag != FRAG_NONE:
            k += 2 if ft == FT_ACK else 1
    if off < 0 or off + k > len(out):
        raise ValueError("buffer too small")
    out[off] = fc
    p = off + 1
    if f & 1:
        out[p] = h.dst_ep & 0xFF
        p += 1
    if f & 2:
        out[p] = h.group & 0xFF
        out[p + 1] = (h.group >> 8) & 0xFF
        p += 2
    if f & 4:
        out[p] = h.cluster & 0xFF
        out[p + 1] = (h.cluster >> 8) & 0xFF
        out[p + 2] = h.profile & 0xFF
        out[p + 3] = (h.profile >> 8) & 0xFF
        p += 4
    if f & 8:
        out[p] = h.src_ep & 0xFF
        p += 1
    if f & 16:
        out[p] = h.counter & 0xFF
        p += 1
    if h.ext_header:
        out[p] = h.frag
        p += 1
        if h.frag != FRAG_NONE:
            out[p] = h.block & 0xFF
            p += 1
            if ft == FT_ACK:
                out[p] = h.ack_bits & 0xFF
                p += 1
    h.length = p - off
    return h.length
