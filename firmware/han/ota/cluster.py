# OTA Upgrade cluster 0x0019 (ZCL 07-5123 chapter 11, ZigBee 09-5264 6.10-6.11): the
# command payloads (after the ZCL header, han.zcl.frame) and the client's attributes.
# Fields <-> octets in caller buffers; parse() fills a preallocated OtaFields. Nothing is
# allocated per frame (a u32 field of 2^30 or more is a long int on a 32-bit port: the
# file versions we issue stay below that, docs/han.md).
#
#   0x00 Image Notify (server -> client): payload type u8 (0 jitter only, 1 + manufacturer,
#        2 + image type, 3 + file version), query jitter u8 (1..100)
#   0x01 Query Next Image Request: field control u8 (bit 0: hardware version present),
#        manufacturer u16, image type u16, current file version u32, [hardware version u16]
#   0x02 Query Next Image Response: status u8; on SUCCESS manufacturer u16, image type u16,
#        file version u32, image size u32
#   0x03 Image Block Request: field control u8 (bit 0: request node's IEEE address present,
#        bit 1: BlockRequestDelay (the client's MinimumBlockPeriod, ms) present),
#        manufacturer u16, image type u16, file version u32, file offset u32, maximum data
#        size u8, [IEEE address, 8 octets], [BlockRequestDelay u16]
#   0x05 Image Block Response: status u8; SUCCESS: manufacturer u16, image type u16, file
#        version u32, file offset u32, data size u8, data; WAIT_FOR_DATA: current time u32,
#        request time u32 (UTCTime), minimum block period u16 (ms); ABORT: nothing more
#   0x06 Upgrade End Request: status u8, manufacturer u16, image type u16, file version u32
#   0x07 Upgrade End Response: manufacturer u16, image type u16, file version u32, current
#        time u32, upgrade time u32 (UTCTime; an upgrade time not after the current time,
#        0 included, means now)
from micropython import const

CLUSTER = const(0x0019)

IMAGE_NOTIFY = const(0x00)  # 11.13.3
QUERY_NEXT_IMAGE_REQ = const(0x01)  # 11.13.4
QUERY_NEXT_IMAGE_RSP = const(0x02)  # 11.13.5
IMAGE_BLOCK_REQ = const(0x03)  # 11.13.6
IMAGE_PAGE_REQ = const(0x04)  # 11.13.7 (not served: we answer UNSUP_CLUSTER_COMMAND)
IMAGE_BLOCK_RSP = const(0x05)  # 11.13.8
UPGRADE_END_REQ = const(0x06)  # 11.13.9
UPGRADE_END_RSP = const(0x07)  # 11.13.9.6

# Status codes the cluster uses (ZCL 2.6.3 Table 2-12).
SUCCESS = const(0x00)
ABORT = const(0x95)
INVALID_IMAGE = const(0x96)
WAIT_FOR_DATA = const(0x97)
NO_IMAGE_AVAILABLE = const(0x98)
REQUIRE_MORE_IMAGE = const(0x99)

# Client attributes (11.10.1 Table 11-12).
A_UPGRADE_SERVER_ID = const(0x0000)  # EUI-64
A_FILE_OFFSET = const(0x0001)  # uint32
A_CURRENT_FILE_VERSION = const(0x0002)  # uint32
A_IMAGE_UPGRADE_STATUS = const(0x0006)  # enum8
A_MANUFACTURER_ID = const(0x0007)  # uint16
A_IMAGE_TYPE_ID = const(0x0008)  # uint16
A_MINIMUM_BLOCK_PERIOD = const(0x0009)  # uint16, ms

# ImageUpgradeStatus values (11.10.9 Table 11-13).
ST_NORMAL = const(0)
ST_DOWNLOAD_IN_PROGRESS = const(1)
ST_DOWNLOAD_COMPLETE = const(2)
ST_WAITING_TO_UPGRADE = const(3)

FC_HW_VERSION = const(0x01)  # Query Next Image Request field control bit 0
FC_IEEE = const(0x01)  # Image Block Request field control bit 0
FC_BLOCK_DELAY = const(0x02)  # bit 1
BLOCK_RSP_OVERHEAD = const(14)  # status .. data size: what a SUCCESS block adds to data
ZCL_HEADER = const(3)


class OtaFields:
    """The fields of one OTA command; absent optional fields read -1 (ieee_present)."""

    def __init__(self):
        self.ieee = bytearray(8)
        self.clear()

    def clear(self):
        self.status = SUCCESS
        self.payload_type = 0
        self.jitter = 0
        self.field_control = 0
        self.manufacturer = -1
        self.image_type = -1
        self.file_version = -1
        self.image_size = 0
        self.hw_version = -1
        self.file_offset = 0
        self.max_data = 0
        self.ieee_present = False
        self.block_delay = -1
        self.data_off = 0
        self.data_len = 0
        self.current_time = 0
        self.request_time = 0
        self.min_period = -1
        self.upgrade_time = 0


def _u16(b, i):
    return b[i] | (b[i + 1] << 8)


def _u32(b, i):
    return b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)


def _p16(out, p, v):
    out[p] = v & 0xFF
    out[p + 1] = (v >> 8) & 0xFF
    return p + 2


def _p32(out, p, v):
    out[p] = v & 0xFF
    out[p + 1] = (v >> 8) & 0xFF
    out[p + 2] = (v >> 16) & 0xFF
    out[p + 3] = (v >> 24) & 0xFF
    return p + 4


def _ident(out, p, manufacturer, image_type, version):
    p = _p16(out, p, manufacturer)
    p = _p16(out, p, image_type)
    return _p32(out, p, version)


