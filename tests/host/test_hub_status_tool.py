# python -m tools.hub status against a console on a pty: the firmware's own HAN
# diagnostics (han/diag.py, a coordinator and a device joined on the simulated medium,
# tests/unit/test_han_diag.py's bench) answer HUB STATUS through app/console.py, as the
# board does; the tool parses the lines amid other console output, prints the table and the
# decoded log, --json, and a --watch/--plot of link quality (SVG by hand, PNG through
# matplotlib).
import json
import os
import sys
import threading

import pytest

from tools import fwpath
from tools.hub import __main__ as hub

fwpath.setup()
sys.path.insert(0, os.path.join(fwpath.ROOT, "tests", "unit"))

import test_han_diag as bench_mod  # noqa: E402
from app import console  # noqa: E402
from registers import logs  # noqa: E402


class FakeBoard:
    """A console on the slave side of a pty, served from a thread; other output (the
    han ... lines a running board prints) goes out before and amid the answer."""

    def __init__(self, bench):
        self.bench = bench
        self.master, slave = os.openpty()
        self.port = os.ttyname(slave)
        self._slave = slave
        import tty

        tty.setraw(slave)
        self.stop = False
        self.typed = []

        def write(line):
            os.write(self.master, (line + "\r\n").encode())
            os.write(self.master, b"han rx from 0x0001 ep 1 cluster 0x0702 len 12\r\n")

        self.console = console.ConsoleConfig(
            None, write, lambda w: bench.diag.report(w, bench.logs.log(logs.TRANSACTION)))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        import select

        while not self.stop:
            r, _, _ = select.select([self.master], [], [], 0.05)
            if r:
                data = os.read(self.master, 256)
                self.typed.append(data)
                self.console.feed(data, len(data))

    def close(self):
        self.stop = True
        self.thread.join()
        os.close(self.master)
        os.close(self._slave)


@pytest.fixture(scope="module")
def board():
    b = FakeBoard(bench_mod._joined())
    yield b
    b.close()


def test_status_table_and_decoded_log(board):
    lines = []
    assert hub.main(["status", "--port", board.port, "--timeout", "5"], out=lines.append) == 0
    text = lines[0]
    rows = text.splitlines()
    assert rows[0].split()[:4] == ["EUI-64", "short", "kind", "state"]
    dev = rows[1].split()
    # EUI-64, short, kind, state, installation LQI and RSSI (4 m on the medium), live ones
    assert dev[:9] == ["0004a30b12345678", "0x0001", "rx-on", "verified", "188", "-58",
                       "dBm", "188", "188"]
    assert "unknown" in rows[1]  # no battery report from this device
    assert "transaction log (4 entries, oldest first)" in text
    assert "join denied          device 12345678 capability 0xc8" in text
    assert "joined               device 12345678 short 0x0001" in text
    assert "link key verified    device 12345678 short 0x0001" in text
    assert "acks received        device 12345678: 1 acks" in text
    assert b"HUB STATUS\r\n" in b"".join(board.typed)


def test_status_json(board):
    lines = []
    assert hub.main(["status", "--port", board.port, "--json"], out=lines.append) == 0
    doc = json.loads(lines[0])
    assert doc["complete"] is True
    assert [d["eui64"] for d in doc["devices"]] == ["0004a30b12345678"]
    assert doc["devices"][0]["install_lqi"] == 188
    assert [e["code"] for e in doc["log"]] == [62, 61, 63, 67]


def test_watch_plot_svg_and_png(board, tmp_path):
    svg = tmp_path / "lqi.svg"
    lines = []
    assert hub.main(["status", "--port", board.port, "--watch", "0.6", "--every", "0.3",
                     "--plot", str(svg)], out=lines.append) == 0
    body = svg.read_text()
    assert body.startswith("<svg") and body.count("<polyline") == 1
    assert "0004a30b12345678" in body
    png = tmp_path / "lqi.png"
    pytest.importorskip("matplotlib")
    hub.main(["status", "--port", board.port, "--watch", "0.3", "--every", "0.3",
              "--plot", str(png)], out=lines.append)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_watch_series_and_parse_skips_other_output():
    ticks = iter([0.0, 0.0, 10.0, 20.0])
    answers = iter([{"devices": [{"eui64": "aa", "lqi": 200}], "log": [], "complete": True},
                    {"devices": [{"eui64": "aa", "lqi": 120}], "log": [], "complete": True}])
    series, last = hub.watch(lambda: next(answers), 15, 10, sleep=lambda s: None,
                             clock=lambda: next(ticks))
    assert series == {"aa": [(0.0, 200), (10.0, 120)]}
    parsed = hub.parse_lines(["han x", 'HUB LOG {"seq":1,"utc":0,"code":65,"repeats":2,'
                              '"a":1,"b":6}', "status", "HUB END 0 1", "HUB DEV {}"])
    assert parsed["complete"] and parsed["devices"] == []
    assert hub.describe(parsed["log"][0]) == ("frame rejected",
                                              "device 00000001: MIC failure (x2 more)")


def test_no_answer_is_an_error(tmp_path):
    master, slave = os.openpty()
    try:
        with pytest.raises(TimeoutError):
            hub.query(os.ttyname(slave), timeout=0.5)
    finally:
        os.close(master)
        os.close(slave)
