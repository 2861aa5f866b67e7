# ZigBee PRO NWK frame codec (ZigBee spec 05-3474, 3.3.1 general NWK frame format),
# fields <-> bytes in caller buffers and nothing else.
#
#   parse(buf, n, h) -> header length; fills the preallocated NwkHeader h from buf[0:n].
#       Raises ValueError on malformed input (never IndexError): truncated, reserved frame
#       type 2, protocol version other than 2, source route longer than the frame.
#   build_header(h, out) -> header length
#   build(h, payload, out, payload_len=-1) -> frame length (header + payload copied)
#
# With security set, the payload after the header starts with the NWK auxiliary header
# (security.py parses, encrypts and decrypts it); this codec does not look into it.
# Inter-PAN frames (type 3) carry only the frame control field (the stub NWK header of
# the Smart Energy profile, SE 1.x Annex B).
# Extended addresses are kept in 8-byte bytearrays in written order (most significant
# byte first, as han.mac.frame does); on air they are little endian.
from micropython import const

from han.mac.frame import read_ext, write_ext
from han.octets import need as _need

# Frame types, 3.3.1.1.1 (Table 3-43): 2 is reserved.
FT_DATA = const(0)
FT_CMD = const(1)
FT_INTERPAN = const(3)

PROTOCOL_VERSION = const(2)  # ZigBee 2007 / PRO, 3.3.1.1.2 (nwkcProtocolVersion)

# Frame control bits, 3.3.1.1 (Figure 3-6).
_FC_MULTICAST = const(0x0100)
_FC_SECURITY = const(0x0200)
_FC_SOURCE_ROUTE = const(0x0400)
_FC_DST_IEEE = const(0x0800)
_FC_SRC_IEEE = const(0x1000)
_FC_ED_INITIATOR = const(0x2000)

# Multicast modes, 3.3.1.8.1.
MCAST_NONMEMBER = const(0)
MCAST_MEMBER = const(1)

# Relays kept per frame: a 127-byte PSDU minus the MAC and NWK headers leaves room for
# fewer than 50; more than this is refused as malformed.
MAX_RELAYS = const(48)


class NwkHeader:
    """The decoded fields of one NWK header; allocate once and reuse for every frame."""

    def __init__(self):
        self.dst64 = bytearray(8)
        self.src64 = bytearray(8)
        self.relays = [0] * MAX_RELAYS
        self.clear()

    def clear(self):
        self.frame_type = FT_DATA
        self.version = PROTOCOL_VERSION
        self.discover_route = 0
        self.multicast = False
        self.security = False
        self.source_route = False
        self.dst64_present = False
        self.src64_present = False
        self.end_device_initiator = False
        self.dst = 0
        self.src = 0
        self.radius = 0
        self.seq = 0
        # Multicast control field (3.3.1.8): present when multicast is set.
        self.mcast_mode = MCAST_NONMEMBER
        self.nonmember_radius = 0
        self.max_nonmember_radius = 0
        # Source route subframe (3.3.1.9): present when source_route is set.
        self.relay_count = 0
        self.relay_index = 0
        self.header_len = 0  # payload (or auxiliary header when secured) starts here
        self.payload_len = 0
        self.length = 0


