# make run --console-port (tools/emu_console_port.py) against a fake board: the port types
# each whole line a client sends on the console (CR, LF or CRLF ends it; control
# characters and empty lines dropped, an overlong line dropped whole), sends each client the
# console output from its connection on, and python -m tools.hub status reads the hub's
# answer through socket://127.0.0.1:PORT amid other console output, driven by the same
# pump loop make run has.
import json
import socket
import threading
import time

import pytest

from tools import emu_console_port as ecp
from tools.emu import EmulatorError
from tools.hub import __main__ as hub

ANSWER = [
    b'HUB DEV {"eui64":"0004a30b0000d003","short":"0x1a2b","state":"verified",'
    b'"aged":false,"kind":"sleepy","install_lqi":200,"install_rssi":-52,'
    b'"install_utc":1700000000,"lqi":180,"rssi":-57,"lqi_avg":185,"frames_in":12,'
    b'"frames_out":9,"failures":0,"last_seen_utc":1700000060,"battery_pct":null,'
    b'"battery_mv":null}',
    b'HUB LOG {"seq":1,"utc":1700000000,"code":61,"a":11,"b":6699}',
    b"HUB END 1 1",
]


class FakeBoard:
    """What the port uses of tools.emu's EmulatedBoard: console_log and write_console.
    Each line typed is recorded; HUB STATUS is answered (with a han line before and amid
    the answer, as a running meter prints)."""

    def __init__(self):
        self.console_log = bytearray()
        self.typed = []

    def write_console(self, data):
        self.typed.append(bytes(data))
        if data == b"HUB STATUS\r":
            self.console_log += b"han rx from 0x1a2b len 12\r\n"
            for k, line in enumerate(ANSWER):
                self.console_log += line + b"\r\n"
                if k == 0:
                    self.console_log += b"status uptime=61s\r\n"


class Echo:
    def __init__(self):
        self.lines = []

    def text(self, line):
        self.lines.append(line)


def pump_until(port, board, cond, echo=None, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        port.pump(board, echo)
        if cond():
            return
        time.sleep(0.01)
    raise AssertionError("condition not met; typed %r" % board.typed)


@pytest.fixture
def port():
    p = ecp.ConsolePort(0)
    yield p
    p.close()


def connect(port):
    s = socket.create_connection(("127.0.0.1", port.port), timeout=2)
    return s


def test_lines_are_typed_whole_and_cleaned(port):
    board, echo = FakeBoard(), Echo()
    c = connect(port)
    pump_until(port, board, lambda: port.clients, echo)
    # Sent in pieces, with every end of line kind, a Ctrl-C, empty lines, a tab.
    for piece in (b"HUB ST", b"ATUS\r\n", b"\x03\r\n\r\n", b"print(1)\rprint(\t2)\nx = ",
                  b"3"):
        c.sendall(piece)
        time.sleep(0.02)
        port.pump(board, echo)
    pump_until(port, board, lambda: len(board.typed) == 3, echo)
    assert board.typed == [b"HUB STATUS\r", b"print(1)\r", b"print( 2)\r"]
    assert port.lines_typed == 3
    c.sendall(b"\n")  # the pending "x = 3" ends
    pump_until(port, board, lambda: len(board.typed) == 4, echo)
    assert board.typed[3] == b"x = 3\r"
    # An overlong line is dropped whole; the next one goes through.
    c.sendall(b"A" * (ecp.MAX_LINE + 10) + b"\r\nB\r\n")
    pump_until(port, board, lambda: len(board.typed) == 5, echo)
    assert board.typed[4] == b"B\r"
    assert any("over 4096 octets dropped" in t for t in echo.lines)
    assert any("HUB STATUS" in t for t in echo.lines)  # make run shows what was typed
    c.close()
    pump_until(port, board, lambda: not port.clients, echo)
    assert any(t.endswith("closed\n") for t in echo.lines)


def test_each_client_gets_the_output_from_its_connection_on(port):
    board = FakeBoard()
    board.console_log += b"before anyone\r\n"
    a = connect(port)
    pump_until(port, board, lambda: len(port.clients) == 1)
    board.console_log += b"first\r\n"
    b = connect(port)
    pump_until(port, board, lambda: len(port.clients) == 2)
    board.console_log += b"second\r\n"
    port.pump(board)
    got = {}
    for name, s in (("a", a), ("b", b)):
        s.settimeout(2)
        data = b""
        while not data.endswith(b"second\r\n"):
            data += s.recv(4096)
        got[name] = data
        s.close()
    assert got == {"a": b"first\r\nsecond\r\n", "b": b"second\r\n"}


def test_a_client_that_does_not_read_is_let_go(port, monkeypatch):
    monkeypatch.setattr(ecp, "MAX_BEHIND", 1000)
    board = FakeBoard()
    s = connect(port)
    pump_until(port, board, lambda: port.clients)
    board.console_log += b"x" * 2000  # more than it may fall behind, in one go
    pump_until(port, board, lambda: not port.clients)
    s.close()


def test_port_in_use_is_an_emulator_error(port):
    with pytest.raises(EmulatorError, match="--console-port"):
        ecp.ConsolePort(port.port)


def test_open_port_announces_the_url():
    assert ecp.open_port(None) is None

    class Out:
        text = ""

        def write(self, s):
            self.text += s

        def flush(self):
            pass

    out = Out()
    p = ecp.open_port(0, out)
    try:
        assert "socket://127.0.0.1:%d" % p.port in out.text
    finally:
        p.close()


def test_tools_hub_status_through_the_port(port):
    """python -m tools.hub status --port socket://... (the tool's main) against the fake
    board served by a pump loop in a thread, as make run's loop serves it."""
    board = FakeBoard()
    board.console_log += b"status uptime=60s\r\n"
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            port.pump(board)
            time.sleep(0.05)

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    try:
        out = []
        rc = hub.main(["status", "--port", port.url(), "--json", "--timeout", "5"],
                      out=out.append)
        assert rc == 0, out
        status = json.loads(out[0])
        assert status["complete"]
        assert [d["eui64"] for d in status["devices"]] == ["0004a30b0000d003"]
        assert status["devices"][0]["install_lqi"] == 200
        assert status["devices"][0]["lqi"] == 180
        assert [(e["code"], e["a"], e["b"]) for e in status["log"]] == [(61, 11, 6699)]
        out = []
        assert hub.main(["status", "--port", port.url()], out=out.append) == 0
        assert "0004a30b0000d003" in out[0] and "joined" in out[0]
    finally:
        stop.set()
        t.join()
    assert board.typed == [b"HUB STATUS\r", b"HUB STATUS\r"]


def test_tools_hub_status_without_a_board_is_an_error(capsys):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    free = s.getsockname()[1]
    s.close()  # nothing listens there now
    assert hub.main(["status", "--port", "socket://127.0.0.1:%d" % free,
                     "--timeout", "1"]) == 2
    assert "tools.hub:" in capsys.readouterr().err
