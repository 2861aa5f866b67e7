# A radio driver whose air is the simulated medium's server (tools/han/medium_server.py)
# at the other end of a byte stream: UART2 on the emulated board (QEMU connects it to the
# server's socket), or a socket for a host process. Wire format: han/bridge_proto.py.
#
# The server keeps a simulated transceiver (han/radio_sim.SimRadio) for each link: it
# filters frames, sends auto-ACKs at the right time on the medium (with the frame-pending
# bit from the table this driver fills) and reports the channel state. This side mirrors
# that state: every call first reads what the stream holds (poll), so the polled MAC
# needs no interrupt. Frames reach the MAC later than over SPI: the MAC's waits grow by
# latency_us (Mac(..., extra_wait_us=radio.latency_us)), the only difference it sees.
from micropython import const

from hal.radio import TX_ERR, TX_OK
from han import bridge_proto as bp

# Hand-over latency allowed for (milliseconds of UART and emulator scheduling, each way).
LATENCY_US = const(60000)
_RX_FRAMES = const(4)  # receive FIFO depth, as a transceiver's frame buffers
_PSDU_MAX = const(125)  # aMaxPHYPacketSize 127 less the FCS


class BridgeRadio:
    """hal.radio interface over a stream with write(buf) and readinto(buf) -> n or None."""

    def __init__(self, stream, latency_us=LATENCY_US):
        self._stream = stream
        self.latency_us = latency_us
        self._parser = bp.Deframer()
        self._in = bytearray(32)
        self._out = bytearray(bp.MAX_MESSAGE)
        self._outmv = memoryview(self._out)
        self._small = bytearray(12)
        self._txbuf = bytearray(_PSDU_MAX)
        self._txlen = 0
        self._rx = [bytearray(_PSDU_MAX) for _ in range(_RX_FRAMES)]
        self._rx_len = bytearray(_RX_FRAMES)
        self._rx_rssi = [0] * _RX_FRAMES
        self._rx_lqi = bytearray(_RX_FRAMES)
        self._rx_head = 0
        self._rx_count = 0
        self.channel = 11
        self.enabled = False
        self._tx_busy = False
        self.tx_status = TX_OK  # status of the last transmission the medium reported
        self._busy = False
        self._ed = 0
        self._rssi = -127
        self._lqi = 0
        self.rx_overflow = 0
        self.rx_too_long = 0  # RX messages whose PSDU exceeds _PSDU_MAX (dropped)
        self._send(bp.HELLO, self._small, 8)  # a new radio: the server forgets the old one

    # --- the stream --------------------------------------------------------------------
    def _send(self, kind, body, length):
        n = bp.encode(self._out, kind, body, length)
        self._stream.write(self._outmv[:n])

    def poll(self):
        """Take in everything the stream holds; act on each complete message."""
        parser = self._parser
        buf = self._in
        while True:
            n = self._stream.readinto(buf)
            if not n:
                return
            for i in range(n):
                if parser.push(buf[i]):
                    self._message(parser.kind, parser.buf, parser.length)

    def _message(self, kind, m, length):
        # The body starts at m[BODY] (the parser's buffer: no view, nothing allocated).
        b = bp.BODY
        if kind == bp.RX:
            if length < 3:
                return
            if length - 2 > _PSDU_MAX:
                # A PSDU of 126..127 bytes without FCS cannot be a frame (aMaxPHYPacketSize
                # 127 includes the 2-byte FCS, 2006 Table 22) and would overrun the
                # receive buffer: dropped and counted, never copied.
                self.rx_too_long += 1
                return
            if self._rx_count >= _RX_FRAMES:
                self.rx_overflow += 1
                return
            k = (self._rx_head + self._rx_count) % _RX_FRAMES
            frame = self._rx[k]
            n = length - 2
            for i in range(n):
                frame[i] = m[b + 2 + i]
            self._rx_len[k] = n
            r = m[b]
            self._rx_rssi[k] = r - 256 if r > 127 else r
            self._rx_lqi[k] = m[b + 1]
            self._rx_count += 1
        elif kind == bp.TX_DONE and length >= 1:
            self._tx_busy = False
            self.tx_status = m[b]
        elif kind == bp.CCA and length >= 2:
            self._busy = m[b] != 0
            self._ed = m[b + 1]

    # --- hal.radio interface -----------------------------------------------------------
    def on(self):
        if not self.enabled:
            self.enabled = True
            self._small[0] = 1
            self._send(bp.ON_OFF, self._small, 1)

    def off(self):
        if self.enabled:
            self.enabled = False
            self._small[0] = 0
            self._send(bp.ON_OFF, self._small, 1)

    def prepare(self, frame, length):
        if length > _PSDU_MAX:
            raise ValueError("frame longer than aMaxPHYPacketSize (127)")
        for i in range(length):
            self._txbuf[i] = frame[i]
        self._txlen = length

    def transmit(self):
        self.poll()
        if not self.enabled or self._tx_busy:
            return TX_ERR
        self._tx_busy = True
        self._send(bp.TX, self._txbuf, self._txlen)
        return TX_OK

    def tx_busy(self):
        self.poll()
        return self._tx_busy

    def read(self, buf):
        self.poll()
        if not self._rx_count:
            return 0
        k = self._rx_head
        n = self._rx_len[k]
        frame = self._rx[k]
        for i in range(n):
            buf[i] = frame[i]
        self._rssi = self._rx_rssi[k]
        self._lqi = self._rx_lqi[k]
        self._rx_head = (k + 1) % _RX_FRAMES
        self._rx_count -= 1
        return n

    def pending_packet(self):
        self.poll()
        return self._rx_count > 0

    def channel_clear(self):
        self.poll()
        return not self._busy

    def energy_detect(self):
        self.poll()
        return self._ed

    def set_channel(self, channel):
        if not 11 <= channel <= 26:
            raise ValueError("2.4 GHz O-QPSK channels are 11..26")
        self.channel = channel
        self._busy = False  # until the medium reports the new channel's state
        self._ed = 0
        self._small[0] = channel
        self._send(bp.CHANNEL, self._small, 1)

    def set_addresses(self, pan_id, short_addr, ext_addr):
        s = self._small
        s[0] = pan_id >> 8
        s[1] = pan_id & 0xFF
        s[2] = short_addr >> 8
        s[3] = short_addr & 0xFF
        for i in range(8):
            s[4 + i] = ext_addr[i]
        self._send(bp.ADDRS, s, 12)

    def auto_ack(self):
        return True  # the medium's transceiver for this link acknowledges

    def last_rssi(self):
        return self._rssi

    def last_lqi(self):
        return self._lqi

    def set_promiscuous(self, on):
        self._small[0] = 1 if on else 0
        self._send(bp.PROMISC, self._small, 1)

    def set_ack_pending(self, addr, on):
        s = self._small
        s[0] = 1 if on else 0
        if isinstance(addr, int):
            s[1] = addr >> 8
            s[2] = addr & 0xFF
            self._send(bp.PENDING, s, 3)
        else:
            for i in range(8):
                s[1 + i] = addr[i]
            self._send(bp.PENDING, s, 9)
