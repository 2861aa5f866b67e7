# The authenticated configuration path: the only way to set the clock, load tariff calendars,
# reset a log, store the P1 text message, set the gas meter's silence alert or (through
# handlers main registers) calibrate the metrology and provision the meter (issue 3; issue
# 10 item 4; seed 003 11.6: a reset needs authorisation and leaves an event; ARCHITECTURE:
# metrology data never writable from H1/HAN except through this path).
#
# A command is  op u8 | counter u32 LE | payload,  authenticated by
# tag = HMAC-SHA256(key, command) (RFC 2104 with SHA-256, 32 bytes). execute() takes it in
# this order, and nothing changes until the last step:
#   1. length: fewer than 5 octets or more than MAX_COMMAND -> tamper event, no HMAC work;
#   2. tag, then counter > the last one consumed        -> tamper event (EV_AUTH_FAILED);
#   3. the whole payload parsed and range-checked       -> else the counter is consumed and
#                                                          one EV_CONFIG_REJECTED is logged;
#   4. counter persisted (so the command can never run twice), the change applied, EV_CONFIG.
# Unauthenticated input never consumes a counter (a forger cannot burn the issuer's counters).
import struct

from micropython import const

from registers.logs import (EV_AUTH_FAILED, EV_CONFIG, EV_CONFIG_REJECTED, LOG_COUNT,
                            STANDARD, TAMPER)
from registers.clock import MAX_UTC, MIN_UTC
from registers.gas import SILENT_RANGE, silent_after_ok

OP_SET_CLOCK = const(1)  # payload: new UTC u32 (registers.clock MIN_UTC .. MAX_UTC)
OP_SET_PASSIVE_CALENDAR = const(2)  # payload: activation UTC u32, calendar bytes (tou.py)
OP_SET_ACTIVE_CALENDAR = const(3)  # payload: calendar bytes
OP_RESET_LOG = const(4)  # payload: log id u8 (registers.logs)
OP_SET_CALIBRATION = const(5)  # payload: calibration record (metrology/calibration.py)
OP_SET_TEXT_MESSAGE = const(6)  # payload: 0..1024 octets (DSMR 5.0.2 7.2, 0-0:96.13.0)
OP_PROVISION = const(7)  # payload: provisioning record (app/provision.py)
OP_HAN_JOINER = const(8)  # payload: a HAN device registered or removed (han/node.py)
OP_SET_PRICES = const(9)  # payload: the HAN's price table (registers/prices.py)
OP_SET_GAS_ALERT = const(10)  # payload: seconds u32 (registers/gas.py silent_after_ok)
# Ops of other subsystems (calibration, provisioning) come with a handler from main:
# handlers={op: (parse, apply)}. parse(payload) checks ALL of the payload and returns the
# parsed value, or raises ValueError (reason REJECT_MALFORMED) or Rejected(reason, text);
# apply(parsed) only stores and uses it (it may raise OSError: REJECT_STORAGE). The
# registers never import those subsystems.

MAX_PAYLOAD = const(1024)  # the largest payload (text message; a calendar is <= 1015)
MAX_COMMAND = const(1029)  # 5 + MAX_PAYLOAD: longer commands are refused before any HMAC
TAG_SIZE = const(32)

# Reasons (the b of EV_CONFIG_REJECTED; .reason of Rejected/AuthError; the console's words).
# After a valid tag and a fresh counter (counter consumed, EV_CONFIG_REJECTED in STANDARD):
REJECT_MALFORMED = const(1)  # payload of the wrong length or shape, CRC wrong, bad calendar
REJECT_RANGE = const(2)  # a value outside its documented range (clock, gains, phase, log id)
REJECT_TOO_LONG = const(3)  # does not fit its record in the store (calendars, text)
REJECT_UNKNOWN_OP = const(4)  # no such operation (or its handler is not installed)
REJECT_STORAGE = const(5)  # the flash write failed: nothing applied
# Unauthenticated (EV_AUTH_FAILED in TAMPER, a = op, b = counter; no counter consumed):
REJECT_SHORT = const(16)  # fewer than 5 octets (a = first octet or 0, b = 0)
REJECT_OVERSIZED = const(17)  # longer than MAX_COMMAND
REJECT_TAG = const(18)  # HMAC tag does not match
REJECT_REPLAY = const(19)  # counter not above the last one consumed

