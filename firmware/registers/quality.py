# Supply interruptions and voltage quality counters (seed 001 Annex A 2.a.3; DSMR 5.0.2
# Table 6-3: 0-0:96.7.21 power failures, 0-0:96.7.9 long power failures, 1-0:99.97.0 the
# log of the last ten long ones with end time and duration (6.11: most recent first),
# 1-0:32.32.0/52.32.0/72.32.0 sags and 32.36.0/52.36.0/72.36.0 swells per phase).
import struct
from array import array

from micropython import const

LONG_FAILURE_S = const(180)  # DSMR 0-0:96.7.20 time threshold for a long power failure
LONG_LOG_SIZE = const(10)  # DSMR 5.0.2 6.11: at most 10 values
PHASES = const(3)
# Sags, swells and ridden-through interruptions can come in floods: the record is written at
# most once per FLUSH_S by flush_due() (the event logs' rule, docs/registers.md), at once by
# save() (boot, power-fail warning).
FLUSH_S = const(300)
_KIND = const(0x30)
_RECORD = const(8 + 4 * PHASES * 2 + 2 + 8 * LONG_LOG_SIZE)


class PowerQuality:
    def __init__(self, store, long_failure_s=LONG_FAILURE_S):
        self.long_failure_s = long_failure_s
        self.failures = 0
        self.long_failures = 0
        self.sags = array("l", [0] * PHASES)
        self.swells = array("l", [0] * PHASES)
        self.long_end = array("L", [0] * LONG_LOG_SIZE)  # ring, UTC end of failure
        self.long_duration = array("L", [0] * LONG_LOG_SIZE)
        self.long_head = 0
        self.long_count = 0
        self.dirty = False
        self.next_flush = 0  # earliest UTC of the next rate-limited save
        self.buf = bytearray(_RECORD)
        self.slots = store.slots("quality", _KIND, _RECORD)

    def power_failure(self, end_utc, duration_s):
        """Count one supply interruption; a long one (>= threshold) enters the log."""
        self.failures += 1
        if duration_s >= self.long_failure_s:
            self.long_failures += 1
            self.long_end[self.long_head] = end_utc
            self.long_duration[self.long_head] = duration_s
            self.long_head = (self.long_head + 1) % LONG_LOG_SIZE
            if self.long_count < LONG_LOG_SIZE:
                self.long_count += 1
        self.dirty = True

    def sag(self, phase):
        self.sags[phase - 1] += 1  # phases 1..3 (L1..L3)
        self.dirty = True

    def swell(self, phase):
        self.swells[phase - 1] += 1
        self.dirty = True

    def _long_slot(self, age):
        if age < 0 or age >= self.long_count:
            raise IndexError("no such failure")
        return (self.long_head - 1 - age) % LONG_LOG_SIZE

    def long_failure_end(self, age):
        """UTC end of the long failure `age` back (0 = most recent, as 99.97.0 lists)."""
        return self.long_end[self._long_slot(age)]

    def long_failure_duration(self, age):
        return self.long_duration[self._long_slot(age)]

    def flush_due(self, utc):
        """Save when changed, at most once per FLUSH_S (or at once if the clock went back
        further than that). Returns True when it wrote."""
        if self.dirty and (utc >= self.next_flush or self.next_flush - utc > FLUSH_S):
            self.save(utc)
            return True
        return False

    def save(self, utc=None):
        buf = self.buf
        struct.pack_into("<II", buf, 0, self.failures, self.long_failures)
        pos = 8
        for p in range(PHASES):
            struct.pack_into("<II", buf, pos, self.sags[p], self.swells[p])
            pos += 8
        buf[pos] = self.long_head
        buf[pos + 1] = self.long_count
        pos += 2
        for i in range(LONG_LOG_SIZE):
            struct.pack_into("<II", buf, pos, self.long_end[i], self.long_duration[i])
            pos += 8
        self.slots.save(buf, pos)
        self.dirty = False
        if utc is not None:
            self.next_flush = utc + FLUSH_S

    def load(self):
        buf = self.buf
        if self.slots.load(buf) < _RECORD:
            return False
        self.failures, self.long_failures = struct.unpack_from("<II", buf, 0)
        pos = 8
        for p in range(PHASES):
            self.sags[p], self.swells[p] = struct.unpack_from("<II", buf, pos)
            pos += 8
        self.long_head = buf[pos] % LONG_LOG_SIZE
        self.long_count = min(buf[pos + 1], LONG_LOG_SIZE)
        pos += 2
        for i in range(LONG_LOG_SIZE):
            self.long_end[i], self.long_duration[i] = struct.unpack_from("<II", buf, pos)
            pos += 8
        self.dirty = False
        return True
