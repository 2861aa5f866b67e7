"""The display's local web page (python -m tools.ihd --web PORT): plain http.server, no
framework. GET / is one HTML page (inline CSS and script) that polls GET /state.json once
a second and fills in power now, today's energy and cost, the meter's total, gas, the
tariff and the message. Served on 127.0.0.1 only: the page shows the household's
consumption."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>In-home display</title>
<style>
body { font-family: sans-serif; margin: 1.5em; background: #f4f6f4; color: #1c2b1c; }
h1 { font-size: 1.3em; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(14em, 1fr)); gap: 1em; }
.card { background: #fff; border-radius: 8px; padding: 1em; box-shadow: 0 1px 3px #0002; }
.label { font-size: 0.85em; color: #5a6b5a; }
.value { font-size: 1.8em; font-variant-numeric: tabular-nums; margin: 0.2em 0; }
.sub { font-size: 0.9em; color: #5a6b5a; }
#message { font-size: 1.1em; }
#status { font-size: 0.85em; color: #8a4b00; }
</style>
</head>
<body>
<h1>In-home display</h1>
<p id="status">waiting for the display ...</p>
<div class="grid">
 <div class="card"><div class="label">Power now</div>
  <div class="value"><span id="kw">-</span> kW</div></div>
 <div class="card"><div class="label">Today</div>
  <div class="value"><span id="kwh_today">-</span> kWh</div>
  <div class="sub">cost <span id="cost_today">-</span> <span class="cur"></span></div></div>
 <div class="card"><div class="label">Meter total</div>
  <div class="value"><span id="kwh">-</span> kWh</div></div>
 <div class="card"><div class="label">Gas</div>
  <div class="value"><span id="gas_m3">-</span> m&sup3;</div>
  <div class="sub">read <span id="gas_captured">-</span></div></div>
 <div class="card"><div class="label">Tariff</div>
  <div class="value">tier <span id="tier">-</span></div>
  <div class="sub"><span id="rate_label"></span> <span id="price">-</span>
   <span class="cur"></span>/kWh</div></div>
 <div class="card"><div class="label">Message</div>
  <div id="message">-</div></div>
</div>
<script>
"use strict";
// A shown value ("001234.567") without its leading zeros, digits kept.
function num(t) {
  if (t === null || t === undefined) return "-";
  var neg = t.charAt(0) === "-", s = neg ? t.slice(1) : t;
  s = s.replace(/^0+/, "");
  if (s === "" || s.charAt(0) === ".") s = "0" + s;
  return (neg ? "-" : "") + s;
}
function put(id, text) {
  var e = document.getElementById(id);
  if (e) e.textContent = text;
}
function render(s) {
  put("kw", num(s.kw));
  put("kwh_today", num(s.kwh_today));
  put("cost_today", num(s.cost_today));
  put("kwh", num(s.kwh));
  put("gas_m3", num(s.gas_m3));
  put("gas_captured", s.gas_captured_local || "-");
  put("tier", s.tier === null ? "-" : String(s.tier));
  put("rate_label", s.rate_label || "");
  put("price", num(s.price));
  put("message", s.message || "-");
  var cur = document.getElementsByClassName("cur");
  for (var i = 0; i < cur.length; i++) cur[i].textContent = s.currency || "";
  put("status", s.joined ? (s.local_time ? "hub time " + s.local_time : "")
                         : "joining the HAN ...");
}
function poll() {
  fetch("state.json", {cache: "no-store"}).then(function (r) { return r.json(); })
    .then(render).catch(function () { put("status", "display not reachable"); });
}
poll();
setInterval(poll, 1000);
</script>
</body>
</html>
"""


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        path = self.path.split("?")[0]
        if path in ("/", "/index.html"):
            body = PAGE.encode()
            kind = "text/html; charset=utf-8"
        elif path == "/state.json":
            body = json.dumps(self.server.state()).encode()
            kind = "application/json"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):  # no access log on the terminal view
        pass


class WebPage:
    """The page over state() (a callable giving the display's state dict)."""

    def __init__(self, state, port=0, host="127.0.0.1"):
        self.httpd = ThreadingHTTPServer((host, port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.state = state
        self.port = self.httpd.server_address[1]
        self.url = "http://%s:%d/" % (host, self.port)
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
