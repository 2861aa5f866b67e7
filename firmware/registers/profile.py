# Append-only logs of fixed-size entries kept in a ring of segment files: the load profile
# (interval values, 15 min by default, at least 40 days) and the daily/monthly billing
# snapshots (seed 001 Annex A 1.a.2). Only the segment being filled is in RAM's view: a
# reader asks for an entry by age and gets it from flash into its own buffer, so 40 days
# of intervals cost flash, not heap.
#
# Entry: seq u32, utc u32, body (body_size bytes), CRC-32 u32 over seq..body. Entry seq s
# lives in segment ((s - 1) // per_segment) % segments at slot (s - 1) % per_segment; a new
# segment starts by truncating its file. On littlefs each append commits atomically at
# close(); over a tearing file system a torn tail fails its CRC and is cut off at boot.
import struct

from micropython import const

from native.crc32 import crc32

_ENTRY_OVERHEAD = const(12)

# AMR profile status bits (IDIS / DSMR profile status byte): what happened in the interval.
STATUS_ERR = const(0x01)  # critical error
STATUS_CIV = const(0x02)  # clock invalid
STATUS_DNV = const(0x04)  # data not valid
STATUS_DST = const(0x08)  # daylight saving active at the end of the interval
STATUS_CAD = const(0x20)  # clock adjusted during the interval
STATUS_PDN = const(0x80)  # power down during the interval


