# han/hub/forward.py: the hub's store-and-forward queue (seed 003 §11.1, §11.4) and the
# recipient's LastIds. FIFO, overwrite with its event, supersede, acknowledgement, reload,
# entry reuse by another EUI-64, and a power cut at every write of a workload (each write
# torn at several bytes) with 0 items lost, 0 accepted twice, ids never reused.
# Portable: tiers 1 and 2.
from han.hub.forward import (CONFIG, IMAGE_NOTIFY, KIND_ITEM, MESSAGE, PRICE, ForwardQueue,
                             LastIds)
from registers.memfs import MemoryFs
from registers.store import RecordStore
from support import NoAllocation, raises

EXT_A = b"\x00\x04\xa3\x0b\x00\x00\x01\x00"
EXT_B = b"\x00\x04\xa3\x0b\x00\x00\x01\x01"
HUB = b"\x00\x04\xa3\x0b\x00\x00\x00\x99"
UTC = 1000  # before 2000: no id floor, ids count from 1


def _queue(fs, events=None, **kw):
    def on_overflow(dev, kind, item_id):
        events.append((dev, kind, item_id))

    return ForwardQueue(RecordStore(fs), on_overflow=on_overflow if events is not None
                        else None, **kw)


def _take(q, dev, ext):
    """next() then acknowledged(): (id, kind, payload) or None."""
    s = q.next(dev, ext)
    if s < 0:
        return None
    buf = bytearray(64)
    n = q.payload(s, buf)
    item = (q.item_id(s), q.kind(s), bytes(buf[:n]))
    assert q.acknowledged(dev, item[0])
    return item


def test_fifo_ids_and_payloads():
    q = _queue(MemoryFs())
    assert q.enqueue(0, EXT_A, CONFIG, b"c1", UTC) == 1
    assert q.enqueue(0, EXT_A, IMAGE_NOTIFY, b"\x01\x02\x03", UTC) == 2
    assert q.enqueue(1, EXT_B, CONFIG, b"other", UTC) == 3
    assert q.enqueue(0, EXT_A, CONFIG, b"c2xx", UTC, 2) == 4  # length: the first 2 only
    assert q.pending(0) == 3 and q.pending(1) == 1 and q.count == 4
    assert _take(q, 0, EXT_A) == (1, CONFIG, b"c1")
    assert _take(q, 0, EXT_A) == (2, IMAGE_NOTIFY, b"\x01\x02\x03")
    assert _take(q, 0, EXT_A) == (4, CONFIG, b"c2")
    assert _take(q, 0, EXT_A) is None
    assert _take(q, 1, EXT_B) == (3, CONFIG, b"other")
    assert q.count == 0 and q.writes == 8  # one write per enqueue and per acknowledgement


def test_retransmission_keeps_the_id_until_acknowledged():
    q = _queue(MemoryFs())
    q.enqueue(2, EXT_A, CONFIG, b"x", UTC)
    q.enqueue(2, EXT_A, CONFIG, b"y", UTC)
    s = q.next(2, EXT_A)
    assert q.next(2, EXT_A) == s and q.item_id(s) == 1 and q.sent[s] == 2
    assert q.in_flight(2) == 1
    assert q.acknowledged(2, 1) and not q.acknowledged(2, 1)  # twice: nothing the 2nd time
    assert q.in_flight(2) == 0
    s = q.next(2, EXT_A)
    assert q.item_id(s) == 2 and q.sent[s] == 1


def test_allocation_free_hand_out():
    q = _queue(MemoryFs())
    q.enqueue(5, EXT_A, PRICE, b"\x10\x20\x30", UTC)
    out = bytearray(64)
    with NoAllocation():
        s = q.next(5, EXT_A)
        n = q.payload(s, out)
        i = q.item_id(s)
        k = q.kind(s)
        p = q.pending(5, EXT_A)
        f = q.in_flight(5)
        miss = q.acknowledged(5, 77)  # the search writes nothing when the id is unknown
    assert (n, i, k, p, f, miss) == (3, 1, PRICE, 1, 1, False)
    assert out[:3] == b"\x10\x20\x30"


