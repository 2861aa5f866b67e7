# Event logs: FIFO rings of fixed-size entries that overwrite the oldest (seed 003 11.4 and
# 11.7 f-h: 40 transaction, fault and tamper events; 11.6: an authorised reset leaves an
# event), plus the standard log for clock set, configuration, firmware and power events.
# Each log persists as one record (registers.store).
#
# Flash write budget (issue 10 item 7; docs/registers.md "Event logs: coalescing, admission,
# flush"): no event rate may wear the flash or wipe the logs, so
# - a repeat of the newest entry (same code, a, b) within COALESCE_S of that entry's first
#   occurrence only counts up the entry's `flags` field (repeats, saturating at 65535);
# - each log admits new entries through a token bucket (BURST at once, then one per
#   REFILL_S): at most BURST + ceil(T / REFILL_S) entries in any T seconds can evict old
#   ones; events refused are counted and later reported as one EV_EVENTS_SUPPRESSED entry
#   in the fault log (at most one report per source log per REPORT_S);
# - a log with unsaved changes is written at most once per FLUSH_S (flush_due), except by
#   flush() (power-fail warning, authorised configuration) and after authorised changes
#   (log reset, clock set), which are written at the next flush_due.
import struct

from micropython import const

ENTRY_SIZE = const(20)  # seq u32, utc u32, code u16, flags u16, a u32, b u32
DEFAULT_CAPACITY = const(40)  # seed 003 11.7 f-h
COALESCE_S = const(300)  # repeats within 5 min of an entry's first occurrence share it
BURST = const(10)  # entries admitted back to back after a quiet spell (a storm's events)
REFILL_S = const(300)  # then one entry per 5 min: a 40-entry log lasts >= 2.5 h of flood
FLUSH_S = const(300)  # at most one rate-limited write per log per 5 min (288/day)
REPORT_S = const(3600)  # at most one EV_EVENTS_SUPPRESSED per source log per hour
MAX_REPEATS = const(0xFFFF)  # the 16-bit flags field
MAX_SUPPRESSED = const(0x3FFFFFFF)  # stays a small int on 32-bit ports

# add() results
SUPPRESSED = const(0)  # refused by the rate limit, counted
STORED = const(1)  # a new entry
COALESCED = const(2)  # counted as a repeat of the newest entry

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
EV_CONFIG_REJECTED = const(8)  # a = command code, b = reason (registers.config REJECT_*)
EV_CLOCK_RESTORED = const(9)  # a = persisted UTC the clock resumed from, b = 0
EV_CLOCK_SYNCED = const(10)  # a = UTC before the sync, b = UTC after it
EV_VOLTAGE_LOSS = const(11)  # a = phase (1..3), b = 1 at the start, 0 at the end
EV_PROVISIONING = const(12)  # a = 1 provisioned / 0 unprovisioned at boot, b = 0
# A HAN display confirmed a Smart Energy message (SE 1.4 D.5.2.4.2): a = message id,
# b = the display's short address (0xFFFF: unknown)
EV_HAN_MESSAGE_CONFIRMED = const(13)
EV_TAMPER = const(20)  # a, b: source-specific
EV_AUTH_FAILED = const(21)  # a = command code, b = command counter
EV_REVERSE_FLOW = const(22)  # a = phase (1..3), b = 1 at the start, 0 at the end
EV_FAULT = const(40)  # a, b: source-specific
EV_STORAGE_FAULT = const(41)  # a = errno, b = record kind
EV_TASK_FAULT = const(42)  # a = task id (app.supervisor), b = error code
EV_TASK_HUNG = const(43)  # a = task id, b = seconds since its last progress
EV_RESET_CAUSE = const(44)  # a = reset cause (hal.watchdog RESET_*), b = 0
EV_FREQ_OUT_OF_RANGE = const(45)  # a = phase, b = measured frequency in mHz (0: none)
EV_ADC_STUCK = const(46)  # a = phase (1..3), b = 1 at the start, 0 at the end
EV_ADC_SATURATED = const(47)  # a = phase (1..3), b = 1 at the start, 0 at the end
EV_EVENTS_SUPPRESSED = const(48)  # a = log id, b = events not logged (rate limit)
EV_HAN_IMAGE_CORRUPT = const(49)  # a stored HAN firmware image failed its check at
#                                   power-up (seed 003 10.4): a = verdict (han/ota/image.py)
# The meter's own update (app/update.py); a confirmed one is EV_FIRMWARE in the standard log.
EV_FW_ROLLED_BACK = const(50)  # a = the new image's version, b = the version in use again
EV_FW_REFUSED = const(51)  # an update file refused: a = verdict, b = its version (0: none)
EV_TRANSACTION = const(60)  # a, b: source-specific
# The HAN's exchanges (han/diag.py; seed 003 12.2.14). a = the device: the low 32 bits of
# its EUI-64 when known, else its short address.
EV_HAN_JOINED = const(61)  # b = short address given
EV_HAN_JOIN_DENIED = const(62)  # an unregistered device asked to join: b = MAC capability
EV_HAN_KEY_VERIFIED = const(63)  # its trust-centre link key confirmed: b = short address
EV_HAN_NWK_KEY_SWITCHED = const(64)  # a = new network key sequence number, b = 0
EV_HAN_REJECTED = const(65)  # a frame refused: b = reason (han/nwk/layer.py REFUSED_*)
EV_HAN_NO_ACK = const(66)  # no APS ack after the retries: b = short address
EV_HAN_ACKS = const(67)  # APS acks received: b = acks since its last entry (<= 1/h/device)
EV_HAN_REMOVED = const(68)  # removed by the trust centre: b = short address
EV_HAN_FORWARD_OVERWRITTEN = const(69)  # its store-and-forward queue was full: b = the
#                                         id of the item overwritten (han/hub/forward.py)