class SegmentLog:
    def __init__(self, fs, name, body_size, per_segment, segments):
        self.fs = fs
        self.body_size = body_size
        self.entry_size = _ENTRY_OVERHEAD + body_size
        self.per_segment = per_segment
        self.segments = segments
        self.names = tuple("%s%d" % (name, k) for k in range(segments))
        self.entry = bytearray(self.entry_size)
        self.next_seq = 1
        self.appends = 0
        self.repaired = 0

    def _place(self, seq):
        index = seq - 1
        return (index // self.per_segment) % self.segments, index % self.per_segment

    def capacity(self):
        """Entries always retained: every full segment but the oldest, plus the current."""
        return (self.segments - 1) * self.per_segment

    def count(self):
        held = self.next_seq - 1
        segment_fill = held % self.per_segment
        retained = (self.segments - 1) * self.per_segment + segment_fill
        return held if held < retained else retained

    def append(self, utc, body):
        seq = self.next_seq
        segment, slot = self._place(seq)
        entry = self.entry
        struct.pack_into("<II", entry, 0, seq, utc)
        for i in range(self.body_size):
            entry[8 + i] = body[i]
        end = 8 + self.body_size
        struct.pack_into("<I", entry, end, crc32(memoryview(entry)[:end]))
        f = self.fs.open(self.names[segment], "wb" if slot == 0 else "ab")
        try:
            f.write(entry)
        finally:
            f.close()
        self.next_seq = seq + 1
        self.appends += 1
        return seq

    def _read_at(self, segment, slot, expect_seq):
        """Read one entry into self.entry; True if it is intact and has expect_seq
        (expect_seq 0: any seq that belongs in this place)."""
        try:
            f = self.fs.open(self.names[segment], "rb")
        except OSError:
            return False
        try:
            f.seek(slot * self.entry_size)
            got = f.readinto(self.entry)
        finally:
            f.close()
        if got != self.entry_size:
            return False
        end = 8 + self.body_size
        seq = struct.unpack_from("<I", self.entry, 0)[0]
        if struct.unpack_from("<I", self.entry, end)[0] != crc32(memoryview(self.entry)[:end]):
            return False
        if expect_seq:
            return seq == expect_seq
        return seq >= 1 and self._place(seq) == (segment, slot)

    def read(self, age, body):
        """Entry `age` back (0 = newest) into body; returns its utc, or -1 if not held."""
        if age < 0 or age >= self.count():
            return -1
        seq = self.next_seq - 1 - age
        segment, slot = self._place(seq)
        if not self._read_at(segment, slot, seq):
            return -1
        for i in range(self.body_size):
            body[i] = self.entry[8 + i]
        return struct.unpack_from("<I", self.entry, 4)[0]

    def recover(self):
        """Find the newest intact entry (boot); cut a torn tail off its segment."""
        best = 0
        best_segment = -1
        best_slots = 0
        for segment in range(self.segments):
            try:
                size = self.fs.stat(self.names[segment])[6]
            except OSError:
                continue
            slots = size // self.entry_size
            while slots > 0 and not self._read_at(segment, slots - 1, 0):
                slots -= 1
            if slots:
                seq = struct.unpack_from("<I", self.entry, 0)[0]
                if seq > best:
                    best, best_segment, best_slots = seq, segment, slots
                    best_size = size
        self.next_seq = best + 1
        if best_segment >= 0 and best_size != best_slots * self.entry_size:
            self._truncate(best_segment, best_slots)
        return best

    def _truncate(self, segment, slots):
        name = self.names[segment]
        keep = bytearray(slots * self.entry_size)
        f = self.fs.open(name, "rb")
        try:
            f.readinto(keep)
        finally:
            f.close()
        f = self.fs.open(name, "wb")
        try:
            f.write(keep)
        finally:
            f.close()
        self.repaired += 1


# Load profile body: status u8, reserved u8, tariff u8, reserved u8, then the totals at the
# end of the interval: +A, -A Wh, +R, -R varh (u32 each).
PROFILE_BODY = const(20)


class LoadProfile:
    def __init__(self, fs, period_s=900, days=40, name="lp"):
        per_day = 86400 // period_s
        # One segment per day of intervals; two spare segments keep `days` whole days.
        self.log = SegmentLog(fs, name, PROFILE_BODY, per_day, days + 2)
        self.period_s = period_s
        self.body = bytearray(PROFILE_BODY)
        self.pending_status = 0  # bits collected for the running interval

    def mark(self, status_bits):
        self.pending_status |= status_bits

    def append(self, end_utc, status, tariff, a_plus, a_minus, r_plus, r_minus):
        body = self.body
        struct.pack_into("<BBBBIIII", body, 0, status | self.pending_status, 0, tariff, 0,
                         a_plus, a_minus, r_plus, r_minus)
        self.pending_status = 0
        return self.log.append(end_utc, body)

    def read(self, age):
        """(end utc, status, tariff, +A, -A, +R, -R) of the interval `age` back, or None."""
        utc = self.log.read(age, self.body)
        if utc < 0:
            return None
        status, _, tariff, _, ap, am, rp, rm = struct.unpack_from("<BBBBIIII", self.body, 0)
        return utc, status, tariff, ap, am, rp, rm

    def count(self):
        return self.log.count()

    def recover(self):
        return self.log.recover()


BILLING_DAILY = const(1)
BILLING_MONTHLY = const(2)


class BillingLog:
    """Snapshots of every energy register (Wh): kind u8, reserved u8, register count u16,
    then count x u32."""

    def __init__(self, fs, registers_count, keep, name):
        per_segment = 8
        segments = (keep + per_segment - 1) // per_segment + 1
        self.log = SegmentLog(fs, name, 4 + 4 * registers_count, per_segment, segments)
        self.registers_count = registers_count
        self.body = bytearray(4 + 4 * registers_count)

    def append(self, utc, kind, energy):
        body = self.body
        struct.pack_into("<BBH", body, 0, kind, 0, self.registers_count)
        for i in range(self.registers_count):
            struct.pack_into("<I", body, 4 + 4 * i, energy.wh[i])
        return self.log.append(utc, body)

    def read_register(self, age, index):
        """Register `index` (energy.py numbering) of the snapshot `age` back, or -1."""
        if self.log.read(age, self.body) < 0:
            return -1
        return struct.unpack_from("<I", self.body, 4 + 4 * index)[0]

    def read_utc(self, age):
        return self.log.read(age, self.body)

    def count(self):
        return self.log.count()

    def recover(self):
        return self.log.recover()
