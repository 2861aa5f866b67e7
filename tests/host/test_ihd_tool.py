# python -m tools.ihd (tools/ihd/): the in-home display on the host, against a hub on the
# host (firmware/han/node.py coordinator with han/se/hub.py over real registers), both on
# a medium server (tools/han/medium_server.py), in real time: its JSON lines carry the
# registers' kWh with P1's digits, the gas mirror's reading, a tariff switch and a message
# set as the configuration path sets it (confirmed at the hub); its web page is served,
# parsed, and its script run (node, with a stand-in document) against the live state; in
# headless Chromium when the machine has it (Debian's chromium-headless-shell or chromium).
# Tier 1 only.
import json
import os
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from html.parser import HTMLParser

import pytest

from tools import fwpath

fwpath.setup()
from hal.clock import SystemClock  # noqa: E402
from han.node import HanNode  # noqa: E402
from han.radio_bridge import BridgeRadio  # noqa: E402
from han.se.hub import Hub  # noqa: E402
from han.se.price import PriceConfig  # noqa: E402
from registers.clock import DST_EU  # noqa: E402
from registers.energy import TOTAL_IMPORT, tariff_import_index  # noqa: E402
from registers.memfs import MemoryFs  # noqa: E402
from registers.meter import MeterRegisters  # noqa: E402
from registers.store import RecordStore  # noqa: E402
from registers.view import RegistersView  # noqa: E402
from tools.han.medium_server import MediumServer, SocketStream  # noqa: E402
from tools.ihd.display import DEFAULT_CODE, DEFAULT_EXT  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HUB_EXT = bytes.fromhex("0004A30B00C0FFEE")


class HostHub:
    """The meter's hub on the host: registers (1 234 567 Wh, a gas reading), prices for
    two tiers, 1193 W of demand, the display registered by its install code."""

    def __init__(self, path):
        self.utc = int(time.time())
        self.clock = SystemClock(self.utc)
        self.regs = MeterRegisters(self.clock, MemoryFs())
        self.regs.boot(self.utc)
        self.regs.energy.wh[TOTAL_IMPORT] = 1234567
        self.regs.energy.wh[tariff_import_index(1)] = 1234567
        self.regs.gas.put(12785123, self.utc - 60, b"G4-0001")
        self.confirmed = []
        view = RegistersView(self.regs)
        self.hub = Hub(self.regs.clock, view, 3600, DST_EU, self.clock,
                       prices=PriceConfig(1, 978, [("low", 2100, 4), ("normal", 2650, 4)]),
                       power_w=lambda: 1193,
                       on_confirmed=lambda mid, utc, src: self.confirmed.append(mid))
        self.lines = []
        self.node = HanNode(BridgeRadio(SocketStream(path)), self.clock, "coordinator",
                            HUB_EXT, RecordStore(MemoryFs()), random.Random(3).getrandbits,
                            out=self.lines.append, channel_mask=1 << 15, se=self.hub)
        self.node.start()
        self.node.register(DEFAULT_EXT, DEFAULT_CODE)
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop.is_set():
            with self.lock:
                wait = self.node.step(self.clock.ticks_us())
            time.sleep((2000 if wait < 0 else min(wait, 2000)) / 1e6)

    def stop(self):
        self._stop.set()
        self.thread.join(timeout=2)


