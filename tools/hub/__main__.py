"""python -m tools.hub status --port PORT [--baud 115200] [--timeout 10] [--json]
                               [--watch S --every N --plot FILE.png|FILE.svg]

Types the read-only console line `HUB STATUS` on the board's console (a serial port, a pty,
or socket://127.0.0.1:PORT while `make run RUN_ARGS="--han coordinator --console-port PORT"`
runs the emulated board) and prints what the hub answers (firmware/han/diag.py): per HAN
device its EUI-64, short address, kind, state, link quality at installation and now (last
frame and smoothed), frames in/out, failures, last seen and battery; then the transaction
log (seed 003 12.2.14, the most recent 40 events) with the names of the codes. --json
prints the parsed answer as one JSON document. --watch S polls every --every N seconds for
S seconds and --plot writes the live LQI of each device over that time (matplotlib when
installed, else an SVG written here)."""
import argparse
import datetime
import json
import sys
import time

from tools import fwpath

fwpath.setup()

from han.nwk.layer import (REFUSED_KEY_SEQ, REFUSED_MALFORMED, REFUSED_MIC,  # noqa: E402
                           REFUSED_REPLAY, REFUSED_UNKNOWN_SOURCE, REFUSED_UNSECURED)
from registers import logs  # noqa: E402

# The transaction log's codes (registers/logs.py), by name.
CODE_NAMES = {logs.EV_TRANSACTION: "transaction", logs.EV_HAN_JOINED: "joined",
              logs.EV_HAN_JOIN_DENIED: "join denied",
              logs.EV_HAN_KEY_VERIFIED: "link key verified",
              logs.EV_HAN_NWK_KEY_SWITCHED: "network key switched",
              logs.EV_HAN_REJECTED: "frame rejected", logs.EV_HAN_NO_ACK: "ack missing",
              logs.EV_HAN_ACKS: "acks received", logs.EV_HAN_REMOVED: "removed",
              logs.EV_HAN_FORWARD_OVERWRITTEN: "queued item overwritten"}

REASONS = {REFUSED_MALFORMED: "malformed", REFUSED_UNSECURED: "unsecured",
           REFUSED_UNKNOWN_SOURCE: "unknown source", REFUSED_KEY_SEQ: "unknown key",
           REFUSED_REPLAY: "replay", REFUSED_MIC: "MIC failure"}
MAX_LINES = 200  # the answer is bounded by the firmware (16 devices x 2 + 40 + 1)


def parse_lines(lines):
    """{"devices": [...], "log": [...], "complete": bool} from the console's lines (other
    output of the board, interleaved, is skipped)."""
    out = {"devices": [], "log": [], "complete": False}
    for raw in lines:
        text = raw.strip()
        if text.startswith("HUB DEV "):
            out["devices"].append(json.loads(text[8:]))
        elif text.startswith("HUB LOG "):
            out["log"].append(json.loads(text[8:]))
        elif text.startswith("HUB END"):
            out["complete"] = True
            break
        elif text.startswith("HUB ERROR"):
            break
    return out


def query(port, baud=115200, timeout=10.0):
    """Type HUB STATUS on the console at port; the answer's lines (up to HUB END)."""
    import serial

    lines = []
    # serial_for_url: a device path, or a pyserial URL such as socket://127.0.0.1:PORT
    # (make run --console-port, tools/emu_console_port.py: the emulated board's console).
    with serial.serial_for_url(port, baud, timeout=0.2) as ser:
        ser.reset_input_buffer()
        ser.write(b"HUB STATUS\r\n")
        ser.flush()
        deadline = time.monotonic() + timeout
        pending = b""
        started = False
        while time.monotonic() < deadline and len(lines) < MAX_LINES:
            pending += ser.read(512)
            while b"\n" in pending:
                raw, pending = pending.split(b"\n", 1)
                text = raw.decode("ascii", "replace").strip()
                if text.startswith("HUB "):
                    started = True
                    lines.append(text)
                    if text.startswith("HUB END") or text.startswith("HUB ERROR"):
                        return lines
    if not started:
        raise TimeoutError("no answer to HUB STATUS on %s" % port)
    return lines


