# The dev-board configuration channel (issue 10 item 4): signed commands typed on the
# board's console while the meter runs, one per line,
#
#     CFG <command as hex> <tag as hex>\r\n
#
# (python -m tools.config builds and sends them; docs/config.md). Each CFG line gets one
# answer line:  CFG OK <op> <counter>  or  CFG REJECTED <reason>  (reason: a word of
# registers.config.REASONS, or "syntax" for a line that is not two hex fields, or "error").
# A read-only line  HUB STATUS  (no signature: it reveals no secret and changes nothing) is
# answered by the HAN diagnostics (han/diag.py report): "HUB DEV {json}" per device, "HUB
# LOG {json}" per transaction log entry, "HUB END <devices> <entries>" (python -m
# tools.hub status); "HUB END 0 0" on a meter without a HAN coordinator.
# Other lines are ignored. Input is assembled in one fixed buffer: a line longer than
# MAX_LINE is cut there, refused as oversized and logged once as a tamper event (never an
# unbounded allocation, whatever arrives).
#
# The console is any object whose readinto(buf) returns at once with the octets waiting
# (0 or None when there are none), like machine.UART: StdinPort() for a REPL whose stdin
# can be polled (unix port, ESP32, STM32), the board's own console reader where it cannot
# (the emulated board's qemu port reports stdin as never ready), a fake in tests.
from micropython import const

from hal.aio import sleep_ms
from registers.config import (REASONS, REJECT_OVERSIZED, TAG_SIZE, AuthError,
                              Rejected)

MAX_LINE = const(2127)  # "CFG " + 2 * MAX_COMMAND hex digits + " " + 2 * TAG_SIZE
# (tests/unit/test_app_console.py checks the sum against registers.config)
_CHUNK = const(64)
_TYPING_POLL_MS = const(1)
_TYPING_POLLS = const(100)  # after the last octet of an unfinished line (about 0.1 s)
_CR = const(13)
_LF = const(10)
_PREFIX = b"CFG "
_HUB_STATUS = b"HUB STATUS"


class StdinPort:
    """Non-blocking reads from sys.stdin through select.poll (MicroPython ports whose
    stdin supports polling; the unix port reads a pipe or a terminal in line mode)."""

    def __init__(self):
        import select
        import sys

        stream = getattr(sys.stdin, "buffer", sys.stdin)
        self._stream = getattr(stream, "raw", stream)  # CPython: unbuffered, 1 read = 1 octet
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)

    def readinto(self, buf):
        n = 0
        while n < len(buf) and self._poll.poll(0):
            c = self._stream.read(1)
            if not c:
                break  # end of input
            buf[n] = c[0] if isinstance(c[0], int) else ord(c)
            n += 1
        return n


def default_port(hal_console=None):
    """The board's console reader when its HAL has one (hal.Hal.console), else StdinPort,
    or None when stdin cannot be polled here (e.g. replaced by a test runner)."""
    if hal_console is not None:
        return hal_console
    try:
        return StdinPort()
    except Exception:  # no select.poll, or a stdin without a file descriptor
        return None


def _hex_value(c):
    if 48 <= c <= 57:
        return c - 48
    c |= 0x20  # lower case
    if 97 <= c <= 102:
        return c - 87
    return -1


def unhex(line, start, end):
    """The octets that line[start:end] spells in hex, or None."""
    if (end - start) & 1:
        return None
    out = bytearray((end - start) >> 1)
    for i in range(len(out)):
        hi = _hex_value(line[start + 2 * i])
        lo = _hex_value(line[start + 2 * i + 1])
        if hi < 0 or lo < 0:
            return None
        out[i] = hi << 4 | lo
    return bytes(out)


