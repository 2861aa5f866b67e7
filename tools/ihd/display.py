"""The display on the host: firmware/han/se/ihd.py's Display under a HAN node (role
"display", firmware/han/node.py) whose radio is a link to a medium server
(tools/han/medium_server.py); make run (--han coordinator) runs one (tools/emu_han.py).

Each change of what it shows is one JSON line; numbers carry the very digits the meter's
formatting gives (P1's digits, leading zeros dropped as JSON wants):

    {"device": "ihd", "kw": 1.193, "kwh": 1234.567, "kwh_today": 4.567,
     "gas_m3": 12785.123, "gas_captured": "2026-11-26T11:59:00Z", "tier": 1,
     "price": 0.2100, "currency": "EUR", "cost_today": 0.96, "message": "..."}

A value not known (yet) is null.
"""
import collections
import json
import random
import time

from tools import fwpath

fwpath.setup()
from hal.clock import SystemClock  # noqa: E402
from han.node import HanNode  # noqa: E402
from han.radio_bridge import BridgeRadio  # noqa: E402
from han.se.ihd import Display  # noqa: E402
from registers.memfs import MemoryFs  # noqa: E402
from registers.store import RecordStore  # noqa: E402

# The host display's default identity: its EUI-64 and install code (6 octets + CRC-16/X-25),
# registered on the hub with python -m tools.config han-join (or by make run).
DEFAULT_EXT = bytes.fromhex("0004A30B0000D002")
DEFAULT_CODE = bytes.fromhex("B1C2D3E4F5A6D019")

# ISO 4217 numeric -> alphabetic, for the currencies of the markets the meter serves.
CURRENCIES = {978: "EUR", 826: "GBP", 752: "SEK", 208: "DKK", 578: "NOK", 756: "CHF",
              985: "PLN", 203: "CZK", 348: "HUF", 946: "RON", 840: "USD"}

LINE_FIELDS = ("kw", "kwh", "kwh_today", "gas_m3", "gas_captured", "tier", "price",
               "currency", "cost_today", "message")
_NUMBERS = ("kw", "kwh", "kwh_today", "gas_m3", "price", "cost_today")


def number(text):
    """A shown value ('001234.567') as a JSON number with the same digits ('1234.567')."""
    if text is None:
        return "null"
    neg = text.startswith("-")
    t = text[1:] if neg else text
    t = t.lstrip("0")
    if not t or t[0] == ".":
        t = "0" + t
    return ("-" if neg else "") + t


def iso_utc(utc):
    return None if utc is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(utc))


def state_of(view, display):
    """The display's view as the JSON line, the terminal and the web page show it."""
    s = dict(view)
    s["device"] = "ihd"
    s["gas_captured"] = iso_utc(view["gas_captured"])
    c = view["currency"]
    s["currency"] = CURRENCIES.get(c, str(c)) if c is not None else None
    t = display.time
    s["local_time"] = None
    if view["utc"] is not None:
        s["local_time"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t.local(view["utc"])))
    s["gas_captured_local"] = None
    if view["gas_captured"] is not None and t.synced:
        s["gas_captured_local"] = time.strftime("%Y-%m-%d %H:%M", time.gmtime(
            t.local(view["gas_captured"])))
    s["joined"] = display.up
    return s


def json_line(s):
    parts = ['"device": "ihd"']
    for k in LINE_FIELDS:
        v = s[k]
        parts.append('"%s": %s' % (k, number(v) if k in _NUMBERS else json.dumps(v)))
    return "{" + ", ".join(parts) + "}"


def terminal(s):
    """The live view: a few lines, redrawn in place."""
    def val(v, unit=""):
        return "-" if v is None else (number(v) + unit)

    cur = s["currency"] or ""
    rows = [
        "in-home display%s" % ("" if s["joined"] else "  (joining the HAN ...)"),
        "  power now     %s" % val(s["kw"], " kW"),
        "  today         %s   cost %s" % (val(s["kwh_today"], " kWh"),
                                          val(s["cost_today"], " " + cur)),
        "  meter total   %s" % val(s["kwh"], " kWh"),
        "  gas           %s%s" % (val(s["gas_m3"], " m3"),
                                  "   (read %s)" % s["gas_captured_local"]
                                  if s["gas_captured_local"] else ""),
        "  tariff        %s%s" % ("-" if s["tier"] is None else s["tier"],
                                  "  %s  %s %s/kWh" % (s["rate_label"], number(s["price"]), cur)
                                  if s["price"] is not None else ""),
        "  message       %s" % (s["message"] or "-"),
        "  time          %s" % (s["local_time"] or "-"),
    ]
    return "\n".join(rows)


class HostDisplay:
    """A display node over the medium server's socket at path."""

    def __init__(self, path, ext=DEFAULT_EXT, code=DEFAULT_CODE, seed=11, out=None):
        from tools.han.medium_server import SocketStream

        self.clock = SystemClock(int(time.time()))
        self.display = Display(self.clock, identity=(b"meter-fw", b"ihd-host", b"0.1.0"))
        self.events = collections.deque(maxlen=200)  # the node's last "han ..." lines
        self.node = HanNode(BridgeRadio(SocketStream(path)), self.clock, "display", ext,
                            RecordStore(MemoryFs()), random.Random(seed).getrandbits,
                            install_code=code, out=out or self.events.append,
                            se=self.display)
        self.state = state_of(self.display.view(), self.display)
        self._version = -1
        self._line = None
        self._up = None

    def start(self):
        self.node.start()

    def poll(self):
        """One step; (wait_us, new JSON line or None)."""
        wait = self.node.step(self.clock.ticks_us())
        d = self.display
        line = None
        if d.version != self._version or d.up != self._up:
            self._version = d.version
            self._up = d.up
            self.state = state_of(d.view(), d)
            text = json_line(self.state)
            known = any(self.state[k] is not None for k in LINE_FIELDS)
            if text != self._line and d.up and known:
                self._line = line = text
        return wait, line

    def run(self, seconds=None, on_line=print, on_view=None, view_every=1.0, stop=None):
        self.start()
        t0 = time.monotonic()
        shown = 0.0
        while (seconds is None or time.monotonic() - t0 < seconds) and \
                (stop is None or not stop.is_set()):
            wait, line = self.poll()
            if line is not None:
                on_line(line)
            if on_view is not None and (line is not None or
                                        time.monotonic() - shown >= view_every):
                self.state = state_of(self.display.view(), self.display)
                on_view(terminal(self.state))
                shown = time.monotonic()
            time.sleep((2000 if wait < 0 else min(wait, 2000)) / 1e6)
