# The authenticated configuration path: the only way to set the clock, load tariff calendars
# or reset a log (issue 3; seed 003 11.6: a reset needs authorisation and leaves an event;
# ARCHITECTURE: metrology data never writable from H1/HAN except through this path).
#
# A command is  op u8 | counter u32 LE | payload,  authenticated by
# tag = HMAC-SHA256(key, command) (RFC 2104 with SHA-256, 32 bytes). The counter must
# grow from command to command (replay protection) and is persisted. Every accepted
# command writes a configuration event (a = op, b = counter) in the standard log; a
# rejected one writes an authentication-failure event in the tamper log.
import hashlib
import struct

from micropython import const

from registers.logs import EV_AUTH_FAILED, EV_CONFIG, STANDARD, TAMPER

OP_SET_CLOCK = const(1)  # payload: new UTC u32
OP_SET_PASSIVE_CALENDAR = const(2)  # payload: activation UTC u32, calendar bytes (tou.py)
OP_SET_ACTIVE_CALENDAR = const(3)  # payload: calendar bytes
OP_RESET_LOG = const(4)  # payload: log id u8 (registers.logs)
OP_SET_CALIBRATION = const(5)  # payload: metrology calibration record (metrology/calibration.py)
# Ops of other subsystems (like OP_SET_CALIBRATION) are handled by the handler registered for
# them (ConfigSession(..., handlers={op: handler(payload)})): the same authentication, the
# same events; the registers never import those subsystems.
_BLOCK = const(64)  # SHA-256 block size (RFC 2104 B)
_TAG = const(32)
_KIND = const(0x60)


class AuthError(Exception):
    pass


def hmac_sha256(key, message):
    """RFC 2104 HMAC with SHA-256 (MicroPython has hashlib.sha256 but no hmac module)."""
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


class ConfigSession:
    def __init__(self, registers, key, handlers=None):
        if len(key) < 16:
            raise ValueError("key of at least 128 bits")
        self.registers = registers
        self.handlers = handlers or {}
        self._key = bytes(key)
        self.counter = 0
        self._buf = bytearray(4)
        self._slots = registers.store.slots("config", _KIND, 4)
        if self._slots.load(self._buf) == 4:
            self.counter = struct.unpack_from("<I", self._buf, 0)[0]

    def execute(self, cmd, tag, utc=None):
        """Verify and apply one command; raises AuthError (and logs a tamper event) when the
        tag or counter is wrong, ValueError when the payload is malformed."""
        regs = self.registers
        if utc is None:
            utc = regs.clock.utc()
        if len(cmd) < 5:
            raise ValueError("short command")
        op, counter = struct.unpack_from("<BI", cmd, 0)
        if not _same(hmac_sha256(self._key, cmd), tag) or counter <= self.counter:
            regs.logs.add(TAMPER, utc, EV_AUTH_FAILED, op, counter)
            regs.flush()
            raise AuthError("command rejected")
        payload = memoryview(cmd)[5:]
        if op == OP_SET_CLOCK:
            if len(payload) != 4:
                raise ValueError("clock payload")
            new_utc = struct.unpack_from("<I", payload, 0)[0]
            self._accept(op, counter, utc)
            regs.set_clock(new_utc)  # logs the clock-set event with old and new time
            return
        if op == OP_SET_PASSIVE_CALENDAR:
            if len(payload) < 4:
                raise ValueError("calendar payload")
            activation = struct.unpack_from("<I", payload, 0)[0]
            regs.tariffs.set_passive(bytes(payload[4:]), activation)
        elif op == OP_SET_ACTIVE_CALENDAR:
            regs.tariffs.set_active(bytes(payload))
            regs._minute(utc)  # apply the new tariff now
        elif op == OP_RESET_LOG:
            if len(payload) != 1:
                raise ValueError("log id payload")
            log_id = payload[0]
            if log_id >= len(regs.logs.logs):
                raise ValueError("no such log")
            self._accept(op, counter, utc)
            regs.reset_log(log_id, utc)
            return
        elif op in self.handlers:
            self.handlers[op](bytes(payload))  # raises ValueError: nothing applied
        else:
            raise ValueError("unknown command")
        self._accept(op, counter, utc)
        regs.flush()

    def _accept(self, op, counter, utc):
        self.counter = counter
        struct.pack_into("<I", self._buf, 0, counter)
        self._slots.save(self._buf, 4)
        self.registers.logs.add(STANDARD, utc, EV_CONFIG, op, counter)
