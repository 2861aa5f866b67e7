# ZCL profile-wide commands (ZCL revision 6, 07-5123, 2.5): Read Attributes (2.5.1-2),
# Write Attributes in its three forms and its response (2.5.3-6), Default Response
# (2.5.12), Discover Attributes (2.5.13-14), and the status codes (2.6.3, Table 2-12).
# The reporting commands are in reporting.py. These are payloads: the ZCL header
# (frame.py) goes in front of them.
#
# Builders write into a caller buffer at an offset and return the end offset (put_* write
# one record, build_* a whole fixed payload). Parsers walk one record at a time into a
# preallocated AttrRecord without allocating:
#     p = payload_off
#     while p < end:
#         p = next_read_record(buf, p, end, rec)     # rec.attr_id, rec.status, ...
# Every parser raises ValueError (never IndexError) on a record cut short or a type it
# cannot walk; fixed-length payloads of another length than theirs are refused (the
# caller answers MALFORMED_COMMAND). Builders raise ValueError when out is too small.
from micropython import const

from han.zcl import types as zt
from han.octets import room as _room

# General command identifiers, 2.4.2 (Table 2-3).
READ_ATTRIBUTES = const(0x00)
READ_ATTRIBUTES_RSP = const(0x01)
WRITE_ATTRIBUTES = const(0x02)
WRITE_ATTRIBUTES_UNDIVIDED = const(0x03)
WRITE_ATTRIBUTES_RSP = const(0x04)
WRITE_ATTRIBUTES_NO_RSP = const(0x05)
CONFIGURE_REPORTING = const(0x06)
CONFIGURE_REPORTING_RSP = const(0x07)
READ_REPORTING_CONFIG = const(0x08)
READ_REPORTING_CONFIG_RSP = const(0x09)
REPORT_ATTRIBUTES = const(0x0A)
DEFAULT_RSP = const(0x0B)
DISCOVER_ATTRIBUTES = const(0x0C)
DISCOVER_ATTRIBUTES_RSP = const(0x0D)

# Status codes, 2.6.3 (Table 2-12).
SUCCESS = const(0x00)
FAILURE = const(0x01)
NOT_AUTHORIZED = const(0x7E)
MALFORMED_COMMAND = const(0x80)
UNSUP_CLUSTER_COMMAND = const(0x81)
UNSUP_GENERAL_COMMAND = const(0x82)
UNSUP_MANUF_CLUSTER_COMMAND = const(0x83)
UNSUP_MANUF_GENERAL_COMMAND = const(0x84)
INVALID_FIELD = const(0x85)
UNSUPPORTED_ATTRIBUTE = const(0x86)
INVALID_VALUE = const(0x87)
READ_ONLY = const(0x88)
INSUFFICIENT_SPACE = const(0x89)
DUPLICATE_EXISTS = const(0x8A)
NOT_FOUND = const(0x8B)
UNREPORTABLE_ATTRIBUTE = const(0x8C)
INVALID_DATA_TYPE = const(0x8D)
INVALID_SELECTOR = const(0x8E)
WRITE_ONLY = const(0x8F)
INCONSISTENT_STARTUP_STATE = const(0x90)
DEFINED_OUT_OF_BAND = const(0x91)
ACTION_DENIED = const(0x93)
TIMEOUT = const(0x94)
ABORT = const(0x95)
INVALID_IMAGE = const(0x96)
WAIT_FOR_DATA = const(0x97)
NO_IMAGE_AVAILABLE = const(0x98)
REQUIRE_MORE_IMAGE = const(0x99)
NOTIFICATION_PENDING = const(0x9A)
HARDWARE_FAILURE = const(0xC0)
SOFTWARE_FAILURE = const(0xC1)
UNSUPPORTED_CLUSTER = const(0xC3)


