# IEEE 802.15.4 MAC frame codec: the general MAC frame format (MHR, payload, MFR) of
# IEEE 802.15.4-2006 7.2.1 and -2015/-2020 7.2, fields <-> bytes and nothing else.
#
#   decode(buf, length, f, has_fcs=True) -> error code (OK = 0)
#       fills the preallocated FrameFields f from buf[0:length]; never raises on any
#       content (bounds are checked before every read); the caller counts the errors.
#   encode_header(f, buf) -> header length (MHR incl. auxiliary security header and
#       header IEs); the caller writes the payload after it, secures it (security.py) and
#       appends the FCS (fcs.append_fcs) or lets the radio do that.
#   encode(f, payload, payload_len, buf) -> length without FCS (header + payload copied)
#   encode_imm_ack(buf, seq, pending) -> 3 (the 2006 acknowledgement frame, 7.2.2.3)
#
# Addresses: short addresses and PAN IDs are ints; extended addresses are kept in 8-byte
# bytearrays in the usual written order (most significant byte first, the order the CCM*
# nonce uses, 802.15.4-2020 9.3.2.2); on air they are little endian, so the codec reverses.
from micropython import const

from han.mac.fcs import fcs_ok, FCS_LEN

# Frame types (802.15.4-2006 Table 79; 2015 Table 7-1 adds 4..7, unsupported here).
FT_BEACON = const(0)
FT_DATA = const(1)
FT_ACK = const(2)
FT_CMD = const(3)

# Addressing modes (2006 Table 80): 1 is reserved.
ADDR_NONE = const(0)
ADDR_SHORT = const(2)
ADDR_EXT = const(3)

# Frame versions (2015 Table 7-3).
VERSION_2003 = const(0)
VERSION_2006 = const(1)
VERSION_2015 = const(2)

# Error codes returned by decode (0 = OK); each is counted by the receive path.
OK = const(0)
ERR_SHORT = const(1)  # ran out of bytes before the header ended
ERR_TOO_LONG = const(2)  # longer than aMaxPHYPacketSize (127), or longer than the buffer
ERR_FCS = const(3)
ERR_FRAME_TYPE = const(4)  # reserved / unsupported frame type
ERR_ADDR_MODE = const(5)  # reserved addressing mode 1
ERR_VERSION = const(6)  # reserved frame version 3
ERR_SECURITY = const(7)  # auxiliary security header not usable (2003 frame, reserved bits)
ERR_IE = const(8)  # header IE list malformed or longer than FrameFields can keep
ERR_PAN_ID_COMP = const(9)  # 2003/2006: PAN ID compression without both addresses
ERR_COUNT = const(10)  # number of codes, for counter arrays

MAX_PHY_PACKET = const(127)  # aMaxPHYPacketSize, 2006 Table 22 (includes the FCS)
MAX_IE = const(48)  # header IE bytes kept in a FrameFields (enough for the IEs we use)
BROADCAST = const(0xFFFF)  # broadcast short address and PAN ID, 2006 7.2.1.3

_FCF_SECURITY = const(0x0008)  # 2006 7.2.1.1.2
_FCF_PENDING = const(0x0010)  # 7.2.1.1.3
_FCF_ACK_REQUEST = const(0x0020)  # 7.2.1.1.4
_FCF_PANID_COMP = const(0x0040)  # 7.2.1.1.5
_FCF_SEQ_SUPPRESS = const(0x0100)  # 2015 7.2.1.5
_FCF_IE_PRESENT = const(0x0200)  # 2015 7.2.1.6

# Auxiliary security header, security control field (2006 7.6.2.2; 2015 9.4.2).
_SC_FC_SUPPRESS = const(0x20)  # 2015: frame counter suppressed
_SC_ASN_IN_NONCE = const(0x40)  # 2015: TSCH, ASN replaces the frame counter in the nonce
_SC_RESERVED = const(0x80)
_KEY_ID_LEN = b"\x00\x01\x05\x09"  # key identifier length per key id mode (2006 Table 96)

# Header IE element IDs that end the header IE list (2015 7.4.2.1, Table 7-7).
_HT1 = const(0x7E)  # payload IEs follow
_HT2 = const(0x7F)  # payload follows


