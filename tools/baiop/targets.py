"""The devices a BAIOP run tests, behind one small interface (what a case needs of an
accessible P1 port):

    t.start(); t.capture(seconds) -> Capture; t.data_request(level); t.reboot(); t.stop()
    t.can(what) -> False for what the target cannot do ("data-request", "reboot")

- emu: our firmware on the emulated board (tools.emu: QEMU MPS2-AN385), provisioned with
  boards/emu-mps2/device.json, Data Request on its host line, a reboot = a supply failure
  (the power-fail warning, then a new QEMU over the same flash file). When the run has HAN
  cases the board is also the HAN coordinator among the lab's devices (han_bench.py).
- serial:DEV[,data-request=rts|dtr][,baud=N]: any meter or board on a serial port, a pty or
  a pyserial URL (rfc2217://: tools.nullmodem, ser2net), the reader's Data Request on a
  modem line of the adapter.
- replay:FILE: a capture kept earlier (raw bytes, e.g. `make run --uart1`, `tools.p1 read
  --log`); no times, no Data Request: the cases that need them are not run.
- emulate[:FAULT[+FAULT...]]: tools.p1_emulate, our builder's telegrams with chosen faults
  (the negative cases prove they catch each fault with it).
- none: no P1 port (the HAN cases on a sniffer's capture, --han-pcap).
"""
import os
import subprocess
import sys
import tempfile
import time

from tools.baiop.capture import Capture

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_DEVICE = os.path.join(ROOT, "boards", "emu-mps2", "device.json")


class TargetError(Exception):
    pass


def parse(spec, profile, key=None, han_pcap=None):
    kind, _, rest = spec.partition(":")
    if kind == "emu":
        return EmuTarget(profile, key, han_pcap)
    if kind == "serial":
        dev, *opts = rest.split(",")
        kw = dict(o.split("=", 1) for o in opts if "=" in o)
        return SerialTarget(dev, profile, kw.get("data-request"), int(kw.get("baud", 115200)))
    if kind == "replay":
        return ReplayTarget(rest, profile)
    if kind == "none":  # no P1 port: a run of the HAN cases on a sniffer's capture
        return ReplayTarget(os.devnull, profile)
    if kind == "emulate":
        return EmulateTarget(profile, [f for f in rest.split("+") if f], key)
    raise TargetError("unknown target %r (emu, serial:DEV, replay:FILE, emulate[:FAULT], "
                      "none)"
                      % spec)


class _Target:
    abilities = ()

    def __init__(self, profile):
        self.profile = profile

    def can(self, what):
        return what in self.abilities

    def start(self):
        pass

    def stop(self):
        pass

    def data_request(self, level):
        raise TargetError("this target has no Data Request line")

    def reboot(self):
        raise TargetError("this target cannot be rebooted")


class ReplayTarget(_Target):
    def __init__(self, path, profile):
        _Target.__init__(self, profile)
        with open(path, "rb") as f:
            self._data = f.read()

    def capture(self, seconds, cont=False):
        return Capture(self._data, [])


class EmuTarget(_Target):
    """The meter firmware on the emulated board; key: its P1 key (lu), added to the
    board's provisioning record."""
    abilities = ("data-request", "reboot", "times", "wall-clock")

    def __init__(self, profile, key=None, han_pcap=None):
        _Target.__init__(self, profile)
        self.key = key
        self._dir = tempfile.mkdtemp(prefix="baiop-emu-")
        self.board = None
        self.record = None
        self._end = 0
        # han_pcap: the board is the HAN coordinator, with the lab's devices and sniffer
        # around it (tools/baiop/han_bench.py), the medium's capture written there.
        self.han_pcap = han_pcap
        self.bench = None
        self.console_before = b""  # the console of the boards before the last reboot
        self.outages = []  # (down, up) wall-clock times of each reboot
        if han_pcap:
            self.abilities = self.abilities + ("han",)

    def start(self):
        import glob

        from tools.emu import PROMPT, EmulatedBoard
        from tools.emu_run import provision_record

        if self.han_pcap and self.bench is None:
            from tools.baiop.han_bench import HanBench

            self.bench = HanBench(self.han_pcap)
        board = EmulatedBoard(flash_dir=self._dir,
                              han_medium=self.bench.path if self.bench else None).start()
        self.board = board
        self._end = 0
        board.open_console()
        board.wait_console(PROMPT, timeout=30)
        natmods = sorted(glob.glob(os.path.join(ROOT, "build", "natmod", "armv7m", "*.mpy")))
        if natmods:
            board.provide_natmods(natmods)
        self.record = record = provision_record(DEFAULT_DEVICE)
        if self.key:
            record.p1_key = bytes.fromhex(self.key)
        board.raw_exec("import board, binascii, app.provision as p\n"
                       "print(p.install(board, binascii.unhexlify(%r), True))\n"
                       % record.encode().hex())
        board.set_data_request(1)
        start = len(board.console_log)
        board.write_console("import main; main.run(profile=%r, utc=%d%s)\r"
                            % (self.profile, int(time.time()),
                               ", han='coordinator'" if self.bench else ""))
        board.wait_console(b"status uptime=1s", timeout=60, start=start)
        if self.bench is not None and not self.bench.started:
            self.bench.enrol(board, record.config_key)

    def capture(self, seconds, cont=False):
        """UART1 for seconds from now; cont: from the end of the previous capture (what came
        in between gets the first poll's time), so that nothing is lost between two."""
        board = self.board
        begin = self._end if cont else len(board.uart1_bytes)
        marks = []
        seen = begin
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            board.pump(0.005)  # the console drained: the firmware never blocks on it
            if self.bench is not None:
                self.bench.pump()
            n = len(board.uart1_bytes)
            if n != seen:
                marks.append((time.monotonic(), n - begin))
                seen = n
        self._end = seen
        return Capture(bytes(board.uart1_bytes[begin:seen]), marks)

    def data_request(self, level):
        self.board.set_data_request(level)

    def reboot(self, off_s=0.0):
        """A supply failure and its return off_s seconds later: the registers and frame
        counters saved at the warning, a new QEMU over the same flash (the HAN devices run
        on meanwhile)."""
        down = time.time()
        self.board.power_fail_warning()
        self.board.stop()
        self.console_before += bytes(self.board.console_log)
        time.sleep(float(off_s))
        self.start()
        self.outages.append((down, time.time()))

    def console(self):
        """Everything the board's console printed in this run, across reboots."""
        return (self.console_before + bytes(self.board.console_log)).decode(errors="replace")

    def type_line(self, line):
        self.board.write_console(line + "\r")

    def stop(self):
        if self.board is not None:
            self.board.stop()
            self.board = None
        if self.bench is not None:
            self.bench.stop()
            self.bench = None


