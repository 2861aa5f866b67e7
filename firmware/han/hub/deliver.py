# The hub's unsolicited frames to HAN devices, stored and forwarded (seed 003 11.1: "the
# comms hub shall store ... until it is acknowledged"; 11.4: per device, FIFO). A pushing
# cluster server's frame (a new price: Publish Price; a new or cancelled message: Display
# Message, Cancel Message) becomes one item of the ForwardQueue (forward.py) per subscriber,
# holding the whole ZCL frame; items go out oldest first, one per device in flight, as APS
# data with an acknowledgement, and leave the queue only at that APS ack. So:
#   - a device that is away (the display switched off, the sleepy meter not polling in
#     time: its frame expires from the indirect queue, NO_ACK) gets the item later: after
#     RETRY_US, and at once when it is heard again;
#   - a hub that loses power keeps the items in flash (one record write per item and per
#     acknowledgement) and sends them again after the reboot, with the same item id;
#   - a newer price or message supersedes the device's older one still queued; a full
#     queue overwrites its oldest item and the hub's on_overflow(dev, kind, item_id) writes
#     the event first (forward.py).
# The frames are the cluster's own, resent verbatim, so a repeat after a lost ack carries
# the same ZCL sequence number and message or event id: the display takes it as the same
# message or price (ZCL's own identity), which is this path's "accepted once".
#
# Device index dev is the trust centre's table entry (han/nwk/devices.py: short address =
# first_short + dev); items are tagged with its EUI-64, so an entry given to another device
# never delivers the previous one's items.
from micropython import const

from han.hub.forward import MESSAGE, PRICE, ForwardQueue

RETRY_US = const(30000000)  # a device that did not ack: its item again after this
_ROOM_US = const(50000)  # the APS layer was full: try again this soon
_MAX_FRAME = const(82)  # one unfragmented APS payload (han/zigbee.py APS_MAX_PAYLOAD)
_CLUSTER_PRICE = const(0x0700)
_CLUSTER_MESSAGING = const(0x0703)
_SE_PROFILE = const(0x0109)
_JOINED = const(3)  # han/nwk/devices.py: the device holds the network key


def kind_of(cluster):
    """The queue's item kind for a pushing cluster (None: not stored and forwarded)."""
    if cluster == _CLUSTER_PRICE:
        return PRICE
    if cluster == _CLUSTER_MESSAGING:
        return MESSAGE
    return None


class Deliveries:
    """store: the registers' RecordStore; table: the trust centre's DeviceTable; ticks: the
    board's clock; on_overflow(dev, kind, item_id) as ForwardQueue's."""

    def __init__(self, store, table, ticks, src_ep, on_overflow=None):
        self.table = table
        self.ticks = ticks
        self.src_ep = src_ep
        self.queue = q = ForwardQueue(store, devices=table.size, max_payload=_MAX_FRAME,
                                      on_overflow=on_overflow)
        n = table.size
        self._tid = [0] * n  # APS tid of the device's item in flight (0: none)
        self._id = [0] * n  # ... and its item id
        self._until = [0] * n  # ticks before which the device is not tried again
        self._waiting = bytearray(n)  # 1: _until holds
        self._buf = bytearray(_MAX_FRAME)
        self.send = None  # (dst, dst_ep, cluster, profile, src_ep, buf, n, now, ack, secure)
        self.room = None  # () -> the APS layer can take a frame
        self.peer_ep = None  # dict short -> the device's endpoint (the router's)
        self.delivered = 0
        self.retries = 0
        self._prev_confirm = None

    def attach(self, aps):
        """Take the APS layer's confirms (on_confirm(tid, status)), passing them on."""
        self._prev_confirm = aps.on_confirm
        aps.on_confirm = self._confirm

    def push(self, short, cluster, frame, n, utc):
        """Queue frame[:n] (a whole ZCL frame of cluster) for the device at short; its item
        id, or 0 when short is no device of the table or the cluster is not queued. One
        record write; OSError when the flash refuses it."""
        kind = kind_of(cluster)
        t = self.table
        dev = t.find_short(short)
        if kind is None or dev < 0:
            return 0
        item = self.queue.enqueue(dev, t.ext[dev], kind, frame, utc, n)
        self._waiting[dev] = 0  # something new: try at once
        return item

    def heard(self, short):
        """A frame came from the device: an item held back by a failed try goes now."""
        dev = self.table.find_short(short)
        if dev >= 0:
            self._waiting[dev] = 0

    def forget(self, short):
        dev = short - self.table.first_short
        if 0 <= dev < self.table.size:
            self.queue.drop(dev)
            self._tid[dev] = 0

    def step(self, now):
        """Send each device's oldest item that is not in flight; microseconds until a try
        is due (-1: none waits)."""
        q = self.queue
        if not q.count:
            return -1
        t = self.table
        c = self.ticks
        wait = -1
        for dev in range(t.size):
            if self._tid[dev] or not q.pending(dev, t.ext[dev]):
                continue
            if self._waiting[dev]:
                left = c.ticks_diff(self._until[dev], now)
                if left > 0:
                    wait = left if wait < 0 or left < wait else wait
                    continue
                self._waiting[dev] = 0
            if t.state[dev] < _JOINED:
                continue  # not on the network: heard() or a later step sends it
            if not self.room():
                return _ROOM_US
            s = q.next(dev, t.ext[dev])
            n = q.payload(s, self._buf)
            short = t.short_of(dev)
            cluster = _CLUSTER_PRICE if q.kind(s) == PRICE else _CLUSTER_MESSAGING
            tid = self.send(short, self.peer_ep.get(short, self.src_ep), cluster, _SE_PROFILE,
                            self.src_ep, self._buf, n, now, True, False)
            if tid:
                self._tid[dev] = tid
                self._id[dev] = q.item_id(s)
            else:  # refused (no key, no route): later
                self._hold(dev, now)
                wait = RETRY_US if wait < 0 or RETRY_US < wait else wait
        return wait

    def _hold(self, dev, now):
        self._until[dev] = self.ticks.ticks_add(now, RETRY_US)
        self._waiting[dev] = 1
        self.retries += 1

    def _confirm(self, tid, status):
        for dev in range(self.table.size):
            if self._tid[dev] == tid:
                self._tid[dev] = 0
                if status == 0:  # SUCCESS: the APS ack
                    if self.queue.acknowledged(dev, self._id[dev]):
                        self.delivered += 1
                else:
                    self._hold(dev, self.ticks.ticks_us())
                break
        if self._prev_confirm is not None:
            self._prev_confirm(tid, status)
