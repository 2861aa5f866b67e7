# An attribute table a cluster server declares, answering the profile-wide Read, Write
# and Discover Attributes commands from it (ZCL revision 6, 07-5123, 2.5.1-2.5.6,
# 2.5.13-2.5.14; status codes 2.6.3), and the Default Response rules (2.5.12.2).
#
#   t = AttrTable([Attr(0x0000, types.UINT48, READ | REPORT, getter=f), ...])
#   n = respond(t, h, buf, p, end, out, unicast, rh)
#       h: the received ZclHeader (frame.parse), its payload buf[p:end]; writes the
#       whole response frame (header rh + payload) into out and returns its length,
#       0 when nothing is to be sent, -1 when the command is not a general one this
#       table answers (the cluster handles it).
#
# getter() returns the value: an int for integer types, bytes-like for strings and the
# IEEE address. setter(value, commit) returns a status: with commit False it only
# checks (Write Attributes Undivided checks every record before writing any). Without a
# setter a writable attribute keeps its value in Attr.value. Reading allocates nothing
# beyond what the getters do; writing a string passes the setter a new bytes object
# (configuration traffic, not a hot path).
from micropython import const

from han.zcl import frame as zf
from han.zcl import general as zg
from han.zcl import types as zt

# Access flags (ours; ZCL 2.3.4.5 access: read, write, reportable).
READ = const(1)
WRITE = const(2)
REPORT = const(4)


class Attr:
    def __init__(self, attr_id, typ, access, getter=None, setter=None, value=0):
        self.attr_id = attr_id
        self.type = typ
        self.access = access
        self.getter = getter
        self.setter = setter
        self.value = value

    def get(self):
        return self.getter() if self.getter is not None else self.value


class AttrTable:
    """Attributes of one cluster server, kept sorted by id for Discover Attributes."""

    def __init__(self, attrs):
        self.attrs = sorted(attrs, key=lambda a: a.attr_id)
        self._rec = zg.AttrRecord()

    def find(self, attr_id):
        for a in self.attrs:
            if a.attr_id == attr_id:
                return a
        return None

    def read(self, buf, off, end, out, oo):
        """Read Attributes Response payload for the request at buf[off:end] into out[oo:];
        records that do not fit in out are left out (2.5.2.1, as many as fit)."""
        n = zg.read_request_count(buf, off, end)
        limit = len(out)
        for i in range(n):
            attr_id = zg.read_request_id(buf, off, i)
            a = self.find(attr_id)
            if a is None or not a.access & READ:
                if oo + 3 > limit:
                    break
                oo = zg.put_read_status(out, oo, attr_id,
                                        zg.UNSUPPORTED_ATTRIBUTE if a is None
                                        else zg.WRITE_ONLY)
                continue
            t = a.type
            v = a.get()
            k = zt.kind(t)
            size = (zt.str_hdr(t) + (len(v) if v is not None else 0)
                    if k == zt.K_STR or k == zt.K_LSTR else zt.size(t))
            if oo + 4 + size > limit:
                break
            p = zg.put_read_header(out, oo, attr_id, t)
            if k == zt.K_STR or k == zt.K_LSTR:
                oo = (zt.put_str(t, out, p, v) if v is not None
                      else zt.put_str_invalid(t, out, p))
            elif k == zt.K_OCTETS:
                oo = zt.put_bytes(t, out, p, v)
            else:
                oo = zt.put(t, out, p, v)
        return oo

    def _check(self, rec, buf, commit):
        """Status of writing the record in rec (2.5.3.3), written when commit is set."""
        a = self.find(rec.attr_id)
        if a is None:
            return zg.UNSUPPORTED_ATTRIBUTE
        if not a.access & WRITE:
            return zg.READ_ONLY
        if rec.type != a.type:
            return zg.INVALID_DATA_TYPE
        t = a.type
        k = zt.kind(t)
        if k == zt.K_STR or k == zt.K_LSTR:
            n = zt.str_len(t, buf, rec.value_off, rec.value_end)
            p = rec.value_off + zt.str_hdr(t)
            v = bytes(buf[p:p + n]) if n >= 0 else None
        elif k == zt.K_OCTETS:
            v = bytes(buf[rec.value_off:rec.value_end])
        else:
            v = rec.value
        if a.setter is not None:
            return a.setter(v, commit)
        if commit:
            a.value = v
        return zg.SUCCESS

    def write(self, buf, off, end, out, oo, command):
        """Write Attributes (WRITE_ATTRIBUTES, _UNDIVIDED or _NO_RSP) at buf[off:end];
        the response payload goes to out[oo:]: return its end (oo for the no-response
        form). ValueError when a record is malformed (nothing has been written then)."""
        rec = self._rec
        p = off
        while p < end:                 # whole request well-formed before any write
            p = zg.next_attr_record(buf, p, end, rec)
        undivided = command == zg.WRITE_ATTRIBUTES_UNDIVIDED
        failed = False
        if undivided:
            p = off
            while p < end:
                p = zg.next_attr_record(buf, p, end, rec)
                if self._check(rec, buf, False) != zg.SUCCESS:
                    failed = True
        start = oo
        p = off
        while p < end:
            p = zg.next_attr_record(buf, p, end, rec)
            status = self._check(rec, buf, not failed)
            if status != zg.SUCCESS and command != zg.WRITE_ATTRIBUTES_NO_RSP:
                oo = zg.put_write_status(out, oo, status, rec.attr_id)
        if command == zg.WRITE_ATTRIBUTES_NO_RSP:
            return start
        if oo == start:
            oo = zg.build_write_success(out, oo)
        return oo

    def discover(self, buf, off, end, out, oo):
        """Discover Attributes Response payload (2.5.14) for the request at buf[off:end]."""
        rec = self._rec
        zg.parse_discover_attributes(buf, off, end, rec)
        start, left = rec.attr_id, rec.value
        flag = oo
        oo += 1
        complete = True
        limit = len(out)
        for a in self.attrs:
            if a.attr_id < start:
                continue
            if left == 0 or oo + 3 > limit:
                complete = False
                break
            oo = zg.put_discover_record(out, oo, a.attr_id, a.type)
            left -= 1
        zg.put_discover_complete(out, flag, complete)
        return oo


