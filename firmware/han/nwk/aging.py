# End-device aging and keepalive in a star network (ZigBee spec 05-3474-21, 3.4.11 End
# Device Timeout Request/Response, 3.6.10 end device aging; ZigBee 3.0 / R21):
#
#   coordinator (ChildAging): each child's timeout is the index it asked for (Table 3-54,
#       default nwkEndDeviceTimeoutDefault, index 8 = 256 min, kept with the device
#       table); what resets it is a NWK-authenticated frame from the child (han/nwk/
#       layer.py) or a MAC data poll (the parent announces PARENT_MAC_POLL_KEEPALIVE).
#       A child silent for longer is aged out: its frames held for indirect transmission
#       and those awaiting an APS ack are dropped, and its entry is marked aged (not
#       forgotten: keys, install-code registration and frame counters stay, so nothing
#       it sent before can be replayed). Until it rejoins (NWK Rejoin, secured or through
#       the trust centre, or a new association) its frames and polls are answered with a
#       NWK Leave with rejoin, at most once per LEAVE_AGAIN_S.
#   end device (Keepalive): after joining or rejoining it asks for its timeout; when it
#       does not poll often enough by itself (a receiver-on device, or a slow poller) it
#       sends a MAC data poll every quarter of that timeout.
#
# Timeouts run to days, far past the wrap of ticks_us (about 18 min on MicroPython): both
# count whole seconds (DeviceTable.now_s) advanced by Seconds.tick from the node's step,
# which is never more than TICK_MAX_US away.
from micropython import const

from han.mac import frame as fr
from han.mac.mac import RX_OK, SUCCESS
from han.nwk import commands as nc
from han.nwk.devices import JOINING

TICK_MAX_US = const(60000000)  # the longest wait a node using Seconds returns
LEAVE_AGAIN_S = const(8)  # > macTransactionPersistenceTime: one Leave held at a time
_S = const(1000000)


class Seconds:
    """Whole seconds since start in table.now_s, from the clock's ticks."""

    def __init__(self, clock, table):
        self.clock = clock
        self.table = table
        self._at = clock.ticks_us()

    def tick(self, now):
        d = self.clock.ticks_diff(now, self._at)
        if d < 0:  # cannot happen with steps TICK_MAX_US apart; never go back
            self._at = now
        elif d >= _S:
            k = d // _S
            self.table.now_s += k
            self._at = self.clock.ticks_add(self._at, k * _S)

    def until(self, now, s):
        """Microseconds from now until table.now_s reaches s (0 when it has)."""
        left = (s - self.table.now_s) * _S - self.clock.ticks_diff(now, self._at)
        return left if left > 0 else 0


class MacWatch:
    """The node's Mac.monitor: MAC data polls from children (coordinator: on_poll) and
    transmissions to the parent that got no ACK (end device: failures); every call
    goes on to `chained` (the device inventory of han/node.py, han/inventory.py)."""

    def __init__(self, on_poll=None):
        self.on_poll = on_poll  # (short, now)
        self.failures = 0
        self.chained = None

    def rx_frame(self, f, outcome, lqi, rssi, now):
        # A data request (2006 7.3.4) from an associated device: a command of one octet
        # from a short source address (the other commands a device sends carry its
        # extended address or more octets). Unsecured, as every MAC poll in ZigBee: a
        # forged poll can only keep an entry present, never admit or change anything.
        if self.on_poll is not None and outcome == RX_OK and f.frame_type == fr.FT_CMD \
                and f.src_mode == fr.ADDR_SHORT and f.payload_len == 1:
            self.on_poll(f.src_addr, now)
        c = self.chained
        if c is not None:
            c.rx_frame(f, outcome, lqi, rssi, now)

    def tx_done(self, dst_short, dst_ext, status, now):
        if status == SUCCESS:
            self.failures = 0
        elif dst_short == 0x0000:
            self.failures += 1
        c = self.chained
        if c is not None:
            c.tx_done(dst_short, dst_ext, status, now)


def timeout_s(index):
    return nc.ed_timeout_seconds(index)


