# Wire format between a bridged radio (han/radio_bridge.py, on a board's UART) and the
# simulated medium's server (tools/han/medium_server.py), both directions:
#
#   0xA5  LEN  TYPE  BODY[LEN - 1]  CRC16 (ARC, little endian, over 0xA5..BODY)
#
# LEN counts TYPE and BODY (1..MAX_LEN). The sync byte and the CRC let a receiver find the
# next message after noise on a real UART; on the emulated board's socket nothing is lost.
# One message carries one radio operation or event, so the medium server can act on it
# the moment it arrives (docs/han.md, "The UART bridge").
#
# Node -> medium:
#   HELLO    ext(8)                       who is on this link (extended address, MSB first)
#   ON_OFF   on(1)                        receiver on/off
#   CHANNEL  channel(1)                   11..26
#   ADDRS    pan(2) short(2) ext(8)       frame filtering (big endian pan/short)
#   PENDING  on(1) addr(2 or 8)           auto-ACK frame-pending table entry
#   TX       psdu(n)                      transmit (no FCS: the medium appends it)
#   PROMISC  on(1)                        sniffer mode: no filtering, no auto-ACK
# Medium -> node:
#   RX       rssi(1, signed dBm) lqi(1) psdu(n)   a received frame (FCS checked, removed)
#   TX_DONE  status(1)                    the transmission ended (hal.radio TX_* code)
#   CCA      busy(1) ed(1)                channel state changed (CCA mode 1, ED level)
from micropython import const

from native.crc16 import crc16

SYNC = const(0xA5)
MAX_LEN = const(130)  # TYPE + RSSI + LQI + 127-byte PSDU without FCS, with margin
MAX_MESSAGE = const(MAX_LEN + 4)
BODY = const(3)  # where a message's body starts (after sync, length, type)

HELLO = const(0x48)  # 'H'
ON_OFF = const(0x4F)  # 'O'
CHANNEL = const(0x43)  # 'C'
ADDRS = const(0x41)  # 'A'
PENDING = const(0x50)  # 'P'
TX = const(0x54)  # 'T'
PROMISC = const(0x4D)  # 'M'
RX = const(0x52)  # 'R'
TX_DONE = const(0x44)  # 'D'
CCA = const(0x45)  # 'E'


def encode(out, kind, body, length):
    """Write a message of `kind` with body[0:length] into `out`; return its size."""
    if length + 1 > MAX_LEN:
        raise ValueError("bridge message too long")
    out[0] = SYNC
    out[1] = length + 1
    out[2] = kind
    for i in range(length):
        out[3 + i] = body[i]
    c = crc16(out, 0, length + 3)
    out[3 + length] = c & 0xFF
    out[4 + length] = c >> 8
    return length + 5


class Deframer:
    """Byte-fed parser: feed(data, n) returns after each complete message so the caller
    can act on it (message() gives kind, body, length), then feed the rest. Bad CRC or
    length: the message is dropped and counted, the parser hunts for the next sync."""

    def __init__(self):
        self.buf = bytearray(MAX_MESSAGE)
        self._mv = memoryview(self.buf)
        self._have = 0
        self._need = 0
        self.errors = 0
        self.messages = 0
        self.kind = 0
        self.length = 0  # body length of the last complete message

    def push(self, b):
        """Take one byte; True when it completed a good message."""
        buf = self.buf
        have = self._have
        if have == 0:
            if b == SYNC:
                buf[0] = b
                self._have = 1
            return False
        if have == 1:
            if b == 0 or b > MAX_LEN:
                self.errors += 1
                self._have = 1 if b == SYNC else 0
                return False
            buf[1] = b
            self._need = b + 4  # sync, len, type..body, crc(2)
            self._have = 2
            return False
        buf[have] = b
        have += 1
        if have < self._need:
            self._have = have
            return False
        self._have = 0
        n = buf[1]
        c = crc16(buf, 0, n + 2)
        if buf[n + 2] != c & 0xFF or buf[n + 3] != c >> 8:
            self.errors += 1
            return False
        self.kind = buf[2]
        self.length = n - 1
        self.messages += 1
        return True

    def body(self):
        """The last complete message's body (a view into the parser's buffer; allocates:
        allocation-free readers index buf from BODY)."""
        return self._mv[BODY:BODY + self.length]
