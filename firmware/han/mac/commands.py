# Beacon and MAC command payloads (IEEE 802.15.4-2006 7.2.2.1 and 7.3), fields <-> bytes.
# The MAC payload starts at the frame's header_len (frame.decode); these work at an offset
# in the caller's buffer and return the end offset, or a negative error on decode.
from micropython import const

# MAC command frame identifiers (2006 Table 82).
CMD_ASSOC_REQUEST = const(0x01)
CMD_ASSOC_RESPONSE = const(0x02)
CMD_DISASSOC_NOTIFICATION = const(0x03)
CMD_DATA_REQUEST = const(0x04)
CMD_PANID_CONFLICT = const(0x05)
CMD_ORPHAN_NOTIFICATION = const(0x06)
CMD_BEACON_REQUEST = const(0x07)
CMD_COORD_REALIGNMENT = const(0x08)
CMD_GTS_REQUEST = const(0x09)

# Payload lengths after the command identifier (2006 7.3.1..7.3.9; realignment without
# the optional channel page).
_CMD_PAYLOAD = b"\x00\x01\x03\x01\x00\x00\x00\x00\x07\x01"

# Capability information (2006 7.3.1.2, Figure 56).
CAP_ALT_COORD = const(0x01)
CAP_FFD = const(0x02)
CAP_MAINS = const(0x04)
CAP_RX_ON_IDLE = const(0x08)
CAP_SECURITY = const(0x40)
CAP_ALLOCATE_ADDRESS = const(0x80)

# Association status (2006 Table 83).
ASSOC_SUCCESS = const(0x00)
ASSOC_PAN_AT_CAPACITY = const(0x01)
ASSOC_ACCESS_DENIED = const(0x02)

# Disassociation reasons (2006 Table 84).
DISASSOC_BY_COORDINATOR = const(0x01)
DISASSOC_BY_DEVICE = const(0x02)

ERR_BEACON = const(-1)
ERR_COMMAND = const(-2)


def command_payload_len(cmd_id):
    """Bytes a command carries after its identifier (minimum for realignment); -1 for an
    unknown identifier."""
    if cmd_id < 1 or cmd_id >= len(_CMD_PAYLOAD):
        return -1
    return _CMD_PAYLOAD[cmd_id]


def check_command(buf, off, end):
    """Return the command identifier at buf[off] when the command is complete, else
    ERR_COMMAND (too short or unknown)."""
    if off >= end:
        return ERR_COMMAND
    cmd = buf[off]
    n = command_payload_len(cmd)
    if n < 0 or off + 1 + n > end:
        return ERR_COMMAND
    return cmd


class BeaconFields:
    """Superframe specification, GTS and pending addresses of a beacon (2006 7.2.2.1)."""

    def __init__(self, max_pending=7):
        self.pending_short = [0] * max_pending
        self.pending_ext = [bytearray(8) for _ in range(max_pending)]
        self.clear()

    def clear(self):
        self.beacon_order = 15  # 15: non-beacon-enabled PAN (2006 7.5.1.1)
        self.superframe_order = 15
        self.final_cap_slot = 15
        self.battery_life_ext = False
        self.pan_coordinator = True
        self.association_permit = False
        self.gts_count = 0
        self.n_short = 0
        self.n_ext = 0
        self.payload_offset = 0
        self.payload_len = 0


def encode_beacon(b, payload, payload_len, buf, off):
    """Superframe spec, empty GTS, pending addresses, beacon payload; returns end offset."""
    sf = ((b.beacon_order & 15) | ((b.superframe_order & 15) << 4)
          | ((b.final_cap_slot & 15) << 8) | (0x1000 if b.battery_life_ext else 0)
          | (0x4000 if b.pan_coordinator else 0) | (0x8000 if b.association_permit else 0))
    buf[off] = sf & 0xFF
    buf[off + 1] = sf >> 8
    buf[off + 2] = 0  # GTS specification: no descriptors, GTS not permitted (7.2.2.1.3)
    p = off + 3
    buf[p] = (b.n_short & 7) | ((b.n_ext & 7) << 4)  # pending address spec (7.2.2.1.6)
    p += 1
    for i in range(b.n_short):
        buf[p] = b.pending_short[i] & 0xFF
        buf[p + 1] = b.pending_short[i] >> 8
        p += 2
    for i in range(b.n_ext):
        e = b.pending_ext[i]
        for j in range(8):
            buf[p + j] = e[7 - j]
        p += 8
    for i in range(payload_len):
        buf[p + i] = payload[i]
    b.payload_offset = p
    b.payload_len = payload_len
    return p + payload_len


def decode_beacon(buf, off, end, b):
    """Fill b from the beacon payload at buf[off:end]; returns where the beacon payload
    starts, or ERR_BEACON. GTS descriptors are skipped (we run non-beacon-enabled)."""
    if off + 4 > end:
        return ERR_BEACON
    sf = buf[off] | (buf[off + 1] << 8)
    b.beacon_order = sf & 15
    b.superframe_order = (sf >> 4) & 15
    b.final_cap_slot = (sf >> 8) & 15
    b.battery_life_ext = bool(sf & 0x1000)
    b.pan_coordinator = bool(sf & 0x4000)
    b.association_permit = bool(sf & 0x8000)
    gts = buf[off + 2]
    b.gts_count = gts & 7
    p = off + 3
    if b.gts_count:
        p += 1 + 3 * b.gts_count  # directions byte + 3-byte descriptors (7.2.2.1.4/5)
    if p + 1 > end:
        return ERR_BEACON
    spec = buf[p]
    p += 1
    ns = spec & 7
    ne = (spec >> 4) & 7
    if p + 2 * ns + 8 * ne > end or ns > len(b.pending_short) or ne > len(b.pending_ext):
        return ERR_BEACON
    for i in range(ns):
        b.pending_short[i] = buf[p] | (buf[p + 1] << 8)
        p += 2
    for i in range(ne):
        e = b.pending_ext[i]
        for j in range(8):
            e[7 - j] = buf[p + j]
        p += 8
    b.n_short = ns
    b.n_ext = ne
    b.payload_offset = p
    b.payload_len = end - p
    return p


def beacon_fields_len(buf, off, end):
    """Length of superframe spec + GTS + pending address fields: in a secured beacon they
    are authenticated but not encrypted (2006 7.6.3.4). ERR_BEACON when malformed."""
    if off + 4 > end:
        return ERR_BEACON
    p = off + 3
    gts = buf[off + 2] & 7
    if gts:
        p += 1 + 3 * gts
    if p + 1 > end:
        return ERR_BEACON
    spec = buf[p]
    p += 1 + 2 * (spec & 7) + 8 * ((spec >> 4) & 7)
    if p > end:
        return ERR_BEACON
    return p - off
