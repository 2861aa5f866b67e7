"""Run the firmware on the emulated board (QEMU, ARM MPS2-AN385) and talk to its UARTs.

    python -m tools.emu run [--seconds N] [--uart1 FILE] [--data-request 0|1] [--icount]

UART wiring (QEMU maps its n-th -serial option to UARTn; see docs/emulated-board.md):
    UART0  console / REPL     a pty (mpremote can connect to it) or read by this tool
    UART1  P1 (H1) output     a unix socket this tool reads; raw bytes optionally to FILE
    UART2  HAN bridge         not connected yet (HAN issue)
    UART3  host input lines   a unix socket: one byte per change, bit 7 level, bits 0-6 line

EmulatedBoard is also what the tier-3 tests and the benchmarks use.
"""

import argparse
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "build", "emu-mps2", "firmware.elf")
PROMPT = b">>> "
LINE_DATA_REQUEST = 0


class EmulatorError(RuntimeError):
    pass


def qemu_binary():
    path = shutil.which("qemu-system-arm")
    if not path:
        raise EmulatorError("qemu-system-arm not found (Debian package qemu-system-arm); "
                            "run `make test` or tools/bootstrap.sh to install it")
    return path


class EmulatedBoard:
    """One QEMU instance running the firmware image.

    icount: run with `-icount shift=0` (1 instruction = 1 ns of virtual time), making
    TIMER0-based tick deltas deterministic instruction counts (TIMER0 tick = 40 instr).
    """

    def __init__(self, firmware=FIRMWARE, icount=False, uart1_file=None):
        if not os.path.exists(firmware):
            raise EmulatorError("firmware image missing: %s (run `make build`)" % firmware)
        self.firmware = firmware
        self.icount = icount
        self.uart1_file = uart1_file
        self.proc = None
        self.pty = None
        self.console_fd = None
        self._tmp = None
        self._uart1 = None
        self._lines = None
        self._uart1_out = None
        self.uart1_bytes = bytearray()
        self.console_log = bytearray()
        self._line_levels = {}
        self._lines_lock = threading.Lock()
        self._stopping = threading.Event()
        self._refresher = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self, timeout=20):
        self._tmp = tempfile.mkdtemp(prefix="emu-")
        u1 = os.path.join(self._tmp, "uart1.sock")
        u3 = os.path.join(self._tmp, "uart3.sock")
        args = [qemu_binary(), "-machine", "mps2-an385", "-nographic", "-monitor", "null",
                "-semihosting",
                "-serial", "pty",
                "-chardev", "socket,id=uart1,path=%s,server=on,wait=on" % u1,
                "-serial", "chardev:uart1",
                "-serial", "null",
                "-chardev", "socket,id=uart3,path=%s,server=on,wait=on" % u3,
                "-serial", "chardev:uart3",
                "-kernel", self.firmware]
        if self.icount:
            args[1:1] = ["-icount", "shift=0"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        # QEMU opens the -chardev sockets first (waiting for each), then the pty.
        self._uart1 = self._connect(u1, deadline)
        self._lines = self._connect(u3, deadline)
        self.pty = self._read_pty_name(deadline)
        if self.uart1_file:
            self._uart1_out = open(self.uart1_file, "wb")
        return self

    def _read_pty_name(self, deadline):
        out = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                out += chunk
                m = re.search(rb"char device redirected to (/dev/pts/\d+)", out)
                if m:
                    return m.group(1).decode()
        self.stop()
        raise EmulatorError("QEMU did not start: %s" % out.decode(errors="replace").strip())

    def _connect(self, path, deadline):
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EmulatorError("QEMU exited with %s" % self.proc.returncode)
            try:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(path)
                sock.setblocking(False)
                return sock
            except OSError:
                sock.close()
                time.sleep(0.05)
        raise EmulatorError("QEMU's serial socket %s did not appear" % path)

    def stop(self):
        self._stopping.set()
        if self._refresher:
            self._refresher.join()
            self._refresher = None
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for sock in (self._uart1, self._lines):
            if sock:
                sock.close()
        if self.console_fd is not None:
            os.close(self.console_fd)
            self.console_fd = None
        if self._uart1_out:
            self._uart1_out.close()
            self._uart1_out = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- console -------------------------------------------------------------------------
    def open_console(self):
        """Open the REPL pty in raw mode (no echo, no CR/LF translation by the host tty)."""
        import termios
        import tty

        fd = os.open(self.pty, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(fd)
        attrs = termios.tcgetattr(fd)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
        self.console_fd = fd
        return fd

    def write_console(self, data):
        if isinstance(data, str):
            data = data.encode()
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.console_fd, view)
                view = view[n:]
            except BlockingIOError:
                time.sleep(0.01)

    def pump(self, timeout=0.1, echo=None):
        """Move whatever the UARTs have sent into console_log / uart1_bytes (and FILE)."""
        fds = [self.console_fd, self._uart1]
        fds = [f for f in fds if f is not None]
        ready, _, _ = select.select(fds, [], [], timeout)
        for f in ready:
            if f is self._uart1:
                try:
                    data = self._uart1.recv(65536)
                except BlockingIOError:
                    continue
                self.uart1_bytes += data
                if self._uart1_out:
                    self._uart1_out.write(data)
                    self._uart1_out.flush()
            else:
                try:
                    data = os.read(self.console_fd, 65536)
                except (BlockingIOError, OSError):
                    continue
                self.console_log += data
                if echo:
                    echo(data)

    def wait_console(self, pattern, timeout=20, echo=None, start=0):
        """Pump until `pattern` (bytes) appears in the console output after `start`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            idx = self.console_log.find(pattern, start)
            if idx >= 0:
                return idx + len(pattern)
            if self.proc.poll() is not None:
                break
            self.pump(0.1, echo)
        raise EmulatorError("timed out waiting for %r on the console; got:\n%s"
                            % (pattern, self.console_log[-2000:].decode(errors="replace")))

    def exec_line(self, line, timeout=20):
        """Type one line at the friendly REPL and return what it printed before the prompt."""
        start = len(self.console_log)
        self.write_console(line.rstrip("\r\n") + "\r")
        end = self.wait_console(PROMPT, timeout, start=start)
        text = self.console_log[start:end - len(PROMPT)].decode(errors="replace")
        # The REPL echoes the line first.
        return text.split("\r\n", 1)[1] if "\r\n" in text else ""

    # -- input lines ---------------------------------------------------------------------
    # A wire holds its level: the host repeats every line's level every 100 ms, so firmware
    # that (re)starts reading UART3 after a change (a soft reset, a new driver) still sees it.
    def set_line(self, line, level):
        with self._lines_lock:
            self._line_levels[line & 0x7F] = 1 if level else 0
            self._send_lines()
        if self._refresher is None:
            self._refresher = threading.Thread(target=self._refresh_lines, daemon=True)
            self._refresher.start()

    def _send_lines(self):
        data = bytes((0x80 if v else 0) | n for n, v in sorted(self._line_levels.items()))
        try:
            self._lines.sendall(data)
        except OSError:
            pass  # QEMU has gone; stop() reports that

    def _refresh_lines(self):
        while not self._stopping.wait(0.1):
            with self._lines_lock:
                self._send_lines()

    def set_data_request(self, level):
        self.set_line(LINE_DATA_REQUEST, level)


TELEGRAM = re.compile(rb"/[^/!]*!([0-9A-Fa-f]{3,4})\r\n")


def decode_uart1(data, start, out):
    """Print the complete P1 telegrams in data[start:] with their CRC verdict; return the
    offset up to which data has been consumed. (The full reader is tools.p1.)"""
    sys.path.insert(0, os.path.join(ROOT, "firmware"))
    sys.path.insert(0, os.path.join(ROOT, "tools", "cpython_shims"))
    from native.crc16 import crc16_python

    while True:
        m = TELEGRAM.search(data, start)
        if not m:
            return start
        telegram = bytes(data[m.start():m.end()])
        body_end = telegram.rindex(b"!") + 1
        ok = crc16_python(telegram[:body_end]) == int(m.group(1), 16)
        out("[p1] telegram %d bytes, CRC %s\n" % (len(telegram), "ok" if ok else "BAD"))
        for line in telegram.decode(errors="replace").splitlines():
            out("[p1]   %s\n" % line)
        start = m.end()


def cmd_run(args):
    board = EmulatedBoard(icount=args.icount, uart1_file=args.uart1)
    out = sys.stdout.buffer

    def echo(data):
        out.write(data.replace(b"\r\n", b"\n"))
        out.flush()

    board.start()
    try:
        board.open_console()
        board.set_data_request(args.data_request)
        board.wait_console(PROMPT, echo=echo)
        board.write_console("import main; main.run()\r")
        deadline = time.monotonic() + args.seconds if args.seconds else None
        decoded = 0
        while deadline is None or time.monotonic() < deadline:
            board.pump(0.1, echo)
            decoded = decode_uart1(board.uart1_bytes, decoded, sys.stdout.write)
            if board.proc.poll() is not None:
                print("\n[emu] QEMU exited with %s" % board.proc.returncode)
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        board.stop()
    sys.stdout.write("\n[emu] stopped; UART1 sent %d bytes%s\n" % (
        len(board.uart1_bytes), " (written to %s)" % args.uart1 if args.uart1 else ""))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.emu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="boot the firmware and run the meter")
    run.add_argument("--seconds", type=float, default=None,
                     help="stop after this many (host) seconds; default: until Ctrl-C")
    run.add_argument("--uart1", metavar="FILE", help="write UART1's raw bytes to FILE")
    run.add_argument("--data-request", type=int, choices=(0, 1), default=1,
                     help="level of the P1 Data Request line (default 1: a reader is asking)")
    run.add_argument("--icount", action="store_true",
                     help="deterministic virtual time (1 instruction = 1 ns)")
    args = parser.parse_args(argv)
    try:
        return cmd_run(args)
    except EmulatorError as e:
        print("[emu] error: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
