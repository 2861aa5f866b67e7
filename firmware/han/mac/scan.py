# Channel scans (IEEE 802.15.4-2006 7.5.2.1): energy detection and active scan over a
# channel mask, as a polled state machine driven by the role that owns the MAC.
#
# Each channel is scanned for aBaseSuperframeDuration x (2^n + 1) symbols, n = ScanDuration
# (0..14, 2006 7.1.11.1). Energy detection keeps the largest ED value read on each channel
# (7.5.2.1.1); it samples every ED_SAMPLE_US, one unit backoff period, which no frame is
# shorter than (the shortest PPDU, an ACK, lasts 11 octets = 352 us). Active scan sends a
# beacon request on each channel and collects the beacons heard as PAN descriptors
# (7.5.2.1.2), at most `max_pans`, one per (channel, PAN ID, coordinator address).
from micropython import const

from han.mac import cmdframes
from han.mac import commands as cmd
from han.mac import frame as fr

A_BASE_SUPERFRAME_SYMBOLS = const(960)  # aBaseSuperframeDuration, 2006 Table 85
SYMBOL_US = const(16)  # 2.4 GHz O-QPSK
ED_SAMPLE_US = const(320)
FIRST_CHANNEL = const(11)
LAST_CHANNEL = const(26)

IDLE = const(0)
ED = const(1)
ACTIVE = const(2)


def channel_time_us(duration):
    """Time spent on each channel for ScanDuration `duration`."""
    return A_BASE_SUPERFRAME_SYMBOLS * SYMBOL_US * ((1 << duration) + 1)


class Scanner:
    def __init__(self, mac, max_pans=8):
        self.mac = mac
        self.radio = mac.radio
        self.clock = mac.clock
        self.state = IDLE
        self.mask = 0
        self.channel = 0
        self._dwell = 0
        self._until = 0
        self._next_sample = 0
        # energy[ch] for ch in 11..26; 0 for channels not scanned.
        self.energy = bytearray(LAST_CHANNEL + 1)
        # PAN descriptors (2006 Table 55, the fields we use).
        self.n_pans = 0
        self.pan_id = [0] * max_pans
        self.pan_channel = bytearray(max_pans)
        self.coord_short = [0] * max_pans  # 0xFFFE when the beacon came from an ext address
        self.coord_ext = [bytearray(8) for _ in range(max_pans)]
        self.lqi = bytearray(max_pans)
        self.permit = bytearray(max_pans)
        self.beacons = 0
        self._bf = cmd.BeaconFields()
        self._f = fr.FrameFields()
        self._buf = bytearray(24)

    @property
    def done(self):
        return self.state == IDLE

    def start_ed(self, mask, duration, now):
        for ch in range(len(self.energy)):
            self.energy[ch] = 0
        self._start(ED, mask, duration, now)

    def start_active(self, mask, duration, now):
        self.n_pans = 0
        self.mac.on_beacon = self._on_beacon
        self._start(ACTIVE, mask, duration, now)

    def _start(self, kind, mask, duration, now):
        self.state = kind
        self.mask = mask
        self._dwell = channel_time_us(duration)
        self.channel = FIRST_CHANNEL - 1
        self.mac.hold_rx = True
        self.radio.on()
        self._next_channel(now)

    def _next_channel(self, now):
        ch = self.channel + 1
        while ch <= LAST_CHANNEL and not (self.mask >> ch) & 1:
            ch += 1
        if ch > LAST_CHANNEL:
            self.state = IDLE
            self.mac.hold_rx = False
            return
        self.channel = ch
        self.radio.set_channel(ch)
        self._until = self.clock.ticks_add(now, self._dwell)
        self._next_sample = now
        if self.state == ACTIVE:
            n = cmdframes.beacon_request(self._f, self._buf)
            self.mac.send_frame(self._buf, n, now)

    def step(self, now):
        """Advance the scan; returns microseconds until the next call is due, -1 if idle."""
        if self.state == IDLE:
            return -1
        diff = self.clock.ticks_diff
        while self.state != IDLE and diff(now, self._until) >= 0:
            self._next_channel(now)
        if self.state == IDLE:
            return -1
        if self.state == ED:
            if diff(now, self._next_sample) >= 0:
                e = self.radio.energy_detect()
                if e > self.energy[self.channel]:
                    self.energy[self.channel] = e
                self._next_sample = self.clock.ticks_add(now, ED_SAMPLE_US)
            d = diff(self._next_sample, now)
            u = diff(self._until, now)
            return d if d < u else u
        return diff(self._until, now)

    def _on_beacon(self, f, buf, lqi):
        if self.state != ACTIVE or f.src_mode == fr.ADDR_NONE:
            return
        b = self._bf
        if cmd.decode_beacon(buf, f.header_len, f.length, b) < 0:
            return
        self.beacons += 1
        short = f.src_addr if f.src_mode == fr.ADDR_SHORT else cmdframes.NO_SHORT
        for i in range(self.n_pans):
            if (self.pan_id[i] == f.src_pan and self.pan_channel[i] == self.channel
                    and self.coord_short[i] == short
                    and (short != cmdframes.NO_SHORT or self.coord_ext[i] == f.src_ext)):
                if lqi > self.lqi[i]:
                    self.lqi[i] = lqi
                return
        i = self.n_pans
        if i >= len(self.pan_id):
            return  # table full (2006 7.5.2.1.2: LIMIT_REACHED)
        self.n_pans = i + 1
        self.pan_id[i] = f.src_pan
        self.pan_channel[i] = self.channel
        self.coord_short[i] = short
        e = self.coord_ext[i]
        for j in range(8):
            e[j] = f.src_ext[j] if short == cmdframes.NO_SHORT else 0
        self.lqi[i] = lqi
        self.permit[i] = 1 if b.association_permit else 0

    def quietest_channel(self):
        """The scanned channel with the lowest energy (lowest number on a tie)."""
        best = -1
        for ch in range(FIRST_CHANNEL, LAST_CHANNEL + 1):
            if (self.mask >> ch) & 1 and (best < 0 or self.energy[ch] < self.energy[best]):
                best = ch
        return best

    def pan_in_use(self, pan_id):
        for i in range(self.n_pans):
            if self.pan_id[i] == pan_id:
                return True
        return False

    def best_coordinator(self):
        """Index of the PAN descriptor permitting association with the best LQI, or -1."""
        best = -1
        for i in range(self.n_pans):
            if self.permit[i] and (best < 0 or self.lqi[i] > self.lqi[best]):
                best = i
        return best
