# The emulated meter's P1 sender: which bytes go out in each period slot (Emulator.plan) and
# the loop that writes them at the right times while Data Request allows (run()).
#
# Time: slots are on an emulated timeline, slot k at k * period seconds from the start (or
# re-phased to the next whole second when Data Request rises, as our firmware does, h1/push.py).
# The meter's clock is start_utc + the emulated time. `scale` maps emulated to wall-clock
# seconds (0.1 runs ten times faster: tests). Writing to a file with Data Request `always`
# does not wait at all.
import math
import random
import time

from h1 import profiles
from h1.builder import TelegramBuilder
from h1.snapshot import MeterSnapshot
from tools.p1emu import faults as F
from tools.p1emu.meter import SimMeter

SLOW_FACTOR = 1.2  # 'slow': the telegram's bytes are spread over 1.2 periods
SLOW_CHUNKS = 24
LATE_FRACTION = 0.5  # 'late': half a period after its slot (no P1 reader tolerates that)
PERIOD_FACTOR = 1.5  # 'period': 1.5x the nominal period
GARBAGE_BYTES = 32
DEFAULT_TITLE = b"MPYH1EMU"


class Write:
    """One write of a slot: `data` at `offset` emulated seconds after the slot. `starts` is
    True for the first bytes of a telegram or frame (Data Request is checked there: one that
    has started is always completed)."""

    def __init__(self, offset, data, starts=True):
        self.offset = offset
        self.data = data
        self.starts = starts

    def __repr__(self):
        return "Write(%.3f, %d bytes%s)" % (self.offset, len(self.data),
                                            "" if self.starts else ", cont.")


class Slot:
    def __init__(self, index, time_s, utc, clean, writes, applied, snapshot):
        self.index = index  # 0-based telegram number
        self.time_s = time_s  # emulated seconds from the start
        self.utc = utc
        self.clean = clean  # the telegram (or frame) as our meter would have sent it
        self.writes = writes
        self.applied = applied  # names of the faults this slot carries
        self.snapshot = snapshot  # what the telegram printed (a copy)


