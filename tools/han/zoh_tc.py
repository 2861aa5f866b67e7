"""zigbee-on-host as a foreign ZigBee trust centre on the simulated 802.15.4 medium.

    with ForeignTrustCentre(install_codes={DEV_EXT: CODE}, pcap="zoh.pcap") as tc:
        radio = tc.radio((3.0, 0.0))               # a SimRadio on tc.medium
        mac = Mac(radio, tc.clock, DEV_EXT, ...)   # our node on that radio
        dev = EndDevice(mac, ...)
        dev.join(tc.clock.ticks_us())
        tc.attach(lambda now: step_once(dev, mac, now))
        tc.run(until=lambda: dev.associated, timeout=10)

or our whole ZigBee end device (han.zigbee.ZigbeeNode, ROLE_END_DEVICE) on tc.radio(),
attached with tc.attach(node.step): it joins by install code (association, Transport
Key, Device_annce, Request Key, Verify Key / Confirm Key) and exchanges APS data
(tc.send_unicast one way, "frame" events from zigbee-on-host's onFrame the other).

Pieces (docs/han.md, "A foreign trust centre"):
- tools/zoh/zoh_tc.cjs: zigbee-on-host's OTRCPDriver (the npm package pinned in
  tools/zoh/package.json, installed by tools/zoh/install.sh) forms a network with the
  given channel, PAN ID, extended PAN ID and network key, registers the install codes
  (addInstallCode), requires them, and permits joining;
- tools/han/zoh_rcp.py: the fake OpenThread radio co-processor it drives over Spinel/HDLC,
  a SimRadio on the same in-process Medium as our node; the Spinel link is a unix
  socketpair inherited by the node process;
- tools/zoh/decode_capture.cjs (decode_capture() here): zigbee-on-host's MAC/NWK/APS
  decoders and its CCM* over every frame of a capture, given keys (our coordinator's);
- this module: one single-threaded loop in real time (the host stack runs on Node's
  clock): medium to the present, Spinel bytes both ways, the RCP, every attached node.

In-process rather than through the medium server: the RCP's transceiver must acknowledge
data requests with frame pending set (no source-match table from this host), which the
server's per-address PENDING table cannot express before the device is known, and one
loop gives the RCP exact medium timing for its CSMA-CA and ACK wait. Nodes in other
processes (BridgeRadio, emulated boards) are not served yet: that needs the medium
server to run inside this loop.
"""
import json
import os
import re
import select
import shutil
import socket
import subprocess
import tempfile
import time

from tools import fwpath
from tools.han.rtclock import MonotonicClock
from tools.han.zoh_rcp import FakeRcp

fwpath.setup()
from han import radio_sim  # noqa: E402
from han.pcap import PcapWriter  # noqa: E402

ROOT = fwpath.ROOT
ZOH_DIR = os.path.join(ROOT, "tools", "zoh")
SCRIPT = os.path.join(ZOH_DIR, "zoh_tc.cjs")
DECODE_SCRIPT = os.path.join(ZOH_DIR, "decode_capture.cjs")
NODE_MIN = (20, 19)  # zigbee-on-host's engines: ^20.19.0 || >=22.12.0
INSTALL_HINT = ("install it with `make zoh` or `tools/zoh/install.sh` (needs Node.js >= 20.19 and npm on "
                "PATH; Debian bookworm's nodejs is 18: use a newer nodejs package)")

WELL_KNOWN_TC_KEY = bytes.fromhex("5a6967426565416c6c69616e63653039")  # ZigBeeAlliance09


class ZohUnavailable(RuntimeError):
    """Node.js or the pinned zigbee-on-host package is missing."""


class ZohError(RuntimeError):
    """zigbee-on-host reported a fatal error, or did not answer in time."""


def pinned_version():
    with open(os.path.join(ZOH_DIR, "package.json")) as f:
        return json.load(f)["dependencies"]["zigbee-on-host"]


def check_installed(node=None):
    """Path of node; raises ZohUnavailable saying how to install what is missing."""
    node = node or shutil.which("node")
    if not node:
        raise ZohUnavailable("node (Node.js) not found on PATH: " + INSTALL_HINT)
    out = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    m = re.match(r"v(\d+)\.(\d+)", out)
    if not m or (int(m.group(1)), int(m.group(2))) < NODE_MIN:
        raise ZohUnavailable("Node.js %s is too old for zigbee-on-host (>= %d.%d): %s"
                             % (out, NODE_MIN[0], NODE_MIN[1], INSTALL_HINT))
    pkg = os.path.join(ZOH_DIR, "node_modules", "zigbee-on-host", "package.json")
    want = pinned_version()
    try:
        with open(pkg) as f:
            have = json.load(f)["version"]
    except OSError:
        raise ZohUnavailable("zigbee-on-host %s is not installed in tools/zoh/node_modules: %s"
                             % (want, INSTALL_HINT)) from None
    if have != want:
        raise ZohUnavailable("tools/zoh/node_modules has zigbee-on-host %s, %s is pinned: %s"
                             % (have, want, INSTALL_HINT))
    return node