def put_image_notify(out, p, payload_type, jitter, manufacturer=0, image_type=0, version=0):
    out[p] = payload_type
    out[p + 1] = jitter
    p += 2
    if payload_type >= 1:
        p = _p16(out, p, manufacturer)
    if payload_type >= 2:
        p = _p16(out, p, image_type)
    if payload_type >= 3:
        p = _p32(out, p, version)
    return p


def put_query_next_request(out, p, manufacturer, image_type, version, hw_version=-1):
    out[p] = FC_HW_VERSION if hw_version >= 0 else 0
    p = _ident(out, p + 1, manufacturer, image_type, version)
    if hw_version >= 0:
        p = _p16(out, p, hw_version)
    return p


def put_query_next_response(out, p, status, manufacturer=0, image_type=0, version=0,
                            size=0):
    out[p] = status
    p += 1
    if status == SUCCESS:
        p = _ident(out, p, manufacturer, image_type, version)
        p = _p32(out, p, size)
    return p


def put_block_request(out, p, manufacturer, image_type, version, offset, max_data,
                      ieee=None, delay=-1):
    out[p] = (FC_IEEE if ieee is not None else 0) | (FC_BLOCK_DELAY if delay >= 0 else 0)
    p = _ident(out, p + 1, manufacturer, image_type, version)
    p = _p32(out, p, offset)
    out[p] = max_data
    p += 1
    if ieee is not None:
        for i in range(8):
            out[p + i] = ieee[i]
        p += 8
    if delay >= 0:
        p = _p16(out, p, delay)
    return p


def put_block_response(out, p, manufacturer, image_type, version, offset, n):
    """SUCCESS header of n data octets; returns where the caller puts them."""
    out[p] = SUCCESS
    p = _ident(out, p + 1, manufacturer, image_type, version)
    p = _p32(out, p, offset)
    out[p] = n
    return p + 1


def put_block_wait(out, p, current, request, min_period):
    out[p] = WAIT_FOR_DATA
    p = _p32(out, p + 1, current)
    p = _p32(out, p, request)
    return _p16(out, p, min_period)


def put_status(out, p, status):
    """A block response with ABORT (or a Query Next Image Response without an image)."""
    out[p] = status
    return p + 1


def put_end_request(out, p, status, manufacturer, image_type, version):
    out[p] = status
    return _ident(out, p + 1, manufacturer, image_type, version)


def put_end_response(out, p, manufacturer, image_type, version, current, upgrade):
    p = _ident(out, p, manufacturer, image_type, version)
    p = _p32(out, p, current)
    return _p32(out, p, upgrade)


def _need(end, p, n):
    if p + n > end:
        raise ValueError("OTA command truncated")


def _get_ident(buf, p, f):
    f.manufacturer = _u16(buf, p)
    f.image_type = _u16(buf, p + 2)
    f.file_version = _u32(buf, p + 4)
    return p + 8


def parse(command, buf, p, end, f):
    """Fill f from the payload of command at buf[p:end]; ValueError when malformed or not
    a command of this cluster. Octets after the fields are ignored (2.4.1.2: later
    revisions may add fields)."""
    f.clear()
    if command == IMAGE_NOTIFY:
        _need(end, p, 2)
        t = buf[p]
        if t > 3:
            raise ValueError("Image Notify payload type")
        f.payload_type = t
        f.jitter = buf[p + 1]
        p += 2
        _need(end, p, (0, 2, 4, 8)[t])
        if t >= 1:
            f.manufacturer = _u16(buf, p)
        if t >= 2:
            f.image_type = _u16(buf, p + 2)
        if t >= 3:
            f.file_version = _u32(buf, p + 4)
    elif command == QUERY_NEXT_IMAGE_REQ:
        _need(end, p, 9)
        fc = f.field_control = buf[p]
        p = _get_ident(buf, p + 1, f)
        if fc & FC_HW_VERSION:
            _need(end, p, 2)
            f.hw_version = _u16(buf, p)
    elif command == QUERY_NEXT_IMAGE_RSP:
        _need(end, p, 1)
        f.status = buf[p]
        if f.status == SUCCESS:
            _need(end, p, 13)
            p = _get_ident(buf, p + 1, f)
            f.image_size = _u32(buf, p)
    elif command == IMAGE_BLOCK_REQ:
        _need(end, p, 14)
        fc = f.field_control = buf[p]
        p = _get_ident(buf, p + 1, f)
        f.file_offset = _u32(buf, p)
        f.max_data = buf[p + 4]
        p += 5
        if fc & FC_IEEE:
            _need(end, p, 8)
            for i in range(8):
                f.ieee[i] = buf[p + i]
            f.ieee_present = True
            p += 8
        if fc & FC_BLOCK_DELAY:
            _need(end, p, 2)
            f.block_delay = _u16(buf, p)
    elif command == IMAGE_BLOCK_RSP:
        _need(end, p, 1)
        st = f.status = buf[p]
        p += 1
        if st == SUCCESS:
            _need(end, p, 13)
            p = _get_ident(buf, p, f)
            f.file_offset = _u32(buf, p)
            n = f.data_len = buf[p + 4]
            f.data_off = p + 5
            _need(end, p + 5, n)
        elif st == WAIT_FOR_DATA:
            _need(end, p, 8)
            f.current_time = _u32(buf, p)
            f.request_time = _u32(buf, p + 4)
            if end - p >= 10:
                f.min_period = _u16(buf, p + 8)
    elif command == UPGRADE_END_REQ:
        _need(end, p, 9)
        f.status = buf[p]
        _get_ident(buf, p + 1, f)
    elif command == UPGRADE_END_RSP:
        _need(end, p, 16)
        p = _get_ident(buf, p, f)
        f.current_time = _u32(buf, p)
        f.upgrade_time = _u32(buf, p + 4)
    else:
        raise ValueError("not an OTA command we take")
    return f