def _rsp_header(h, rh, out, command):
    zf.set_header(rh, zf.FT_GLOBAL, zf.TO_CLIENT if h.direction == zf.TO_SERVER
                  else zf.TO_SERVER, h.seq, command, True,
                  h.manuf_code if h.manuf_specific else -1)
    return zf.build(rh, out, 0)


def respond(table, h, buf, p, end, out, unicast, rh):
    """Answer a general command addressed to this table; see the module comment.
    Specific responses go to broadcast requests too; Default Responses do not
    (2.5.12.2). Write Attributes No Response is answered only when malformed."""
    if h.frame_type != zf.FT_GLOBAL:
        return -1
    cmd = h.command
    if cmd == zg.READ_ATTRIBUTES:
        rsp = zg.READ_ATTRIBUTES_RSP
    elif cmd == zg.DISCOVER_ATTRIBUTES:
        rsp = zg.DISCOVER_ATTRIBUTES_RSP
    elif cmd == zg.WRITE_ATTRIBUTES or cmd == zg.WRITE_ATTRIBUTES_UNDIVIDED \
            or cmd == zg.WRITE_ATTRIBUTES_NO_RSP:
        rsp = zg.WRITE_ATTRIBUTES_RSP
    else:
        return -1
    if h.manuf_specific:
        status = zg.UNSUP_MANUF_GENERAL_COMMAND   # no manufacturer attributes here
    else:
        n = _rsp_header(h, rh, out, rsp)
        try:
            if cmd == zg.READ_ATTRIBUTES:
                return table.read(buf, p, end, out, n)
            if cmd == zg.DISCOVER_ATTRIBUTES:
                return table.discover(buf, p, end, out, n)
            q = table.write(buf, p, end, out, n, cmd)
            return 0 if cmd == zg.WRITE_ATTRIBUTES_NO_RSP else q
        except ValueError:
            status = zg.MALFORMED_COMMAND
    if not zg.default_response_needed(h.disable_default_rsp, unicast, False, status,
                                      False):
        return 0
    n = _rsp_header(h, rh, out, zg.DEFAULT_RSP)
    return zg.build_default_response(out, n, cmd, status)
