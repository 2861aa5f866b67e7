# Store-and-forward (seed 003 §11.1, §11.4): what the comms hub must deliver to a HAN
# device (price and message updates, configuration, image notifications) waits here until
# the device acknowledges it (APS ack or ZCL response), across power cuts.
#
# A pool of `total` item slots; each slot is one record of the registers' power-loss-safe
# store (registers/store.py: two slot files, seq, CRC-32; a cut leaves the previous record),
# so every change is ONE write of one small record: enqueue writes the new item into a
# free slot (or over the item it supersedes or overwrites), acknowledged() writes the slot
# back as free. next() and the "in flight" mark write nothing: the item id is stored with
# the item at enqueue, so after a power cut an unacknowledged item is simply sent again
# with the SAME id.
#
# Delivery guarantee. Items of a device go out oldest first (§11.4 FIFO) with strictly
# increasing u32 ids (a counter kept in every record: never reused across power cuts). A
# cut between the recipient taking an item and the hub recording its acknowledgement makes
# the hub send it again, so "never delivered twice" means: never ACCEPTED twice by a
# recipient that remembers the last id it took from each sender and drops an id at or
# below it (LastIds below; every device role of this firmware must do so, and must
# acknowledge the duplicate too). Nothing is removed before its acknowledgement (§11.1)
# except by the bounds: a full queue (per device, or the whole pool) overwrites its oldest
# item and reports it through on_overflow(dev, kind, item_id) BEFORE the write (a cut in
# between leaves an event for an overwrite that did not happen, never the reverse), and a
# newer item of a superseding kind (price, message: only the latest matters) replaces the
# device's older one of that kind. The newcomer takes a new id, so it goes to the queue's
# tail: ids stay in delivery order, which the recipient's rule needs.
#
# Items are tagged with the device's EUI-64: the device table's entry (han/nwk/devices.py)
# may be given to another device, which never gets the previous one's items.
#
# Slot record "hfq<i>" (kind KIND_ITEM), little endian:
#   0 u8 state (0 free, 1 item)   1 u8 device index   2 8 EUI-64   10 u32 item id
#  14 u32 next id (every id below it was issued)      18 u8 kind   19 u8 payload length n
#  20 u32 UTC of the enqueue      24 n payload
import struct
from array import array

from micropython import const

KIND_ITEM = const(0xB6)  # record kinds (docs/registers.md): queue slots,
KIND_LAST_IDS = const(0xB7)  # a recipient's last accepted ids

# Item kinds (the caller's; only SUPERSEDE below gives them a meaning here).
PRICE = const(1)  # Price cluster publish (§11.4: "continually being updated")
MESSAGE = const(2)  # Messaging cluster display / cancel
CONFIG = const(3)  # configuration for the device
IMAGE_NOTIFY = const(4)  # OTA Image Notify
SUPERSEDE = bytes((PRICE, MESSAGE))

MAX_PAYLOAD = const(64)
_HEAD = const(24)
_FREE = const(0xFF)  # dev[] of a free slot
_MIN_UTC = const(946684800)  # 2000-01-01: the id floor's epoch (registers/clock.py)