class AttrRecord:
    """One record of any general command, filled by the next_* walkers; allocate once.
    value is the decoded integer for integer types (types.is_int), else 0: the value's
    octets are buf[value_off:value_end] (strings: types.str_len at value_off)."""

    def __init__(self):
        self.clear()

    def clear(self):
        self.attr_id = 0
        self.status = SUCCESS
        self.direction = 0
        self.type = zt.NODATA
        self.value = 0
        self.value_off = 0
        self.value_end = 0
        # Reporting configuration (reporting.py).
        self.min_interval = 0
        self.max_interval = 0
        self.has_change = False
        self.change = 0
        self.timeout = 0
        # Default Response.
        self.command = 0


def _need(buf, off, end, n):
    if off < 0 or end > len(buf) or off + n > end:
        raise ValueError("ZCL record truncated")


def put16(out, off, v):
    if not 0 <= v <= 0xFFFF:
        raise ValueError("ZCL field out of range")
    _room(out, off, 2)
    out[off] = v & 0xFF
    out[off + 1] = v >> 8
    return off + 2


def put8(out, off, v):
    if not 0 <= v <= 0xFF:
        raise ValueError("ZCL field out of range")
    _room(out, off, 1)
    out[off] = v
    return off + 1


def get16(buf, off):
    return buf[off] | (buf[off + 1] << 8)


def read_value(rec, buf, off, end):
    """rec.type is set: locate (and decode if integer) the value at buf[off:end];
    return the offset after it."""
    t = rec.type
    e = zt.value_end(t, buf, off, end)
    rec.value_off = off
    rec.value_end = e
    rec.value = zt.get(t, buf, off, end) if zt.is_int(t) else 0
    return e


# --- Read Attributes (2.5.1) and its response (2.5.2) ---------------------------------

def build_read_attributes(out, off, attr_ids, count=-1):
    """Read Attributes payload: attribute ids attr_ids[0:count] (all by default)."""
    if count < 0:
        count = len(attr_ids)
    for i in range(count):
        off = put16(out, off, attr_ids[i])
    return off


def read_request_count(buf, off, end):
    """Number of attribute ids in a Read Attributes (or Read Reporting Configuration
    direction-less) payload at buf[off:end]; ValueError when it is not whole ids."""
    if off < 0 or end > len(buf) or off > end or (end - off) & 1:
        raise ValueError("ZCL attribute id list malformed")
    return (end - off) >> 1


def read_request_id(buf, off, i):
    """The i-th attribute id of a Read Attributes payload starting at off."""
    return get16(buf, off + 2 * i)


def put_read_status(out, off, attr_id, status):
    """Read Attributes Response record of a failed attribute: id, status (no value)."""
    if status == SUCCESS:
        raise ValueError("a SUCCESS record carries a value")
    off = put16(out, off, attr_id)
    return put8(out, off, status)


def put_read_header(out, off, attr_id, t):
    """Read Attributes Response record up to its value (id, SUCCESS, type): the caller
    writes the value with types.put / put_str / put_bytes at the returned offset."""
    off = put16(out, off, attr_id)
    off = put8(out, off, SUCCESS)
    return put8(out, off, t)


def put_read_value(out, off, attr_id, t, v):
    """A whole SUCCESS record of an integer type."""
    return zt.put(t, out, put_read_header(out, off, attr_id, t), v)


def next_read_record(buf, off, end, rec):
    """Read Attributes Response record at buf[off:end] into rec; return the next offset."""
    _need(buf, off, end, 3)
    rec.attr_id = get16(buf, off)
    rec.status = buf[off + 2]
    off += 3
    if rec.status != SUCCESS:
        rec.type = zt.NODATA
        rec.value = rec.value_off = rec.value_end = 0
        return off
    _need(buf, off, end, 1)
    rec.type = buf[off]
    return read_value(rec, buf, off + 1, end)


# --- Attribute records of Write Attributes (2.5.3) and Report Attributes (2.5.11) ----

def put_attr_header(out, off, attr_id, t):
    """Record up to its value: id, type. Write Attributes (all three forms) and Report
    Attributes share it; the value follows at the returned offset."""
    off = put16(out, off, attr_id)
    return put8(out, off, t)


