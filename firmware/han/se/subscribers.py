# The hub's push subscribers kept through a reboot or power cut: the displays that asked
# Get Last Message (Messaging, [SE] D.5.2.3.2) and Get Current Price with Rx On When Idle
# (Price, D.4.2.3.1; or, before any price was configured, the hub's list of those who
# asked too early). A display subscribes once, after joining, and never learns that the
# hub restarted: without this record it would get no new price and no new message until
# it joined again. Reporting subscriptions have their own record (hub.py "hanrpt").
#
# What they were last sent is kept too, so that a restarted hub neither sends it again
# nor gives the same message a new id (a display would show it again, asking for another
# confirmation), yet sends what changed while it was off (a tariff switched at midnight).
#
# Record "hansub" (kind 0xBC, docs/registers.md) in the registers' power-loss-safe store:
#   [0]      n_messaging (0..MAX), [1..2*MAX]   their short addresses, little endian
#   [1+2MAX] n_price,              [...]        the Price subscribers or early askers
#   [2+4MAX] message pushed active (0/1), its id (4, LE), CRC-16/X-25 of its text (2, LE),
#            the tariff tier last published (1)
# Written only when something changed (after a frame, with the reporting record).
from micropython import const

from native.crc16 import crc16_x25

MAX = const(8)  # a server's max_subscribers (messaging.py, price.py)
KIND_SUBSCRIBERS = const(0xBC)
_PRICE = const(1 + 2 * MAX)
_PUSHED = const(2 + 4 * MAX)
_LEN = const(2 + 4 * MAX + 8)


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
        self._crc_id = -1
        self._crc = 0

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

    def pushed(self):
        """(message active, message id, text CRC, tier) last sent (after load())."""
        b = self._buf
        p = _PUSHED
        return (b[p] == 1, b[p + 1] | b[p + 2] << 8 | b[p + 3] << 16 | b[p + 4] << 24,
                b[p + 5] | b[p + 6] << 8, b[p + 7])

    def same_text(self, text):
        return crc16_x25(text) == self.pushed()[2]

    def save(self, msg_shorts, n_msg, price_shorts, n_price, messaging, tier):
        """Write the lists and what was last pushed if they differ from the flash."""
        if self._slots is None:
            return
        b = self._buf
        _pack_list(b, 0, msg_shorts, n_msg)
        _pack_list(b, _PRICE, price_shorts, n_price)
        active = messaging.pushed_active
        message_id = messaging.pushed_id
        p = _PUSHED
        if message_id != self._crc_id:  # the text's CRC only when another was pushed
            self._crc_id = message_id
            m = messaging.message
            self._crc = crc16_x25(memoryview(m.text)[:m.text_len]) if active else 0
        b[p] = 1 if active else 0
        for i in range(4):
            b[p + 1 + i] = (message_id >> (8 * i)) & 0xFF
        b[p + 5] = self._crc & 0xFF
        b[p + 6] = self._crc >> 8
        b[p + 7] = tier & 0xFF
        if b != self._saved:
            self._slots.save(b, _LEN)
            self._saved[:] = b