class ForwardQueue:
    """The hub's per-device queues. record_store: registers.store.RecordStore; devices:
    entries of the trust centre's table (device indexes 0..devices-1)."""

    def __init__(self, record_store, devices=16, per_device=4, total=24,
                 max_payload=MAX_PAYLOAD, supersede=SUPERSEDE, on_overflow=None,
                 name="hfq"):
        if not 0 < per_device <= total or not 0 < max_payload <= 255 or devices > 255:
            raise ValueError("bounds")
        self._store = record_store
        self._name = name
        self.devices = devices
        self.per_device = per_device
        self.total = total
        self.max_payload = max_payload
        self.supersede = bytes(supersede)
        self.on_overflow = on_overflow
        self.dev = bytearray(b"\xff" * total)
        self.ext = bytearray(8 * total)
        self.ids = array("I", [0] * total)
        self.kinds = bytearray(total)
        self.lens = bytearray(total)
        self.utcs = array("I", [0] * total)
        self.data = bytearray(total * max_payload)  # slot s at s * max_payload
        self.sent = bytearray(total)  # times next() handed it out since boot (in flight)
        self._rs = [None] * total  # RecordSlots, made when a slot's files exist
        self._rec = bytearray(_HEAD + max_payload)
        self.next_id = 1
        self.count = 0
        self.writes = 0
        self.overwritten = 0
        self.superseded = 0
        self.load()

    # --- persistence ---------------------------------------------------------------------
    def _slots(self, s):
        rs = self._rs[s]
        if rs is None:
            rs = self._rs[s] = self._store.slots("%s%d" % (self._name, s), KIND_ITEM,
                                                 _HEAD + self.max_payload)
        return rs

    def load(self):
        """Rebuild the queues from the slot records; returns the number of items."""
        rec = self._rec
        self.count = 0
        top = 1
        for s in range(self.total):
            self.dev[s] = _FREE
            self.sent[s] = 0
            self._rs[s] = None
            rs = self._store.slots("%s%d" % (self._name, s), KIND_ITEM, len(rec))
            n = rs.load(rec)
            if n < 0:
                continue  # never written (or both slots torn: same as never written)
            self._rs[s] = rs
            if n < _HEAD:
                continue
            ident, nxt = struct.unpack_from("<II", rec, 10)
            top = max(top, nxt)
            ln = rec[19]
            if rec[0] != 1 or rec[1] >= self.devices or ln > self.max_payload \
                    or n != _HEAD + ln:
                continue
            top = max(top, ident + 1)
            self.dev[s] = rec[1]
            self.ext[8 * s:8 * s + 8] = rec[2:10]
            self.ids[s] = ident
            self.kinds[s] = rec[18]
            self.lens[s] = ln
            self.utcs[s] = struct.unpack_from("<I", rec, 20)[0]
            base = s * self.max_payload
            self.data[base:base + ln] = rec[_HEAD:_HEAD + ln]
            self.count += 1
        self.next_id = top
        return self.count

    def _write(self, s, dev, ext, ident, kind, payload, n, utc):
        """One record write: slot s holds that item (dev _FREE: s is free)."""
        rec = self._rec
        rec[0] = 0 if dev == _FREE else 1
        rec[1] = 0 if dev == _FREE else dev
        for j in range(8):
            rec[2 + j] = ext[j] if dev != _FREE else 0
        struct.pack_into("<IIBBI", rec, 10, ident, self.next_id, kind, n, utc)
        for j in range(n):
            rec[_HEAD + j] = payload[j]
        self._slots(s).save(rec, _HEAD + n)
        self.writes += 1

    # --- queue ---------------------------------------------------------------------------
    def _ext_is(self, s, ext):
        o = 8 * s
        e = self.ext
        for j in range(8):
            if e[o + j] != ext[j]:
                return False
        return True

    def pending(self, dev, ext=None):
        """Items waiting for device dev (of EUI-64 ext when given): e.g. the MAC's frame
        pending bit for a sleepy device's poll."""
        n = 0
        for s in range(self.total):
            if self.dev[s] == dev and (ext is None or self._ext_is(s, ext)):
                n += 1
        return n

    def _oldest(self, dev, ext=None, kind=-1):
        best = -1
        for s in range(self.total):
            if self.dev[s] == dev and (ext is None or self._ext_is(s, ext)) \
                    and (kind < 0 or self.kinds[s] == kind) \
                    and (best < 0 or self.ids[s] < self.ids[best]):
                best = s
        return best

    def next(self, dev, ext):
        """The slot of the oldest item for device dev whose EUI-64 is ext, or -1; marked in
        flight (sent[slot] counts the hand-outs). Called again before its acknowledgement
        it gives the same item, id unchanged: a retransmission. Allocates nothing."""
        s = self._oldest(dev, ext)
        if s >= 0 and self.sent[s] < 255:
            self.sent[s] += 1
        return s

    def item_id(self, s):
        return self.ids[s]

    def kind(self, s):
        return self.kinds[s]

    def payload(self, s, out, off=0):
        """Copy slot s's payload into out at off; returns its length. Allocates nothing."""
        n = self.lens[s]
        base = s * self.max_payload
        d = self.data
        for j in range(n):
            out[off + j] = d[base + j]
        return n

    def in_flight(self, dev):
        """The id of the item handed out by next() and not acknowledged yet, or 0."""
        for s in range(self.total):
            if self.dev[s] == dev and self.sent[s]:
                return self.ids[s]
        return 0

    def enqueue(self, dev, ext, kind, payload, utc, length=-1):
        """Store payload[:length] (all of it when -1) of kind for device dev (EUI-64 ext);
        returns its item id. One record write. Raises OSError when the flash refuses (the
        item is then not queued), ValueError on a bad argument."""
        n = len(payload) if length < 0 else length
        if not 0 <= dev < self.devices or n > self.max_payload or not 0 <= kind <= 255 \
                or len(ext) != 8:
            raise ValueError("item")
        self._purge(dev, ext)
        # An id above every one issued; after 2000-01-01 also above (UTC - 2000) / 4, so a
        # hub whose store was wiped still resumes above its past ids (unless it issued more
        # than one item per 4 s on average), and ids stay below 2**30 (small ints on
        # 32-bit ports: reading them allocates nothing) until 2099.
        ident = max(self.next_id, (utc - _MIN_UTC) >> 2 if utc > _MIN_UTC else 0)
        s = -1
        if kind in self.supersede:
            s = self._oldest(dev, ext, kind)
            if s >= 0:
                self.superseded += 1
        if s < 0 and self.pending(dev) >= self.per_device:
            s = self._overflow(self._oldest(dev))  # §11.4: overwrite the oldest
        if s < 0:
            for i in range(self.total):
                if self.dev[i] == _FREE:
                    s = i
                    break
        if s < 0:
            s = self._overflow(self._victim())
        self.next_id = ident + 1  # before the write: a write that fails keeps its id used
        self._write(s, dev, ext, ident, kind, payload, n, utc)
        if self.dev[s] == _FREE:
            self.count += 1
        self.dev[s] = dev
        self.ext[8 * s:8 * s + 8] = ext
        self.ids[s] = ident
        self.kinds[s] = kind
        self.lens[s] = n
        self.utcs[s] = utc
        self.sent[s] = 0
        base = s * self.max_payload
        for j in range(n):
            self.data[base + j] = payload[j]
        return ident

    def _overflow(self, s):
        self.overwritten += 1
        if self.on_overflow is not None:
            self.on_overflow(self.dev[s], self.kinds[s], self.ids[s])
        return s

    def _victim(self):
        """The pool is full: the oldest item of the device with the most items (a busy
        device does not push out a quiet one's single item)."""
        best = -1
        most = 0
        for s in range(self.total):
            d = self.dev[s]
            if d != _FREE:
                c = self.pending(d)
                if c > most or (c == most and self.ids[s] < self.ids[best]):
                    best, most = s, c
        return best

    def _free(self, s):
        self._write(s, _FREE, None, 0, 0, None, 0, 0)
        self.dev[s] = _FREE
        self.sent[s] = 0
        self.count -= 1

    def _purge(self, dev, ext):
        for s in range(self.total):
            if self.dev[s] == dev and not self._ext_is(s, ext):
                self._free(s)  # a previous occupant's item: never for this device

    def acknowledged(self, dev, item_id):
        """The recipient acknowledged item_id (APS ack or ZCL response, also to a
        retransmission): removed with one record write. False when no such item is queued
        (acknowledged before, superseded or overwritten since). The search allocates
        nothing; the write allocates what the record store's save does."""
        for s in range(self.total):
            if self.dev[s] == dev and self.ids[s] == item_id:
                self._free(s)
                return True
        return False

    def drop(self, dev):
        """Device dev left the network (its entry removed): forget its items. Returns how
        many (one write each; a cut half way is harmless: the EUI-64 tag keeps what is left
        from the entry's next device)."""
        n = 0
        for s in range(self.total):
            if self.dev[s] == dev:
                self._free(s)
                n += 1
        return n


