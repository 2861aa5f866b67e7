# ZCL frame header (ZCL revision 6, 07-5123, 2.4.1 general ZCL frame format): fields <->
# bytes in caller buffers and nothing else.
#
#   frame control (2.4.1.1): bits 0-1 frame type, 2 manufacturer specific, 3 direction,
#       4 disable default response, 5-7 reserved
#   [manufacturer code (2, little endian) when manufacturer specific] | transaction
#   sequence number (1) | command identifier (1) | payload
#
#   parse(buf, off, end, h) -> offset of the payload; fills the preallocated ZclHeader h
#       from the frame at buf[off:end]. Raises ValueError on malformed input (never
#       IndexError), as han.nwk.frame and han.aps.frame do: truncated header, reserved
#       frame type 2 or 3, off/end outside the buffer.
#   build(h, out, off) -> end offset of the header written at out[off:]; ValueError when
#       out is too small or a field does not fit its width.
#
# Reserved frame control bits 5-7 are sent as 0 and ignored on reception (2.4.1.1.5).
from micropython import const

# Frame types, 2.4.1.1.1 (Table 2-1): 0b10 and 0b11 are reserved.
FT_GLOBAL = const(0)    # profile-wide (general) command
FT_CLUSTER = const(1)   # cluster-specific command

# Direction, 2.4.1.1.3: 0 client -> server, 1 server -> client.
TO_SERVER = const(0)
TO_CLIENT = const(1)

_FC_MANUF = const(0x04)
_FC_DIRECTION = const(0x08)
_FC_DISABLE_DR = const(0x10)


class ZclHeader:
    """The decoded fields of one ZCL header; allocate once and reuse for every frame."""

    def __init__(self):
        self.clear()

    def clear(self):
        self.frame_type = FT_GLOBAL
        self.manuf_specific = False
        self.direction = TO_SERVER
        self.disable_default_rsp = False
        self.manuf_code = 0
        self.seq = 0
        self.command = 0
        self.header_len = 0


def header_len(h):
    """Length of the header build writes for h: 3, or 5 with a manufacturer code."""
    return 5 if h.manuf_specific else 3


def parse(buf, off, end, h):
    """Fill h from the frame at buf[off:end]; return the payload's offset (<= end).
    Raises ValueError when malformed."""
    if off < 0 or end > len(buf) or off > end:
        raise ValueError("ZCL frame outside its buffer")
    if end - off < 3:
        raise ValueError("ZCL header truncated")
    fc = buf[off]
    ft = fc & 3
    if ft > FT_CLUSTER:
        raise ValueError("reserved ZCL frame type")
    p = off + 1
    manuf = bool(fc & _FC_MANUF)
    if manuf:
        if end - off < 5:
            raise ValueError("ZCL header truncated")
        h.manuf_code = buf[p] | (buf[p + 1] << 8)
        p += 2
    else:
        h.manuf_code = 0
    h.frame_type = ft
    h.manuf_specific = manuf
    h.direction = TO_CLIENT if fc & _FC_DIRECTION else TO_SERVER
    h.disable_default_rsp = bool(fc & _FC_DISABLE_DR)
    h.seq = buf[p]
    h.command = buf[p + 1]
    p += 2
    h.header_len = p - off
    return p


def build(h, out, off):
    """Write the header described by h at out[off:]; return the end offset."""
    ft = h.frame_type
    if ft != FT_GLOBAL and ft != FT_CLUSTER:
        raise ValueError("reserved ZCL frame type")
    n = header_len(h)
    if off < 0 or off + n > len(out):
        raise ValueError("ZCL output buffer too small")
    if not (0 <= h.seq <= 0xFF and 0 <= h.command <= 0xFF):
        raise ValueError("ZCL field out of range")
    fc = ft
    if h.manuf_specific:
        fc |= _FC_MANUF
    if h.direction:
        fc |= _FC_DIRECTION
    if h.disable_default_rsp:
        fc |= _FC_DISABLE_DR
    out[off] = fc
    p = off + 1
    if h.manuf_specific:
        m = h.manuf_code
        if not 0 <= m <= 0xFFFF:
            raise ValueError("ZCL field out of range")
        out[p] = m & 0xFF
        out[p + 1] = m >> 8
        p += 2
    out[p] = h.seq
    out[p + 1] = h.command
    h.header_len = n
    return p + 2


def set_header(h, frame_type, direction, seq, command, disable_default_rsp=False,
               manuf_code=-1):
    """Fill h for build in one call (manuf_code >= 0 makes it manufacturer specific)."""
    h.frame_type = frame_type
    h.direction = direction
    h.seq = seq
    h.command = command
    h.disable_default_rsp = disable_default_rsp
    h.manuf_specific = manuf_code >= 0
    h.manuf_code = manuf_code if manuf_code >= 0 else 0
    return h