def test_device_queue_full_overwrites_its_oldest_with_an_event():
    events = []
    q = _queue(MemoryFs(), events, per_device=4, total=8)
    for i in range(4):
        q.enqueue(0, EXT_A, CONFIG, bytes([i]), UTC)
    q.enqueue(1, EXT_B, CONFIG, b"b", UTC)
    assert events == []
    assert q.enqueue(0, EXT_A, IMAGE_NOTIFY, b"\x04", UTC) == 6
    assert events == [(0, CONFIG, 1)] and q.overwritten == 1
    assert [_take(q, 0, EXT_A)[0] for _ in range(4)] == [2, 3, 4, 6]
    assert _take(q, 1, EXT_B) == (5, CONFIG, b"b")  # the other device kept its item


def test_pool_full_overwrites_the_oldest_of_the_busiest_device():
    events = []
    q = _queue(MemoryFs(), events, per_device=3, total=4)
    q.enqueue(1, EXT_B, CONFIG, b"b1", UTC)  # id 1: the oldest, but its device's only one
    for i in range(3):
        q.enqueue(0, EXT_A, CONFIG, bytes([i]), UTC)  # ids 2, 3, 4
    q.enqueue(2, HUB, MESSAGE, b"m", UTC)  # id 5: the pool is full
    assert events == [(0, CONFIG, 2)]
    assert _take(q, 1, EXT_B)[0] == 1
    assert [_take(q, 0, EXT_A)[0] for _ in range(2)] == [3, 4]
    assert _take(q, 2, HUB) == (5, MESSAGE, b"m")


def test_supersede_keeps_only_the_latest_price_and_message():
    events = []
    q = _queue(MemoryFs(), events)
    q.enqueue(0, EXT_A, PRICE, b"p1", UTC)  # 1
    q.enqueue(0, EXT_A, CONFIG, b"c", UTC)  # 2
    q.enqueue(0, EXT_A, MESSAGE, b"m1", UTC)  # 3
    q.enqueue(0, EXT_A, PRICE, b"p2", UTC)  # 4 replaces 1, goes to the tail
    q.enqueue(0, EXT_A, MESSAGE, b"m2", UTC)  # 5 replaces 3
    q.enqueue(0, EXT_A, CONFIG, b"c2", UTC)  # 6: configuration does not supersede
    assert events == [] and q.superseded == 2 and q.pending(0) == 4
    got = [_take(q, 0, EXT_A) for _ in range(4)]
    assert got == [(2, CONFIG, b"c"), (4, PRICE, b"p2"), (5, MESSAGE, b"m2"),
                   (6, CONFIG, b"c2")]
    q2 = _queue(MemoryFs(), supersede=())  # configurable: no kind supersedes
    q2.enqueue(0, EXT_A, PRICE, b"p1", UTC)
    q2.enqueue(0, EXT_A, PRICE, b"p2", UTC)
    assert q2.pending(0) == 2


def test_in_flight_item_superseded_then_its_late_ack_is_ignored():
    q = _queue(MemoryFs())
    q.enqueue(0, EXT_A, PRICE, b"p1", UTC)
    q.next(0, EXT_A)
    q.enqueue(0, EXT_A, PRICE, b"p2", UTC)
    assert not q.acknowledged(0, 1)
    assert _take(q, 0, EXT_A) == (2, PRICE, b"p2")


def test_reload_keeps_items_and_never_reuses_ids():
    fs = MemoryFs(atomic=False)
    q = _queue(fs)
    for i in range(3):
        q.enqueue(3, EXT_A, CONFIG, bytes([i]) * 10, UTC)
    _take(q, 3, EXT_A)
    q = _queue(fs)  # reboot
    assert q.count == 2 and q.next_id == 4
    assert _take(q, 3, EXT_A) == (2, CONFIG, b"\x01" * 10)
    _take(q, 3, EXT_A)
    q = _queue(fs)  # every item acknowledged: the free slots still carry the counter
    assert q.count == 0 and q.enqueue(3, EXT_A, CONFIG, b"n", UTC) == 4
    assert "hfq0.a" in fs.files  # the records are the store's, kind KIND_ITEM
    assert fs.files["hfq0.a"][3] == KIND_ITEM or fs.files["hfq0.b"][3] == KIND_ITEM


def test_id_floor_from_the_clock():
    q = _queue(MemoryFs())
    # 2000-01-01 + 4000 s: ids start above (UTC - 2000) / 4 = 1000
    assert q.enqueue(0, EXT_A, CONFIG, b"", 946684800 + 4000) == 1000
    assert q.enqueue(0, EXT_A, CONFIG, b"", 946684800 + 4000) == 1001
    assert q.enqueue(0, EXT_A, CONFIG, b"", 946684800) == 1002  # clock set back


