# Event logs: FIFO rings of fixed-size entries that overwrite the oldest (seed 003 11.4 and
# 11.7 f-h: 40 transaction, fault and tamper events; 11.6: an authorised reset leaves an
# event), plus the standard log for clock set, configuration, firmware and power events.
# Each log persists as one record (registers.store) whenever it changed.
import struct

from micropython import const

ENTRY_SIZE = const(20)  # seq u32, utc u32, code u16, flags u16, a u32, b u32
DEFAULT_CAPACITY = const(40)  # seed 003 11.7 f-h

# Log identities (the numbers are part of the configuration API: reset_log(log_id)).
STANDARD = const(0)
FAULT = const(1)
TAMPER = const(2)
TRANSACTION = const(3)
LOG_COUNT = const(4)

# Event codes (ours; docs/registers.md lists them). a/b: the values each code carries.
EV_POWER_UP = const(1)  # a = outage start (UTC), b = duration s
EV_POWER_FAIL_WARNING = const(2)  # a = UTC of the warning
EV_CLOCK_SET = const(3)  # a = old UTC, b = new UTC
EV_CONFIG = const(4)  # a = command code, b = command counter
EV_FIRMWARE = const(5)  # a = old version, b = new version (packed by the caller)
EV_LOG_RESET = const(6)  # a = log id that was cleared, b = entries it held
EV_CALENDAR_ACTIVATED = const(7)  # a = activation UTC, b = calendar id
EV_TAMPER = const(20)  # a, b: source-specific
EV_AUTH_FAILED = const(21)  # a = command code, b = command counter
EV_FAULT = const(40)  # a, b: source-specific
EV_STORAGE_FAULT = const(41)  # a = errno, b = record kind
EV_TRANSACTION = const(60)  # a, b: source-specific

_KIND_BASE = const(0x20)  # record kinds 0x20..0x23


class EventLog:
    def __init__(self, store, log_id, capacity=DEFAULT_CAPACITY):
        self.log_id = log_id
        self.capacity = capacity
        self.ring = bytearray(ENTRY_SIZE * capacity)
        self.count = 0  # entries held (<= capacity)
        self.head = 0  # slot of the next entry
        self.next_seq = 1
        self.dirty = False
        self.slots = store.slots("log%d" % log_id, _KIND_BASE + log_id,
                                 8 + ENTRY_SIZE * capacity)

    def add(self, utc, code, a=0, b=0, flags=0):
        struct.pack_into("<IIHHII", self.ring, self.head * ENTRY_SIZE, self.next_seq,
                         utc, code, flags, a & 0xFFFFFFFF, b & 0xFFFFFFFF)
        self.next_seq += 1
        self.head = (self.head + 1) % self.capacity
        if self.count < self.capacity:
            self.count += 1
        self.dirty = True

    def _slot(self, age):
        """Ring slot of the entry `age` steps back (0 = newest)."""
        if age < 0 or age >= self.count:
            raise IndexError("no such entry")
        return (self.head - 1 - age) % self.capacity

    def entry(self, age):
        """(seq, utc, code, flags, a, b) of the entry `age` steps back (0 = newest)."""
        return struct.unpack_from("<IIHHII", self.ring, self._slot(age) * ENTRY_SIZE)

    def code(self, age):
        return struct.unpack_from("<H", self.ring, self._slot(age) * ENTRY_SIZE + 8)[0]

    def clear(self):
        held = self.count
        self.count = 0
        self.head = 0
        self.dirty = True
        return held

    # Record: capacity u16, count u16, next_seq u32, then the entries oldest first.
    def save(self, buf):
        struct.pack_into("<HHI", buf, 0, self.capacity, self.count, self.next_seq)
        pos = 8
        for age in range(self.count - 1, -1, -1):
            start = self._slot(age) * ENTRY_SIZE
            for i in range(ENTRY_SIZE):
                buf[pos + i] = self.ring[start + i]
            pos += ENTRY_SIZE
        self.slots.save(buf, pos)
        self.dirty = False

    def load(self, buf):
        n = self.slots.load(buf)
        if n < 8:
            return False
        _, count, next_seq = struct.unpack_from("<HHI", buf, 0)
        count = min(count, (n - 8) // ENTRY_SIZE)
        skip = max(0, count - self.capacity)  # a smaller configured capacity keeps newest
        self.count = 0
        self.head = 0
        for k in range(skip, count):
            start = 8 + k * ENTRY_SIZE
            dest = self.head * ENTRY_SIZE
            for i in range(ENTRY_SIZE):
                self.ring[dest + i] = buf[start + i]
            self.head = (self.head + 1) % self.capacity
            self.count += 1
        self.next_seq = next_seq
        self.dirty = False
        return True


class EventLogs:
    """The four logs, saved together by flush() when any changed."""

    def __init__(self, store, capacity=DEFAULT_CAPACITY):
        self.logs = tuple(EventLog(store, i, capacity) for i in range(LOG_COUNT))
        self.buf = bytearray(8 + ENTRY_SIZE * capacity)

    def log(self, log_id):
        return self.logs[log_id]

    def add(self, log_id, utc, code, a=0, b=0):
        self.logs[log_id].add(utc, code, a, b)

    def clock_set(self, old_utc, new_utc):
        self.logs[STANDARD].add(new_utc, EV_CLOCK_SET, old_utc, new_utc)

    def reset(self, log_id, utc):
        """Authorised reset (seed 003 11.6): clears the log and records the reset in the
        standard log (after the clearing, so resetting the standard log keeps the event)."""
        held = self.logs[log_id].clear()
        self.logs[STANDARD].add(utc, EV_LOG_RESET, log_id, held)

    def dirty(self):
        for log in self.logs:
            if log.dirty:
                return True
        return False

    def flush(self):
        for log in self.logs:
            if log.dirty:
                log.save(self.buf)

    def load(self):
        for log in self.logs:
            log.load(self.buf)