def parse(buf, n, h):
    """Fill h from buf[0:n]; return the header length. Raises ValueError when malformed."""
    if n < 0 or n > len(buf):
        raise ValueError("length outside the buffer")
    _need(0, 2, n)
    fc = buf[0] | (buf[1] << 8)
    ft = fc & 3
    if ft == 2:
        raise ValueError("reserved NWK frame type")
    version = (fc >> 2) & 0xF
    if version != PROTOCOL_VERSION:
        raise ValueError("unsupported NWK protocol version")
    h.frame_type = ft
    h.version = version
    if ft == FT_INTERPAN:
        # Stub header: the other subfields are 0 (SE Annex B.4); nothing follows it.
        h.discover_route = 0
        h.multicast = h.security = h.source_route = False
        h.dst64_present = h.src64_present = h.end_device_initiator = False
        h.relay_count = 0
        h.header_len = 2
        h.payload_len = n - 2
        h.length = n
        return 2
    h.discover_route = (fc >> 6) & 3
    h.multicast = bool(fc & _FC_MULTICAST)
    h.security = bool(fc & _FC_SECURITY)
    h.source_route = bool(fc & _FC_SOURCE_ROUTE)
    h.dst64_present = bool(fc & _FC_DST_IEEE)
    h.src64_present = bool(fc & _FC_SRC_IEEE)
    h.end_device_initiator = bool(fc & _FC_ED_INITIATOR)
    _need(2, 6, n)
    h.dst = buf[2] | (buf[3] << 8)
    h.src = buf[4] | (buf[5] << 8)
    h.radius = buf[6]
    h.seq = buf[7]
    p = 8
    if h.dst64_present:
        _need(p, 8, n)
        read_ext(buf, p, h.dst64)
        p += 8
    if h.src64_present:
        _need(p, 8, n)
        read_ext(buf, p, h.src64)
        p += 8
    if h.multicast:
        _need(p, 1, n)
        m = buf[p]
        h.mcast_mode = m & 3
        h.nonmember_radius = (m >> 2) & 7
        h.max_nonmember_radius = (m >> 5) & 7
        p += 1
    h.relay_count = 0
    h.relay_index = 0
    if h.source_route:
        _need(p, 2, n)
        count = buf[p]
        if count > MAX_RELAYS or p + 2 + 2 * count > n:
            raise ValueError("source route longer than the frame")
        h.relay_count = count
        h.relay_index = buf[p + 1]
        p += 2
        r = h.relays
        for i in range(count):
            r[i] = buf[p] | (buf[p + 1] << 8)
            p += 2
    h.header_len = p
    h.payload_len = n - p
    h.length = n
    return p


def header_len(h):
    """Length of the header build_header writes for h."""
    if h.frame_type == FT_INTERPAN:
        return 2
    n = 8
    if h.dst64_present:
        n += 8
    if h.src64_present:
        n += 8
    if h.multicast:
        n += 1
    if h.source_route:
        n += 2 + 2 * h.relay_count
    return n


def build_header(h, out):
    """Write the NWK header described by h into out; return its length. Raises
    ValueError for fields no valid frame has or when out is too small."""
    ft = h.frame_type
    if ft == 2 or ft > 3:
        raise ValueError("reserved NWK frame type")
    if h.source_route and h.relay_count > MAX_RELAYS:
        raise ValueError("too many relays")
    n = header_len(h)
    if n > len(out):
        raise ValueError("buffer too small")
    fc = ft | (PROTOCOL_VERSION << 2)
    if ft == FT_INTERPAN:
        out[0] = fc
        out[1] = 0
        h.header_len = 2
        return 2
    fc |= (h.discover_route & 3) << 6
    if h.multicast:
        fc |= _FC_MULTICAST
    if h.security:
        fc |= _FC_SECURITY
    if h.source_route:
        fc |= _FC_SOURCE_ROUTE
    if h.dst64_present:
        fc |= _FC_DST_IEEE
    if h.src64_present:
        fc |= _FC_SRC_IEEE
    if h.end_device_initiator:
        fc |= _FC_ED_INITIATOR
    out[0] = fc & 0xFF
    out[1] = fc >> 8
    out[2] = h.dst & 0xFF
    out[3] = (h.dst >> 8) & 0xFF
    out[4] = h.src & 0xFF
    out[5] = (h.src >> 8) & 0xFF
    out[6] = h.radius & 0xFF
    out[7] = h.seq & 0xFF
    p = 8
    if h.dst64_present:
        write_ext(out, p, h.dst64)
        p += 8
    if h.src64_present:
        write_ext(out, p, h.src64)
        p += 8
    if h.multicast:
        out[p] = ((h.mcast_mode & 3) | ((h.nonmember_radius & 7) << 2)
                  | ((h.max_nonmember_radius & 7) << 5))
        p += 1
    if h.source_route:
        count = h.relay_count
        out[p] = count
        out[p + 1] = h.relay_index & 0xFF
        p += 2
        r = h.relays
        for i in range(count):
            out[p] = r[i] & 0xFF
            out[p + 1] = (r[i] >> 8) & 0xFF
            p += 2
    h.header_len = p
    return p


def build(h, payload, out, payload_len=-1):
    """Header + payload[0:payload_len] (all of payload by default) into out; return the
    frame length. Raises ValueError when it does not fit in out."""
    if payload_len < 0:
        payload_len = len(payload)
    n = build_header(h, out)
    if n + payload_len > len(out):
        raise ValueError("buffer too small")
    for i in range(payload_len):
        out[n + i] = payload[i]
    h.payload_len = payload_len
    h.length = n + payload_len
    return h.length