class FrameFields:
    """The decoded fields of one frame; allocate once and reuse for every frame."""

    def __init__(self):
        self.dst_ext = bytearray(8)
        self.src_ext = bytearray(8)
        self.key_source = bytearray(8)
        self.ie = bytearray(MAX_IE)
        self.clear()

    def clear(self):
        self.frame_type = FT_DATA
        self.security = False
        self.frame_pending = False
        self.ack_request = False
        self.pan_id_compression = False
        self.seq_suppressed = False
        self.ie_present = False
        self.version = VERSION_2006
        self.dst_mode = ADDR_NONE
        self.src_mode = ADDR_NONE
        self.seq = 0
        self.dst_pan = -1  # -1: absent from the frame
        self.src_pan = -1  # equals dst_pan when compressed out of the frame
        self.dst_addr = 0  # short address (ADDR_SHORT)
        self.src_addr = 0
        # Auxiliary security header (present when security is set, version >= 2006).
        self.sec_level = 0
        self.key_id_mode = 0
        self.fc_suppressed = False
        self.asn_in_nonce = False
        self.frame_counter = 0
        self.key_index = 0
        self.aux_offset = 0  # where the auxiliary security header starts in the frame
        self.ie_len = 0
        self.header_len = 0  # MHR length: payload starts here
        self.payload_len = 0  # to the end of the frame, MIC included, FCS excluded
        self.length = 0  # frame length without FCS


def read_ext(buf, p, dst):
    """An 8-byte extended address at buf[p] into dst. On air least significant byte first
    (2006 7.2.1.2; ZigBee NWK/APS the same); kept most significant first, as printed.
    write_ext is the reverse."""
    for i in range(8):
        dst[7 - i] = buf[p + i]


def write_ext(buf, p, src):
    for i in range(8):
        buf[p + i] = src[7 - i]


def _write_addressing(buf, p, with_pan, pan, mode, short, ext):
    # One side of the addressing fields (PAN ID if present, then the address), little
    # endian on air; returns the position after them.
    if with_pan:
        buf[p] = pan & 0xFF
        buf[p + 1] = (pan >> 8) & 0xFF
        p += 2
    if mode == ADDR_SHORT:
        buf[p] = short & 0xFF
        buf[p + 1] = (short >> 8) & 0xFF
        p += 2
    elif mode == ADDR_EXT:
        write_ext(buf, p, ext)
        p += 8
    return p


def _pan_presence(version, dst_mode, src_mode, compressed):
    """Which PAN IDs are in the frame: bit 0 destination, bit 1 source (an int, so that
    nothing is allocated)."""
    if version < VERSION_2015:
        # 2006 7.2.1.1.5: with both addresses present, compression drops the source PAN ID.
        dst = 1 if dst_mode else 0
        src = 2 if src_mode and not (compressed and dst_mode) else 0
        return dst | src
    # 2015 Table 7-2 (PAN ID Compression field value for frame version 0b10).
    if not dst_mode and not src_mode:
        return 1 if compressed else 0
    if not src_mode:
        return 0 if compressed else 1
    if not dst_mode:
        return 0 if compressed else 2
    if dst_mode == ADDR_EXT and src_mode == ADDR_EXT:
        return 0 if compressed else 1
    return 1 if compressed else 3


def _bad_compression(version, dst_mode, src_mode, compressed):
    # 2006 7.2.1.1.5: with only one address present the PAN ID compression bit shall be
    # 0; such a frame has no valid reading, so it is refused both ways. Frame version 2
    # defines every combination in its own table (2015 Table 7-2).
    return (version < VERSION_2015 and compressed
            and (dst_mode == ADDR_NONE) != (src_mode == ADDR_NONE))


def aux_header_len(sec_control):
    """Length of the auxiliary security header with this security control byte."""
    n = 1 + _KEY_ID_LEN[(sec_control >> 3) & 3]
    if not sec_control & _SC_FC_SUPPRESS:
        n += 4
    return n