def put_attr_value(out, off, attr_id, t, v):
    """A whole id, type, value record of an integer type."""
    return zt.put(t, out, put_attr_header(out, off, attr_id, t), v)


def put_attr_str(out, off, attr_id, t, data, n=-1):
    """A whole id, type, string record."""
    return zt.put_str(t, out, put_attr_header(out, off, attr_id, t), data, n)


def next_attr_record(buf, off, end, rec):
    """id, type, value record at buf[off:end] into rec; return the next offset."""
    _need(buf, off, end, 3)
    rec.attr_id = get16(buf, off)
    rec.type = buf[off + 2]
    rec.status = SUCCESS
    return read_value(rec, buf, off + 3, end)


# --- Write Attributes Response (2.5.5) -------------------------------------------------

def build_write_success(out, off):
    """The response when every record was written: one SUCCESS status, no attribute id
    (2.5.5.1)."""
    return put8(out, off, SUCCESS)


def put_write_status(out, off, status, attr_id):
    """One failed record: status, attribute id."""
    off = put8(out, off, status)
    return put16(out, off, attr_id)


def next_write_status(buf, off, end, rec):
    """Write Attributes Response record into rec; the lone SUCCESS form sets
    rec.attr_id to 0xFFFF. Return the next offset."""
    _need(buf, off, end, 1)
    rec.status = buf[off]
    if rec.status == SUCCESS and end - off == 1:
        rec.attr_id = 0xFFFF
        return off + 1
    _need(buf, off, end, 3)
    rec.attr_id = get16(buf, off + 1)
    return off + 3


# --- Default Response (2.5.12) ---------------------------------------------------------

def build_default_response(out, off, command, status):
    """Default Response payload: the command it answers, status."""
    off = put8(out, off, command)
    return put8(out, off, status)


def parse_default_response(buf, off, end, rec):
    """Default Response payload (exactly two octets) into rec.command, rec.status."""
    if off < 0 or end > len(buf) or end - off != 2:
        raise ValueError("Default Response malformed")
    rec.command = buf[off]
    rec.status = buf[off + 1]
    return end


def default_response_needed(disable_default_rsp, unicast, command_is_default_rsp,
                            status, responded):
    """Whether a received command gets a Default Response (2.5.12.2): never for a
    Default Response or a broadcast / group frame, nor when a specific response is sent;
    otherwise always on error, and on success unless the sender disabled it."""
    if command_is_default_rsp or not unicast or responded:
        return False
    return status != SUCCESS or not disable_default_rsp


# --- Discover Attributes (2.5.13) and its response (2.5.14) ---------------------------

def build_discover_attributes(out, off, start_id, max_count):
    off = put16(out, off, start_id)
    return put8(out, off, max_count)


def parse_discover_attributes(buf, off, end, rec):
    """Discover Attributes payload (exactly three octets): rec.attr_id = start id,
    rec.value = maximum number of ids."""
    if off < 0 or end > len(buf) or end - off != 3:
        raise ValueError("Discover Attributes malformed")
    rec.attr_id = get16(buf, off)
    rec.value = buf[off + 2]
    return end


def put_discover_complete(out, off, complete):
    """Opening octet of a Discover Attributes Response: 1 when no attribute follows
    the last one listed."""
    return put8(out, off, 1 if complete else 0)


def discover_complete(buf, off, end):
    """The discovery-complete flag at the start of a response payload; the records
    follow at off + 1."""
    _need(buf, off, end, 1)
    if buf[off] > 1:
        raise ValueError("discovery complete flag malformed")
    return buf[off] == 1


def put_discover_record(out, off, attr_id, t):
    off = put16(out, off, attr_id)
    return put8(out, off, t)


def next_discover_record(buf, off, end, rec):
    _need(buf, off, end, 3)
    rec.attr_id = get16(buf, off)
    rec.type = buf[off + 2]
    return off + 3
