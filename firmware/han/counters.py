# The MAC's outgoing security frame counter (macFrameCounter, 2006 7.5.8.2.1) kept in the
# registers' record store, so that after a reboot it resumes past every value used before
# (reusing a counter with the same key would reuse a CCM* nonce).
#
# han/mac/security.py names its counter b"154FC" + the MAC's extended address (13 bytes);
# registers/counters.py FlashCounterStore keys counters by 8-byte ids (h1/crypt.py uses an
# AES key check value) and would keep only the first 8 bytes of that name, "154FC" and
# three bytes of the address. This adapter maps the name to an 8-byte id of its own:
# b"\x15\x4F" (the standard's number) + the last 6 bytes of the extended address (its
# device-specific part). The store's 4 entries are shared with P1's key(s).
from micropython import const

_TAG_0 = const(0x15)
_TAG_1 = const(0x4F)
_ID_LEN = const(8)


def key_id_of(name, out=None):
    """The 8-byte id FlashCounterStore uses for a MacSecurity counter name."""
    out = out if out is not None else bytearray(_ID_LEN)
    out[0] = _TAG_0
    out[1] = _TAG_1
    n = len(name)
    for j in range(6):
        out[2 + j] = name[n - 6 + j] if n >= 6 else 0
    return out


class HanCounterStore:
    """load(name)/save(name, next_counter) for han.mac.security.OutgoingCounter over a
    registers.counters.FlashCounterStore (load(key_id)/save(key_id, next_counter))."""

    def __init__(self, flash_store):
        self._store = flash_store
        self._id = bytearray(_ID_LEN)

    def load(self, name):
        return self._store.load(key_id_of(name, self._id))

    def save(self, name, next_counter):
        self._store.save(key_id_of(name, self._id), next_counter)
