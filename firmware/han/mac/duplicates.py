# Duplicate rejection on the MAC's receive path (mac.py): the last sequence number accepted
# from each of the most recent sources. When a frame's ACK is lost the sender transmits it
# again with the same sequence number (retransmissions, IEEE 802.15.4-2006 7.5.6.4); the
# radio acknowledges the copy again, and the MAC drops it here, before CCM*, so that it is
# not mistaken for a replay attack.
#
# Fixed size, nothing allocated per frame: a source not in the table takes the oldest entry.
from micropython import const

from han.mac import frame as fr

_ENTRIES = const(16)


def _key(f):
    # A source as one small int: its short address, or the low 16 bits of its extended
    # address tagged with bit 16; -1 when the frame cannot be compared.
    if f.seq < 0:
        return -1  # 2015 sequence number suppression: nothing to compare
    if f.src_mode == fr.ADDR_SHORT:
        return f.src_addr
    if f.src_mode == fr.ADDR_EXT:
        return 0x10000 | (f.src_ext[6] << 8) | f.src_ext[7]
    return -1


class DuplicateFilter:
    def __init__(self):
        self._src = [-1] * _ENTRIES
        self._seq = bytearray(_ENTRIES)
        self._next = 0

    def seen(self, f):
        """True when decoded frame f has the source and sequence number of the last frame
        accepted from that source."""
        key = _key(f)
        if key < 0:
            return False
        for k in range(_ENTRIES):
            if self._src[k] == key:
                return self._seq[k] == f.seq
        return False

    def remember(self, f):
        """Record f as accepted. Called only once the frame has passed security: a forged
        frame cannot make the genuine one with the same sequence number look like a
        duplicate."""
        key = _key(f)
        if key < 0:
            return
        for k in range(_ENTRIES):
            if self._src[k] == key:
                self._seq[k] = f.seq
                return
        k = self._next
        self._next = (k + 1) % _ENTRIES
        self._src[k] = key
        self._seq[k] = f.seq