def test_entry_reused_by_another_device_gets_nothing_of_the_old_one():
    fs = MemoryFs(atomic=False)
    q = _queue(fs)
    q.enqueue(4, EXT_A, CONFIG, b"for A", UTC)
    q.enqueue(4, EXT_A, MESSAGE, b"msg A", UTC)
    assert q.next(4, EXT_B) < 0 and q.pending(4, EXT_B) == 0
    q = _queue(fs)  # reboot: still tagged
    assert q.next(4, EXT_B) < 0
    assert q.enqueue(4, EXT_B, CONFIG, b"for B", UTC) == 3  # purges A's two items
    assert q.pending(4) == 1
    q = _queue(fs)
    assert _take(q, 4, EXT_B) == (3, CONFIG, b"for B") and q.next(4, EXT_A) < 0


def test_drop_on_device_removal():
    fs = MemoryFs()
    q = _queue(fs)
    q.enqueue(6, EXT_A, CONFIG, b"a", UTC)
    q.enqueue(6, EXT_A, PRICE, b"b", UTC)
    q.enqueue(7, EXT_B, PRICE, b"c", UTC)
    assert q.drop(6) == 2 and q.pending(6) == 0
    q = _queue(fs)
    assert q.count == 1 and q.pending(7) == 1


def test_bad_items_are_refused():
    q = _queue(MemoryFs())
    raises(ValueError, q.enqueue, 16, EXT_A, CONFIG, b"", UTC)
    raises(ValueError, q.enqueue, 0, EXT_A, CONFIG, bytes(65), UTC)
    raises(ValueError, q.enqueue, 0, EXT_A[:7], CONFIG, b"", UTC)
    assert q.count == 0 and q.writes == 0


def test_failed_write_queues_nothing_and_burns_its_id():
    fs = MemoryFs(atomic=False)
    q = _queue(fs)
    q.enqueue(0, EXT_A, CONFIG, b"one", UTC)
    fs.cut_after_bytes = 0  # the flash refuses the next write
    raises(OSError, q.enqueue, 0, EXT_A, CONFIG, b"two", UTC)
    raises(OSError, q.acknowledged, 0, 1)
    fs.cut_after_bytes = None
    assert q.pending(0) == 1  # the acknowledgement was not recorded: still queued
    assert q.enqueue(0, EXT_A, CONFIG, b"three", UTC) == 3
    q = _queue(fs)
    assert [_take(q, 0, EXT_A)[2] for _ in range(2)] == [b"one", b"three"]


def test_last_ids_drops_duplicates_and_persists():
    fs = MemoryFs(atomic=False)
    rx = LastIds(RecordStore(fs))
    assert rx.is_new(HUB, 1) and rx.accept(HUB, 1)
    assert not rx.accept(HUB, 1) and not rx.is_new(HUB, 1)
    assert rx.accept(HUB, 5) and not rx.accept(HUB, 4)
    assert rx.accept(EXT_A, 2)  # another sender: its own sequence
    rx = LastIds(RecordStore(fs))  # reboot
    assert not rx.accept(HUB, 5) and rx.accept(HUB, 6) and not rx.accept(EXT_A, 2)
    fs.cut_after_bytes = 10  # torn write: not recorded, not accepted
    raises(OSError, rx.accept, HUB, 7)
    fs.cut_after_bytes = None
    assert rx.is_new(HUB, 7)
    rx = LastIds(RecordStore(fs))
    assert rx.is_new(HUB, 7) and not rx.is_new(HUB, 6)
    # Kept in a role's own record instead (no store of its own).
    mine = LastIds(None, senders=1)
    assert mine.accept(HUB, 9)
    buf = bytearray(mine.record_bytes())
    mine.pack(buf, 0)
    other = LastIds(None, senders=1)
    other.unpack(buf, 0)
    assert not other.accept(HUB, 9) and other.accept(HUB, 10)