class ConsoleConfig:
    """Assembles console input into lines and answers the CFG ones (see the module
    comment). feed() does the work; run() is the asyncio task around it."""

    def __init__(self, session, write, hub_status=None):
        self.session = session
        self.write = write
        self.hub_status = hub_status  # (write) -> None: the HUB STATUS answer, or None
        self.line = bytearray(MAX_LINE)
        self.length = 0
        self.overlong = False
        self.answers = 0

    def feed(self, data, n):
        for i in range(n):
            c = data[i]
            if c == _CR or c == _LF:
                if self.length or self.overlong:
                    self._line_done()
                self.length = 0
                self.overlong = False
            elif self.length < MAX_LINE:
                self.line[self.length] = c
                self.length += 1
            else:
                self.overlong = True

    def _starts_cfg(self):
        line = self.line
        if self.length < 4:
            return False
        for i in range(4):
            if line[i] != _PREFIX[i]:
                return False
        return True

    def _answer(self, text):
        self.answers += 1
        self.write(text)

    def _is_hub_status(self):
        end = self.length
        while end and self.line[end - 1] == 32:
            end -= 1
        return not self.overlong and end == len(_HUB_STATUS) and \
            self.line[:end] == _HUB_STATUS

    def _line_done(self):
        if self._is_hub_status():
            self.answers += 1
            if self.hub_status is None:
                self.write("HUB END 0 0")
                return
            try:
                self.hub_status(self.write)
            except Exception:  # keep serving the console; the reader sees no end line
                self.write("HUB ERROR")
            return
        if not self._starts_cfg():
            return  # not for us (the console also carries other input)
        if self.overlong:
            try:
                self.session.tamper(REJECT_OVERSIZED)
            except AuthError:
                pass
            self._answer("CFG REJECTED " + REASONS[REJECT_OVERSIZED])
            return
        line = self.line
        end = self.length
        while end > 4 and line[end - 1] == 32:  # trailing spaces
            end -= 1
        space = -1
        for i in range(4, end):
            if line[i] == 32:
                space = i
                break
        if space < 0:
            self._answer("CFG REJECTED syntax")
            return
        cmd = unhex(line, 4, space)
        tag = unhex(line, space + 1, end)
        if cmd is None or tag is None or len(tag) != TAG_SIZE:
            self._answer("CFG REJECTED syntax")
            return
        if self.session is None:  # no configuration key provisioned
            self._answer("CFG REJECTED error")
            return
        try:
            op = self.session.execute(cmd, tag)
        except (AuthError, Rejected) as e:
            self._answer("CFG REJECTED " + REASONS.get(e.reason, "error"))
            return
        except Exception:  # e.g. the flash failing while logging: answer, keep serving
            self._answer("CFG REJECTED error")
            return
        counter = cmd[1] | cmd[2] << 8 | cmd[3] << 16 | cmd[4] << 24
        self._answer("CFG OK %d %d" % (op, counter))

    async def run(self, port, poll_ms=50, until=None):
        """Poll port every poll_ms while nothing arrives, every millisecond while a line
        is coming in; until(): stop when it returns True (tests), else run for ever."""
        chunk = bytearray(_CHUNK)
        typing = 0  # quick polls left: a line has begun and its next octets are near
        while until is None or not until():
            n = port.readinto(chunk)
            if n:
                self.feed(chunk, n)
                typing = _TYPING_POLLS if self.length else 0
            elif typing:
                # A console without a receive FIFO (the emulated board's UART holds one
                # octet) hands a line over an octet at a time: waiting poll_ms after each
                # made a 113-octet command take 6 s while the HAN was busy.
                typing -= 1
                await sleep_ms(_TYPING_POLL_MS)
            else:
                await sleep_ms(poll_ms)


async def run(session, port, write=print, poll_ms=50, hub_status=None):
    """The console task main starts: asyncio.create_task(console.run(session, port, out)).
    session may be None (no configuration key: CFG lines are refused) when hub_status
    answers HUB STATUS."""
    await ConsoleConfig(session, write, hub_status).run(port, poll_ms)

