# ZCL attribute reporting engine (ZCL revision 6, 07-5123, 2.5.7-2.5.11, reporting
# intervals 2.5.7.1.5-2.5.7.1.7, Report Attributes 2.5.11): the reporting configurations
# our attribute tables received, and the Report Attributes frames they call for.
#
#   e = ReportEngine(slots, clock)          slots preallocated; clock: ticks_us/diff/add
#   e.configure(dst, dst_ep, src_ep, cluster, table, attr_id, type, min_s, max_s,
#               change, now, to_client=True) -> ZCL status (also what a role sets itself)
#   e.configure_record(dst, dst_ep, src_ep, cluster, table, rec, now, to_client)
#   e.read_config(dst, dst_ep, src_ep, cluster, table, direction, attr_id, out, off) -> end
#   e.due(now) -> bool;  e.wake_in(now) -> microseconds until due (-1: nothing configured)
#   e.build_next(now, out) -> [dst, dst_ep, src_ep, cluster, length] (one list, reused:
#       unpack it at once) or None; the whole ZCL frame is at out[0:length]
#   e.undo() -> the frame build_next gave could not be sent (the APS layer was full):
#       its slots are due again as they were, so the report is sent later, not lost
#   han/zcl/reportcfg.py answer(e, ...) answers whole Configure Reporting and Read
#       Reporting Configuration frames with these
#   e.pack(out) -> n / e.unpack(buf, n, find_table, now): the configurations as bytes
#       (han/zcl/engine_store.py)
#
# A slot is one (destination short address and endpoint, our endpoint, cluster, attribute):
# each display that subscribes gets its own intervals. A report is due when the maximum
# interval has elapsed since the last one (max 0: never periodically), or when the
# minimum interval has elapsed and the value moved: by at least the reportable change for
# analog types (and at all: change 0 means any change), at all for discrete ones (strings
# compared by a 24-bit hash: a collision waits for the next periodic report). A new or
# re-configured slot counts as changed, so its first report follows after min seconds.
# Due slots of one destination, endpoint pair and cluster share a frame while out has room;
# the rest go in the next one. Values come from the attribute's getter (dispatch.Attr).
#
# Time is kept as the node keeps it (han/nwk/aging.py Seconds): whole seconds counted from
# the ticks, so intervals of up to 0xFFFE s outlast the ticks' wrap; wake_in never asks for
# more than WAKE_MAX_US so the count keeps up. A report sent after its second began is
# flagged: a non-zero minimum interval then waits one more second (never early), the
# maximum interval does not (never late when woken on time).
#
# Kept across reboots (pack, saved by the caller when dirty): the hub comes back on its
# network unseen (han/nwk/store.py), so a display that subscribed never learns it should
# subscribe again (SE clients re-configure when they join or rejoin, and nothing else
# tells them); the slots' timing is not kept: each reports once its minimum has passed.
#
# Not kept: the receiving side's timeout (direction 1 records, optional in 2.5.7.1.8) is
# answered UNSUPPORTED_ATTRIBUTE; max 0 with min 0xFFFF (back to the default
# configuration) removes the slot, as our default is not to report. due, wake_in and
# build_next allocate nothing after the first call (integer values below 2**30 on 32-bit
# ports, as han/zcl/types.py; getters that do not allocate).
from array import array

from micropython import const

from han.zcl import frame as zf
from han.zcl import general as zg
from han.zcl import reporting as zr
from han.zcl import engine_store
from han.zcl import types as zt
from han.zcl.dispatch import REPORT

_S = const(1000000)
WAKE_MAX_US = const(60000000)  # as han/nwk/aging.py TICK_MAX_US: seconds keep counting
# A time up to a minute older than the newest seen is a caller's stale loop time.
_STALE_US = const(60000000)
CHECK_S = const(1)  # how often a slot past its minimum interval reads its value
_MAX_OFF = const(0xFFFF)  # 2.5.7.1.6: not reported, configuration dropped

# Slot flags; engine_store.py repeats _F_USED and _F_TO_CLIENT (the saved direction).
_F_USED = const(1)
_F_TO_CLIENT = const(2)  # server attribute: reports go server -> client (2.4.1.1.3)
_F_SENT = const(4)  # last holds the value reported
_F_LATE = const(8)  # the last report went out after its second began