def decode(buf, length, f, has_fcs=True):
    """Fill f from buf[0:length]; return OK or an ERR_* code. Never raises."""
    if length > len(buf) or length > MAX_PHY_PACKET or length < 0:
        return ERR_TOO_LONG
    if has_fcs:
        if length < 3 + FCS_LEN:
            return ERR_SHORT
        if not fcs_ok(buf, length):
            return ERR_FCS
        end = length - FCS_LEN
    else:
        end = length
    if end < 2:
        return ERR_SHORT
    fcf = buf[0] | (buf[1] << 8)
    ft = fcf & 7
    version = (fcf >> 12) & 3
    dst_mode = (fcf >> 10) & 3
    src_mode = (fcf >> 14) & 3
    if ft > FT_CMD:
        return ERR_FRAME_TYPE
    if version > VERSION_2015:
        return ERR_VERSION
    if dst_mode == 1 or src_mode == 1:
        return ERR_ADDR_MODE
    if _bad_compression(version, dst_mode, src_mode, fcf & _FCF_PANID_COMP):
        return ERR_PAN_ID_COMP
    f.frame_type = ft
    f.version = version
    f.dst_mode = dst_mode
    f.src_mode = src_mode
    f.security = bool(fcf & _FCF_SECURITY)
    f.frame_pending = bool(fcf & _FCF_PENDING)
    f.ack_request = bool(fcf & _FCF_ACK_REQUEST)
    f.pan_id_compression = bool(fcf & _FCF_PANID_COMP)
    # Bits 7..9 are reserved before 2015 (ignored on receipt, 2006 7.2.1.1).
    f.seq_suppressed = version == VERSION_2015 and bool(fcf & _FCF_SEQ_SUPPRESS)
    f.ie_present = version == VERSION_2015 and bool(fcf & _FCF_IE_PRESENT)
    p = 2
    if f.seq_suppressed:
        f.seq = -1
    else:
        if p + 1 > end:
            return ERR_SHORT
        f.seq = buf[p]
        p += 1
    pans = _pan_presence(version, dst_mode, src_mode, f.pan_id_compression)
    f.dst_pan = -1
    f.src_pan = -1
    if pans & 1:
        if p + 2 > end:
            return ERR_SHORT
        f.dst_pan = buf[p] | (buf[p + 1] << 8)
        p += 2
    if dst_mode == ADDR_SHORT:
        if p + 2 > end:
            return ERR_SHORT
        f.dst_addr = buf[p] | (buf[p + 1] << 8)
        p += 2
    elif dst_mode == ADDR_EXT:
        if p + 8 > end:
            return ERR_SHORT
        read_ext(buf, p, f.dst_ext)
        p += 8
    if pans & 2:
        if p + 2 > end:
            return ERR_SHORT
        f.src_pan = buf[p] | (buf[p + 1] << 8)
        p += 2
    elif src_mode:
        f.src_pan = f.dst_pan  # compressed: the source is in the destination's PAN
    if src_mode == ADDR_SHORT:
        if p + 2 > end:
            return ERR_SHORT
        f.src_addr = buf[p] | (buf[p + 1] << 8)
        p += 2
    elif src_mode == ADDR_EXT:
        if p + 8 > end:
            return ERR_SHORT
        read_ext(buf, p, f.src_ext)
        p += 8
    f.aux_offset = p
    if f.security:
        if version == VERSION_2003:
            return ERR_SECURITY  # 2003 security has another header format: not supported
        if p + 1 > end:
            return ERR_SHORT
        sc = buf[p]
        if sc & _SC_RESERVED:
            return ERR_SECURITY
        if version < VERSION_2015 and sc & (_SC_FC_SUPPRESS | _SC_ASN_IN_NONCE):
            return ERR_SECURITY  # reserved bits before 2015
        n = aux_header_len(sc)
        if p + n > end:
            return ERR_SHORT
        f.sec_level = sc & 7
        f.key_id_mode = (sc >> 3) & 3
        f.fc_suppressed = bool(sc & _SC_FC_SUPPRESS)
        f.asn_in_nonce = bool(sc & _SC_ASN_IN_NONCE)
        q = p + 1
        f.frame_counter = 0
        if not f.fc_suppressed:
            f.frame_counter = (buf[q] | (buf[q + 1] << 8) | (buf[q + 2] << 16)
                               | (buf[q + 3] << 24))
            q += 4
        kid = f.key_id_mode
        ks = f.key_source
        if kid == 2:
            for i in range(4):  # 4-byte key source, little endian on air like addresses
                ks[3 - i] = buf[q + i]
            q += 4
        elif kid == 3:
            read_ext(buf, q, ks)
            q += 8
        f.key_index = buf[q] if kid else 0
        p += n
    f.ie_len = 0
    if f.ie_present:
        # Header IEs (2015 7.4.2): 2-byte descriptor, bit 15 = 0, element ID bits 7..14,
        # length bits 0..6. Without a termination IE the list runs to the end of the frame.
        start = p
        while p < end:
            if p + 2 > end:
                return ERR_IE
            d = buf[p] | (buf[p + 1] << 8)
            if d & 0x8000:
                return ERR_IE  # a payload IE where a header IE must be
            n = 2 + (d & 0x7F)
            if p + n > end:
                return ERR_IE
            p += n
            eid = (d >> 7) & 0xFF
            if eid == _HT1 or eid == _HT2:
                break
        n = p - start
        if n > MAX_IE:
            return ERR_IE
        ie = f.ie
        for i in range(n):
            ie[i] = buf[start + i]
        f.ie_len = n
    f.header_len = p
    f.payload_len = end - p
    f.length = end
    return OK


