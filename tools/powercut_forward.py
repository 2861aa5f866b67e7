# Power-cut campaign for the hub's store-and-forward queue (issue 13; seed 003 §11.1,
# §11.4; firmware/han/hub/forward.py), on the flash and cut machinery of tools/powercut.py.
#
#   .venv/bin/python -m tools.powercut_forward --cuts N --seed S [--runtime micropython|cpython]
#
# runtime micropython (default): this file under build/micropython, the hub's flash real
#   littlefs (vfs.VfsLfs2) on hal.sim.RamBlockDevice, cut at a random program/erase
#   operation; runtime cpython: registers.memfs.MemoryFs(atomic=False), which tears a file
#   write at a random byte. For another campaign: campaign(cuts, seed, runtime) -> dict.
#
# A random workload on the hub's queue: items enqueued for up to 6 devices (all four kinds,
# payloads of 4..64 octets; price and message supersede), delivered (next(), the recipient's
# han.hub.forward.LastIds, acknowledged(); one acknowledgement in 8 lost on air), and now
# and then a device replaced by another (drop(), a new EUI-64 on the same entry). The
# recipients' flash is not cut. After each cut the hub reboots from the flash and runs on;
# at the end everything is delivered without cuts and the campaign counts:
#   lost         an item whose enqueue returned that no recipient accepted, although no
#                overflow event names it, no later item of its kind superseded it and its
#                device was not replaced
#   duplicated   an item a recipient accepted twice (under any id)
#   wrong_item   an accepted item whose id or payload is not the one enqueued, or that went
#                to another device (a previous occupant's item to the entry's new device)
#   id_reuse     an id issued twice, or the counter after a reboot not above every id issued
#   resurrected  an item whose acknowledgement returned is queued again after a reboot
#   corrupt      the file system does not mount
# and, for information: resends the recipients recognised and dropped (acknowledgements
# lost on air or to a cut), overflow events, items superseded, writes per operation.
import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"
if IS_MICROPYTHON:
    sys.path.append(sys.path.pop(0))  # tools/ first on the path would hide firmware's han
    from powercut import Device, Lcg, _arg, _json, _note
else:
    from tools.powercut import Device, Lcg, _arg, _json, _note

FAILURES = ("lost", "duplicated", "wrong_item", "id_reuse", "resurrected", "corrupt")
HUB = b"\x00\x04\xa3\x0b\x00\x00\x00\x99"
DEVICES = 6
UTC = 1735686000


def _ext(dev, gen):
    return bytes((0x00, 0x04, 0xA3, 0x0B, 0x01, dev, gen >> 8, gen & 0xFF))


def _payload(serial, n):
    """Item serial's payload: the serial, then bytes from an LCG seeded by it (so the
    campaign keeps no copy of what it enqueued)."""
    out = bytearray(n)
    out[0] = serial & 0xFF
    out[1] = (serial >> 8) & 0xFF
    out[2] = serial >> 16
    x = serial
    for i in range(3, n):
        x = (x * 1664525 + 1013904223) & 0xFFFFFFFF
        out[i] = x >> 24
    return out


class _World:
    """What happened, as the producer, the recipients and the event log know it; compact
    (arrays indexed by the item's serial): thousands of cuts fit MicroPython's heap."""

    def __init__(self):
        from array import array

        self.dev = bytearray()  # serial -> device entry
        self.gen = array("H")  # serial -> generation of the device (its EUI-64)
        self.kind = bytearray()
        self.size = bytearray()  # payload length
        self.ident = array("I")  # the id enqueue() returned (0: it did not return)
        self.accepted = array("I")  # the id the recipient took it under (0: not taken)
        self.acked = bytearray()  # 1: its acknowledged() returned True
        self.events = {}  # item ids named by on_overflow: the event log's entries
        self.top = 0  # the highest id enqueue() returned
        self.current = [0] * DEVICES  # the generation on each entry now
        self.rx = {}  # EUI-64 -> the recipient's LastIds

    def add(self, dev, kind, n):
        self.dev.append(dev)
        self.gen.append(self.current[dev])
        self.kind.append(kind)
        self.size.append(n)
        self.ident.append(0)
        self.accepted.append(0)
        self.acked.append(0)
        return len(self.dev) - 1

    def receiver(self, ext):
        from han.hub.forward import LastIds

        if ext not in self.rx:
            self.rx[ext] = LastIds(None, senders=1)
        return self.rx[ext]


