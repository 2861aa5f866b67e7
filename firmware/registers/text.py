# The P1 text message (DSMR 5.0.2 7.2 and 6.12: 0-0:96.13.0, up to 1024 octets, sent as
# hex): set only through the configuration path (OP_SET_TEXT_MESSAGE), kept in the record
# store so it survives a power cut, read by the P1 side through the registers.
from micropython import const

CAPACITY = const(1024)  # DSMR 5.0.2 7.2: text message of at most 1024 characters
_KIND = const(0xA0)  # record kind in the registers' record store


class TextMessage:
    def __init__(self, store):
        self.capacity = CAPACITY
        self._slots = store.slots("text", _KIND, CAPACITY)
        self._message = b""

    def load(self):
        buf = bytearray(CAPACITY)
        n = self._slots.load(buf)
        self._message = bytes(buf[:n]) if n > 0 else b""

    def message(self):
        """The current message (bytes, b"" when none is set)."""
        return self._message

    def set(self, data):
        """Store data (<= CAPACITY octets; b"" clears), then use it: a failed write
        (OSError) leaves the previous message in use and in flash."""
        data = bytes(data)
        if len(data) > CAPACITY:
            raise ValueError("text message longer than %d octets" % CAPACITY)
        self._slots.save(data, len(data))
        self._message = data
