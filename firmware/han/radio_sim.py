# Simulated IEEE 802.15.4 medium (2.4 GHz O-QPSK PHY) for host runs: many nodes in one
# process, driven by one microsecond time base that the caller advances (a FakeClock in
# tests and tools.han). Each node has a SimRadio (the hal.radio interface).
#
# Model (documented in docs/han.md):
# - airtime: (SHR 5 + PHR 1 + PSDU) octets x 2 symbols x 16 us (2020 12.1, 12.3);
# - transmit() starts the frame aTurnaroundTime (12 symbols) later: the RX-to-TX turnaround
#   after the CCA, the window in which two CSMA senders collide;
# - RSSI from distance: log-distance path loss, 40 dB at 1 m, exponent 3 (indoor);
#   frames below the sensitivity are not heard; LQI maps RSSI linearly onto 0..255 over
#   the ED range (sensitivity .. +50 dB);
# - loss: each reception is lost with probability base_loss, plus a margin-dependent part
#   within 10 dB of the sensitivity;
# - collisions: two transmissions on a channel that overlap in time destroy each other
#   at every receiver hearing both (no capture effect); each such frame is counted;
# - CCA (mode 1, energy above threshold, 2020 10.2.8) sees every transmission on air that
#   is heard above the CCA threshold;
# - half duplex: a transmitting radio hears nothing; a radio that is off hears nothing;
# - frame filtering and auto-ACK as transceivers do (2006 7.5.6.2 third-level filtering;
#   the ACK leaves aTurnaroundTime after the frame, 2006 7.5.6.4.2).
import math
import random

from micropython import const

from han.mac import frame as fr
from han.mac.fcs import append_fcs

SYMBOL_US = const(16)  # 2.4 GHz O-QPSK: 62.5 ksymbol/s (2020 12.1)
OCTET_US = const(32)  # 2 symbols per octet
TURNAROUND_US = const(192)  # aTurnaroundTime, 12 symbols (2006 Table 22)
SHR_PHR_OCTETS = const(6)  # preamble 4 + SFD 1 + PHR 1
SENSITIVITY_DBM = -95.0  # 2020 12.3.4 asks for -85 dBm or better; common chips reach -95..-101
CCA_THRESHOLD_DBM = -85.0  # 2020 10.2.8: ED threshold at most 10 dB above sensitivity (-85)
TX_POWER_DBM = 0.0
_RX_QUEUE = const(4)  # frames a radio's receive FIFO holds


class Rng:
    """random.Random's random() and getrandbits() where MicroPython has no Random class
    (tier 2): xorshift32 (Marsaglia 2003), deterministic from the seed."""

    def __init__(self, seed=1):
        self._x = (seed * 2654435761 + 1) & 0xFFFFFFFF or 1

    def _next(self):
        x = self._x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self._x = x
        return x

    def getrandbits(self, k):
        v = 0
        got = 0
        while got < k:
            v = (v << 32) | self._next()
            got += 32
        return v >> (got - k)

    def random(self):
        return self._next() / 4294967296.0


def make_rng(seed):
    """random.Random(seed) on CPython (the simulator's figures depend on it), Rng on
    MicroPython."""
    cls = getattr(random, "Random", None)
    return cls(seed) if cls is not None else Rng(seed)


def airtime_us(psdu_len):
    return (SHR_PHR_OCTETS + psdu_len) * OCTET_US


class _Transmission:
    def __init__(self, radio, start, frame, channel):
        self.radio = radio
        self.start = start
        self.end = start + airtime_us(len(frame))
        self.frame = frame  # bytes, PSDU with FCS
        self.channel = channel
        self.collided = False


