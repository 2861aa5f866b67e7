"""make run's console on a TCP port: `--console-port PORT` (tools/emu_run.py).

A tool that talks to a board's console over a serial port (python -m tools.hub status
--port socket://127.0.0.1:PORT) can talk to the emulated board while make run drives its
console: this listens on 127.0.0.1:PORT, types each line a client sends on the board's
console, and sends every client what the console prints from the time it connected.

Everything runs in make run's own loop (ConsolePort.pump, called where the --console-at
lines are typed, through the same board.write_console): a client's line goes out whole,
between the runner's own lines, never mixed into them. A line ends at CR or LF; empty lines
are dropped, and so are control characters (a Ctrl-C or Ctrl-D would stop the meter's
main.run: this port types console lines, it is no REPL terminal). Only the loopback
interface listens: the console is the board's REPL, no one else's to reach.
"""

import socket
import sys

from tools.emu import EmulatorError

HOST = "127.0.0.1"
MAX_CLIENTS = 8
# Longer than the longest line the firmware takes (app/console.py MAX_LINE, a signed CFG
# line); a client's line beyond this is dropped whole, not cut and typed in pieces.
MAX_LINE = 4096
# A client that reads nothing while the console keeps printing is let go once it is this
# far behind (make run keeps the whole console log; the client holds only an offset in it).
MAX_BEHIND = 1 << 20
SEND_CHUNK = 65536


class _Client:
    def __init__(self, sock, peer, pos):
        self.sock = sock
        self.peer = "%s:%d" % peer[:2]
        self.pos = pos  # the next console_log octet it gets
        self.pending = b""  # the start of a line not ended yet
        self.overlong = False  # dropping octets up to the next end of line


def _clean(line):
    """The printable ASCII of a line (tab kept as a space)."""
    return bytes(c for c in line.replace(b"\t", b" ") if 0x20 <= c < 0x7F).strip()


class ConsolePort:
    """A listening socket on HOST:port (0: any free port; .port is the one bound) served
    by pump(board, echo) from the runner's loop, closed by close()."""

    def __init__(self, port, host=HOST):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.listener.bind((host, port))
        except OSError as e:
            self.listener.close()
            raise EmulatorError("--console-port %d: cannot listen on %s: %s"
                                % (port, host, e.strerror or e))
        self.listener.listen(MAX_CLIENTS)
        self.listener.setblocking(False)
        self.host = host
        self.port = self.listener.getsockname()[1]
        self.clients = []
        self.lines_typed = 0

    def url(self):
        return "socket://%s:%d" % (self.host, self.port)

    # -- the runner's loop ---------------------------------------------------------------
    def pump(self, board, echo=None):
        """Accept new clients, type their whole lines on the board's console, send each
        client the console output it has not had. Never blocks."""
        end = len(board.console_log)
        self._accept(end, echo)
        for c in list(self.clients):
            lines = self._receive(c, echo)
            for line in lines or ():
                if echo is not None:
                    echo.text("[emu] console port %s: %s\n" % (c.peer, line.decode()))
                board.write_console(line + b"\r")
                self.lines_typed += 1
            if lines is None or not self._send(c, board.console_log, end, echo):
                self._drop(c, echo)

    def _accept(self, end, echo):
        while True:
            try:
                sock, peer = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if len(self.clients) >= MAX_CLIENTS:
                sock.close()
                continue
            sock.setblocking(False)
            self.clients.append(_Client(sock, peer, end))
            if echo is not None:
                echo.text("[emu] console port: %s connected\n" % self.clients[-1].peer)

    def _receive(self, c, echo):
        """The whole lines c has sent since the last pump; None when it has gone."""
        data = b""
        while True:
            try:
                chunk = c.sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                return None
            if not chunk:
                return None
            data += chunk
        lines = []
        data = c.pending + data
        c.pending = b""
        while data:
            cut = min([i for i in (data.find(b"\r"), data.find(b"\n")) if i >= 0] or [-1])
            if cut < 0:
                if len(data) > MAX_LINE:
                    c.overlong = True
                else:
                    c.pending = data
                break
            raw, data = data[:cut], data[cut + 1:]
            if c.overlong or len(raw) > MAX_LINE:
                c.overlong = False
                if echo is not None:
                    echo.text("[emu] console port %s: a line over %d octets dropped\n"
                              % (c.peer, MAX_LINE))
                continue
            line = _clean(raw)
            if line:
                lines.append(line)
        return lines

    def _send(self, c, log, end, echo):
        """Send c what the console printed up to end; False to let it go."""
        if c.pos > end:
            c.pos = end  # the runner cut hidden output (raw REPL exchanges) off the log
        if end - c.pos > MAX_BEHIND:
            if echo is not None:
                echo.text("[emu] console port %s: not reading, closed\n" % c.peer)
            return False
        while c.pos < end:
            try:
                n = c.sock.send(bytes(log[c.pos:min(end, c.pos + SEND_CHUNK)]))
            except (BlockingIOError, InterruptedError):
                return True
            except OSError:
                return False
            c.pos += n
        return True

    def _drop(self, c, echo):
        self.clients.remove(c)
        try:
            c.sock.close()
        except OSError:
            pass
        if echo is not None:
            echo.text("[emu] console port: %s closed\n" % c.peer)

    def close(self):
        for c in list(self.clients):
            self._drop(c, None)
        self.listener.close()


def open_port(port, out=None):
    """make run's --console-port: a ConsolePort on 127.0.0.1:port, announced on out (make
    run's stdout by default), or None when port is None."""
    if port is None:
        return None
    cp = ConsolePort(port)
    out = out or sys.stdout
    out.write("[emu] console on %s (e.g. python -m tools.hub status --port %s)\n"
              % (cp.url(), cp.url()))
    out.flush()
    return cp