_KIND_BASE = const(0x20)  # record kinds 0x20..0x23
_HEADER = const(8)  # record: capacity u16, count u16, next_seq u32
_TRAILER = const(4)  # after the entries: suppressed events not yet reported, u32
_FLAGS = const(10)  # offset of the flags (repeat count) in an entry
_WRITE_ORDER = (FAULT, STANDARD, TAMPER, TRANSACTION)  # fault first: see EventLogs._report


def _due(utc, at, period):
    """True when utc reached `at`, or the clock was set back past its period (then waiting
    for `at` would stall the work for as long as the clock went back)."""
    return utc >= at or at - utc > period


class EventLog:
    def __init__(self, store, log_id, capacity=DEFAULT_CAPACITY):
        self.log_id = log_id
        self.capacity = capacity
        self.ring = bytearray(ENTRY_SIZE * capacity)
        self.count = 0  # entries held (<= capacity)
        self.head = 0  # slot of the next entry
        self.next_seq = 1
        self.dirty = False  # something unsaved: entries, repeats, the suppressed count
        self.urgent = False  # an authorised change: flush_due writes it at once
        self.next_flush = 0  # earliest UTC of the next rate-limited write
        # The newest entry's identity and first occurrence, kept so add() can coalesce
        # without unpacking (a tuple would allocate).
        self.last_code = -1
        self.last_a = 0
        self.last_b = 0
        self.last_utc = 0
        self.last_repeats = 0
        # Admission: a token bucket (full at boot: a reboot is no flood).
        self.tokens = BURST
        self.refill_utc = 0
        self.suppressed = 0  # events refused and not yet reported (persisted)
        self.suppressed_since = 0  # UTC of the first of them (0 after boot: long ago)
        self.report_after = 0  # earliest UTC of this log's next EV_EVENTS_SUPPRESSED
        self.slots = store.slots("log%d" % log_id, _KIND_BASE + log_id,
                                 _HEADER + ENTRY_SIZE * capacity + _TRAILER)

    def add(self, utc, code, a=0, b=0):
        """Record one event; returns STORED, COALESCED or SUPPRESSED. Allocation-free (with
        small-int arguments)."""
        a &= 0xFFFFFFFF
        b &= 0xFFFFFFFF
        if (self.count and code == self.last_code and a == self.last_a
                and b == self.last_b and 0 <= utc - self.last_utc < COALESCE_S
                and self.last_repeats < MAX_REPEATS):
            self.last_repeats += 1
            pos = ((self.head - 1) % self.capacity) * ENTRY_SIZE + _FLAGS
            self.ring[pos] = self.last_repeats & 0xFF
            self.ring[pos + 1] = self.last_repeats >> 8
            self.dirty = True
            return COALESCED
        self._refill(utc)
        if self.tokens == 0:
            if self.suppressed == 0:
                self.suppressed_since = utc
            if self.suppressed < MAX_SUPPRESSED:
                self.suppressed += 1
            self.dirty = True
            return SUPPRESSED
        self.tokens -= 1
        self.store(utc, code, a, b)
        return STORED

    def _refill(self, utc):
        elapsed = utc - self.refill_utc
        if elapsed < 0:  # clock set back: restart the period, no credit
            self.refill_utc = utc
        elif elapsed >= REFILL_S:
            n = elapsed // REFILL_S
            if self.tokens + n >= BURST:
                self.tokens = BURST
                self.refill_utc = utc  # a full bucket saves no credit
            else:
                self.tokens += n
                self.refill_utc += n * REFILL_S

    def admitting(self, utc):
        """True when add() would admit a new entry now (admission has resumed)."""
        self._refill(utc)
        return self.tokens > 0

    def store(self, utc, code, a, b):
        """A new entry, bypassing coalescing and admission (authorised resets, reports)."""
        struct.pack_into("<IIHHII", self.ring, self.head * ENTRY_SIZE, self.next_seq,
                         utc, code, 0, a, b)
        self.next_seq += 1
        self.head = (self.head + 1) % self.capacity
        if self.count < self.capacity:
            self.count += 1
        self.last_code = code
        self.last_a = a
        self.last_b = b
        self.last_utc = utc
        self.last_repeats = 0
        self.dirty = True

    def _slot(self, age):
        """Ring slot of the entry `age` steps back (0 = newest)."""
        if age < 0 or age >= self.count:
            raise IndexError("no such entry")
        return (self.head - 1 - age) % self.capacity

    def entry(self, age):
        """(seq, utc, code, repeats, a, b) of the entry `age` steps back (0 = newest); utc
        is the first occurrence, repeats how often it recurred within COALESCE_S."""
        return struct.unpack_from("<IIHHII", self.ring, self._slot(age) * ENTRY_SIZE)

    def code(self, age):
        return struct.unpack_from("<H", self.ring, self._slot(age) * ENTRY_SIZE + 8)[0]

    def clear(self):
        held = self.count
        self.count = 0
        self.head = 0
        self.dirty = True
        self.urgent = True  # only authorised resets clear a log
        return held

    # Record: capacity u16, count u16, next_seq u32, the entries oldest first, then the
    # suppressed count u32 (a record without it, from before the rate limit, loads as 0).
    def save(self, buf, utc=None):
        struct.pack_into("<HHI", buf, 0, self.capacity, self.count, self.next_seq)
        pos = _HEADER
        for age in range(self.count - 1, -1, -1):
            start = self._slot(age) * ENTRY_SIZE
            for i in range(ENTRY_SIZE):
                buf[pos + i] = self.ring[start + i]
            pos += ENTRY_SIZE
        struct.pack_into("<I", buf, pos, self.suppressed)
        self.slots.save(buf, pos + _TRAILER)
        self.dirty = False
        self.urgent = False
        if utc is not None:
            self.next_flush = utc + FLUSH_S

    def load(self, buf):
        n = self.slots.load(buf)
        if n < _HEADER:
            return False
        _, count, next_seq = struct.unpack_from("<HHI", buf, 0)
        count = min(count, (n - _HEADER) // ENTRY_SIZE)
        skip = max(0, count - self.capacity)  # a smaller configured capacity keeps newest
        self.count = 0
        self.head = 0
        for k in range(skip, count):
            start = _HEADER + k * ENTRY_SIZE
            dest = self.head * ENTRY_SIZE
            for i in range(ENTRY_SIZE):
                self.ring[dest + i] = buf[start + i]
            self.head = (self.head + 1) % self.capacity
            self.count += 1
        end = _HEADER + count * ENTRY_SIZE
        self.suppressed = 0
        if n >= end + _TRAILER:
            self.suppressed = min(struct.unpack_from("<I", buf, end)[0], MAX_SUPPRESSED)
        self.suppressed_since = 0
        if self.count:
            _, self.last_utc, self.last_code, self.last_repeats, self.last_a, self.last_b = \
                self.entry(0)
        self.next_seq = next_seq
        self.dirty = False
        self.urgent = False
        return True


class EventLogs:
    """The four logs with their shared write rules (see the head of this module)."""

    def __init__(self, store, capacity=DEFAULT_CAPACITY):
        self.logs = tuple(EventLog(store, i, capacity) for i in range(LOG_COUNT))
        self.buf = bytearray(_HEADER + ENTRY_SIZE * capacity + _TRAILER)

    def log(self, log_id):
        return self.logs[log_id]

    def add(self, log_id, utc, code, a=0, b=0):
        return self.logs[log_id].add(utc, code, a, b)

    def clock_set(self, old_utc, new_utc):
        standard = self.logs[STANDARD]
        if standard.add(new_utc, EV_CLOCK_SET, old_utc, new_utc) != SUPPRESSED:
            standard.urgent = True

    def reset(self, log_id, utc):
        """Authorised reset (seed 003 11.6): clears the log and records the reset in the
        standard log (after the clearing, so resetting the standard log keeps the event).
        The event bypasses the rate limit: the reset must leave it."""
        held = self.logs[log_id].clear()
        standard = self.logs[STANDARD]
        standard.store(utc, EV_LOG_RESET, log_id, held)
        standard.urgent = True

    def dirty(self):
        for log in self.logs:
            if log.dirty:
                return True
        return False

    def suppressed(self):
        """Events refused by the rate limit and not yet reported, over all logs."""
        n = 0
        for log in self.logs:
            n += log.suppressed
        return n

    def _report(self, utc):
        """One EV_EVENTS_SUPPRESSED per log whose refused events are pending, once its
        admission has resumed (or they have waited REPORT_S), at most once per REPORT_S.
        The report goes in with the fault log's next write (it bypasses that log's bucket:
        REPORT_S bounds it), so a cut without warning can repeat a count, never lose it."""
        fault = self.logs[FAULT]
        for log in self.logs:
            if (log.suppressed and _due(utc, log.report_after, REPORT_S)
                    and (log.admitting(utc)
                         or not 0 <= utc - log.suppressed_since < REPORT_S)):
                fault.store(utc, EV_EVENTS_SUPPRESSED, log.log_id, log.suppressed)
                log.suppressed = 0
                log.report_after = utc + REPORT_S
                log.dirty = True

    def flush_due(self, utc):
        """Rate-limited write (call every step): each log with unsaved changes at most once
        per FLUSH_S, an authorised change at once. Returns the records written."""
        fault = self.logs[FAULT]
        if (fault.urgent or _due(utc, fault.next_flush, FLUSH_S)) and self.suppressed():
            self._report(utc)
        written = 0
        for i in _WRITE_ORDER:
            log = self.logs[i]
            if log.dirty and (log.urgent or _due(utc, log.next_flush, FLUSH_S)):
                log.save(self.buf, utc)
                written += 1
        return written

    def flush(self, utc=None):
        """Write every log with unsaved changes now (power-fail warning, authorised
        configuration, boot). Returns the records written."""
        written = 0
        for i in _WRITE_ORDER:
            log = self.logs[i]
            if log.dirty:
                log.save(self.buf, utc)
                written += 1
        return written

    def load(self):
        for log in self.logs:
            log.load(self.buf)
