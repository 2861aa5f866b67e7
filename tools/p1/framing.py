"""Framing of a P1 byte stream into telegrams and encrypted frames, with bounded memory.

Everything here is iterative (no recursion on junk) and every wait for more bytes is
bounded by MAX_TELEGRAM, so no input, however long or malformed, can exhaust the stack or
grow the buffer without end.
"""
# DSMR 5.0.2 6.1: 115200 baud 8N1 (10 bits per character) and the whole telegram sent
# within 1 s, so no telegram can exceed 11 520 characters. DSMR 4.x uses the same speed;
# DSMR 2.2/3 (9600 baud 7E1, one telegram per 10 s) stay under it too.
MAX_TELEGRAM = 11520
# The longest line a telegram may hold: the text message 0-0:96.13.0 is Sn, n = 0..2048
# (DSMR 5.0.2 Table 6-3): 11 characters of OBIS code, '(' 2048 ')' and CR LF = 2063.
# Fluvius' 13-month peak history (0-0:98.1.0) stays under 700.
MAX_LINE = 2100
# An encrypted frame (Smarty 1.1.3 3.2.5): 13 header bytes, a security byte, a 4-byte frame
# counter and a 12-byte tag around the ciphertext of at most one telegram.
MAX_FRAME = 13 + 17 + MAX_TELEGRAM
FRAME_OVERHEAD = 17  # security control byte + frame counter + GCM tag
HEX = b"0123456789ABCDEFabcdef"
SLASH, BANG, CR, LF, GLO = 0x2F, 0x21, 0x0D, 0x0A, 0xDB  # GLO: general-glo-ciphering tag


class Item:
    """One unit of the stream: kind is "telegram" (from '/' through the end of the line
    holding '!'), "frame" (an encrypted frame), "partial" (a telegram cut by the next '/')
    or "overlong" (no '!' within MAX_TELEGRAM: its first MAX_TELEGRAM bytes, the rest of
    it skipped). stray: bytes found outside any telegram just before this one, with the
    first of them in stray_head."""

    def __init__(self, kind, raw, t, stray, stray_head):
        self.kind = kind
        self.raw = raw
        self.t = t
        self.stray = stray
        self.stray_head = stray_head


class Framer:
    """feed(data, t) -> list of Item; finish() -> the last Items once the input ended."""

    def __init__(self):
        self.buf = bytearray()
        self.start_time = None
        self.last_time = None
        self.garbage = 0  # stray bytes, in total
        self.stray = 0  # stray bytes since the last item
        self.stray_head = b""
        self.skipped = 0  # bytes of over-long telegrams dropped after their first part
        self.skipping = False
        self.final = False

    def feed(self, data, t=None):
        if data:
            if not self.buf:
                self.start_time = t
            self.last_time = t
            self.buf += data
        out = []
        while True:
            item = self._next()
            if item is None:
                return out
            out.append(item)

    def finish(self):
        """The input has ended: a telegram that has its '!' but waits for its CRC's
        CR LF comes out as it is. A telegram without '!' stays in buf (pending)."""
        self.final = True
        return self.feed(b"")

    def _drop(self, n, stray=False):
        if stray:
            if len(self.stray_head) < 64:
                self.stray_head += bytes(self.buf[:64 - len(self.stray_head)])
            self.stray += n
            self.garbage += n
        del self.buf[:n]
        self.start_time = self.last_time  # what is left came with the latest read

    def _item(self, kind, n):
        item = Item(kind, bytes(self.buf[:n]), self.start_time, self.stray, self.stray_head)
        self.stray, self.stray_head = 0, b""
        self._drop(n)
        return item

    def _header_at(self, start):
        """Index of the next '/' or frame tag from start, or -1."""
        a = self.buf.find(b"/", start)
        b = self.buf.find(b"\xdb", start)
        return a if b == -1 or (a != -1 and a < b) else b

    def _next(self):
        buf = self.buf
        while buf:
            if self.skipping:  # the rest of an over-long telegram, up to the next header
                i = self._header_at(0)
                n = len(buf) if i == -1 else i
                self.skipped += n
                del buf[:n]
                if i == -1:
                    return None
                self.skipping = False
            i = self._header_at(0)
            if i:
                self._drop(len(buf) if i == -1 else i, stray=True)
                continue
            if buf[0] == GLO:
                item = self._frame()
                if item == "wait":
                    return None
                if item is None:  # not a frame after all
                    self._drop(1, stray=True)
                    continue
                return item
            return self._telegram()
        return None

    def _telegram(self):
        buf = self.buf
        bang = buf.find(b"!", 0, MAX_TELEGRAM)
        restart = buf.find(b"/", 1, MAX_TELEGRAM if bang == -1 else bang)
        if restart != -1:
            return self._item("partial", restart)
        if bang == -1:
            if len(buf) >= MAX_TELEGRAM:
                self.skipping = True
                return self._item("overlong", MAX_TELEGRAM)
            return None  # the rest is on its way (or pending, at the end)
        j = bang + 1
        while j < len(buf) and j - bang <= 4 and buf[j] in HEX:
            j += 1
        if j < len(buf) and buf[j] == CR:
            j += 1
        if j < len(buf) and buf[j] == LF:
            j += 1
        elif j >= len(buf) and not self.final:
            return None  # the CRC or its CR LF is still on its way
        return self._item("telegram", j)

    def _frame(self):
        """An Item, "wait" for more bytes, or None if these bytes are no frame."""
        buf = self.buf
        if len(buf) < 2:
            return None if self.final else "wait"
        if buf[1] != 8:  # the system title's length
            return None
        if len(buf) < 11:
            return None if self.final else "wait"
        first = buf[10]
        if first < 0x80:
            size, head = first, 11
        elif first in (0x81, 0x82):
            head = 12 if first == 0x81 else 13
            if len(buf) < head:
                return None if self.final else "wait"
            size = buf[11] if first == 0x81 else (buf[11] << 8) | buf[12]
        else:
            return None
        if size > MAX_FRAME:
            return None
        if len(buf) < head + size:
            return "wait"  # at the end it stays pending: a truncated frame
        return self._item("frame", head + size)


def frame_head(frame):
    """Length of the header of a frame the Framer accepted (its length field's form)."""
    return 11 if frame[10] < 0x80 else 12 if frame[10] == 0x81 else 13