# --- power cut at every write point ------------------------------------------------------
# A scripted workload (two devices, supersede, a full queue, a lost acknowledgement); the
# run is cut at write number w, torn after b bytes (0: nothing written; 11: inside the
# record header; 39: all but the last CRC byte of a free-slot record), then the hub reboots
# and delivers everything to a recipient with LastIds.
_OPS = (("e", 0, PRICE), ("e", 0, CONFIG), ("e", 1, CONFIG), ("d", 0), ("e", 0, PRICE),
        ("s", 1), ("e", 0, MESSAGE), ("e", 0, CONFIG), ("e", 0, IMAGE_NOTIFY),
        ("e", 0, CONFIG), ("d", 1), ("e", 1, PRICE), ("d", 0), ("e", 0, MESSAGE),
        ("d", 0), ("d", 1), ("e", 1, CONFIG), ("d", 0))
_EXTS = (EXT_A, EXT_B)


class _Model:
    def __init__(self):
        self.items = []  # [serial, dev, kind, id or None (the enqueue did not return)]
        self.accepted = {}  # serial -> id, as the recipient took it
        self.events = []
        self.duplicates = 0  # items the recipient took twice (must stay 0)
        self.dropped = 0  # resends the recipient recognised (the cut fell before the ack)

    def deliver(self, q, rx, dev, ack=True):
        s = q.next(dev, _EXTS[dev])
        if s < 0:
            return
        buf = bytearray(64)
        q.payload(s, buf)
        ident = q.item_id(s)
        if rx[dev].accept(HUB, ident):  # each device is a recipient of its own
            serial = buf[0]
            if serial in self.accepted:
                self.duplicates += 1
            self.accepted[serial] = ident
        else:
            self.dropped += 1
        if ack:
            q.acknowledged(dev, ident)


def _run(q, rx, m):
    for op in _OPS:
        if op[0] == "e":
            serial = len(m.items)
            entry = [serial, op[1], op[2], None]
            m.items.append(entry)
            entry[3] = q.enqueue(op[1], _EXTS[op[1]], op[2], bytes([serial]) * 20, UTC)
        else:
            m.deliver(q, rx, op[1], op[0] == "d")


def _check(m):
    lost = 0
    ids = {}
    for serial, dev, kind, ident in m.items:
        if ident is not None:
            assert ident not in ids, "id reused"
            ids[ident] = serial
            if serial in m.accepted:
                assert m.accepted[serial] == ident  # delivered with its own id
                continue
            if (dev, kind, ident) in m.events:
                continue
            if kind in (PRICE, MESSAGE) and any(
                    d == dev and k == kind and s > serial
                    and (s in m.accepted or (d, k, i) in m.events)
                    for s, d, k, i in m.items):
                continue  # superseded by a newer one (delivered, or overwritten: event)
            lost += 1
    for serial, ident in m.accepted.items():
        assert ids.get(ident, serial) == serial  # an id never names two items
    return lost


def test_power_cut_at_every_write_point():
    clean = MemoryFs(atomic=False)
    m0 = _Model()
    q = _queue(clean, m0.events, per_device=3, total=5)
    _run(q, (LastIds(), LastIds()), m0)
    writes = q.writes
    assert writes == clean.commits and writes == 17 and m0.events  # the queue overflowed
    runs = resent = 0
    for w in range(writes):
        for b in (0, 11, 39):
            fs = MemoryFs(atomic=False)
            m = _Model()
            rx = (LastIds(), LastIds())  # the recipients' flash is not cut here
            q = _queue(fs, m.events, per_device=3, total=5)
            base = fs.commits
            real_open = fs.open

            def cut_open(name, mode="rb", w=w, b=b, real_open=real_open, fs=fs, base=base):
                if "w" in mode and fs.commits - base == w:
                    fs.cut_after_bytes = b
                return real_open(name, mode)

            fs.open = cut_open
            try:
                _run(q, rx, m)
            except OSError:
                pass
            fs.open = real_open
            fs.cut_after_bytes = None
            q = _queue(fs, m.events, per_device=3, total=5)  # reboot
            top = max([e[3] for e in m.items if e[3] is not None] + [0])
            assert q.next_id > top, (w, b)  # ids continue above every one issued
            for dev in (0, 1):
                for _ in range(6):
                    m.deliver(q, rx, dev)
            assert q.count == 0
            assert m.duplicates == 0, (w, b)
            assert _check(m) == 0, (w, b, m.items, m.accepted, m.events)
            runs += 1
            resent += m.dropped
    assert runs == 3 * writes
    assert resent > 0  # resends recognised by the recipient (lost acknowledgements)
