# The console's configuration channel (firmware/app/console.py): CFG lines typed on the
# console reach the ConfigSession, each gets one answer line; other input is ignored; an
# endless line is cut at a fixed length.
import asyncio
import struct

from app import console
from hal.clock import FakeClock
from registers import config
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters

KEY = b"0123456789abcdef0123456789abcdef"
T0 = 1735689600


def session():
    clock = FakeClock(utc=T0)
    regs = MeterRegisters(clock, MemoryFs())
    regs.boot(T0)
    return clock, regs, config.ConfigSession(regs, KEY)


def line(op, counter, payload, tag=None):
    cmd = struct.pack("<BI", op, counter) + payload
    if tag is None:
        tag = config.hmac_sha256(KEY, cmd)
    return ("CFG %s %s\r\n" % (cmd.hex(), tag.hex())).encode()


class FakePort:
    """readinto() hands out the queued input in pieces of at most `piece` octets."""

    def __init__(self, data, piece=7):
        self.data = bytes(data)
        self.pos = 0
        self.piece = piece
        self.empty_reads = 0

    def readinto(self, buf):
        n = min(len(buf), self.piece, len(self.data) - self.pos)
        if n <= 0:
            self.empty_reads += 1
            return None
        buf[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n


def test_line_length_matches_the_longest_command():
    assert console.MAX_LINE == 4 + 2 * config.MAX_COMMAND + 1 + 2 * 32 == 2127


def test_cfg_lines_are_executed_and_answered_other_lines_ignored():
    clock, regs, s = session()
    out = []
    port = FakePort(b"help\r\n" + line(1, 1, struct.pack("<I", 1767225600))
                    + b"status\n" + line(1, 1, struct.pack("<I", 1767225600))  # replay
                    + line(1, 2, struct.pack("<I", 0))  # out of range
                    + line(4, 3, b"\x01", tag=bytes(32))  # forged
                    + line(6, 4, b"Hello P1")
                    + b"CFG 0100 " + b"00" * 32 + b"\r\n"  # truncated command
                    + b"CFG zz 00\r\n" + b"CFG 01000000\r\n")
    c = console.ConsoleConfig(s, out.append)
    asyncio.run(c.run(port, poll_ms=1, until=lambda: port.empty_reads >= 2))
    assert out == ["CFG OK 1 1", "CFG REJECTED replay", "CFG REJECTED range",
                   "CFG REJECTED tag", "CFG OK 6 4", "CFG REJECTED short",
                   "CFG REJECTED syntax", "CFG REJECTED syntax"]
    assert clock.time() == 1767225600
    assert s.text.message() == b"Hello P1"
    assert s.counter == 4


def test_an_endless_line_is_cut_refused_once_and_the_next_line_works():
    _, regs, s = session()
    out = []
    c = console.ConsoleConfig(s, out.append)
    buf = bytearray(b"CFG " + b"0" * 60)
    c.feed(buf, len(buf))
    chunk = bytearray(b"0" * 64)
    for _ in range(200):  # 12.8 kB without a line end: held in the fixed buffer
        c.feed(chunk, len(chunk))
    assert len(c.line) == 2127 and c.length == 2127 and c.overlong
    tamper = regs.logs.log(2).count
    c.feed(b"\n", 1)
    assert out == ["CFG REJECTED oversized"]
    assert regs.logs.log(2).count == tamper + 1
    assert regs.logs.log(2).entry(0)[2:] == (21, 0, 0, 0)
    good = line(6, 9, b"x")
    c.feed(good, len(good))
    assert out[1] == "CFG OK 6 9"


def test_non_cfg_overlong_input_is_ignored():
    _, regs, s = session()
    out = []
    c = console.ConsoleConfig(s, out.append)
    chunk = bytearray(b"a" * 64)
    for _ in range(50):
        c.feed(chunk, 64)
    c.feed(b"\r\n", 2)
    assert out == [] and regs.logs.log(2).count == 0


def test_unhex():
    assert console.unhex(b"CFG 00fFa5", 4, 10) == b"\x00\xff\xa5"
    assert console.unhex(b"0g", 0, 2) is None
    assert console.unhex(b"abc", 0, 3) is None


def test_default_port_prefers_the_boards_console():
    port = FakePort(b"")
    assert console.default_port(port) is port
    fallback = console.default_port(None)  # StdinPort, or None where stdin cannot be polled
    assert fallback is None or isinstance(fallback, console.StdinPort)


class TrickleConsole:
    """A console without a receive FIFO: one octet per read, an empty read between two."""

    def __init__(self, data):
        self.data = bytes(data)
        self.pos = 0
        self.gap = False
        self.empty_reads = 0

    def readinto(self, buf):
        if self.gap or self.pos == len(self.data):
            self.gap = False
            self.empty_reads += 1
            return None
        buf[0] = self.data[self.pos]
        self.pos += 1
        self.gap = True
        return 1


def test_a_line_coming_in_an_octet_at_a_time_is_read_at_the_typing_pace():
    _, regs, s = session()
    out = []
    data = line(6, 1, b"Hello P1")
    port = TrickleConsole(data + b"x")  # then the start of a line that never ends
    slept = []
    real = console.sleep_ms

    def sleep_ms(ms):
        slept.append(ms)
        return real(0)

    console.sleep_ms = sleep_ms
    try:
        c = console.ConsoleConfig(s, out.append)
        asyncio.run(c.run(port, poll_ms=50, until=lambda: port.empty_reads >= len(data) + 150))
    finally:
        console.sleep_ms = real
    assert out == ["CFG OK 6 1"]
    # Every gap inside the line: a millisecond; after its end the idle poll; after the
    # start of a line that never ends 100 quick polls, then the idle poll again.
    n = len(data) - 2  # the octets before CR LF
    assert slept[:n] == [1] * n
    assert slept[n:n + 2] == [50, 50]
    assert slept[n + 2:n + 102] == [1] * 100 and set(slept[n + 102:]) == {50}
