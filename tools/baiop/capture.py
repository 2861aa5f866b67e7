"""What a BAIOP target delivered on the P1 port: the bytes, when they arrived, and the
telegrams (or encrypted frames) found in them, split strictly: the verdicts are the
cases', this module only says where each telegram starts and ends and what lies between.

A plaintext telegram (DSMR 5.0.2 P1 companion standard 6.2) is "/" ... "!" CRC CR LF; here
it is every run of bytes from a "/" to the first "!" after it and the rest of that line.
An encrypted frame (Luxembourg Smarty 1.1.3 3.2.5, DLMS general-glo-ciphering) starts with
the tag 0xDB and carries its own length."""
import re

# The end of a telegram: "!", up to a few CRC characters and the line end, whatever form
# they take (a missing CR LF must not swallow the next telegram's header).
_CRC_LINE = re.compile(rb"![^\r\n/!]{0,8}(?:\r\n|\r|\n)?")


class Telegram:
    """start, end: offsets in the capture; t: arrival time of its first byte (host
    monotonic seconds, None for a capture without times); raw: its bytes."""

    def __init__(self, raw, start, t, encrypted=False):
        self.raw = raw
        self.start = start
        self.end = start + len(raw)
        self.t = t
        self.encrypted = encrypted
        self.plain = None if encrypted else raw  # an encrypted frame's, once opened
        self.counter = None  # its frame counter (encrypted frames)


class Capture:
    """data: the bytes; marks: [(time, length of data when that time was taken)]."""

    def __init__(self, data=b"", marks=None):
        self.data = bytes(data)
        self.marks = marks or []

    def time_at(self, offset):
        """Arrival time of the byte at offset: the first mark that covers it."""
        for t, n in self.marks:
            if n > offset:
                return t
        return None

    def split(self):
        """(telegrams, between): the telegrams and frames in order; between: the runs of
        bytes outside them [(offset, bytes)] (nothing, on a healthy line)."""
        data = self.data
        out, between = [], []
        i = 0
        n = len(data)
        while i < n:
            j = _next_start(data, i)
            if j < 0:
                between.append((i, data[i:]))
                break
            if j > i:
                between.append((i, data[i:j]))
            if data[j] == 0xDB:
                end = _frame_end(data, j)
                if end < 0:  # cut short: what is there stays outside
                    between.append((j, data[j:]))
                    break
                out.append(Telegram(data[j:end], j, self.time_at(j), encrypted=True))
                i = end
                continue
            m = _CRC_LINE.search(data, j)
            k = data.find(b"/", j + 1)
            if m is None or (0 <= k < m.start()):  # no end before the next start
                stop = k if k >= 0 else n
                between.append((j, data[j:stop]))
                i = stop
                continue
            out.append(Telegram(data[j:m.end()], j, self.time_at(j)))
            i = m.end()
        return out, between


def _next_start(data, i):
    s = data.find(b"/", i)
    e = data.find(b"\xdb", i)
    if s < 0:
        return e
    if e < 0:
        return s
    return min(s, e)


def _frame_end(data, j):
    """End offset of the encrypted frame at j, or -1 when it is cut short (Smarty 1.1.3:
    0xDB, system title length and title, 0x82 and a 2-octet length, then that many)."""
    if j + 2 > len(data):
        return -1
    tl = data[j + 1]
    p = j + 2 + tl
    if p + 3 > len(data):
        return -1
    if data[p] == 0x82:
        length = int.from_bytes(data[p + 1:p + 3], "big")
        end = p + 3 + length
    elif data[p] == 0x81:
        end = p + 2 + data[p + 1]
    else:
        end = p + 1 + data[p]
    return end if end <= len(data) else -1
