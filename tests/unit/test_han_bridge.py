# The UART bridge's wire format (firmware/han/bridge_proto.py) and the bridged radio
# (firmware/han/radio_bridge.py) over an in-memory stream standing in for the medium's
# server. Tiers 1 and 2.
from support import NoAllocation, crc16_reflected, lcg_bytes, raises

from hal.radio import TX_ERR, TX_OK
from han import bridge_proto as bp
from han.radio_bridge import BridgeRadio


def test_encode_layout_and_crc():
    out = bytearray(bp.MAX_MESSAGE)
    n = bp.encode(out, bp.CHANNEL, b"\x0f", 1)
    assert n == 6
    assert out[:4] == b"\xa5\x02\x43\x0f"
    c = crc16_reflected(out[:4], 0xA001)  # CRC-16/ARC
    assert out[4] == c & 0xFF and out[5] == c >> 8
    raises(ValueError, bp.encode, bytearray(200), bp.TX, bytes(140), 140)


def _feed(parser, data):
    got = []
    for b in data:
        if parser.push(b):
            got.append((parser.kind, bytes(parser.body())))
    return got


def test_deframer_finds_messages_among_noise_and_drops_bad_ones():
    out = bytearray(bp.MAX_MESSAGE)
    stream = bytearray()
    bodies = [lcg_bytes(n, seed=n + 1) for n in (0, 1, 12, 127)]
    for i, body in enumerate(bodies):
        stream += b"\x00\xa5\xff"  # noise, including a sync byte followed by a bad length
        n = bp.encode(out, bp.RX, body, len(body))
        msg = bytearray(out[:n])
        if i == 2:
            bad = bytearray(msg)
            bad[5] ^= 0x01  # a corrupted copy first: dropped, counted
            stream += bad
        stream += msg
    p = bp.Deframer()
    got = _feed(p, stream)
    assert got == [(bp.RX, bytes(b)) for b in bodies]
    assert p.messages == 4 and p.errors >= 2


def test_deframer_allocates_nothing():
    out = bytearray(bp.MAX_MESSAGE)
    n = bp.encode(out, bp.TX, lcg_bytes(100), 100)
    p = bp.Deframer()
    done = 0
    with NoAllocation():
        for i in range(n):
            if p.push(out[i]):
                done += 1
    assert done == 1 and p.length == 100


class LoopStream:
    """The server's end in memory: what the radio writes is parsed into `sent`; what the
    test queues with reply() is read back by the radio."""

    def __init__(self):
        self.sent = []
        self._parser = bp.Deframer()
        self._in = bytearray(2048)  # preallocated: reading allocates nothing
        self._r = 0
        self._w = 0
        self._out = bytearray(bp.MAX_MESSAGE)

    def write(self, buf):
        for b in bytes(buf):
            if self._parser.push(b):
                self.sent.append((self._parser.kind, bytes(self._parser.body())))
        return len(buf)

    def readinto(self, buf):
        n = 0
        while n < len(buf) and self._r < self._w:
            buf[n] = self._in[self._r]
            self._r += 1
            n += 1
        return n or None

    def reply(self, kind, body):
        n = bp.encode(self._out, kind, body, len(body))
        for i in range(n):
            self._in[self._w] = self._out[i]
            self._w += 1


def test_bridged_radio_speaks_the_protocol():
    s = LoopStream()
    r = BridgeRadio(s)
    assert s.sent == [(bp.HELLO, bytes(8))]  # a new driver: the server resets its side
    assert r.auto_ack() and r.latency_us > 0
    assert r.transmit() == TX_ERR  # receiver/transmitter off
    r.on()
    r.on()  # no state change: nothing sent
    r.set_channel(20)
    r.set_addresses(0x1A2B, 0x0001, bytes(range(1, 9)))
    r.set_ack_pending(0x0005, True)
    r.set_ack_pending(bytes(range(8)), False)
    assert s.sent[1:] == [(bp.ON_OFF, b"\x01"), (bp.CHANNEL, b"\x14"),
                          (bp.ADDRS, b"\x1a\x2b\x00\x01" + bytes(range(1, 9))),
                          (bp.PENDING, b"\x01\x00\x05"), (bp.PENDING, b"\x00" + bytes(range(8)))]
    raises(ValueError, r.set_channel, 27)
    # Transmit: busy until the medium reports the end of the frame.
    r.prepare(b"\x41\x88\x01\x2b\x1a\xff\xff\x01\x00\x3f", 10)
    assert r.transmit() == TX_OK and r.tx_busy()
    assert s.sent[-1] == (bp.TX, b"\x41\x88\x01\x2b\x1a\xff\xff\x01\x00\x3f")
    assert r.transmit() == TX_ERR  # one frame at a time
    s.reply(bp.TX_DONE, b"\x00")
    assert not r.tx_busy() and r.tx_status == TX_OK
    # Channel state as the medium reports it.
    assert r.channel_clear()
    s.reply(bp.CCA, b"\x01\x80")
    assert not r.channel_clear() and r.energy_detect() == 0x80
    # Received frames with RSSI (signed) and LQI, oldest first; the FIFO holds four.
    for i in range(6):
        s.reply(bp.RX, bytes([(-60 - i) & 0xFF, 200 + i]) + bytes([i]) * (5 + i))
    buf = bytearray(127)
    assert r.pending_packet()
    for i in range(4):
        n = r.read(buf)
        assert bytes(buf[:n]) == bytes([i]) * (5 + i)
        assert r.last_rssi() == -60 - i and r.last_lqi() == 200 + i
    assert r.read(buf) == 0 and r.rx_overflow == 2
    r.off()
    assert s.sent[-1] == (bp.ON_OFF, b"\x00")


def test_bridged_radio_receive_path_allocates_nothing():
    s = LoopStream()
    r = BridgeRadio(s)
    frame = lcg_bytes(120, seed=7)
    s.reply(bp.RX, b"\xc4\x99" + frame)
    buf = bytearray(127)
    with NoAllocation():
        n = r.read(buf)
    assert n == 120 and buf[:n] == frame and r.last_rssi() == -60


def test_bridged_radio_drops_psdus_longer_than_its_buffer():
    # aMaxPHYPacketSize is 127 with the FCS, which the medium removes: 125 bytes is the
    # longest frame; a 126- or 127-byte PSDU (the wire format has room for it) used to be
    # copied into the 125-byte receive buffer and raise IndexError.
    s = LoopStream()
    r = BridgeRadio(s)
    s.reply(bp.RX, b"\xc4\x99" + lcg_bytes(126, seed=3))
    s.reply(bp.RX, b"\xc4\x99" + lcg_bytes(127, seed=4))
    s.reply(bp.RX, b"\xc4\x99" + lcg_bytes(125, seed=5))
    buf = bytearray(127)
    assert r.read(buf) == 125 and buf[:125] == lcg_bytes(125, seed=5)
    assert r.read(buf) == 0
    assert r.rx_too_long == 2 and r.rx_overflow == 0
