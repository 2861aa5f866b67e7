"""A virtual null-modem cable with modem lines, as two RFC 2217 serial servers.

    .venv/bin/python -m tools.nullmodem [--host 127.0.0.1] PORT_A PORT_B

Why: a P1 reader asks the meter for telegrams by raising Data Request (DSMR 5.0.2 5.7.1),
on a bench its adapter's RTS or DTR. On Linux a pty pair (os.openpty, socat) carries no
modem lines at all (TIOCMGET/TIOCMSET fail with ENOTTY), so a reader and tools.p1_emulate
joined by a pty cannot exercise them. RFC 2217 (Telnet COM Port Control Option, the
protocol of ser2net and of lab serial servers) carries the lines over TCP, and pyserial
opens it as a port with `serial_for_url("rfc2217://HOST:PORT")`: this tool serves both
ends of one cable, so each side sees a real serial port with working modem lines.

Wiring, as a null-modem cable: bytes written on one end come out of the other; end A's
RTS is end B's CTS, A's DTR is B's DSR and CD, and the same from B to A. When a client
disconnects its RTS and DTR fall (a closed port drops its outputs). With no client on
the other end, written bytes are lost, as on an unplugged cable.

RFC 2217 as served here (the per-connection Telnet and COM-PORT-OPTION state machine is
pyserial's serial.rfc2217.PortManager, given a model of one end of the cable):
- Section 1: client and server agree on COM-PORT-OPTION (Telnet option 44) and on BINARY
  (RFC 856) before anything else; a data byte 0xFF travels doubled (IAC IAC).
- Section 2, SET-BAUDRATE, SET-DATASIZE, SET-PARITY, SET-STOPSIZE: accepted and echoed
  in the server's reply (value 0 asks for the current value). Each end records what its
  client set; when both ends have set a value and they differ, a warning is printed (the
  two UARTs of a real cable would garble every byte), nothing is refused.
- Section 3, SET-CONTROL: RTS and DTR on/off move the lines (and the peer's view of
  them); flow control and BREAK are acknowledged, with no effect on the data.
- Section 4, NOTIFY-MODEMSTATE and SET-MODEMSTATE-MASK: the server tells its client its
  CTS/DSR/RI/CD bits (and the delta bits of the lines that moved) whenever they change,
  and once when the client has accepted the option. pyserial's client answers `.cts`
  and `.dsr` from the last notification (it polls only with `?poll_modem`), so each
  change of one end's RTS/DTR notifies the other end at once, before the SET-CONTROL
  reply goes back: when `port.rts = True` returns on B, A's notification is on its way.
- PURGE-DATA is acknowledged: nothing is buffered here to purge.

One line is printed when both ends listen (PORT 0 picks a free port; the line names the
ports in use); SIGTERM or SIGINT closes both ends and exits 0.
"""
import argparse
import signal
import socket
import sys
import threading

from serial import rfc2217

SETTINGS = ("baudrate", "bytesize", "parity", "stopbits")
# What a query (value 0) is answered before the client set anything.
DEFAULTS = {"baudrate": 9600, "bytesize": 8, "parity": "N", "stopbits": 1}


class _Manager(rfc2217.PortManager):
    """One connection's Telnet / RFC 2217 state; modem-state notifications serialised
    (they come from this end's reader thread and from the peer's)."""

    def __init__(self, end, connection):
        self.notify_lock = threading.Lock()
        rfc2217.PortManager.__init__(self, end, connection)

    def check_modem_lines(self, force_notification=False):
        with self.notify_lock:
            rfc2217.PortManager.check_modem_lines(self, force_notification)


class _Connection:
    """The socket of one client: writes from two threads (acks, data from the peer)."""

    def __init__(self, sock):
        self.sock = sock
        self.lock = threading.Lock()

    def write(self, data):
        with self.lock:
            try:
                self.sock.sendall(data)
            except OSError:
                pass  # the reader thread sees the closed socket and cleans up


