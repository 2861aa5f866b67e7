# Sniffer mode (firmware/han/sniffer.py) over a stub radio: the radio is put in promiscuous
# mode on the channel, every frame goes to the pcap with its FCS recomputed and the TAP
# header's channel/RSSI/LQI; the file is parsed here by hand (libpcap format, IEEE 802.15.4
# TAP TLVs) and the FCS checked with a bitwise CRC-16/KERMIT. Tiers 1 and 2.
import struct

from support import crc16_reflected, lcg_bytes, raises

from hal.clock import FakeClock
from han.sniffer import Sniffer


class StubRadio:
    def __init__(self, frames):
        self.frames = list(frames)  # (psdu, rssi, lqi)
        self.calls = []
        self._rssi = 0
        self._lqi = 0

    def set_promiscuous(self, on):
        self.calls.append(("promiscuous", on))

    def set_channel(self, ch):
        self.calls.append(("channel", ch))

    def on(self):
        self.calls.append(("on",))

    def off(self):
        self.calls.append(("off",))

    def read(self, buf):
        if not self.frames:
            return 0
        psdu, self._rssi, self._lqi = self.frames.pop(0)
        buf[:len(psdu)] = psdu
        return len(psdu)

    def last_rssi(self):
        return self._rssi

    def last_lqi(self):
        return self._lqi


class Sink:
    def __init__(self):
        self.data = bytearray()

    def write(self, b):
        self.data += b
        return len(b)


def test_sniffer_writes_what_the_promiscuous_radio_hears():
    frames = [(b"\x02\x00\x2a", -71, 180), (bytes(lcg_bytes(125, seed=5)), -90, 20)]
    radio = StubRadio(frames)
    sink = Sink()
    clock = FakeClock(utc=1700000000)
    s = Sniffer(radio, sink, clock, 20)
    s.start()
    assert radio.calls == [("promiscuous", True), ("channel", 20), ("on",)]
    clock.advance_us(1500)
    assert s.step() == 2 and s.frames == 2 and s.step() == 0
    s.stop()
    assert radio.calls[-2:] == [("off",), ("promiscuous", False)]
    d = bytes(sink.data)
    magic, _, _, _, _, _, linktype = struct.unpack("<IHHiIII", d[:24])
    assert magic == 0xA1B2C3D4 and linktype == 283
    p = 24
    for psdu, rssi, lqi in frames:
        sec, usec, incl, orig = struct.unpack("<IIII", d[p:p + 16])
        assert (sec, usec) == (1700000000, 1500) and incl == orig
        rec = d[p + 16:p + 16 + incl]
        p += 16 + incl
        tap_len = struct.unpack("<H", rec[2:4])[0]
        tlvs = {}
        q = 4
        while q < tap_len:
            t, n = struct.unpack("<HH", rec[q:q + 4])
            tlvs[t] = rec[q + 4:q + 4 + n]
            q += 4 + n + (-n % 4)
        assert struct.unpack("<H", tlvs[3][:2])[0] == 20  # channel TLV
        assert abs(struct.unpack("<f", tlvs[1])[0] - rssi) < 1e-6  # RSS TLV
        assert tlvs[10][0] == lqi  # LQI TLV
        body = rec[tap_len:]
        assert body[:-2] == psdu
        assert body[-2] | body[-1] << 8 == crc16_reflected(psdu, 0x8408)  # CRC-16/KERMIT
    assert p == len(d)


def test_sniffer_refuses_a_channel_outside_the_band():
    raises(ValueError, Sniffer, StubRadio([]), Sink(), FakeClock(), 10)