@pytest.fixture
def rig():
    d = tempfile.mkdtemp(prefix="ihd-")
    path = os.path.join(d, "medium.sock")
    server = MediumServer(path).start_thread()
    hub = HostHub(path)
    procs = []

    def start(*extra):
        p = subprocess.Popen([sys.executable, "-m", "tools.ihd", "--medium", path,
                              "--no-view"] + list(extra),
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        procs.append(p)
        lines = queue.Queue()

        def pump(stream, tag):
            for line in stream:
                lines.put((tag, line.rstrip("\n")))
        threading.Thread(target=pump, args=(p.stdout, "out"), daemon=True).start()
        threading.Thread(target=pump, args=(p.stderr, "err"), daemon=True).start()
        return p, lines

    yield hub, start
    for p in procs:
        if p.poll() is None:
            p.terminate()
            p.wait(timeout=5)
    hub.stop()
    server.shutdown()
    shutil.rmtree(d, ignore_errors=True)


def _wait(lines, pred, seconds, seen):
    """Collect stdout JSON lines until pred(last state) holds; the matching line's dict."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            tag, line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if tag != "out":
            seen.append(line)
            continue
        s = json.loads(line)
        seen.append(line)
        if pred(s):
            return s, line
    raise AssertionError("not shown within %s s; lines: %s" % (seconds, seen[-8:]))


def test_the_host_display_prints_the_hubs_values_then_a_tariff_switch_and_a_message(rig):
    hub, start = rig
    p, lines = start("--seconds", "40")
    seen = []
    s, line = _wait(lines, lambda s: s["kwh"] is not None and s["gas_m3"] is not None
                    and s["tier"] is not None and s["kw"] is not None, 25, seen)
    # P1 prints 1-0:1.8.0(001234.567*kWh), 1-0:1.7.0(01.193*kW), 0-1:24.2.1(...)(12785.123
    # *m3): the JSON numbers carry those digits.
    assert '"kwh": 1234.567' in line and '"kw": 1.193' in line
    assert '"gas_m3": 12785.123' in line
    assert s["device"] == "ihd" and s["tier"] == 1 and s["currency"] == "EUR"
    assert '"price": 0.2100' in line
    assert s["gas_captured"] == time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                              time.gmtime(hub.utc - 60))
    # The tariff switches and a message is set (OP_SET_TEXT_MESSAGE stores it this way).
    with hub.lock:
        hub.regs.energy.set_tariff(2)
        hub.regs.text.set(b"Meter exchange on 2 Dec")
    s, line = _wait(lines, lambda s: s["tier"] == 2 and s["message"] is not None, 10, seen)
    assert '"price": 0.2650' in line and s["message"] == "Meter exchange on 2 Dec"
    end = time.monotonic() + 5
    while not hub.confirmed and time.monotonic() < end:
        time.sleep(0.1)
    server = hub.hub.router.servers[(1, 0x0703)]
    assert hub.confirmed == [server.message.message_id] and server.confirmed
    # One line per change: no two consecutive lines alike.
    out = [ln for ln in seen if ln.startswith("{")]
    assert all(a != b for a, b in zip(out, out[1:]))


class _Page(HTMLParser):
    """The ids of the page's elements, and its script."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.ids = set()
        self.script = ""
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.script += data


# The page's script under node with a stand-in document: elements by id keep their text.
_NODE_HARNESS = r"""
const base = process.argv[process.argv.length - 1];
const els = {};
global.document = {
  getElementById: (id) => (els[id] = els[id] || {textContent: ""}),
  getElementsByClassName: (c) => [els["." + c] = els["." + c] || {textContent: ""}],
};
global.setInterval = () => 0;
const realFetch = fetch;
global.fetch = (u, o) => realFetch(new URL(u, base), o);
eval(require("fs").readFileSync(0, "utf8"));
setTimeout(() => {
  const out = {};
  for (const k in els) out[k] = els[k].textContent;
  console.log(JSON.stringify(out));
}, 1500);
"""


def _chromium():
    for name in ("chromium-headless-shell", "chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _served(start):
    """A display with its page: (url, its state once everything is shown)."""
    p, lines = start("--web", "0", "--seconds", "40")
    url = None
    seen = []
    end = time.monotonic() + 10
    while url is None and time.monotonic() < end:
        try:
            tag, line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if tag == "err" and "web page on " in line:
            url = line.split("web page on ")[1].strip()
    assert url and url.startswith("http://127.0.0.1:")
    _wait(lines, lambda s: s["kwh"] is not None and s["tier"] is not None
          and s["gas_m3"] is not None and s["kw"] is not None, 25, seen)
    return url


def test_the_web_page_shows_the_display(rig):
    hub, start = rig
    url = _served(start)
    html = urllib.request.urlopen(url, timeout=5).read().decode()
    page = _Page()
    page.feed(html)
    assert {"kw", "kwh_today", "cost_today", "kwh", "gas_m3", "gas_captured", "tier",
            "price", "message", "status"} <= page.ids
    assert "state.json" in page.script
    state = json.loads(urllib.request.urlopen(url + "state.json", timeout=5).read())
    assert (state["kwh"], state["kw"], state["gas_m3"], state["tier"]) == \
        ("001234.567", "01.193", "12785.123", 1)
    assert state["price"] == "0.2100" and state["currency"] == "EUR" and state["joined"]
    # The page's script itself, against the live endpoint.
    r = subprocess.run(["node", "-e", _NODE_HARNESS, url], input=page.script,
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert (shown["kw"], shown["kwh"], shown["gas_m3"], shown["tier"], shown["price"],
            shown[".cur"]) == ("1.193", "1234.567", "12785.123", "1", "0.2100", "EUR")
    assert shown["message"] == "-" and shown["status"].startswith("hub time ")


def test_the_web_page_in_headless_chromium(rig):
    # Not skipped when missing: make test's bootstrap installs Debian's package.
    assert _chromium() is not None, \
        "no headless Chromium: apt-get install chromium-headless-shell (tools/bootstrap.sh)"
    hub, start = rig
    url = _served(start)
    r = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                        "--virtual-time-budget=3000", "--dump-dom", url],
                       capture_output=True, text=True, timeout=60)
    assert 'id="kwh">1234.567<' in r.stdout and 'id="kw">1.193<' in r.stdout
    assert 'id="gas_m3">12785.123<' in r.stdout and 'id="tier">1<' in r.stdout
    assert 'id="price">0.2100<' in r.stdout