def _utc(v):
    if v is None:
        return "-"
    return datetime.datetime.fromtimestamp(v, datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%S")


def _v(v, fmt="%s"):
    return "-" if v is None else fmt % v


def describe(e):
    code = e["code"]
    name = CODE_NAMES.get(code, "code %d" % code)
    a, b = e["a"], e["b"]
    if code in (61, 63, 68):
        detail = "device %08x short 0x%04x" % (a, b)
    elif code == 62:
        detail = "device %08x capability 0x%02x" % (a, b)
    elif code == 64:
        detail = "key sequence %d" % a
    elif code == 65:
        detail = "device %08x: %s" % (a, REASONS.get(b, "reason %d" % b))
    elif code == 66:
        detail = "device %08x short 0x%04x" % (a, b)
    elif code == 67:
        detail = "device %08x: %d acks" % (a, b)
    else:
        detail = "a=%d b=%d" % (a, b)
    if e.get("repeats"):
        detail += " (x%d more)" % e["repeats"]
    return name, detail


def table(status):
    rows = []
    head = ("EUI-64", "short", "kind", "state", "LQI inst", "RSSI inst", "LQI now",
            "LQI avg", "RSSI now", "in", "out", "fail", "last seen UTC", "battery")
    for d in status["devices"]:
        batt = "unknown"
        if d.get("battery_pct") is not None or d.get("battery_mv") is not None:
            batt = "%s%% %s" % (_v(d.get("battery_pct"), "%g"),
                                _v(d.get("battery_mv") and d["battery_mv"] / 1000, "%.1f V"))
        rows.append((d["eui64"], d["short"] or "-", d["kind"] or "-", d["state"],
                     _v(d["install_lqi"]), _v(d["install_rssi"], "%d dBm"), _v(d["lqi"]),
                     _v(d["lqi_avg"]), _v(d["rssi"], "%d dBm"), str(d["frames_in"]),
                     str(d["frames_out"]), str(d["failures"]), _utc(d["last_seen_utc"]), batt))
    widths = [max(len(r[k]) for r in rows + [head]) for k in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
             for r in [head] + rows]
    lines.append("")
    lines.append("transaction log (%d entries, oldest first)" % len(status["log"]))
    for e in status["log"]:
        name, detail = describe(e)
        lines.append("  %6d  %s  %-20s %s" % (e["seq"], _utc(e["utc"]), name, detail))
    return "\n".join(lines)


def svg_plot(series, path):
    """series: {eui64: [(t_s, lqi), ...]}; a plain SVG line chart (LQI 0..255)."""
    w, h, m = 640, 360, 50
    t_max = max([p[0] for s in series.values() for p in s] + [1])
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d">' % (w, h),
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="%d" y="20" font-size="14">HAN link quality (LQI) over time</text>' % m,
             '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (m, h - m, w - 10, h - m),
             '<line x1="%d" y1="30" x2="%d" y2="%d" stroke="black"/>' % (m, m, h - m)]
    for v in (0, 64, 128, 192, 255):
        y = h - m - v * (h - m - 30) / 255
        parts.append('<text x="10" y="%.1f" font-size="10">%d</text>' % (y + 3, v))
    parts.append('<text x="%d" y="%d" font-size="10">seconds</text>' % (w - 60, h - m + 30))
    for k, (eui, pts) in enumerate(sorted(series.items())):
        c = colours[k % len(colours)]
        xy = " ".join("%.1f,%.1f" % (m + t * (w - m - 10) / t_max,
                                     h - m - v * (h - m - 30) / 255) for t, v in pts)
        parts.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>'
                     % (c, xy))
        parts.append('<text x="%d" y="%d" font-size="11" fill="%s">%s</text>'
                     % (m + 10, 45 + 14 * k, c, eui))
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def plot(series, path):
    try:
        if path.lower().endswith(".svg"):
            raise ImportError  # an SVG needs no library
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        if not path.lower().endswith(".svg"):
            raise SystemExit("matplotlib is not installed: use --plot FILE.svg")
        svg_plot(series, path)
        return
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for eui, pts in sorted(series.items()):
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=".", label=eui)
    ax.set_xlabel("seconds")
    ax.set_ylabel("LQI (last frame)")
    ax.set_ylim(0, 255)
    ax.set_title("HAN link quality over time")
    ax.legend()
    fig.savefig(path)
    plt.close(fig)


def watch(get, seconds, every, sleep=time.sleep, clock=time.monotonic):
    """Poll get() (a parsed status) every `every` s for `seconds`; the LQI series per
    device and the last status."""
    series = {}
    start = clock()
    last = None
    while True:
        last = get()
        t = clock() - start
        for d in last["devices"]:
            if d.get("lqi") is not None:
                series.setdefault(d["eui64"], []).append((round(t, 1), d["lqi"]))
        if t + every > seconds:
            return series, last
        sleep(every)


def parser():
    p = argparse.ArgumentParser(prog="python -m tools.hub", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("status", help="the HAN devices' diagnostics and the transaction log")
    s.add_argument("--port", required=True,
                   help="the board's console: a serial port or pty, or a pyserial URL such "
                        "as socket://127.0.0.1:PORT (make run --console-port PORT)")
    s.add_argument("--baud", type=int, default=115200)
    s.add_argument("--timeout", type=float, default=10.0)
    s.add_argument("--json", action="store_true", help="print the answer as JSON")
    s.add_argument("--watch", type=float, default=0, help="poll for S seconds")
    s.add_argument("--every", type=float, default=10, help="poll period in s (--watch)")
    s.add_argument("--plot", help="write the LQI over time to FILE.png or FILE.svg")
    return p


def main(argv=None, out=print, get=None):
    args = parser().parse_args(argv)
    if get is None:
        def get():
            return parse_lines(query(args.port, args.baud, args.timeout))
    try:
        if args.watch or args.plot:
            series, status = watch(get, args.watch, args.every)
            if args.plot:
                plot(series, args.plot)
        else:
            status = get()
    except OSError as e:  # no such port, connection refused, no answer in time
        print("tools.hub: %s" % e, file=sys.stderr)
        return 2
    if not status["complete"]:
        out("warning: the answer ended before HUB END")
    out(json.dumps(status, indent=1) if args.json else table(status))
    return 0 if status["complete"] else 1


if __name__ == "__main__":
    sys.exit(main())