class Emulator:
    def __init__(self, profile, faults=None, period=None, start_utc=None, seed=1, key=None,
                 system_title=DEFAULT_TITLE, late_by=None, garbage=GARBAGE_BYTES):
        self.profile = profiles.by_name(profile) if isinstance(profile, str) else profile
        self.faults = dict(faults or {})
        for name in self.faults:
            if name in F.ENCRYPTED_ONLY and key is None:
                raise ValueError("fault %s needs an encrypted profile (lu with --key)" % name)
        self.nominal = float(self.profile.period_s)
        if period is not None:
            self.period = float(period)
        elif "period" in self.faults:
            self.period = self.nominal * PERIOD_FACTOR
        else:
            self.period = self.nominal
        self.late_by = late_by if late_by is not None else self.nominal * LATE_FRACTION
        self.garbage = garbage
        self.start_utc = int(time.time()) if start_utc is None else int(start_utc)
        self.rng = random.Random(seed ^ 0x5EED)
        self.meter = SimMeter(self.profile, self.start_utc, seed)
        self.builder = TelegramBuilder(self.profile)
        self.encryptor = None
        if key is not None:
            from h1.crypt import FrameEncryptor
            from registers.counters import RamCounterStore

            self.encryptor = FrameEncryptor(bytes(key), system_title, RamCounterStore(),
                                            len(self.builder.buf) + 8192)
        self.prev = None  # the snapshot the previous telegram printed
        self.index = 0

    def hits(self, name, index):
        n = self.faults.get(name)
        return n is not None and index % n == n - 1

    def _build(self, snap):
        n = self.builder.build(snap)
        return bytes(self.builder.buf[:n])

    def _state_faults(self, index, live, applied):
        snap = MeterSnapshot()
        snap.copy_from(live)
        prev = self.prev
        if prev is not None and self.hits("stale", index):
            # Every value as in the previous telegram; only the clock moved on.
            utc, dst = snap.utc, snap.dst
            snap.copy_from(prev)
            snap.utc, snap.dst = utc, dst
            applied.append("stale")
        if prev is not None and self.hits("backwards", index):
            t = prev.tariff - 1
            snap.import_wh[t] = prev.import_wh[t] - 1000  # 1.000 kWh below the last telegram
            snap.import_total_wh = prev.import_total_wh - 1000
            applied.append("backwards")
        return snap

    def _encrypt(self, plain, index, applied):
        enc = self.encryptor
        if self.hits("counter-repeat", index) and enc.counter > 0:
            enc.counter -= 1  # the counter of the previous frame again (Smarty 3.2.5)
            applied.append("counter-repeat")
        n = enc.encrypt(plain, len(plain))
        frame = bytes(enc.frame[:n])
        if self.hits("bad-tag", index):
            frame = frame[:-1] + bytes([frame[-1] ^ 0x01])
            applied.append("bad-tag")
        return frame

    def plan(self, time_s):
        """The slot at emulated time time_s: the meter advanced, the telegram built and
        faulted, the writes planned. Consecutive calls are consecutive telegrams."""
        index = self.index
        self.index += 1
        utc = self.start_utc + int(math.floor(time_s))
        applied = []
        snap = self._state_faults(index, self.meter.snapshot(utc), applied)
        clean = data = self._build(snap)
        for name, edit in list(F.LINE_EDITS.items()) + [("lf", F.lf)] \
                + list(F.CRC_EDITS.items()) + list(F.FRAMING_EDITS.items()):
            if self.hits(name, index):
                out = edit(data)
                if out is not None:
                    data = out
                    applied.append(name)
        if self.encryptor is not None:
            data = self._encrypt(data, index, applied)
            clean = None  # the clean frame would need a counter of its own
        for name, edit in F.BYTE_EDITS.items():
            if self.hits(name, index):
                data = edit(data)
                applied.append(name)
        writes = self._timing(index, data, applied)
        self.prev = snap
        return Slot(index, time_s, utc, clean, writes, applied, snap)

    def _timing(self, index, data, applied):
        if self.hits("drop", index):
            applied.append("drop")
            return []
        offset = 0.0
        if self.hits("late", index):
            offset = self.late_by
            applied.append("late")
        if self.hits("slow", index):
            applied.append("slow")
            step = max(1, -(-len(data) // SLOW_CHUNKS))
            span = self.period * SLOW_FACTOR
            chunks = [data[i:i + step] for i in range(0, len(data), step)]
            writes = [Write(offset + span * i / (len(chunks) - 1 or 1), c, i == 0)
                      for i, c in enumerate(chunks)]
        else:
            writes = [Write(offset, data)]
        if self.hits("duplicate", index):
            writes.append(Write(writes[-1].offset, data))
            applied.append("duplicate")
        if self.hits("garbage", index):
            writes.append(Write(writes[-1].offset, F.garbage_bytes(self.rng, self.garbage)))
            applied.append("garbage")
        if self.hits("period", index):
            applied.append("period")
        if self.hits("dr-ignore", index):
            applied.append("dr-ignore")
        return writes


def run(emu, sink, data_request, seconds=None, count=None, scale=1.0, realtime=True,
        on_slot=None, clock=time.monotonic, poll_s=0.005):
    """Serve telegrams to sink (.write(bytes)) until `seconds` (emulated) or `count`
    telegrams sent. data_request.value() gates them; with realtime=False (a file and DR
    `always`) nothing waits. on_slot(slot, sent_times) is called after each slot."""
    sent = 0
    t0 = clock()
    next_slot = 0.0
    was_high = None

    def now_emulated():
        return (clock() - t0) / scale

    def wait_until(t_emu):
        if realtime:
            while True:
                left = t_emu * scale - (clock() - t0)
                if left <= 0:
                    return
                time.sleep(min(left, poll_s))

    while True:
        if seconds is not None and next_slot >= seconds:
            break
        if count is not None and sent >= count:
            break
        if realtime:
            high = bool(data_request.value())
            if high and was_high is False:
                # Rising Data Request: the first telegram at the next whole second
                # (Smarty 1.1.3 3.2.1: at most 1 s after activation; our h1/push.py).
                next_slot = float(math.ceil(now_emulated()))
            was_high = high
            if now_emulated() < next_slot:
                time.sleep(poll_s)
                continue
        slot = emu.plan(next_slot)
        ignore = "dr-ignore" in slot.applied
        times = []
        started = False
        for w in slot.writes:
            wait_until(slot.time_s + w.offset)
            if w.starts:
                started = ignore or bool(data_request.value())
            if started:
                sink.write(w.data)
                times.append(clock())
        if any(w.starts for w in slot.writes) and times:
            sent += 1
        if on_slot is not None:
            on_slot(slot, times)
        next_slot = slot.time_s + emu.period
    return sent


class Always:
    def value(self):
        return True


class ModemLine:
    """Data Request read from one of our serial port's modem inputs. Null-modem wiring:
    reader RTS -> our CTS ('rts'), reader DTR -> our DSR ('dtr'). A USB-serial adapter
    reads them with TIOCMGET; an RFC 2217 port (rfc2217://, e.g. an end of tools.nullmodem)
    reports them in NOTIFY-MODEMSTATE, which pyserial caches: reading them costs nothing."""

    def __init__(self, link, line):
        self.link = link
        self.line = line

    def value(self):
        return self.link.cts if self.line == "rts" else self.link.dsr


class FileLine:
    """Data Request from a file (a regular file or a FIFO written with `echo 1 > PATH`):
    high while its first character is '1'; a missing or empty file is low. For hosts whose
    ptys carry no modem lines (Linux: TIOCMGET/TIOCMSET on a pty fail with ENOTTY); with
    modem lines on the host, tools.nullmodem and `rts` / `dtr`."""

    def __init__(self, path):
        self.path = path
        self.last = False

    def value(self):
        try:
            import os
            import stat

            if stat.S_ISFIFO(os.stat(self.path).st_mode):
                fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
                try:
                    data = os.read(fd, 64)
                finally:
                    os.close(fd)
                if data:
                    self.last = data.strip()[-1:] == b"1"
                return self.last
            with open(self.path, "rb") as f:
                return f.read(1) == b"1"
        except OSError:
            return False
