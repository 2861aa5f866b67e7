# The P1 push scheduler: a polled state machine plus a thin asyncio wrapper.
#
# While Data Request is high (DSMR 5.0.2 5.7.1), one telegram per period is built from a
# snapshot captured at a second boundary of the meter clock, and written to the UART
# (115200 8N1, TX inverted by the board: 5.7.2). The first telegram after Data Request rises
# goes at the first second boundary after it (Smarty 1.1.3 3.2.1: "at most 1 second
# following the activation"), the following ones every period_s seconds from it.
#
# A telegram that has started is always completed, even if Data Request drops meanwhile:
# a reader must never see a partial telegram (a cut telegram fails its CRC and looks like a
# fault). None starts while Data Request is low. UART.write() may take only part of the
# buffer; the rest goes on the next steps. A boundary that arrives while the previous
# telegram is still going out is skipped and counted in `overruns` (6.1: the whole telegram
# must be sent within the period).
from micropython import const

from h1.builder import TelegramBuilder
from h1.snapshot import MeterSnapshot

# A step this close after a second boundary is at that boundary (the asyncio wrapper wakes
# 1 ms after each): Data Request seen high there sends for that boundary, which is the
# first one after the request rose. Later in a second, the next boundary is the first.
_AT_BOUNDARY_MS = const(100)

IDLE = const(0)
SENDING = const(1)
STOPPED = const(2)  # encryption frame counter exhausted (Smarty 3.2.5)


class P1Push:
    """Polled P1 sender. `source.capture(snapshot, utc)` fills a snapshot for second utc;
    `source.ready()`, where the source has it, is False while there is nothing measured to
    send yet (no telegram starts before it is True: the first one carries measured values)."""

    def __init__(self, uart, data_request, clock, profile, source, header=None,
                 encryptor=None, max_chunk=0):
        self.uart = uart
        self.data_request = data_request
        self.clock = clock
        self.profile = profile
        self.source = source
        self.period_s = profile.period_s
        self.builder = TelegramBuilder(profile, header)
        self.encryptor = encryptor
        self.snapshot = MeterSnapshot()
        self.max_chunk = max_chunk  # 0: offer the whole remainder to each write()
        self.state = IDLE
        self._out = memoryview(self.builder.buf)
        if encryptor is not None:
            self._out = memoryview(encryptor.frame)
        self._pos = 0
        self._end = 0
        self._next_second = -1  # second of the next telegram; -1 = at the next boundary
        self._last_second = -1
        self._was_requested = False
        self._ready = getattr(source, "ready", None)
        self.telegrams = 0
        self.overruns = 0
        self.last_length = 0

    def _start(self, second):
        snap = self.snapshot
        self.source.capture(snap, second)
        n = self.builder.build(snap)
        if self.encryptor is not None:
            n = self.encryptor.encrypt(self.builder.buf, n)
            if n == 0:
                self.state = STOPPED
                return
        self._pos = 0
        self._end = n
        self.last_length = n
        self.state = SENDING
        self._write()

    def _write(self):
        end = self._end
        if self.max_chunk and end - self._pos > self.max_chunk:
            end = self._pos + self.max_chunk
        n = self.uart.write(self._out[self._pos:end])
        if n:
            self._pos += n
        if self._pos >= self._end:
            self.state = IDLE
            self.telegrams += 1

    def step(self, now_ms=None):
        """Advance: send what is pending, start a telegram at a due boundary. now_ms is the
        meter clock's UTC time in milliseconds (default: clock.time_ms())."""
        if now_ms is None:
            now_ms = self.clock.time_ms()
        second = now_ms // 1000
        requested = self.data_request.value()
        if self.state == SENDING:
            self._write()  # completes whatever Data Request does now
            if self.state == SENDING:
                if second >= self._next_second > self._last_second:
                    self.overruns += 1  # this boundary passes while still sending
                    self._next_second += self.period_s
                return self.state
        if self.state == STOPPED:
            return self.state
        if not requested or (self._ready is not None and not self._ready()):
            self._was_requested = False
            return self.state
        if not self._was_requested:
            # The first boundary after the request rose: at most 1 s after it (Smarty
            # 1.1.3 3.2.1); waiting for one more boundary made it up to 2 s (BAIOP on the
            # emulated board measured 1.44 s).
            self._was_requested = True
            at_boundary = now_ms - second * 1000 < _AT_BOUNDARY_MS
            self._next_second = second if at_boundary else second + 1
        if second >= self._next_second:
            if second > self._next_second:
                # Steps were missed: keep the phase, send for the current boundary if it is
                # one, otherwise wait for the next one.
                behind = (second - self._next_second) % self.period_s
                self._next_second = second - behind
                if behind:
                    self._next_second += self.period_s
                    return self.state
            self._last_second = second
            self._next_second = second + self.period_s
            self._start(second)
        return self.state

    def ms_to_next_boundary(self, now_ms=None):
        if now_ms is None:
            now_ms = self.clock.time_ms()
        return 1000 - now_ms % 1000


async def run(push, seconds=None, busy_poll_ms=2):
    """Drive push.step() on asyncio: every couple of ms while a telegram is going out,
    otherwise wake at each second boundary of the meter clock."""
    from hal.aio import sleep_ms

    start = push.clock.time_ms()
    while seconds is None or push.clock.time_ms() - start < seconds * 1000:
        state = push.step()
        if state == SENDING:
            await sleep_ms(busy_poll_ms)
        else:
            await sleep_ms(push.ms_to_next_boundary() + 1)
