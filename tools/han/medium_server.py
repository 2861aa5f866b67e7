"""The simulated 802.15.4 medium as a server: nodes in other processes (firmware on
emulated boards through their UART2, host processes through a socket) join one air.

    python -m tools.han medium --listen PATH [--seconds S] [--pcap FILE] [--seed N] [--json]

Each connection is one node's radio link (wire format: firmware/han/bridge_proto.py). The
server holds a han.radio_sim.SimRadio for every link on a han.radio_sim.Medium that runs in
real time (microseconds since the server started): frames from a node are transmitted on
the medium when they arrive, what the node's transceiver receives (after filtering, with
auto-ACKs sent on the medium at aTurnaroundTime) goes back over the link, as do the end of
each transmission and every change of the channel's CCA/ED state. Nodes are placed 3 m
apart on a line in the order they connect (--spacing).
"""
import os
import select
import socket
import struct
import time

from tools import fwpath

fwpath.setup()
from han import bridge_proto as bp  # noqa: E402
from hal.radio import TX_ERR, TX_OK  # noqa: E402
from han import radio_sim  # noqa: E402
from han.pcap import PcapWriter  # noqa: E402

_OUT_LIMIT = 1 << 16  # bytes queued to a node that does not read: then frames are dropped


class Link:
    """One node's connection and its transceiver on the medium."""

    def __init__(self, sock, radio, index):
        self.sock = sock
        self.radio = radio
        self.index = index
        self.parser = bp.Deframer()
        self.out = bytearray()
        self.tx_pending = False
        self.cca = None  # (busy, ed) last reported
        self.ext = None
        self.hello = 0
        self.frames_in = 0  # frames the node transmitted
        self.frames_out = 0  # frames delivered to the node
        self.dropped = 0

    def send(self, kind, body):
        if len(self.out) > _OUT_LIMIT:
            self.dropped += 1
            return
        msg = bytearray(bp.MAX_MESSAGE)
        n = bp.encode(msg, kind, body, len(body))
        self.out += msg[:n]

    def flush(self):
        while self.out:
            try:
                n = self.sock.send(self.out)
            except (BlockingIOError, InterruptedError):
                return
            del self.out[:n]