def _hash(v):
    """24-bit hash of a string or octet value (None: the invalid string)."""
    if v is None:
        return -1
    h = len(v)
    for b in v:
        h = (h * 33 + b) & 0xFFFFFF  # stays a small int on 32-bit ports
    return h


def _rec_size(t, v):
    k = zt.kind(t)
    if k == zt.K_STR or k == zt.K_LSTR:
        return 3 + zt.str_hdr(t) + (len(v) if v is not None else 0)
    return 3 + zt.size(t)


def _put(out, p, attr_id, t, v):
    p = zg.put_attr_header(out, p, attr_id, t)
    k = zt.kind(t)
    if k == zt.K_STR or k == zt.K_LSTR:
        return zt.put_str(t, out, p, v) if v is not None else zt.put_str_invalid(t, out, p)
    if k == zt.K_OCTETS:
        return zt.put_bytes(t, out, p, v)
    return zt.put(t, out, p, v)


class ReportEngine:
    def __init__(self, slots, clock, check_s=CHECK_S):
        self.size = slots
        self.clock = clock
        self.check_s = check_s
        self.dst = array("H", [0] * slots)
        self.cluster = array("H", [0] * slots)
        self.attr_id = array("H", [0] * slots)
        self.min_s = array("H", [0] * slots)
        self.max_s = array("H", [0] * slots)
        self.dst_ep = bytearray(slots)
        self.src_ep = bytearray(slots)
        self.type = bytearray(slots)
        self.flags = bytearray(slots)
        self.attr = [None] * slots  # the dispatch.Attr read for the value
        self.change = [0] * slots
        self.last = [0] * slots  # value (strings: hash) last reported
        self.last_s = [0] * slots  # now_s of the last report (or of the configuration)
        self.now_s = 0
        self._at = clock.ticks_us()
        self._cursor = 0
        self.seq = 0
        self.next_seq = None  # optional callable: the node's shared ZCL sequence numbers
        self.dirty = False  # configurations changed since pack (the caller saves them)
        self.reports = 0
        self.dropped = 0  # records too long for out even alone
        self._h = zf.ZclHeader()
        self.rec = zg.AttrRecord()  # scratch for reportcfg.answer
        self._res = [0, 0, 0, 0, 0]
        # What build_next's last frame changed, for undo (preallocated: one frame holds
        # at most every slot).
        self._undo_i = array("H", [0] * slots)
        self._undo_last = [0] * slots
        self._undo_last_s = [0] * slots
        self._undo_flags = bytearray(slots)
        self._undo_n = 0
        self._undo_cursor = 0

    # --- time --------------------------------------------------------------------------
    def _tick(self, now):
        """Advance now_s; True when now is past the start of the current second."""
        c = self.clock
        d = c.ticks_diff(now, self._at)
        if d < 0:
            # An earlier now than seen: a caller's loop time a moment old (ignored, so the
            # seconds stay whole: moving the second's start back, or counting a report
            # built then as sent on its second's start, let a report follow the previous
            # one by half a second under min 1), or a clock that jumped or was not read
            # for over half the ticks' period (counted again from now).
            if d < -_STALE_US:
                self._at = now
                return False
            # The time now is at least _at and may be well into the second: late, so that
            # a report built now waits a whole minimum after the second it is counted in.
            return True
        if d >= _S:
            k = d // _S
            self.now_s += k
            self._at = c.ticks_add(self._at, k * _S)
            d -= k * _S
        return d > 0

    # --- configuration -----------------------------------------------------------------
    def find(self, dst, dst_ep, src_ep, cluster, attr_id):
        for i in range(self.size):
            if self.flags[i] & _F_USED and self.dst[i] == dst and self.attr_id[i] == attr_id \
                    and self.cluster[i] == cluster and self.dst_ep[i] == dst_ep \
                    and self.src_ep[i] == src_ep:
                return i
        return -1

    def used(self):
        n = 0
        for i in range(self.size):
            if self.flags[i] & _F_USED:
                n += 1
        return n

    def remove(self, i):
        self.flags[i] = 0
        self.attr[i] = None
        self.dirty = True

    def drop(self, dst):
        """Forget every configuration reporting to dst (the device left or was removed)."""
        for i in range(self.size):
            if self.flags[i] & _F_USED and self.dst[i] == dst:
                self.remove(i)

    def configure(self, dst, dst_ep, src_ep, cluster, table, attr_id, typ, min_s, max_s,
                  change, now, to_client=True):
        """One direction 0 record (2.5.7.3): SUCCESS or the failure status; nothing kept
        on failure."""
        late = self._tick(now)
        a = table.find(attr_id)
        if a is None:
            return zg.UNSUPPORTED_ATTRIBUTE
        k = zt.kind(a.type)
        if not a.access & REPORT or k == zt.K_NONE or k == zt.K_FLOAT:
            return zg.UNREPORTABLE_ATTRIBUTE  # (floats: our codec cannot send them)
        if typ != a.type:
            return zg.INVALID_DATA_TYPE
        i = self.find(dst, dst_ep, src_ep, cluster, attr_id)
        if max_s == _MAX_OFF or (max_s == 0 and min_s == 0xFFFF):
            if i >= 0:
                self.remove(i)
            return zg.SUCCESS
        analog = zt.is_analog(typ)
        if not (0 <= min_s <= 0xFFFF and 0 <= max_s <= 0xFFFF) \
                or (max_s != 0 and min_s > max_s) or (analog and change < 0):
            return zg.INVALID_VALUE
        if i < 0:
            for j in range(self.size):
                if not self.flags[j] & _F_USED:
                    i = j
                    break
            if i < 0:
                return zg.INSUFFICIENT_SPACE
        self.dst[i] = dst
        self.dst_ep[i] = dst_ep
        self.src_ep[i] = src_ep
        self.cluster[i] = cluster
        self.attr_id[i] = attr_id
        self.type[i] = typ
        self.min_s[i] = min_s
        self.max_s[i] = max_s
        self.change[i] = change if analog else 0
        self.attr[i] = a
        self.last[i] = 0
        self.last_s[i] = self.now_s
        self.flags[i] = _F_USED | (_F_TO_CLIENT if to_client else 0) | (_F_LATE if late else 0)
        self.dirty = True
        return zg.SUCCESS

    def configure_record(self, dst, dst_ep, src_ep, cluster, table, rec, now, to_client=True):
        """A record reporting.next_config_record parsed."""
        if rec.direction != zr.REPORTED:
            return zg.UNSUPPORTED_ATTRIBUTE  # no receive-side timeouts kept (2.5.7.1.8)
        return self.configure(dst, dst_ep, src_ep, cluster, table, rec.attr_id, rec.type,
                              rec.min_interval, rec.max_interval, rec.change, now, to_client)

    def read_config(self, dst, dst_ep, src_ep, cluster, table, direction, attr_id, out, off):
        """One Read Reporting Configuration Response record (2.5.10.1) at out[off:]: the
        configuration reporting to dst (the requester); return the end offset."""
        a = table.find(attr_id)
        if direction != zr.REPORTED or a is None:
            status = zg.UNSUPPORTED_ATTRIBUTE
        elif not a.access & REPORT:
            status = zg.UNREPORTABLE_ATTRIBUTE
        else:
            i = self.find(dst, dst_ep, src_ep, cluster, attr_id)
            if i >= 0:
                return zr.put_config_rsp(out, off, attr_id, self.type[i], self.min_s[i],
                                         self.max_s[i], self.change[i])
            status = zg.NOT_FOUND  # reportable, not configured (2.5.10.1.1)
        return zr.put_config_rsp_status(out, off, status, direction, attr_id)

    # --- reporting ---------------------------------------------------------------------
    def _key(self, i, v):
        k = zt.kind(self.type[i])
        return _hash(v) if k >= zt.K_OCTETS else v

    def _due(self, i):
        """Slot i (in use) due now; reads its value when that decides."""
        f = self.flags[i]
        el = self.now_s - self.last_s[i]
        mx = self.max_s[i]
        if mx and el >= mx:
            return True
        mn = self.min_s[i]
        if el < (mn + 1 if f & _F_LATE and mn else mn):
            return False
        if not f & _F_SENT:
            return True
        v = self._key(i, self.attr[i].get())
        last = self.last[i]
        if v == last:
            return False
        if zt.is_analog(self.type[i]):
            d = v - last
            return (d if d >= 0 else -d) >= self.change[i]
        return True

    def due(self, now):
        self._tick(now)
        for i in range(self.size):
            if self.flags[i] & _F_USED and self._due(i):
                return True
        return False

    def wake_in(self, now):
        """Microseconds until a report may be due (0: now), at most WAKE_MAX_US; -1 when
        nothing is configured."""
        self._tick(now)
        ns = self.now_s
        best = -1
        for i in range(self.size):
            f = self.flags[i]
            if not f & _F_USED:
                continue
            last = self.last_s[i]
            mn = self.min_s[i]
            t = last + (mn + 1 if f & _F_LATE and mn else mn)
            if t <= ns:
                t = ns if not f & _F_SENT or self._due(i) else ns + self.check_s
            mx = self.max_s[i]
            if mx and last + mx < t:
                t = last + mx
            if best < 0 or t < best:
                best = t
        if best < 0:
            return -1
        if best - ns > WAKE_MAX_US // _S:  # (and no big int on a 32-bit port)
            return WAKE_MAX_US
        us = (best - ns) * _S - self.clock.ticks_diff(now, self._at)
        if us <= 0:
            return 0
        return us if us < WAKE_MAX_US else WAKE_MAX_US

    def _same(self, i, j):
        return self.dst[j] == self.dst[i] and self.dst_ep[j] == self.dst_ep[i] \
            and self.src_ep[j] == self.src_ep[i] and self.cluster[j] == self.cluster[i] \
            and (self.flags[j] ^ self.flags[i]) & _F_TO_CLIENT == 0

    def _mark(self, i, v, late, keep=True):
        if keep:
            k = self._undo_n
            self._undo_i[k] = i
            self._undo_last[k] = self.last[i]
            self._undo_last_s[k] = self.last_s[i]
            self._undo_flags[k] = self.flags[i]
            self._undo_n = k + 1
        self.last[i] = self._key(i, v)
        self.last_s[i] = self.now_s
        f = (self.flags[i] | _F_SENT) & ~_F_LATE
        self.flags[i] = f | _F_LATE if late else f

    def undo(self):
        """Put back what the last build_next changed: its frame was not sent."""
        for k in range(self._undo_n):
            i = self._undo_i[k]
            self.last[i] = self._undo_last[k]
            self.last_s[i] = self._undo_last_s[k]
            self.flags[i] = self._undo_flags[k]
        if self._undo_n:
            self.reports -= 1
            self._cursor = self._undo_cursor
        self._undo_n = 0

    def build_next(self, now, out):
        late = self._tick(now)
        n = self.size
        limit = len(out)
        self._undo_n = 0
        self._undo_cursor = self._cursor
        for k in range(n):
            i = (self._cursor + k) % n
            if not (self.flags[i] & _F_USED and self._due(i)):
                continue
            a = self.attr[i]
            v = a.get()
            t = self.type[i]
            if 3 + _rec_size(t, v) > limit:  # can never go: skip it, keep the rest moving
                self._mark(i, v, late, False)  # never to be sent: not undone
                self.dropped += 1
                continue
            seq = self.next_seq() if self.next_seq is not None else self.seq
            self.seq = (seq + 1) & 0xFF
            # Default responses disabled: the APS acknowledgement already confirms
            # delivery, and an answer per report would double the traffic.
            zf.set_header(self._h, zf.FT_GLOBAL,
                          zf.TO_CLIENT if self.flags[i] & _F_TO_CLIENT else zf.TO_SERVER,
                          seq, zg.REPORT_ATTRIBUTES, True)
            p = zf.build(self._h, out, 0)
            p = _put(out, p, self.attr_id[i], t, v)
            self._mark(i, v, late)
            for m in range(k + 1, n):
                j = (self._cursor + m) % n
                if not (self.flags[j] & _F_USED and self._same(i, j) and self._due(j)):
                    continue
                b = self.attr[j]
                w = b.get()
                u = self.type[j]
                if p + _rec_size(u, w) <= limit:
                    p = _put(out, p, self.attr_id[j], u, w)
                    self._mark(j, w, late)
            self._cursor = (i + 1) % n
            self.reports += 1
            r = self._res
            r[0] = self.dst[i]
            r[1] = self.dst_ep[i]
            r[2] = self.src_ep[i]
            r[3] = self.cluster[i]
            r[4] = p
            return r
        return None

    # --- persistence (han/zcl/engine_store.py) ------------------------------------------
    @staticmethod
    def packed_size(slots):
        return engine_store.packed_size(slots)

    def pack(self, out):
        """The configurations (not the last values) into out; return the length."""
        return engine_store.pack(self, out)

    def unpack(self, buf, n, find_table, now):
        """Restore what pack wrote (engine_store.unpack): the number restored."""
        return engine_store.unpack(self, buf, n, find_table, now)
