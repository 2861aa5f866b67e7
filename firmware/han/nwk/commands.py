# ZigBee PRO NWK command payloads (ZigBee spec 05-3474-21, 3.4): the commands a star
# network of a coordinator and end devices uses, built into and read from caller buffers.
# The payload starts with the command identifier (it sits after the NWK header, or after
# the auxiliary header when secured, and is encrypted with the rest).
#
#   build_*(out, off, ...) -> bytes written
#   parse(buf, off, n) -> command identifier after checking the command's length
#   (ValueError on a truncated or unknown command); the fields are then read with the
#   small readers below.
from micropython import const
from han.octets import room as _room

# Command identifiers, 3.4 (Table 3-44).
ROUTE_REQUEST = const(0x01)
ROUTE_REPLY = const(0x02)
NETWORK_STATUS = const(0x03)
LEAVE = const(0x04)
ROUTE_RECORD = const(0x05)
REJOIN_REQUEST = const(0x06)
REJOIN_RESPONSE = const(0x07)
LINK_STATUS = const(0x08)
NETWORK_REPORT = const(0x09)
NETWORK_UPDATE = const(0x0A)
ED_TIMEOUT_REQUEST = const(0x0B)
ED_TIMEOUT_RESPONSE = const(0x0C)
LINK_POWER_DELTA = const(0x0D)

# Shortest payload of each command including the identifier (index = identifier); 0 for
# identifiers this table does not know. Route request 3.4.1 (6, many-to-one without
# address), route reply 3.4.2 (8), network status 3.4.3 (4), leave 3.4.4 (2), route
# record 3.4.5 (2), rejoin request 3.4.6 (2), rejoin response 3.4.7 (4), link status
# 3.4.8 (2), network report 3.4.9 (10), network update 3.4.10 (10), end device timeout
# request 3.4.11 (3), response 3.4.12 (3), link power delta 3.4.13 (3).
_MIN_LEN = b"\x00\x06\x08\x04\x02\x02\x02\x04\x02\x0a\x0a\x03\x03\x03"

# Network status codes, 3.4.3.3.1 (Table 3-48), those a star network raises.
STATUS_NO_ROUTE = const(0x00)
STATUS_PARENT_LINK_FAILURE = const(0x02)
STATUS_ADDRESS_CONFLICT = const(0x0D)
STATUS_UNKNOWN_COMMAND = const(0x13)
STATUS_BAD_FRAME_COUNTER = const(0x11)
STATUS_BAD_KEY_SEQUENCE = const(0x12)

# Leave command options, 3.4.4.3.1 (Figure 3-40).
LEAVE_REJOIN = const(0x20)
LEAVE_REQUEST = const(0x40)
LEAVE_REMOVE_CHILDREN = const(0x80)

# Rejoin response status, 3.4.7.3.2: the MAC association status values (Table 3-50).
REJOIN_SUCCESS = const(0x00)
REJOIN_PAN_AT_CAPACITY = const(0x01)
REJOIN_ACCESS_DENIED = const(0x02)

# End device timeout request: requested timeout enumeration, 3.4.11.3.1 (Table 3-54):
# 0 = 10 s, n = 2^n minutes (1..14: 2 min .. 16384 min).
ED_TIMEOUT_MAX_INDEX = const(14)
ED_TIMEOUT_SUCCESS = const(0x00)
ED_TIMEOUT_INCORRECT_VALUE = const(0x01)
# Parent information bits, 3.4.12.3.2: which keepalives the parent accepts.
PARENT_MAC_POLL_KEEPALIVE = const(0x01)
PARENT_ED_TIMEOUT_KEEPALIVE = const(0x02)


def ed_timeout_seconds(index):
    """Seconds of the requested timeout enumeration (3.4.11.3.1)."""
    if not 0 <= index <= ED_TIMEOUT_MAX_INDEX:
        raise ValueError("end device timeout index out of range")
    return 10 if index == 0 else 60 << index


def parse(buf, off, n):
    """The command identifier at buf[off], with its payload's length checked."""
    if off >= n or n > len(buf):
        raise ValueError("NWK command truncated")
    c = buf[off]
    if c >= len(_MIN_LEN) or not _MIN_LEN[c]:
        raise ValueError("unknown NWK command")
    if n - off < _MIN_LEN[c]:
        raise ValueError("NWK command truncated")
    return c


def build_leave(out, off, options):
    """Leave (3.4.4): options = LEAVE_REJOIN | LEAVE_REQUEST | LEAVE_REMOVE_CHILDREN."""
    if options & 0x1F:
        raise ValueError("reserved leave option bits")
    _room(out, off, 2)
    out[off] = LEAVE
    out[off + 1] = options
    return 2


def build_rejoin_request(out, off, capability):
    """Rejoin request (3.4.6): the MAC capability information (802.15.4 7.3.1.2)."""
    _room(out, off, 2)
    out[off] = REJOIN_REQUEST
    out[off + 1] = capability & 0xFF
    return 2


def build_rejoin_response(out, off, short, status):
    """Rejoin response (3.4.7): the device's network address and the rejoin status."""
    _room(out, off, 4)
    out[off] = REJOIN_RESPONSE
    out[off + 1] = short & 0xFF
    out[off + 2] = (short >> 8) & 0xFF
    out[off + 3] = status
    return 4


def build_network_status(out, off, status, dst):
    """Network status (3.4.3): the status code and the destination it concerns."""
    _room(out, off, 4)
    out[off] = NETWORK_STATUS
    out[off + 1] = status
    out[off + 2] = dst & 0xFF
    out[off + 3] = (dst >> 8) & 0xFF
    return 4


def build_ed_timeout_request(out, off, timeout_index, config=0):
    """End device timeout request (3.4.11); config is reserved (0) in R21/R22."""
    ed_timeout_seconds(timeout_index)
    _room(out, off, 3)
    out[off] = ED_TIMEOUT_REQUEST
    out[off + 1] = timeout_index
    out[off + 2] = config
    return 3


def build_ed_timeout_response(out, off, status, parent_info):
    """End device timeout response (3.4.12)."""
    _room(out, off, 3)
    out[off] = ED_TIMEOUT_RESPONSE
    out[off + 1] = status
    out[off + 2] = parent_info
    return 3


def u16(buf, p):
    return buf[p] | (buf[p + 1] << 8)