class MediumServer:
    def __init__(self, path, seed=1, pcap=None, linktype=195, spacing=3.0, base_loss=0.0):
        self.path = path
        self.medium = radio_sim.Medium(seed=seed, base_loss=base_loss)
        self.spacing = spacing
        self.links = []
        self.closed_links = []
        self._t0 = time.monotonic_ns()
        self.pcap_path = pcap
        self._pcap_file = open(pcap, "wb") if pcap else None
        self.pcap = PcapWriter(self._pcap_file, linktype) if self._pcap_file else None
        self._wall0_us = int(time.time() * 1e6)
        if self.pcap:
            self.medium.sniffer = self._sniff
        if os.path.exists(path):
            os.remove(path)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(8)
        self.listener.setblocking(False)
        self._stop = False
        self._rxbuf = bytearray(radio_sim.fr.MAX_PHY_PACKET)
        self.connections = 0

    def now_us(self):
        return (time.monotonic_ns() - self._t0) // 1000

    def _sniff(self, t, frame, length, channel, rssi, lqi):
        self.pcap.write(self._wall0_us + t, frame, length, channel, rssi, lqi)

    # --- links -------------------------------------------------------------------------
    def _accept(self):
        try:
            sock, _ = self.listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        index = self.connections
        self.connections += 1
        radio = radio_sim.SimRadio(self.medium, (index * self.spacing, 0.0))
        self.links.append(Link(sock, radio, index))

    def _close(self, link):
        link.radio.off()
        self.medium.radios.remove(link.radio)
        self.links.remove(link)
        self.closed_links.append(link)
        link.sock.close()

    def _read(self, link):
        try:
            data = link.sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close(link)
            return
        for b in data:
            if link.parser.push(b):
                self._message(link, link.parser.kind, bytes(link.parser.body()))

    def _message(self, link, kind, body):
        r = link.radio
        if kind == bp.HELLO:  # the node's driver (re)started: a fresh transceiver
            r.reset()
            link.tx_pending = False
            link.cca = None
            link.hello += 1
        elif kind == bp.ON_OFF and body:
            (r.on if body[0] else r.off)()
        elif kind == bp.CHANNEL and body and 11 <= body[0] <= 26:
            r.set_channel(body[0])
            link.cca = None
        elif kind == bp.ADDRS and len(body) == 12:
            pan, short = struct.unpack(">HH", body[:4])
            r.set_addresses(pan, short, body[4:12])
            link.ext = body[4:12]
        elif kind == bp.PENDING and len(body) in (3, 9):
            addr = struct.unpack(">H", body[1:3])[0] if len(body) == 3 else body[1:9]
            r.set_ack_pending(addr, body[0] != 0)
        elif kind == bp.PROMISC and body:
            r.set_promiscuous(body[0] != 0)
        elif kind == bp.TX and 0 < len(body) <= 125:
            r.prepare(body, len(body))
            if r.transmit() == TX_OK:
                link.tx_pending = True
                link.frames_in += 1
            else:
                link.send(bp.TX_DONE, bytes([TX_ERR]))

    def _report(self, link):
        r = link.radio
        n = r.read(self._rxbuf)
        while n:
            rssi = int(round(r.last_rssi()))
            rssi = max(-128, min(127, rssi))
            link.send(bp.RX, bytes([rssi & 0xFF, r.last_lqi()]) + bytes(self._rxbuf[:n]))
            link.frames_out += 1
            n = r.read(self._rxbuf)
        if link.tx_pending and not r.tx_busy():
            link.tx_pending = False
            link.send(bp.TX_DONE, bytes([TX_OK]))
        cca = (1 if self.medium.busy_at(r, self.medium.now) else 0, r.energy_detect())
        if cca != link.cca:
            link.cca = cca
            link.send(bp.CCA, bytes(cca))

    # --- the loop ----------------------------------------------------------------------
    def step(self, max_wait_s=0.001):
        """Wait for input or the medium's next event (at most max_wait_s), then do
        everything due."""
        self.medium.advance(max(self.medium.now, self.now_us()))
        wait = max_wait_s
        nxt = self.medium.next_event()
        if nxt is not None:
            wait = min(wait, max(0.0, (nxt - self.medium.now) / 1e6))
        socks = [self.listener] + [link.sock for link in self.links]
        writers = [link.sock for link in self.links if link.out]
        readable, writable, _ = select.select(socks, writers, [], wait)
        self.medium.advance(max(self.medium.now, self.now_us()))
        for s in readable:
            if s is self.listener:
                self._accept()
                continue
            for link in self.links:
                if link.sock is s:
                    self._read(link)
                    break
        self.medium.advance(max(self.medium.now, self.now_us()))
        for link in list(self.links):
            self._report(link)
            try:
                link.flush()
            except OSError:
                self._close(link)

    def serve(self, seconds=None, stop=None):
        """Run until `seconds` have passed or stop() returns True."""
        end = None if seconds is None else time.monotonic() + seconds
        while not self._stop and (end is None or time.monotonic() < end):
            if stop is not None and stop():
                break
            self.step()

    def stop(self):
        self._stop = True

    def start_thread(self):
        """Serve from a thread of this process (tests, make run); shutdown() ends it."""
        import threading

        self._thread = threading.Thread(target=self.serve, daemon=True)
        self._thread.start()
        return self

    def shutdown(self):
        """Stop the thread start_thread() began, then close; summary() stays available."""
        self.stop()
        self._thread.join()
        self.close()

    def close(self):
        for link in list(self.links):
            self._close(link)
        self.listener.close()
        if os.path.exists(self.path):
            os.remove(self.path)
        if self._pcap_file:
            self._pcap_file.close()

    def flush_capture(self):
        """Write out what the capture holds so far (a reader of the live file)."""
        if self._pcap_file is not None and not self._pcap_file.closed:
            self._pcap_file.flush()

    def summary(self):
        links = self.closed_links + self.links
        return {
            "nodes": len(links),
            "frames_on_air": self.medium.transmissions,
            "collisions": self.medium.collisions,
            "lost": self.medium.lost,
            "pcap_frames": self.pcap.frames if self.pcap else 0,
            "links": [{"index": lk.index, "ext": lk.ext.hex() if lk.ext else None,
                       "frames_in": lk.frames_in, "frames_out": lk.frames_out,
                       "acks_sent": lk.radio.acks_sent, "dropped": lk.dropped,
                       "bad_messages": lk.parser.errors, "restarts": lk.hello}
                      for lk in sorted(links, key=lambda x: x.index)],
        }


class SocketStream:
    """A host node's end of a link: the stream interface han.radio_bridge.BridgeRadio
    reads (write, readinto -> n or None) over a connected socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.sock.setblocking(False)

    def write(self, buf):
        self.sock.setblocking(True)
        try:
            self.sock.sendall(buf)
        finally:
            self.sock.setblocking(False)
        return len(buf)

    def readinto(self, buf):
        try:
            n = self.sock.recv_into(buf)
        except (BlockingIOError, InterruptedError):
            return None
        return n or None

    def close(self):
        self.sock.close()