class SerialTarget(_Target):
    """A meter or board on a serial port: 115200 8N1 (DSMR 5.0.2 6.1); DEV is a device path
    or any pyserial URL. Data Request on the adapter's RTS or DTR (wired to the meter's
    pin 2; docs/bap/h1.md); an RFC 2217 port (rfc2217://HOST:PORT: ser2net, a lab serial
    server, or one end of tools.nullmodem with tools.p1_emulate --data-request rts|dtr on
    the other) carries RTS and DTR the same way. On a pty (which carries no modem lines)
    file:PATH: a file the runner writes 1 or 0 into, which tools.p1_emulate --data-request
    file:PATH reads."""
    abilities = ("times", "line-settings")

    def __init__(self, dev, profile, data_request=None, baud=115200):
        _Target.__init__(self, profile)
        self.dev = dev
        self.line = data_request
        self.baud = baud
        self.port = None
        if data_request in ("rts", "dtr") or (data_request or "").startswith("file:"):
            self.abilities = ("times", "line-settings", "data-request")
        elif data_request is not None:
            raise TargetError("data-request=%s: rts, dtr or file:PATH" % data_request)

    def start(self):
        import serial

        self.port = serial.serial_for_url(self.dev, self.baud, timeout=0.01)
        self.data_request(1)

    def capture(self, seconds, cont=False):
        """seconds from now, as EmuTarget: what came before is dropped (the rest of a
        telegram an earlier capture saw begin would read as stray octets at 0); cont: from
        the end of the previous capture (the OS, or pyserial's RFC 2217 client, kept what
        came in between)."""
        if not cont:
            waiting = self.port.in_waiting
            if waiting:
                self.port.read(waiting)
        data = bytearray()
        marks = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            chunk = self.port.read(4096)
            if chunk:
                data += chunk
                marks.append((time.monotonic(), len(data)))
        return Capture(bytes(data), marks)

    def data_request(self, level):
        if self.line == "rts":
            self.port.rts = bool(level)
        elif self.line == "dtr":
            self.port.dtr = bool(level)
        elif self.line and self.line.startswith("file:"):
            with open(self.line[5:], "w") as f:
                f.write("1" if level else "0")
        elif not level:
            raise TargetError("no Data Request line (serial:DEV,data-request=rts)")

    def stop(self):
        if self.port is not None:
            self.port.close()
            self.port = None


class EmulateTarget(_Target):
    """tools.p1_emulate serving its telegrams (with faults) into a pty we read; its Data
    Request is a file we write (ptys carry no modem lines)."""
    abilities = ("times", "data-request")

    def __init__(self, profile, faults, key=None):
        _Target.__init__(self, profile)
        self.faults = faults
        self.key = key
        self.proc = None
        self._fd = None

    def start(self):
        import tty

        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        self._fd = master
        self._slave = slave
        self._dr = os.path.join(tempfile.mkdtemp(prefix="baiop-dr-"), "data-request")
        self.data_request(1)
        args = [sys.executable, "-m", "tools.p1_emulate", "--port", os.ttyname(slave),
                "--profile", self.profile, "--data-request", "file:" + self._dr]
        for f in self.faults:
            args += ["--fault", f]
        if self.key:
            import json

            with open(DEFAULT_DEVICE) as f:
                title = json.load(f)["system_title"]
            args += ["--key", self.key, "--system-title", title]
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)

    def capture(self, seconds, cont=False):  # the pty buffers what came in between
        import select

        data = bytearray()
        marks = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self._fd], [], [], 0.01)
            if ready:
                chunk = os.read(self._fd, 65536)
                data += chunk
                marks.append((time.monotonic(), len(data)))
            elif self.proc.poll() is not None:
                raise TargetError("tools.p1_emulate stopped: %s"
                                  % self.proc.stderr.read().decode(errors="replace"))
        return Capture(bytes(data), marks)

    def data_request(self, level):
        with open(self._dr, "w") as f:
            f.write("1" if level else "0")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None
        for fd in (self._fd, getattr(self, "_slave", None)):
            if fd is not None:
                os.close(fd)
        self._fd = None