class Medium:
    """The shared air. advance(now) processes everything that happens up to `now`."""

    def __init__(self, seed=1, base_loss=0.0, exponent=3.0):
        self.rng = make_rng(seed)
        self.base_loss = base_loss
        self.exponent = exponent
        self.radios = []
        self.now = 0
        self._on_air = []  # transmissions started or scheduled, not yet ended
        self._history = []  # recently ended transmissions (for overlap checks)
        self.sniffer = None  # callable(time_us, frame, length, channel, rssi, lqi)
        self.sniffer_position = (0.0, 0.0)
        self.transmissions = 0
        self.collisions = 0  # transmissions destroyed by an overlapping one
        self.lost = 0  # receptions lost to the random/margin loss model

    def add(self, radio):
        self.radios.append(radio)

    def rssi(self, a, b):
        d = math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2)
        if d < 1.0:
            d = 1.0
        return TX_POWER_DBM - 40.0 - 10.0 * self.exponent * math.log10(d)

    @staticmethod
    def lqi(rssi):
        v = int((rssi - SENSITIVITY_DBM) * 255 / 50)
        return 0 if v < 0 else 255 if v > 255 else v

    def start_tx(self, radio, frame, delay_us):
        t = _Transmission(radio, self.now + delay_us, frame, radio.channel)
        self._on_air.append(t)
        self.transmissions += 1
        return t

    def busy_at(self, radio, now):
        """Energy on radio's channel at `now` above the CCA threshold (from others)."""
        for t in self._on_air:
            if (t.radio is not radio and t.channel == radio.channel and t.start <= now < t.end
                    and self.rssi(t.radio.position, radio.position) >= CCA_THRESHOLD_DBM):
                return True
        return False

    def energy_at(self, radio, now):
        best = -200.0
        for t in self._on_air:
            if t.radio is not radio and t.channel == radio.channel and t.start <= now < t.end:
                r = self.rssi(t.radio.position, radio.position)
                if r > best:
                    best = r
        return best

    def next_event(self):
        """Absolute time of the next transmission start or end, or None."""
        best = None
        for t in self._on_air:
            e = t.start if t.start > self.now else t.end
            if best is None or e < best:
                best = e
        return best

    def advance(self, now):
        while True:
            nxt = self.next_event()
            if nxt is None or nxt > now:
                break
            self.now = nxt
            for t in list(self._on_air):
                if t.start == nxt:
                    self._begin(t)
            for t in list(self._on_air):
                if t.end == nxt:
                    self._on_air.remove(t)
                    self._finish(t)
        self.now = now

    def _begin(self, t):
        # Collision bookkeeping at the start: any other frame on air on the channel.
        for o in self._on_air:
            if o is not t and o.channel == t.channel and o.start < t.end and t.start < o.end:
                if not o.collided:
                    o.collided = True
                    self.collisions += 1
                if not t.collided:
                    t.collided = True
                    self.collisions += 1
        if self.sniffer:
            r = self.rssi(t.radio.position, self.sniffer_position)
            self.sniffer(t.start, t.frame, len(t.frame), t.channel, r, self.lqi(r))

    def _overlapped_at(self, t, rx):
        # Destroyed at rx when another transmission rx can hear overlapped it.
        for group in (self._on_air, self._history):
            for o in group:
                if (o is not t and o.channel == t.channel and o.start < t.end
                        and t.start < o.end and o.radio is not rx
                        and self.rssi(o.radio.position, rx.position) >= SENSITIVITY_DBM):
                    return True
        return False

    def _finish(self, t):
        self._history.append(t)
        if len(self._history) > 16:
            self._history.pop(0)
        for rx in self.radios:
            if rx is t.radio or not rx.enabled or rx.channel != t.channel:
                continue
            if rx.transmitting_during(t.start, t.end):
                continue
            r = self.rssi(t.radio.position, rx.position)
            if r < SENSITIVITY_DBM:
                continue
            if t.collided and self._overlapped_at(t, rx):
                continue
            margin = r - SENSITIVITY_DBM
            p = self.base_loss + (0.5 * (10.0 - margin) / 10.0 if margin < 10.0 else 0.0)
            if p > 0 and self.rng.random() < p:
                self.lost += 1
                continue
            rx.deliver(t.frame, r, self.lqi(r), t.end)