REASONS = {REJECT_MALFORMED: "malformed", REJECT_RANGE: "range", REJECT_TOO_LONG: "too-long",
           REJECT_UNKNOWN_OP: "unknown-op", REJECT_STORAGE: "storage", REJECT_SHORT: "short",
           REJECT_OVERSIZED: "oversized", REJECT_TAG: "tag", REJECT_REPLAY: "replay"}

_BLOCK = const(64)  # SHA-256 block size (RFC 2104 B)
_KIND = const(0x60)


class Rejected(ValueError):
    """An authenticated command refused: nothing changed, its counter is consumed."""

    def __init__(self, reason, text=""):
        super().__init__(text or REASONS.get(reason, "rejected"))
        self.reason = reason


class AuthError(Exception):
    """Input that is not an authentic fresh command: a tamper event, nothing consumed."""

    def __init__(self, reason, text=""):
        super().__init__(text or REASONS.get(reason, "rejected"))
        self.reason = reason


def hmac_sha256(key, message):
    """RFC 2104 HMAC with SHA-256 (MicroPython has hashlib.sha256 but no hmac module)."""
    import hashlib

    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    inner_pad = bytearray(_BLOCK)
    outer_pad = bytearray(_BLOCK)
    for i in range(_BLOCK):
        k = key[i] if i < len(key) else 0
        inner_pad[i] = k ^ 0x36
        outer_pad[i] = k ^ 0x5C
    inner = hashlib.sha256(inner_pad)
    inner.update(message)
    outer = hashlib.sha256(outer_pad)
    outer.update(inner.digest())
    return outer.digest()