def decode_capture(pcap, network_keys=(), link_keys=(), node=None, timeout=60):
    """zigbee-on-host's MAC/NWK/APS decoders over every frame of a LINKTYPE 195 capture
    (tools/zoh/decode_capture.cjs): (one dict per frame, the summary dict). Keys are
    16-byte values; Transport Key commands that open teach the script further keys."""
    node = check_installed(node)
    cmd = [node, DECODE_SCRIPT, pcap]
    for k in network_keys:
        cmd += ["--network-key", bytes(k).hex()]
    for k in link_keys:
        cmd += ["--link-key", bytes(k).hex()]
    r = subprocess.run(cmd, cwd=ZOH_DIR, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise ZohError("decode_capture.cjs: exit %d\n%s" % (r.returncode, r.stderr))
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    if not rows or "summary" not in rows[-1]:
        raise ZohError("decode_capture.cjs: no summary\n%s" % r.stderr)
    return rows[:-1], rows[-1]["summary"]


class ForeignTrustCentre:
    """zigbee-on-host + fake RCP on a real-time in-process Medium (a context manager).

    install_codes: {extended address (8 bytes, written order): install code with its CRC}.
    tc_key_from_install_code: zigbee-on-host secures the Transport Key with its global
    trust-centre link key, not with the device's install-code key; True (default) makes
    that global key the first device's install-code key, so a device holding only its
    install code can read the network key (docs/han.md)."""

    def __init__(self, channel=15, pan_id=0x1A62, ext_pan_id=bytes.fromhex("00124B0001ABCDEF"),
                 network_key=bytes.fromhex("01030507090B0D0F00020406080A0C0D"),
                 eui64=bytes.fromhex("00124B00DEADBEEF"), install_codes=None,
                 permit_seconds=254, install_code_policy="required",
                 tc_key_from_install_code=True, tc_key=None, pcap=None, seed=1,
                 position=(0.0, 0.0), debug=False, node=None, ready_timeout=20.0):
        self.channel = channel
        self.pan_id = pan_id
        self.ext_pan_id = bytes(ext_pan_id)
        self.network_key = bytes(network_key)
        self.eui64 = bytes(eui64)
        self.install_codes = {bytes(k): bytes(v) for k, v in (install_codes or {}).items()}
        self.permit_seconds = permit_seconds
        self.install_code_policy = install_code_policy
        self.tc_key_from_install_code = tc_key_from_install_code
        self.tc_key = tc_key
        self.pcap_path = pcap
        self.debug = debug
        self.ready_timeout = ready_timeout
        self.node = check_installed(node)
        self.medium = radio_sim.Medium(seed=seed)
        self.clock = MonotonicClock()
        self.rcp = FakeRcp(self.medium, position, seed=seed)
        self.events = []  # every event zigbee-on-host emitted, in order
        self.ready = None  # the "ready" event: network formed, joining permitted
        self.steppers = []
        self.proc = None
        self._pcap_file = None
        self._next_id = 1
        self._lines = b""

    # --- life cycle --------------------------------------------------------------------
    def __enter__(self):
        if self.pcap_path:
            self._pcap_file = open(self.pcap_path, "wb")
            self.pcap = PcapWriter(self._pcap_file, 195)
            wall0 = int(time.time() * 1e6)
            self.medium.sniffer = lambda t, fr_, n, ch, rssi, lqi: self.pcap.write(
                wall0 + t, fr_, n, ch, rssi, lqi)
        self._dir = tempfile.mkdtemp(prefix="zoh-")
        self.log_path = os.path.join(self._dir, "zoh.log")
        self._sock, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.setblocking(False)
        cfg = {"fd": child.fileno(), "channel": self.channel, "panId": self.pan_id,
               "extPanId": self.ext_pan_id.hex(), "networkKey": self.network_key.hex(),
               "eui64": self.eui64.hex(), "saveDir": os.path.join(self._dir, "save"),
               "installCodes": [{"ext": k.hex(), "code": v.hex()}
                                for k, v in self.install_codes.items()],
               "installCodePolicy": self.install_code_policy,
               "permitSeconds": self.permit_seconds,
               "tcKeyFromInstallCode": self.tc_key_from_install_code,
               "tcKey": self.tc_key.hex() if self.tc_key else None, "debug": self.debug}
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([self.node, SCRIPT, json.dumps(cfg)], cwd=ZOH_DIR,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._log, pass_fds=(child.fileno(),))
        child.close()
        os.set_blocking(self.proc.stdout.fileno(), False)
        try:
            self.run(until=lambda: self.ready is not None, timeout=self.ready_timeout)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self._send({"op": "stop", "id": 0})
                self.run(until=lambda: self.proc.poll() is not None, timeout=5)
            except (ZohError, OSError):
                pass
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            for s in (self.proc.stdin, self.proc.stdout):
                s.close()
            self.proc = None
            self._sock.close()
            self._log.close()
            shutil.rmtree(self._dir, ignore_errors=True)
        if self._pcap_file:
            self._pcap_file.close()
            self._pcap_file = None

    def flush_pcap(self):
        """Make the capture so far readable by other programs (tshark) while running."""
        if self._pcap_file:
            self._pcap_file.flush()

    def log_tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except (OSError, AttributeError):
            return ""

    # --- what a test attaches ----------------------------------------------------------
    def radio(self, position=(3.0, 0.0), channel=11):
        """A transceiver for our node on the trust centre's medium."""
        return radio_sim.SimRadio(self.medium, position, channel)

    def attach(self, stepper):
        """stepper(now_us) -> microseconds until it next has work (-1: idle), called every
        pass of the loop, e.g. lambda now: han.run.step_once(role, mac, now)."""
        self.steppers.append(stepper)

    # --- the loop ----------------------------------------------------------------------
    def _send(self, msg):
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        self.proc.stdin.flush()

    def _read_events(self):
        try:
            data = os.read(self.proc.stdout.fileno(), 65536)
        except BlockingIOError:
            return
        if not data:
            return
        self._lines += data
        *lines, self._lines = self._lines.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            ev = json.loads(line)
            self.events.append(ev)
            if ev.get("ev") == "ready":
                self.ready = ev
            elif ev.get("ev") == "fatal":
                raise ZohError("zigbee-on-host: %s\n%s" % (ev.get("message"), self.log_tail()))

    def _pass(self):
        now = self.clock.ticks_us()
        self.medium.advance(max(self.medium.now, now))
        while True:
            try:
                data = self._sock.recv(65536)
            except BlockingIOError:
                break
            if not data:
                break
            self.rcp.feed(data)
        self.rcp.step(now)
        wait = 2000
        for s in self.steppers:
            w = s(now)
            if 0 <= w < wait:
                wait = w
        self.medium.advance(max(self.medium.now, self.clock.ticks_us()))
        self.rcp.step(self.medium.now)
        out = self.rcp.take_output()
        if out:
            self._sock.sendall(out)
        self._read_events()
        if self.rcp.busy() or self.medium.next_event() is not None:
            wait = min(wait, 200)
        select.select([self._sock, self.proc.stdout], [], [], wait / 1e6)

    def run(self, until=None, seconds=None, timeout=30.0):
        """Run the loop until until() is true (ZohError after `timeout` s) or, without
        until, for `seconds`."""
        end = time.monotonic() + (seconds if until is None and seconds is not None
                                  else timeout)
        while True:
            if until is not None and until():
                return
            if time.monotonic() >= end:
                if until is None:
                    return
                raise ZohError("timed out after %.1f s; zigbee-on-host log:\n%s"
                               % (timeout, self.log_tail()))
            if self.proc.poll() is not None and until is not None:
                self._read_events()
                if until():
                    return
                raise ZohError("zigbee-on-host exited (%s):\n%s"
                               % (self.proc.returncode, self.log_tail()))
            self._pass()

    def request(self, op, timeout=10.0, **kw):
        """Send a control request to zigbee-on-host; run the loop until its reply."""
        rid = self._next_id
        self._next_id += 1
        msg = dict(kw, op=op, id=rid)
        self._send(msg)
        box = []

        def got():
            for ev in self.events:
                if ev.get("ev") == "reply" and ev.get("id") == rid:
                    box.append(ev)
                    return True
            return False

        self.run(until=got, timeout=timeout)
        if "error" in box[0]:
            raise ZohError("%s: %s" % (op, box[0]["error"]))
        return box[0]

    # --- conveniences ------------------------------------------------------------------
    def devices(self):
        return self.request("devices")["devices"]

    def decode(self, frame_with_fcs):
        """zigbee-on-host's own MAC/NWK/APS decoding (and decryption) of a frame."""
        return self.request("decode", frame=bytes(frame_with_fcs).hex())["decoded"]

    def send_unicast(self, dst16, payload, profile=0x0104, cluster=0x0000, dst_ep=1,
                     src_ep=1, dst64=None):
        return self.request("unicast", dst16=dst16, payload=bytes(payload).hex(),
                            profile=profile, cluster=cluster, dstEp=dst_ep, srcEp=src_ep,
                            dst64=bytes(dst64).hex() if dst64 else None)

    def events_of(self, kind):
        return [e for e in self.events if e.get("ev") == kind]