def _deliver(q, w, dev, res, ack):
    ext = _ext(dev, w.current[dev])
    s = q.next(dev, ext)
    if s < 0:
        return False
    buf = bytearray(64)
    n = q.payload(s, buf)
    ident = q.item_id(s)
    serial = buf[0] | (buf[1] << 8) | (buf[2] << 16)
    if w.receiver(ext).accept(HUB, ident):
        if serial >= len(w.dev):
            res["wrong_item"] += 1
            _note(res, "unknown serial %d delivered" % serial)
            return True
        if w.accepted[serial]:
            res["duplicated"] += 1
            _note(res, "serial %d accepted twice" % serial)
        w.accepted[serial] = ident
        if w.dev[serial] != dev or w.gen[serial] != w.current[dev] or n != w.size[serial] \
                or buf[:n] != _payload(serial, n) \
                or (w.ident[serial] and w.ident[serial] != ident):
            res["wrong_item"] += 1
            _note(res, "serial %d id %d not as enqueued" % (serial, ident))
    else:
        res["resends_dropped"] += 1
    res["deliveries"] += 1
    if ack:
        res["op"] = "ack"
        if q.acknowledged(dev, ident) and serial < len(w.dev):
            w.acked[serial] = 1
    return True


def _operate(q, w, rng, res):
    r = rng.below(16)
    dev = rng.below(DEVICES)
    if r < 7:
        kind = 1 + rng.below(4)
        n = 4 + rng.below(61)
        serial = w.add(dev, kind, n)
        res["op"] = "enqueue"
        w.ident[serial] = q.enqueue(dev, _ext(dev, w.current[dev]), kind,
                                    _payload(serial, n), UTC + serial)
        w.top = max(w.top, w.ident[serial])
        res["enqueued"] += 1
    elif r < 15:
        _deliver(q, w, dev, res, rng.below(8) != 0)
    elif rng.below(4) == 0:  # the device is replaced: its entry goes to another EUI-64
        w.current[dev] += 1
        res["op"] = "drop"
        q.drop(dev)
        res["replacements"] += 1


def _check_boot(q, w, res, cut):
    top = w.top
    if q.next_id <= top:
        res["id_reuse"] += 1
        _note(res, "cut %d: next id %d, %d was issued" % (cut, q.next_id, top))
    buf = bytearray(64)
    for s in range(q.total):
        if q.dev[s] != 0xFF:
            q.payload(s, buf)
            serial = buf[0] | (buf[1] << 8) | (buf[2] << 16)
            if serial < len(w.acked) and w.acked[serial]:
                res["resurrected"] += 1
                _note(res, "cut %d: acknowledged serial %d is back" % (cut, serial))


def _final_checks(w, res):
    count = len(w.dev)
    latest = {}  # price and message: (dev, gen, kind) -> the last serial enqueued or taken
    for serial in range(count):
        if w.kind[serial] in (1, 2) and (w.ident[serial] or w.accepted[serial]):
            latest[(w.gen[serial] * DEVICES + w.dev[serial]) * 4 + w.kind[serial]] = serial
    previous = 0
    for serial in range(count):
        ident = w.ident[serial]
        if not ident:
            continue  # its enqueue was cut: it may or may not be there
        if ident <= previous:  # issued in order: a repeat or a step back is a reuse
            res["id_reuse"] += 1
            _note(res, "serial %d got id %d after %d" % (serial, ident, previous))
        previous = ident
        dev = w.dev[serial]
        kind = w.kind[serial]
        if w.accepted[serial] or ident in w.events or w.gen[serial] != w.current[dev]:
            continue  # delivered, overwritten with its event, or its device left
        # han.hub.forward.SUPERSEDE: a later one of its kind replaced it
        if kind in (1, 2) and latest[(w.gen[serial] * DEVICES + dev) * 4 + kind] > serial:
            res["superseded_items"] += 1
            continue
        res["lost"] += 1
        _note(res, "serial %d (id %d, device %d, kind %d) lost" % (serial, ident, dev, kind))


