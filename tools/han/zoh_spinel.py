"""Spinel (draft-rquattle-spinel-unified) as an OpenThread radio co-processor speaks it:
HDLC-lite framing (RFC 1662 flag/escape, FCS-16), packed unsigned integers, and the command,
property and status numbers tools/han/zoh_rcp.py serves (the subset zigbee-on-host's OT RCP
driver uses)."""

# HDLC-lite (RFC 1662 framing as Spinel uses it): flag, escape, and the bytes escaped.
HDLC_FLAG = 0x7E
HDLC_ESCAPE = 0x7D
_HDLC_ESCAPED = (0x11, 0x13, 0x7D, 0x7E, 0xF8)
_FCS_GOOD = 0xF0B8

# Spinel commands (spinel-unified 5.x).
CMD_RESET = 1
CMD_PROP_VALUE_GET = 2
CMD_PROP_VALUE_SET = 3
CMD_PROP_VALUE_IS = 6

# Spinel properties this RCP serves.
PROP_LAST_STATUS = 0
PROP_PROTOCOL_VERSION = 1
PROP_NCP_VERSION = 2
PROP_INTERFACE_TYPE = 3
PROP_PHY_ENABLED = 32
PROP_PHY_CHAN = 33
PROP_PHY_CCA_THRESHOLD = 36
PROP_PHY_TX_POWER = 37
PROP_PHY_RSSI = 38
PROP_PHY_RX_SENSITIVITY = 39
PROP_MAC_SCAN_STATE = 48
PROP_MAC_SCAN_MASK = 49
PROP_MAC_SCAN_PERIOD = 50
PROP_MAC_15_4_LADDR = 52
PROP_MAC_15_4_SADDR = 53
PROP_MAC_15_4_PANID = 54
PROP_MAC_RAW_STREAM_ENABLED = 55
PROP_MAC_PROMISCUOUS_MODE = 56
PROP_MAC_ENERGY_SCAN_RESULT = 57
PROP_MAC_RX_ON_WHEN_IDLE_MODE = 59
PROP_RCP_API_VERSION = 176
PROP_RCP_MIN_HOST_API_VERSION = 177
PROP_STREAM_RAW = 113

# Spinel status codes.
STATUS_OK = 0
STATUS_FAILURE = 1
STATUS_INVALID_ARGUMENT = 3
STATUS_INVALID_COMMAND = 5
STATUS_PROP_NOT_FOUND = 13
STATUS_NO_ACK = 17
STATUS_CCA_FAILURE = 18
STATUS_RESET_SOFTWARE = 114

SCAN_IDLE = 0
SCAN_ENERGY = 2


def crc16_hdlc(data, crc=0xFFFF):
    """FCS-16 of RFC 1662 (reflected 0x1021, init 0xFFFF), as HDLC-lite uses it."""
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def hdlc_encode(payload):
    fcs = crc16_hdlc(payload) ^ 0xFFFF
    out = bytearray([HDLC_FLAG])
    for b in bytes(payload) + bytes([fcs & 0xFF, fcs >> 8]):
        if b in _HDLC_ESCAPED:
            out += bytes([HDLC_ESCAPE, b ^ 0x20])
        else:
            out.append(b)
    out.append(HDLC_FLAG)
    return bytes(out)


class HdlcDeframer:
    """Byte-fed HDLC-lite receiver: push(data) returns the frames (FCS checked, removed)
    completed by `data`; frames with a bad FCS are counted in `errors`."""

    def __init__(self):
        self._buf = bytearray()
        self._esc = False
        self.errors = 0

    def push(self, data):
        frames = []
        for b in data:
            if b == HDLC_FLAG:
                if len(self._buf) >= 3 and crc16_hdlc(self._buf) == _FCS_GOOD:
                    frames.append(bytes(self._buf[:-2]))
                elif self._buf:
                    self.errors += 1
                self._buf = bytearray()
                self._esc = False
            elif b == HDLC_ESCAPE:
                self._esc = True
            else:
                self._buf.append(b ^ 0x20 if self._esc else b)
                self._esc = False
        return frames


def pack_uint(v):
    """Spinel packed unsigned integer (EXI style: 7 bits a byte, least significant first)."""
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def unpack_uint(data, p):
    v = shift = 0
    while True:
        b = data[p]
        p += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, p