class LastIds:
    """The receiving side (a device role): the last item id accepted from each sender,
    by the sender's EUI-64, persisted (record "hfqrx", kind KIND_LAST_IDS) or packed into
    the role's own record (pack/unpack; store None). Use: if accept(hub_ext, id) is False
    the item is a duplicate: acknowledge it, do not act on it again. To be exact across
    its own power cuts the role stores the item's effect before accept() (a cut in between
    re-applies the same item: harmless for price, message, configuration, notification,
    which replace state) or keeps the ids in the same record as the effect (pack)."""

    def __init__(self, record_store=None, senders=2, name="hfqrx"):
        self.senders = senders
        self.ext = bytearray(8 * senders)
        self.last = array("I", [0] * senders)  # 0: entry unused (ids start at 1)
        self._ring = 0
        self._buf = bytearray(12 * senders)
        self._rs = None
        if record_store is not None:
            self._rs = record_store.slots(name, KIND_LAST_IDS, len(self._buf))
            if self._rs.load(self._buf) == len(self._buf):
                self.unpack(self._buf, 0)

    def record_bytes(self):
        return 12 * self.senders

    def pack(self, out, off):
        for i in range(self.senders):
            o = off + 12 * i
            out[o:o + 8] = self.ext[8 * i:8 * i + 8]
            struct.pack_into("<I", out, o + 8, self.last[i])

    def unpack(self, buf, off):
        for i in range(self.senders):
            o = off + 12 * i
            self.ext[8 * i:8 * i + 8] = buf[o:o + 8]
            self.last[i] = struct.unpack_from("<I", buf, o + 8)[0]

    def _find(self, ext):
        e = self.ext
        for i in range(self.senders):
            if self.last[i]:
                o = 8 * i
                for j in range(8):
                    if e[o + j] != ext[j]:
                        break
                else:
                    return i
        return -1

    def is_new(self, ext, item_id):
        """Whether item_id from sender ext was not accepted yet (writes nothing)."""
        i = self._find(ext)
        return i < 0 or item_id > self.last[i]

    def accept(self, ext, item_id):
        """True (and item_id recorded, one write when persisted) for a new item; False for
        a duplicate. Raises OSError when the record cannot be written (then not recorded)."""
        i = self._find(ext)
        if i >= 0 and item_id <= self.last[i]:
            return False
        if i < 0:
            for k in range(self.senders):
                if not self.last[k]:
                    i = k
                    break
            if i < 0:
                i = self._ring  # more senders than entries: the entries take turns
                self._ring = (i + 1) % self.senders
        old = self.last[i]
        old_ext = bytes(self.ext[8 * i:8 * i + 8])
        self.ext[8 * i:8 * i + 8] = ext
        self.last[i] = item_id
        if self._rs is not None:
            self.pack(self._buf, 0)
            try:
                self._rs.save(self._buf, len(self._buf))
            except OSError:
                self.last[i] = old  # not recorded: the item is not accepted
                self.ext[8 * i:8 * i + 8] = old_ext
                raise
        return True
