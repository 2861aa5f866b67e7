# The hub's push subscribers kept through a reboot or power cut: the displays that asked
# Get Last Message (Messaging, [SE] D.5.2.3.2) and Get Current Price with Rx On When Idle
# (Price, D.4.2.3.1; or, before any price was configured, the hub's list of those who
# asked too early). A display subscribes once, after joining, and never learns that the
# hub restarted: without this record it would get no new price and no new message until
# it joined again. Reporting subscriptions have their own record (hub.py "hanrpt").
#
# Record "hansub" (kind 0xBC, docs/registers.md) in the registers' power-loss-safe store:
#   [0]      n_messaging (0..MAX), [1..2*MAX]   their short addresses, little endian
#   [1+2MAX] n_price,              [...]        the Price subscribers or early askers
# Written only when a list changed (after a frame, with the reporting record).
from micropython import const

MAX = const(8)  # a server's max_subscribers (messaging.py, price.py)
KIND_SUBSCRIBERS = const(0xBC)
_LEN = const(2 + 4 * MAX)
_PRICE = const(1 + 2 * MAX)


def _pack_list(buf, at, shorts, n):
    n = min(n, MAX)
    buf[at] = n
    for i in range(MAX):
        s = shorts[i] if i < n else 0
        buf[at + 1 + 2 * i] = s & 0xFF
        buf[at + 2 + 2 * i] = s >> 8


class PushSubscribers:
    def __init__(self, store):
        self._slots = store.slots("hansub", KIND_SUBSCRIBERS, _LEN) if store else None
        self._buf = bytearray(_LEN)
        self._saved = bytearray(_LEN)

    def load(self):
        """Read the record; False when there is none (or it is not ours)."""
        if self._slots is None:
            return False
        n = self._slots.load(self._buf)
        b = self._buf
        if n != _LEN or b[0] > MAX or b[_PRICE] > MAX:
            return False
        self._saved[:] = b
        return True

    def messaging(self):
        """The restored messaging subscribers (after load())."""
        return self._list(0)

    def price(self):
        return self._list(_PRICE)

    def _list(self, at):
        b = self._buf
        return [b[at + 1 + 2 * i] | b[at + 2 + 2 * i] << 8 for i in range(b[at])]

    def save(self, msg_shorts, n_msg, price_shorts, n_price):
        """Write the lists if they differ from what the flash holds."""
        if self._slots is None:
            return
        b = self._buf
        _pack_list(b, 0, msg_shorts, n_msg)
        _pack_list(b, _PRICE, price_shorts, n_price)
        if b != self._saved:
            self._slots.save(b, _LEN)
            self._saved[:] = b
