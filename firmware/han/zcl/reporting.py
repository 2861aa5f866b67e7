# ZCL reporting commands (ZCL revision 6, 07-5123): Configure Reporting (2.5.7) and its
# response (2.5.8), Read Reporting Configuration (2.5.9) and its response (2.5.10),
# Report Attributes (2.5.11). Same conventions as general.py: put_* write one record at
# an offset and return the end offset, next_* walk one record into a general.AttrRecord,
# ValueError on a truncated record or a type that cannot be walked.
#
# Configuration record (2.5.7.1), direction 0 (the receiver reports):
#     direction | attr id (2) | type | min interval (2) | max interval (2) |
#     reportable change (coded as the attribute's type; present only for the analog
#     types of Table 2-10, 2.5.7.1 reportable change field)
# direction 1 (the receiver expects reports from the sender):
#     direction | attr id (2) | timeout period (2)
from micropython import const

from han.zcl import general as zg
from han.zcl import types as zt

# Direction field, 2.5.7.1.1.
REPORTED = const(0)   # the receiver of the record sends the reports
RECEIVED = const(1)   # the receiver of the record receives them (timeout period)

# Maximum reporting interval 0xFFFF: the attribute is not reported at all; maximum
# 0x0000 with minimum 0xFFFF: back to the default configuration (2.5.7.1, maximum
# reporting interval field).
MAX_INTERVAL_OFF = const(0xFFFF)

_need = zg._need


def _put_body(out, off, t, min_i, max_i, change):
    off = zg.put8(out, off, t)
    off = zg.put16(out, off, min_i)
    off = zg.put16(out, off, max_i)
    if zt.is_analog(t):
        off = zt.put(t, out, off, change)
    return off


def _read_body(buf, off, end, rec):
    _need(buf, off, end, 5)
    t = buf[off]
    rec.type = t
    rec.min_interval = zg.get16(buf, off + 1)
    rec.max_interval = zg.get16(buf, off + 3)
    off += 5
    rec.timeout = 0
    if zt.is_analog(t):
        rec.has_change = True
        e = zt.value_end(t, buf, off, end)
        rec.change = zt.get(t, buf, off, end) if zt.is_int(t) else 0
        rec.value_off = off
        rec.value_end = e
        return e
    if zt.kind(t) == zt.K_NONE:
        raise ValueError("unsupported ZCL data type")
    rec.has_change = False
    rec.change = 0
    rec.value_off = rec.value_end = off
    return off


def _read_timeout(buf, off, end, rec):
    _need(buf, off, end, 2)
    rec.timeout = zg.get16(buf, off)
    rec.has_change = False
    return off + 2


# --- Configure Reporting (2.5.7) -------------------------------------------------------

def put_report_config(out, off, attr_id, t, min_interval, max_interval, change=0):
    """Direction 0 record; the reportable change (coded as type t) is written only for
    analog types."""
    off = zg.put8(out, off, REPORTED)
    off = zg.put16(out, off, attr_id)
    return _put_body(out, off, t, min_interval, max_interval, change)


def put_report_timeout(out, off, attr_id, timeout):
    """Direction 1 record: the timeout period in seconds (0: no timeout)."""
    off = zg.put8(out, off, RECEIVED)
    off = zg.put16(out, off, attr_id)
    return zg.put16(out, off, timeout)


def next_config_record(buf, off, end, rec):
    """Configure Reporting record into rec (direction, attr_id, and type, min_interval,
    max_interval, has_change, change; or timeout); return the next offset."""
    _need(buf, off, end, 3)
    d = buf[off]
    if d > RECEIVED:
        raise ValueError("reporting direction malformed")
    rec.direction = d
    rec.attr_id = zg.get16(buf, off + 1)
    rec.status = zg.SUCCESS
    if d == REPORTED:
        return _read_body(buf, off + 3, end, rec)
    return _read_timeout(buf, off + 3, end, rec)


# --- Configure Reporting Response (2.5.8) ----------------------------------------------

def build_config_success(out, off):
    """All records configured: one SUCCESS status, direction and id omitted (2.5.8.1)."""
    return zg.put8(out, off, zg.SUCCESS)


def put_config_status(out, off, status, direction, attr_id):
    off = zg.put8(out, off, status)
    off = zg.put8(out, off, direction)
    return zg.put16(out, off, attr_id)


def next_config_status(buf, off, end, rec):
    """Configure Reporting Response record into rec; the lone SUCCESS form sets
    rec.attr_id to 0xFFFF. Return the next offset."""
    _need(buf, off, end, 1)
    rec.status = buf[off]
    if rec.status == zg.SUCCESS and end - off == 1:
        rec.direction = REPORTED
        rec.attr_id = 0xFFFF
        return off + 1
    _need(buf, off, end, 4)
    if buf[off + 1] > RECEIVED:
        raise ValueError("reporting direction malformed")
    rec.direction = buf[off + 1]
    rec.attr_id = zg.get16(buf, off + 2)
    return off + 4


# --- Read Reporting Configuration (2.5.9) and its response (2.5.10) ------------------

def put_read_config(out, off, direction, attr_id):
    off = zg.put8(out, off, direction)
    return zg.put16(out, off, attr_id)


def next_read_config(buf, off, end, rec):
    _need(buf, off, end, 3)
    if buf[off] > RECEIVED:
        raise ValueError("reporting direction malformed")
    rec.direction = buf[off]
    rec.attr_id = zg.get16(buf, off + 1)
    return off + 3


def put_config_rsp_status(out, off, status, direction, attr_id):
    """A failed Read Reporting Configuration Response record: status, direction, id."""
    if status == zg.SUCCESS:
        raise ValueError("a SUCCESS record carries the configuration")
    return put_config_status(out, off, status, direction, attr_id)


def put_config_rsp(out, off, attr_id, t, min_interval, max_interval, change=0):
    """A SUCCESS record of direction 0: the configuration as Configure Reporting has it."""
    off = put_config_status(out, off, zg.SUCCESS, REPORTED, attr_id)
    return _put_body(out, off, t, min_interval, max_interval, change)


def put_config_rsp_timeout(out, off, attr_id, timeout):
    """A SUCCESS record of direction 1: the timeout period."""
    off = put_config_status(out, off, zg.SUCCESS, RECEIVED, attr_id)
    return zg.put16(out, off, timeout)


def next_config_rsp(buf, off, end, rec):
    """Read Reporting Configuration Response record into rec; return the next offset."""
    _need(buf, off, end, 4)
    rec.status = buf[off]
    if buf[off + 1] > RECEIVED:
        raise ValueError("reporting direction malformed")
    rec.direction = buf[off + 1]
    rec.attr_id = zg.get16(buf, off + 2)
    off += 4
    if rec.status != zg.SUCCESS:
        rec.has_change = False
        return off
    if rec.direction == REPORTED:
        return _read_body(buf, off, end, rec)
    return _read_timeout(buf, off, end, rec)


# --- Report Attributes (2.5.11): id, type, value records, as Write Attributes ---------

put_report = zg.put_attr_value
put_report_header = zg.put_attr_header
put_report_str = zg.put_attr_str
next_report_record = zg.next_attr_record
