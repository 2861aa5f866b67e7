# Sniffer mode: a radio in promiscuous mode (hal.radio set_promiscuous: no address
# filtering, no acknowledgements) on one channel, every frame it hears written to a pcap
# (han/pcap.py) with the channel, RSSI and LQI it was heard with (LINKTYPE 283, the TAP
# header) or bare (195). On a board this is the HAN radio listening for an
# interoperability session; on the host, a node of the simulated medium
# (python -m tools.han sniff). It never transmits.
#
# Radios hand frames over without their FCS (they checked it); the pcap link types carry
# it, so it is recomputed (CRC-16/KERMIT, han/mac/fcs.py) into a preallocated buffer.
# Per frame nothing is allocated but the microsecond timestamp (a long integer on 32-bit
# ports) and what the output stream does.
from micropython import const

from han.mac.fcs import append_fcs
from han.pcap import LINKTYPE_IEEE802_15_4_TAP, PcapWriter

_MAX_PSDU = const(127)
_REBASE_US = const(60000000)


class Sniffer:
    """radio: a hal.radio driver. stream: where the pcap goes (write()). clock: the board's
    (time_ms() gives the capture's timestamps, wall time)."""

    def __init__(self, radio, stream, clock, channel, linktype=LINKTYPE_IEEE802_15_4_TAP):
        if not 11 <= channel <= 26:
            raise ValueError("2.4 GHz O-QPSK channels are 11..26")
        self.radio = radio
        self.clock = clock
        self.channel = channel
        self.writer = PcapWriter(stream, linktype)
        self._buf = bytearray(_MAX_PSDU)
        self.frames = 0
        # Timestamps: wall time at a tick base plus the microsecond ticks since (the wall
        # clock has millisecond resolution; a frame and its ACK are 200 us apart).
        self._base_us = 0
        self._base_ticks = 0

    def _now_us(self):
        c = self.clock
        now = c.ticks_us()
        elapsed = c.ticks_diff(now, self._base_ticks)
        if elapsed >= _REBASE_US:  # well inside the ticks' half period (2**29 us)
            self._base_us += elapsed
            self._base_ticks = now
            elapsed = 0
        return self._base_us + elapsed

    def start(self):
        self._base_us = self.clock.time_ms() * 1000
        self._base_ticks = self.clock.ticks_us()
        r = self.radio
        r.set_promiscuous(True)
        r.set_channel(self.channel)
        r.on()

    def stop(self):
        self.radio.off()
        self.radio.set_promiscuous(False)

    def step(self):
        """Write every frame the radio holds; return how many."""
        r = self.radio
        buf = self._buf
        n = 0
        while True:
            length = r.read(buf)
            if not length:
                return n
            if length > _MAX_PSDU - 2:
                continue  # cannot be: aMaxPHYPacketSize bounds PSDU + FCS
            append_fcs(buf, length)
            self.writer.write(self._now_us(), buf, length + 2, self.channel,
                              r.last_rssi(), r.last_lqi())
            n += 1
            self.frames += 1

    async def run(self, seconds=None, poll_ms=2):
        from hal.aio import sleep_ms

        self.start()
        start = self.clock.ticks_ms()
        while seconds is None or self.clock.ticks_diff(self.clock.ticks_ms(), start) < \
                seconds * 1000:
            self.step()
            await sleep_ms(poll_ms)
        self.stop()
