# Frame counters that must never repeat for a key (the P1 encryption's GCM invocation
# counter, Smarty 1.1.3 3.2.5; later the HAN's outgoing security frame counter), persisted
# in the record store. The interface is the one h1/crypt.py uses: load(key_id) -> the first
# counter never handed out for that key (0 for a new key), save(key_id, next_counter) before
# any counter below next_counter is used. Users reserve counters in blocks, so a save is
# rare; after a reset they resume past the whole block (a few counters skipped, none reused).
import struct

from micropython import const

_KIND = const(0x70)
_KEYS = const(4)  # keys remembered (a new key replaces the least recently saved one)
_ID_LEN = const(8)
_ENTRY = const(_ID_LEN + 4 + 4)  # key id, next counter u32, save stamp u32
_RECORD = const(1 + _KEYS * _ENTRY)


class FlashCounterStore:
    def __init__(self, store, name="counters"):
        self._slots = store.slots(name, _KIND, _RECORD)
        self._buf = bytearray(_RECORD)
        if self._slots.load(self._buf) < 0:
            for i in range(_RECORD):
                self._buf[i] = 0
        self._stamp = 0
        for k in range(self._buf[0]):
            stamp = struct.unpack_from("<I", self._buf, 1 + k * _ENTRY + _ID_LEN + 4)[0]
            if stamp > self._stamp:
                self._stamp = stamp

    def _find(self, key_id):
        buf = self._buf
        for k in range(buf[0]):
            at = 1 + k * _ENTRY
            if bytes(buf[at:at + _ID_LEN]) == bytes(key_id[:_ID_LEN]):
                return at
        return -1

    def load(self, key_id):
        at = self._find(key_id)
        return struct.unpack_from("<I", self._buf, at + _ID_LEN)[0] if at >= 0 else 0

    def save(self, key_id, next_counter):
        if not 0 <= next_counter <= 0xFFFFFFFF:
            raise ValueError("counter out of range")
        buf = self._buf
        at = self._find(key_id)
        if at < 0:
            if buf[0] < _KEYS:
                at = 1 + buf[0] * _ENTRY
                buf[0] += 1
            else:  # forget the key saved longest ago
                oldest = 0
                for k in range(1, _KEYS):
                    if (struct.unpack_from("<I", buf, 1 + k * _ENTRY + _ID_LEN + 4)[0]
                            < struct.unpack_from("<I", buf, 1 + oldest * _ENTRY + _ID_LEN + 4)[0]):
                        oldest = k
                at = 1 + oldest * _ENTRY
            for i in range(_ID_LEN):
                buf[at + i] = key_id[i]
        self._stamp += 1
        struct.pack_into("<II", buf, at + _ID_LEN, next_counter, self._stamp)
        self._slots.save(buf, _RECORD)


class RamCounterStore:
    """The same interface in RAM, for tests and the simulated board: counters start at 0
    after every restart, so it never stands in for FlashCounterStore on a meter whose keys
    persist."""

    def __init__(self):
        self._next = {}
        self.saves = 0

    def load(self, key_id):
        """First counter never handed out for this key; 0 for a key never seen."""
        return self._next.get(bytes(key_id), 0)

    def save(self, key_id, next_counter):
        self._next[bytes(key_id)] = next_counter
        self.saves += 1
