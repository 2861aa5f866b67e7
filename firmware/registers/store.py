# Power-loss-safe record store: every record is written whole into the older of two slot
# files, sealed with a sequence number and a CRC-32; on boot the newest valid slot wins.
#
# On the device the files live on littlefs (vfs.VfsLfs2 over the board's flash): littlefs
# commits a file at close() copy-on-write, so a power cut leaves the old or the new file.
# The two slots and the CRC do not rely on that: over a file system that tears writes
# (registers.memfs with atomic=False, the CPython power-cut campaign) the older slot still
# holds the previous complete record. Record layout (little endian), docs/registers.md:
#
#   offset size field
#        0    2 magic b"MR"
#        2    1 format version (1)
#        3    1 kind: which record this is (a slot file can never be read as another kind)
#        4    4 sequence number, u32, +1 per save of this record
#        8    2 payload length n
#       10    2 reserved, 0xFFFF
#       12    n payload
#     12+n    4 CRC-32/ISO-HDLC over bytes 0 .. 12+n-1
#
# The file system object is anything with open(name, mode) -> file (readinto, write,
# close): a mounted path wrapper, an unmounted vfs.VfsLfs2 object, or registers.memfs.
import struct

from micropython import const

from native.crc32 import crc32

_MAGIC_0 = const(0x4D)  # "M"
_MAGIC_1 = const(0x52)  # "R"
_VERSION = const(1)
HEADER_SIZE = const(12)
TRAILER_SIZE = const(4)
_SEQ_HALF = const(0x80000000)


def seq_newer(a, b):
    """True when u32 sequence a is after b (serial-number arithmetic, RFC 1982 style)."""
    return a != b and ((a - b) & 0xFFFFFFFF) < _SEQ_HALF


class RecordSlots:
    """One logical record kept in two slot files <name>.a / <name>.b."""

    def __init__(self, store, name, kind, max_payload):
        self.store = store
        self.kind = kind
        self.max_payload = max_payload
        self.names = (name + ".a", name + ".b")
        self.seq = 0  # sequence of the newest valid record (0: none yet)
        self.slot = 1  # slot holding it; the next save goes to the other one
        self.saves = 0
        self.invalid_slots = 0  # slots found torn or corrupt at load (diagnostics)

    def _read_slot(self, index, buf):
        """Read slot index into buf; return (seq, length) or None when absent/invalid."""
        store = self.store
        scratch = store.scratch
        try:
            f = store.fs.open(self.names[index], "rb")
        except OSError:
            return None  # never written
        try:
            got = f.readinto(scratch)
        finally:
            f.close()
        if got is None or got < HEADER_SIZE + TRAILER_SIZE:
            return self._bad()
        if scratch[0] != _MAGIC_0 or scratch[1] != _MAGIC_1 or scratch[2] != _VERSION:
            return self._bad()
        if scratch[3] != self.kind:
            return self._bad()
        seq, length = struct.unpack_from("<IH", scratch, 4)
        end = HEADER_SIZE + length
        if length > self.max_payload or length > len(buf) or got < end + TRAILER_SIZE:
            return self._bad()
        stored = struct.unpack_from("<I", scratch, end)[0]
        if crc32(memoryview(scratch)[:end]) != stored:
            return self._bad()
        for i in range(length):
            buf[i] = scratch[HEADER_SIZE + i]
        return seq, length

    def _bad(self):
        self.invalid_slots += 1
        return None

    def load(self, buf):
        """Copy the newest valid payload into buf; return its length, or -1 if none."""
        best = -1
        best_seq = 0
        best_len = -1
        for index in (0, 1):
            found = self._read_slot(index, self.store.scratch2)
            if found is None:
                continue
            seq, length = found
            if best < 0 or seq_newer(seq, best_seq):
                best, best_seq, best_len = index, seq, length
        if best < 0:
            self.seq = 0
            self.slot = 1
            return -1
        # Re-read the winner into the caller's buffer (scratch2 holds the last one read).
        self._read_slot(best, buf)
        self.seq = best_seq
        self.slot = best
        return best_len

    def save(self, payload, length):
        """Write payload[:length] as the next record into the older slot. Returns the
        sequence number written. Raises OSError when the flash fails (or power is cut)."""
        if length > self.max_payload:
            raise ValueError("record too long")
        store = self.store
        scratch = store.scratch
        seq = (self.seq + 1) & 0xFFFFFFFF
        scratch[0] = _MAGIC_0
        scratch[1] = _MAGIC_1
        scratch[2] = _VERSION
        scratch[3] = self.kind
        struct.pack_into("<IHH", scratch, 4, seq, length, 0xFFFF)
        for i in range(length):
            scratch[HEADER_SIZE + i] = payload[i]
        end = HEADER_SIZE + length
        struct.pack_into("<I", scratch, end, crc32(memoryview(scratch)[:end]))
        target = 1 - self.slot
        f = store.fs.open(self.names[target], "wb")
        try:
            f.write(memoryview(scratch)[:end + TRAILER_SIZE])
        finally:
            f.close()  # littlefs commits here
        self.seq = seq
        self.slot = target
        self.saves += 1
        store.saves += 1
        return seq


class RecordStore:
    """Hands out RecordSlots over one file system, sharing two scratch buffers."""

    def __init__(self, fs, max_payload=1024, prefix=""):
        self.fs = fs
        self.prefix = prefix
        size = HEADER_SIZE + max_payload + TRAILER_SIZE
        self.scratch = bytearray(size)
        self.scratch2 = bytearray(size)
        self.max_payload = max_payload
        self.saves = 0

    def slots(self, name, kind, max_payload=None):
        if max_payload is None or max_payload > self.max_payload:
            max_payload = self.max_payload
        return RecordSlots(self, self.prefix + name, kind, max_payload)