def _same(a, b):
    """Compare without an early exit, so timing does not reveal the matching prefix."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0


def command(op, counter, payload=b""):
    """Encode a command (the issuer's side: configuration tools and tests)."""
    return struct.pack("<BI", op, counter) + bytes(payload)


def _u32(payload, what):
    if len(payload) != 4:
        raise Rejected(REJECT_MALFORMED, what + " payload is 4 octets")
    return struct.unpack_from("<I", payload, 0)[0]


def _check_utc(utc, what):
    if not MIN_UTC <= utc <= MAX_UTC:
        raise Rejected(REJECT_RANGE, what + " outside 2000-01-01 .. 2099-12-31")
    return utc


class ConfigSession:
    """execute(cmd, tag) returns the op applied, or raises AuthError / Rejected (a ValueError),
    each with .reason (REJECT_*), after logging exactly one event."""

    def __init__(self, registers, key, handlers=None):
        if len(key) < 16:
            raise ValueError("key of at least 128 bits")
        self.registers = registers
        self.handlers = {}
        for op, pair in (handlers or {}).items():
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise TypeError("handler for op %d: (parse, apply)" % op)
            self.handlers[op] = pair
        self.text = registers.text  # P1's text message (registers/text.py; the view reads it)
        self._key = bytes(key)
        self.counter = 0
        self._buf = bytearray(4)
        self._slots = registers.store.slots("config", _KIND, 4)
        if self._slots.load(self._buf) == 4:
            self.counter = struct.unpack_from("<I", self._buf, 0)[0]

    def tamper(self, reason, op=0, counter=0, utc=None):
        """Log one refused unauthenticated input and raise AuthError (also for channels that
        refuse input before it becomes a command, e.g. an over-long console line)."""
        regs = self.registers
        if utc is None:
            utc = regs.clock.utc()
        # Through the logs' coalescing and rate limit, and written by their rate-limited
        # flush (no flush here): a flood of forged input cannot wear the flash.
        regs.logs.add(TAMPER, utc, EV_AUTH_FAILED, op, counter)
        raise AuthError(reason)

    def execute(self, cmd, tag, utc=None):
        regs = self.registers
        if utc is None:
            utc = regs.clock.utc()
        if len(cmd) < 5:
            self.tamper(REJECT_SHORT, cmd[0] if len(cmd) else 0, 0, utc)
        op, counter = struct.unpack_from("<BI", cmd, 0)
        if len(cmd) > MAX_COMMAND:
            self.tamper(REJECT_OVERSIZED, op, counter, utc)
        if not _same(hmac_sha256(self._key, cmd), tag):
            self.tamper(REJECT_TAG, op, counter, utc)
        if counter <= self.counter:
            self.tamper(REJECT_REPLAY, op, counter, utc)
        payload = memoryview(cmd)[5:]
        try:
            apply, parsed = self._parse(op, payload)
        except Rejected as e:
            self._reject(op, counter, utc, e.reason)
            raise
        except ValueError as e:
            self._reject(op, counter, utc, REJECT_MALFORMED)
            raise Rejected(REJECT_MALFORMED, str(e))
        try:
            self._consume(counter)  # before the change: a power cut cannot make it replayable
            apply(parsed, utc)
        except (OSError, ValueError) as e:  # the store refused: each apply stores first
            reason = e.reason if isinstance(e, Rejected) else REJECT_STORAGE
            self._reject(op, counter, utc, reason)
            raise Rejected(reason, str(e))
        self._log(utc, EV_CONFIG, op, counter)
        return op

    # ---- phase 1: parse and check everything; nothing changes here ----------------------
    def _parse(self, op, payload):
        regs = self.registers
        if op == OP_SET_CLOCK:
            return self._apply_clock, _check_utc(_u32(payload, "clock"), "clock")
        if op == OP_SET_PASSIVE_CALENDAR:
            if len(payload) < 4:
                raise Rejected(REJECT_MALFORMED, "activation time missing")
            activation = _check_utc(struct.unpack_from("<I", payload, 0)[0], "activation")
            calendar = regs.tariffs.parse(payload[4:])  # ValueError: malformed
            if not regs.tariffs.fits(regs.tariffs.active, calendar):
                raise Rejected(REJECT_TOO_LONG, "calendars exceed their record")
            return self._apply_passive, (calendar, activation)
        if op == OP_SET_ACTIVE_CALENDAR:
            calendar = regs.tariffs.parse(payload)
            if not regs.tariffs.fits(calendar, regs.tariffs.passive):
                raise Rejected(REJECT_TOO_LONG, "calendars exceed their record")
            return self._apply_active, calendar
        if op == OP_RESET_LOG:
            if len(payload) != 1:
                raise Rejected(REJECT_MALFORMED, "log id payload is 1 octet")
            if payload[0] >= LOG_COUNT:
                raise Rejected(REJECT_RANGE, "no such log")
            return self._apply_reset, payload[0]
        if op == OP_SET_TEXT_MESSAGE:
            if len(payload) > self.text.capacity:
                raise Rejected(REJECT_TOO_LONG, "text message longer than 1024 octets")
            return self._apply_text, bytes(payload)
        if op == OP_SET_GAS_ALERT:
            seconds = _u32(payload, "gas alert")
            if not silent_after_ok(seconds):
                raise Rejected(REJECT_RANGE, SILENT_RANGE)
            return self._apply_gas_alert, seconds
        pair = self.handlers.get(op)
        if pair is None:
            raise Rejected(REJECT_UNKNOWN_OP, "unknown command")
        return self._apply_handler, (pair[1], pair[0](bytes(payload)))

    # ---- phase 2: apply (only storage can still fail; each stores before it assigns) ----
    def _apply_clock(self, new_utc, utc):
        self.registers.set_clock(new_utc)  # logs the clock-set event with old and new time

    def _apply_passive(self, parsed, utc):
        self.registers.tariffs.set_passive(parsed[0], parsed[1])

    def _apply_active(self, calendar, utc):
        self.registers.tariffs.set_active(calendar)
        self.registers._minute(utc)  # the new tariff applies now

    def _apply_reset(self, log_id, utc):
        self.registers.reset_log(log_id, utc)

    def _apply_text(self, data, utc):
        self.text.set(data)

    def _apply_gas_alert(self, seconds, utc):
        self.registers.gas.set_silent_after(seconds)

    def _apply_handler(self, pair, utc):
        pair[0](pair[1])

    def _consume(self, counter):
        self.counter = counter  # refused from now on, even if the flash write fails
        struct.pack_into("<I", self._buf, 0, counter)
        self._slots.save(self._buf, 4)

    def _reject(self, op, counter, utc, reason):
        try:
            self._consume(counter)
        except OSError:
            pass  # still refused until reboot; the event below says why it failed
        self._log(utc, EV_CONFIG_REJECTED, op, reason)

    def _log(self, utc, code, a, b):
        """An authenticated command's event: always a new entry (it bypasses the logs' rate
        limit: only a key holder can cause it, and each consumed a counter), written now."""
        regs = self.registers
        regs.logs.log(STANDARD).store(utc, code, a, b)
        regs.flush(force=True)
