"""Run the firmware on the emulated board (QEMU, ARM MPS2-AN385) and talk to its UARTs.

    python -m tools.emu run ...     (make run; the command line lives in tools/emu_run.py)

UART wiring (QEMU maps its n-th -serial option to UARTn; see docs/emulated-board.md):
    UART0  console / REPL     a pty (mpremote can connect to it) or read by this tool
    UART1  P1 (H1) output     a unix socket drained by a thread; raw bytes optionally to FILE
    UART2  HAN radio bridge   a unix socket to a simulated medium server when asked
                              (han_medium=PATH; tools/han/medium_server.py), else null
    UART3  host input lines   a unix socket: one byte per level, bit 7 level, bits 0-6 line
                              (line 0 P1 Data Request, line 1 power-fail warning)
Its working directory holds meter-flash.bin, the board's flash (semihosting).

EmulatedBoard is also what the tier-3 tests and the benchmarks use.
"""

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
LINE_POWER_WARNING = 1


class EmulatorError(RuntimeError):
    pass


# A read-only VFS over a dict of file contents, mounted on the board to serve natmods.
RAM_VFS = """
import binascii, io, sys, vfs
class _RamVFS:
    def __init__(self, files):
        self.files = files
    def mount(self, readonly, mkfs):
        pass
    def umount(self):
        pass
    def chdir(self, path):
        pass
    def stat(self, path):
        if path in self.files:
            return (0x8000, 0, 0, 0, 0, 0, len(self.files[path]), 0, 0, 0)
        if path in ('', '/'):
            return (0x4000, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        raise OSError(2)
    def ilistdir(self, path):
        for name in self.files:
            yield (name[1:], 0x8000, 0, len(self.files[name]))
    def open(self, path, mode):
        if path not in self.files or 'w' in mode:
            raise OSError(2)
        return io.BytesIO(self.files[path])
def _install(mount, files):
    vfs.mount(_RamVFS({k: binascii.a2b_base64(v) for k, v in files.items()}), mount)
    sys.path.append(mount)
"""


def ram_vfs_code(paths, mount):
    """Device code that serves these host files (natmods, or .py modules that are no part of
    the firmware, such as a test's simulation stand-in) from a read-only RAM VFS mounted at
    `mount` and puts it on sys.path. Run it through the raw REPL or `mpremote exec`."""
    import base64

    files = {}
    for path in paths:
        with open(path, "rb") as f:
            files["/" + os.path.basename(path)] = base64.b64encode(f.read()).decode()
    return RAM_VFS + "_install(%r, %r)\n" % (mount, files)


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

    def __init__(self, firmware=FIRMWARE, icount=False, uart1_file=None, flash_dir=None,
                 han_medium=None):
        if not os.path.exists(firmware):
            raise EmulatorError("firmware image missing: %s (run `make build`)" % firmware)
        self.firmware = firmware
        self.icount = icount
        self.uart1_file = uart1_file
        # QEMU's working directory: the board's flash is the file meter-flash.bin there
        # (semihosting). None: a fresh directory for this run, removed at stop.
        self.flash_dir = flash_dir
        # UART2, the HAN radio bridge: QEMU connects it to this simulated medium's socket
        # (tools/han/medium_server.py, which must be listening and reads all the time);
        # None: discarded.
        self.han_medium = han_medium
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
        self._uart1_reader = None

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
                "-serial", ("chardev:uart2" if self.han_medium else "null"),
                "-chardev", "socket,id=uart3,path=%s,server=on,wait=on" % u3,
                "-serial", "chardev:uart3",
                "-kernel", self.firmware]
        if self.han_medium:
            args[1:1] = ["-chardev", "socket,id=uart2,path=%s" % self.han_medium]
        if self.icount:
            args[1:1] = ["-icount", "shift=0"]
        cwd = self.flash_dir or self._tmp
        os.makedirs(cwd, exist_ok=True)
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd)
        deadline = time.monotonic() + timeout
        # QEMU opens the -chardev sockets first (waiting for each), then the pty.
        self._uart1 = self._connect(u1, deadline)
        self._lines = self._connect(u3, deadline)
        self.pty = self._read_pty_name(deadline)
        if self.uart1_file:
            self._uart1_out = open(self.uart1_file, "wb")
        # UART1 is drained all the time: a host that stopped reading would stall the guest.
        self._uart1.setblocking(True)
        self._uart1.settimeout(0.2)
        self._uart1_reader = threading.Thread(target=self._read_uart1, daemon=True)
        self._uart1_reader.start()
        return self

    def _read_uart1(self):
        while not self._stopping.is_set():
            try:
                data = self._uart1.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            self.uart1_bytes += data
            if self._uart1_out:
                self._uart1_out.write(data)
                self._uart1_out.flush()

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
        if self._uart1_reader:
            self._uart1_reader.join()
            self._uart1_reader = None
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
        """Move what the console has printed into console_log (UART1 is read by a thread
        of its own into uart1_bytes); waits up to timeout when nothing is there."""
        if self.console_fd is None:
            time.sleep(timeout)
            return
        ready, _, _ = select.select([self.console_fd], [], [], timeout)
        if ready:
            try:
                data = os.read(self.console_fd, 65536)
            except (BlockingIOError, OSError):
                return
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

    def raw_exec(self, code, timeout=30):
        """Run code through the raw REPL (no echo) and return its output; raises on error.
        The console must be open and at the friendly prompt; it is left there again."""
        self.write_console(b"\r\x01")
        start = len(self.console_log)
        self.wait_console(b"raw REPL; CTRL-B to exit\r\n>", timeout, start=start - 2)
        start = len(self.console_log)
        self.write_console(code.encode() + b"\x04")
        end = self.wait_console(b"\x04>", timeout, start=start)
        reply = bytes(self.console_log[start:end - 2])
        self.write_console(b"\x02")  # back to the friendly REPL (prints its banner)
        self.wait_console(PROMPT, timeout, start=end)
        if not reply.startswith(b"OK"):
            raise EmulatorError("raw REPL refused the code: %r" % reply[:200])
        out, _, err = reply[2:].partition(b"\x04")
        if err.strip(b"\x04"):
            raise EmulatorError("code failed on the board:\n" + err.decode(errors="replace"))
        return out.decode(errors="replace")

    def provide_natmods(self, paths, mount="/natmod"):
        """Serve native modules from a RAM filesystem on the board and put it on sys.path,
        the way a real board keeps its natmods on flash. A tiny read-only VFS holds the
        files' bytes (no flash filesystem: the image stays what it is)."""
        return self.raw_exec(ram_vfs_code(paths, mount))

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

    def power_fail_warning(self, console_timeout=5, echo=None):
        """Raise the supply monitor's warning and wait until the firmware says it saved."""
        start = len(self.console_log)
        self.set_line(LINE_POWER_WARNING, 1)
        self.wait_console(b"power-fail warning: registers saved\r\n", console_timeout,
                          echo=echo, start=start)


if __name__ == "__main__":
    from tools.emu_run import main

    sys.exit(main())