def encode_header(f, buf):
    """Write the MHR described by f into buf; return its length. Raises ValueError for
    fields no valid frame has (this is the sending side: a programming error)."""
    if f.dst_mode == 1 or f.src_mode == 1 or f.frame_type > FT_CMD or f.version > 2:
        raise ValueError("reserved field value")
    if _bad_compression(f.version, f.dst_mode, f.src_mode, f.pan_id_compression):
        raise ValueError("PAN ID compression needs both addresses before 2015")
    v2 = f.version == VERSION_2015
    fcf = (f.frame_type | (f.dst_mode << 10) | (f.version << 12) | (f.src_mode << 14))
    if f.security:
        if f.version == VERSION_2003:
            raise ValueError("2003 frames cannot carry the auxiliary security header")
        fcf |= _FCF_SECURITY
    if f.frame_pending:
        fcf |= _FCF_PENDING
    if f.ack_request:
        fcf |= _FCF_ACK_REQUEST
    if f.pan_id_compression:
        fcf |= _FCF_PANID_COMP
    if v2 and f.seq_suppressed:
        fcf |= _FCF_SEQ_SUPPRESS
    if v2 and f.ie_present:
        fcf |= _FCF_IE_PRESENT
    buf[0] = fcf & 0xFF
    buf[1] = fcf >> 8
    p = 2
    if not (v2 and f.seq_suppressed):
        buf[p] = f.seq & 0xFF
        p += 1
    pans = _pan_presence(f.version, f.dst_mode, f.src_mode, f.pan_id_compression)
    p = _write_addressing(buf, p, pans & 1, f.dst_pan, f.dst_mode, f.dst_addr, f.dst_ext)
    p = _write_addressing(buf, p, pans & 2, f.src_pan, f.src_mode, f.src_addr, f.src_ext)
    f.aux_offset = p
    if f.security:
        sc = (f.sec_level & 7) | ((f.key_id_mode & 3) << 3)
        if v2 and f.fc_suppressed:
            sc |= _SC_FC_SUPPRESS
        if v2 and f.asn_in_nonce:
            sc |= _SC_ASN_IN_NONCE
        buf[p] = sc
        p += 1
        if not sc & _SC_FC_SUPPRESS:
            c = f.frame_counter
            buf[p] = c & 0xFF
            buf[p + 1] = (c >> 8) & 0xFF
            buf[p + 2] = (c >> 16) & 0xFF
            buf[p + 3] = (c >> 24) & 0xFF
            p += 4
        kid = f.key_id_mode
        if kid == 2:
            for i in range(4):
                buf[p + i] = f.key_source[3 - i]
            p += 4
        elif kid == 3:
            write_ext(buf, p, f.key_source)
            p += 8
        if kid:
            buf[p] = f.key_index & 0xFF
            p += 1
    if v2 and f.ie_present:
        ie = f.ie
        for i in range(f.ie_len):
            buf[p + i] = ie[i]
        p += f.ie_len
    f.header_len = p
    return p


def encode(f, payload, payload_len, buf):
    """Header + payload (unsecured; security.py secures a frame in place). Returns the
    length without FCS; raises ValueError when it would not fit in a PSDU."""
    n = encode_header(f, buf)
    if n + payload_len + FCS_LEN > MAX_PHY_PACKET:
        raise ValueError("frame longer than aMaxPHYPacketSize")
    for i in range(payload_len):
        buf[n + i] = payload[i]
    f.payload_len = payload_len
    f.length = n + payload_len
    return f.length


def encode_imm_ack(buf, seq, pending):
    """The acknowledgement frame of 2006 7.2.2.3 (frame control + sequence number)."""
    buf[0] = FT_ACK | (_FCF_PENDING if pending else 0)
    buf[1] = 0
    buf[2] = seq & 0xFF
    return 3