def campaign(cuts, seed, runtime):
    from han.hub.forward import ForwardQueue
    from registers.store import RecordStore

    rng = Lcg(seed)
    device = Device(runtime, rng)
    w = _World()
    res = {"cuts": 0, "boots": 0, "reboot_checks": 0, "enqueued": 0, "deliveries": 0,
           "resends_dropped": 0, "replacements": 0, "overflow_events": 0,
           "superseded_items": 0, "supersedes": 0, "queue_writes": 0, "flash_ops": 0, "cut_enqueue": 0,
           "cut_ack": 0, "cut_drop": 0, "op": "", "incidents": []}
    for k in FAILURES:
        res[k] = 0

    def on_overflow(dev, kind, item_id):
        w.events[item_id] = True
        res["overflow_events"] += 1

    ops0 = device.flash_ops()
    q = None
    while True:
        device.disarm()
        try:
            fs = device.mount()
        except OSError:
            res["corrupt"] += 1
            device.reformat()
            fs = device.mount()
        q = ForwardQueue(RecordStore(fs), devices=DEVICES, per_device=4, total=16,
                         on_overflow=on_overflow)
        if res["boots"]:
            _check_boot(q, w, res, res["cuts"])
            res["reboot_checks"] += 1
        res["boots"] += 1
        if res["cuts"] >= cuts:
            break
        device.arm()
        try:
            while True:
                res["op"] = ""
                _operate(q, w, rng, res)
        except OSError:
            pass  # the power failed: the hub stops at once
        res["cuts"] += 1
        if res["op"]:
            res["cut_" + res["op"]] += 1
        res["queue_writes"] += q.writes
        res["supersedes"] += q.superseded
    # No more cuts: every device polls until its queue is empty.
    for dev in range(DEVICES):
        while _deliver(q, w, dev, res, True):
            pass
    res["queue_writes"] += q.writes
    res["supersedes"] += q.superseded
    res["flash_ops"] = device.flash_ops() - ops0
    if q.count:
        res["lost"] += q.count
        _note(res, "%d items left after the final delivery" % q.count)
    _final_checks(w, res)
    res.pop("op")
    res["accepted"] = sum(1 for a in w.accepted if a)
    res["runtime"] = runtime
    return res


def flash_cost(pairs=200, runtime="micropython"):
    """Flash operations of `pairs` enqueue + acknowledgement pairs on a fresh file system
    (no cuts): {"writes", "flash_ops", "erases"}; littlefs block programs and erases on
    the unix port, file commits on CPython."""
    from han.hub.forward import ForwardQueue
    from registers.store import RecordStore

    device = Device(runtime, Lcg(1))
    q = ForwardQueue(RecordStore(device.mount()))
    ops0 = device.flash_ops()
    erases0 = device.erases()
    ext = _ext(0, 0)
    for i in range(pairs):
        ident = q.enqueue(i % 3, ext, 3, bytes(40), UTC)
        q.next(i % 3, ext)
        q.acknowledged(i % 3, ident)
    return {"writes": q.writes, "flash_ops": device.flash_ops() - ops0,
            "erases": device.erases() - erases0}


def micropython_main(argv):
    if "--flash-cost" in argv:
        print(_json(flash_cost(int(_arg(argv, "--flash-cost", "200")))))
        return
    print(_json(campaign(int(_arg(argv, "--cuts", "100")), int(_arg(argv, "--seed", "1")),
                         "micropython")))


def _passed(result):
    return all(result[k] == 0 for k in FAILURES)


def cpython_main(argv=None):
    from tools.powercut import host_main

    return host_main("python -m tools.powercut_forward", None, __file__, campaign, _passed,
                     argv)


if __name__ == "__main__":
    if IS_MICROPYTHON:
        micropython_main(sys.argv)
    else:
        sys.exit(cpython_main())