class End:
    """One end of the cable, in the shape PortManager drives (a serial port's settings
    and lines). Outputs: rts, dtr. Inputs: cts, dsr, cd read the peer's outputs."""

    def __init__(self, name, warn):
        self.name = name
        self.peer = None
        self.warn = warn
        self.manager = None
        self.recorded = {}
        self.values = dict(DEFAULTS)
        self.xonxoff = self.rtscts = self.break_condition = False
        self._rts = self._dtr = False

    def __getattr__(self, attr):  # baudrate, bytesize, parity, stopbits
        if attr in SETTINGS:
            return self.__dict__["values"][attr]
        raise AttributeError(attr)

    def __setattr__(self, attr, value):
        if attr in SETTINGS:
            self.values[attr] = value
            self.recorded[attr] = value
            other = self.peer.recorded.get(attr) if self.peer else None
            if other is not None and other != value:
                self.warn("%s: %s %s, %s %s (the ends' settings differ)"
                          % (attr, self.name, value, self.peer.name, other))
        else:
            object.__setattr__(self, attr, value)

    def _output(name):
        """An output line the client sets; the other end is told of each change."""
        def set_level(self, level):
            setattr(self, name, bool(level))
            self.peer.lines_changed()
        return property(lambda self: getattr(self, name), set_level)

    rts = _output("_rts")
    dtr = _output("_dtr")
    del _output

    # The crossed lines: what this end's client reads.
    cts = property(lambda self: self.peer._rts)
    dsr = property(lambda self: self.peer._dtr)
    cd = property(lambda self: self.peer._dtr)
    ri = property(lambda self: False)

    def lines_changed(self):
        manager = self.manager
        if manager is not None:
            manager.check_modem_lines()

    def reset_input_buffer(self):
        pass

    def reset_output_buffer(self):
        pass

    def serve(self, listener, stopping):
        """Accept one client at a time; its data goes to the peer's client."""
        while not stopping.is_set():
            try:
                sock, _ = listener.accept()
            except OSError:
                return  # the listener closed: stopping
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Connection(sock)
            self.manager = _Manager(self, conn)
            try:
                while True:
                    data = sock.recv(4096)
                    if not data:
                        break
                    out = b"".join(self.manager.filter(data))
                    peer = self.peer.manager
                    if out and peer is not None:  # none: lost, as on an open cable end
                        peer.connection.write(out.replace(b"\xff", b"\xff\xff"))  # IAC
            except OSError:
                pass
            finally:
                self.manager = None
                sock.close()
                self.recorded = {}
                self.values = dict(DEFAULTS)
                self._rts = self._dtr = False  # a closed port drops its outputs
                self.peer.lines_changed()


def warn(message):
    sys.stderr.write("nullmodem: warning: %s\n" % message)
    sys.stderr.flush()


def listen(host, port):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(1)
    return s


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m tools.nullmodem", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("port_a", type=int, metavar="PORT_A", help="TCP port of end A (0: any)")
    p.add_argument("port_b", type=int, metavar="PORT_B", help="TCP port of end B (0: any)")
    args = p.parse_args(argv)
    a, b = End("A", warn), End("B", warn)
    a.peer, b.peer = b, a
    try:
        listeners = [listen(args.host, args.port_a), listen(args.host, args.port_b)]
    except OSError as e:
        raise SystemExit("nullmodem: %s" % e)
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    for end, listener in zip((a, b), listeners):
        threading.Thread(target=end.serve, args=(listener, stopping), daemon=True).start()
    pa, pb = (s.getsockname()[1] for s in listeners)
    host = "[%s]" % args.host if ":" in args.host else args.host  # an IPv6 URL
    print("nullmodem: A rfc2217://%s:%d <-> B rfc2217://%s:%d (RTS->CTS, DTR->DSR+CD)"
          % (host, pa, host, pb), flush=True)
    while not stopping.wait(0.5):
        pass
    for end, listener in zip((a, b), listeners):
        try:
            listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        listener.close()
        m = end.manager
        if m is not None:
            try:
                m.connection.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