class ChildAging:
    """node: han.zigbee.ZigbeeNode (coordinator): its table, nwk, aps, mac, save()."""

    def __init__(self, node, seconds):
        self.node = node
        self.table = node.table
        self.sec = seconds
        self._leave_s = [0] * self.table.size
        self._leave_sent = bytearray(self.table.size)
        self._buf = bytearray(4)
        self.aged_out = 0
        self.leaves_sent = 0
        self.on_aged = None  # (index, now)

    def heard_poll(self, short, now):
        t = self.table
        i = t.find_short(short)
        if i < 0:
            return
        if t.aged[i]:
            self.stale(i, now)
        else:
            t.last_seen[i] = t.now_s

    def set_timeout(self, i, index):
        """Child i asked for timeout `index` (authenticated: it is back if it was aged)."""
        t = self.table
        self.present(i)
        if t.timeout[i] != index:
            t.timeout[i] = index
            self.node.save()

    def present(self, i):
        """Child i rejoined (or associated again): counted from now."""
        t = self.table
        t.last_seen[i] = t.now_s
        self._leave_sent[i] = 0
        if t.aged[i]:
            t.aged[i] = 0
            self.node.save()

    def stale(self, i, now):
        """A frame or poll from aged-out child i: tell it to rejoin (NWK Leave with
        rejoin, secured; held for a sleepy child's next poll)."""
        t = self.table
        if self._leave_sent[i] and t.now_s - self._leave_s[i] < LEAVE_AGAIN_S:
            return
        n = nc.build_leave(self._buf, 0, nc.LEAVE_REQUEST | nc.LEAVE_REJOIN)
        if self.node.nwk.send(t.short_of(i), self._buf, n, now, command=True):
            self._leave_sent[i] = 1
            self._leave_s[i] = t.now_s
            self.leaves_sent += 1

    def _age_out(self, i, now):
        t = self.table
        t.aged[i] = 1
        self.aged_out += 1
        short = t.short_of(i)
        # Its held frames expire at the MAC's next step (the standard path: confirms,
        # frame-pending bits cleared); what awaits an APS ack is given up.
        self.node.mac.expire_indirect(short, now)
        self.node.aps.drop_pending(short)
        self.node.save()
        if self.on_aged is not None:
            self.on_aged(i, now)

    def step(self, now):
        """Age out the children silent beyond their timeout; microseconds until the next
        may be due (at most TICK_MAX_US, so that the seconds keep counting)."""
        t = self.table
        best = TICK_MAX_US
        for i in range(t.size):
            if t.state[i] < JOINING or t.aged[i]:
                continue
            # Aged once MORE than the timeout has passed: whole seconds, never early.
            due = t.last_seen[i] + timeout_s(t.timeout[i]) + 1
            if t.now_s >= due:
                self._age_out(i, now)
                best = 0
                continue
            w = self.sec.until(now, due)
            if w < best:
                best = w
        return best


class Keepalive:
    """End device: asks the parent for `index` (Table 3-54) after each join or rejoin;
    polls every quarter of the timeout when its own polling is slower (or off)."""

    def __init__(self, node, seconds, index, poll_interval_us):
        nc.ed_timeout_seconds(index)  # ValueError when out of range
        self.node = node
        self.sec = seconds
        self.index = index
        period = timeout_s(index) // 4
        self.period_s = period if period > 0 else 1
        self.needed = poll_interval_us == 0 or poll_interval_us > self.period_s * _S
        self._due = 0
        self.status = -1  # of the last End Device Timeout Response (-1: none yet)
        self.parent_info = 0
        self.polls = 0
        self._buf = bytearray(4)

    def request(self, now):
        """End Device Timeout Request (3.4.11), NWK-secured, to the parent."""
        n = nc.build_ed_timeout_request(self._buf, 0, self.index)
        self.node.nwk.send(0x0000, self._buf, n, now, command=True)
        self._due = self.node.table.now_s + self.period_s

    def response(self, buf, off):
        self.status = buf[off + 1]
        self.parent_info = buf[off + 2]

    def step(self, now):
        if not self.needed:
            return -1
        t = self.node.table
        if t.now_s >= self._due:
            self.node.mac.poll(now)  # MAC data poll keepalive (3.4.12.3.2)
            self.polls += 1
            self._due = t.now_s + self.period_s
        return min(self.sec.until(now, self._due), TICK_MAX_US)