class SimRadio:
    """A transceiver on the Medium: frame filtering, auto-ACK with a pending-source table,
    a small receive FIFO. Frames in and out without FCS (hal.radio)."""

    def __init__(self, medium, position, channel=11):
        self.medium = medium
        self.position = position
        self.channel = channel
        self.enabled = False
        self.pan_id = 0xFFFF
        self.short_addr = 0xFFFE
        self.ext_addr = bytearray(8)
        self._txbuf = bytearray(fr.MAX_PHY_PACKET)
        self._txlen = 0
        self._tx = None  # the current transmission
        self._tx_spans = []  # (start, end) of recent own transmissions (half duplex)
        self._rxq = []  # (frame bytes without FCS, rssi, lqi)
        self._pending = set()
        self._f = fr.FrameFields()
        self._rssi = -127.0
        self._lqi = 0
        self.rx_overflow = 0
        self.acks_sent = 0
        self.promiscuous = False
        medium.add(self)

    # --- hal.radio interface -----------------------------------------------------------
    def on(self):
        self.enabled = True

    def off(self):
        self.enabled = False

    def prepare(self, frame, length):
        if length + 2 > fr.MAX_PHY_PACKET:
            raise ValueError("frame longer than aMaxPHYPacketSize (127)")
        for i in range(length):
            self._txbuf[i] = frame[i]
        self._txlen = length

    def transmit(self):
        from hal.radio import TX_ERR, TX_OK
        if not self.enabled or self.tx_busy():
            return TX_ERR
        self._send(bytes(self._txbuf[:self._txlen]), TURNAROUND_US)
        return TX_OK

    def tx_busy(self):
        return self._tx is not None and self._tx.end > self.medium.now

    def read(self, buf):
        if not self._rxq:
            return 0
        data, self._rssi, self._lqi = self._rxq.pop(0)
        n = len(data)
        buf[:n] = data
        return n

    def pending_packet(self):
        return bool(self._rxq)

    def channel_clear(self):
        return not self.medium.busy_at(self, self.medium.now)

    def energy_detect(self):
        # ED value 0..255 over at least 40 dB from 10 dB above sensitivity (2020 10.2.6).
        e = self.medium.energy_at(self, self.medium.now)
        v = int((e - (SENSITIVITY_DBM + 10.0)) * 255 / 40)
        return 0 if v < 0 else 255 if v > 255 else v

    def set_channel(self, channel):
        if not 11 <= channel <= 26:
            raise ValueError("2.4 GHz O-QPSK channels are 11..26")
        self.channel = channel

    def set_addresses(self, pan_id, short_addr, ext_addr):
        self.pan_id = pan_id
        self.short_addr = short_addr
        self.ext_addr[:] = ext_addr

    def auto_ack(self):
        return True

    def last_rssi(self):
        return self._rssi

    def last_lqi(self):
        return self._lqi

    def set_promiscuous(self, on):
        self.promiscuous = bool(on)

    def reset(self):
        """Back to power-on state: off, receive FIFO and pending table empty, filtering on
        (the medium server does this when a bridged node's driver starts again)."""
        self.enabled = False
        self.promiscuous = False
        self._rxq.clear()
        self._pending.clear()

    def set_ack_pending(self, addr, on):
        key = addr if isinstance(addr, int) else bytes(addr)
        if on:
            self._pending.add(key)
        else:
            self._pending.discard(key)

    # --- medium side -------------------------------------------------------------------
    def _send(self, psdu, delay):
        frame = bytearray(len(psdu) + 2)
        frame[:len(psdu)] = psdu
        append_fcs(frame, len(psdu))
        self._tx = self.medium.start_tx(self, bytes(frame), delay)
        self._tx_spans.append((self._tx.start, self._tx.end))
        if len(self._tx_spans) > 4:
            self._tx_spans.pop(0)

    def transmitting_during(self, start, end):
        for s, e in self._tx_spans:
            if s < end and start < e:
                return True
        return False

    def _accept(self, f):
        # Third-level filtering (2006 7.5.6.2): PAN and address must match or be broadcast.
        if f.frame_type == fr.FT_ACK:
            return True
        if f.frame_type == fr.FT_BEACON:
            return self.pan_id == 0xFFFF or f.src_pan in (self.pan_id, 0xFFFF)
        if f.dst_pan >= 0 and f.dst_pan not in (self.pan_id, 0xFFFF):
            return False
        if f.dst_mode == fr.ADDR_SHORT:
            return f.dst_addr in (self.short_addr, 0xFFFF)
        if f.dst_mode == fr.ADDR_EXT:
            return f.dst_ext == self.ext_addr
        # No destination: only frames to the PAN coordinator (2006 7.5.6.2 last item).
        return self.short_addr == 0x0000 and f.src_pan == self.pan_id

    def deliver(self, frame, rssi, lqi, end):
        if self.promiscuous:  # everything with a good FCS, nothing acknowledged
            self._queue(frame, rssi, lqi)
            return
        f = self._f
        if fr.decode(frame, len(frame), f, True) != fr.OK or not self._accept(f):
            return
        if f.ack_request and f.frame_type != fr.FT_ACK and not (
                f.dst_mode == fr.ADDR_SHORT and f.dst_addr == 0xFFFF):
            key = f.src_addr if f.src_mode == fr.ADDR_SHORT else bytes(f.src_ext)
            ack = bytearray(3)
            fr.encode_imm_ack(ack, f.seq, key in self._pending)
            # The ACK goes out aTurnaroundTime after the frame's last symbol (2006 7.5.6.4.2).
            self._send(bytes(ack), end + TURNAROUND_US - self.medium.now)
            self.acks_sent += 1
        self._queue(frame, rssi, lqi)

    def _queue(self, frame, rssi, lqi):
        if len(self._rxq) >= _RX_QUEUE:
            self.rx_overflow += 1
            return
        self._rxq.append((frame[:-2], rssi, lqi))


def advance(medium, clock, t, nxt, end):
    """One step of a simulation loop on a shared FakeClock: from t to the earliest of nxt
    (the nodes' next wake), the medium's next event and end, and at least 1 us on (a
    node whose wait is 0 is stepped again at the next microsecond). Returns the new t."""
    ev = medium.next_event()
    if ev is not None and ev < nxt:
        nxt = ev
    nxt = min(max(nxt, t + 1), end)
    clock.advance_us(nxt - t)
    return nxt
