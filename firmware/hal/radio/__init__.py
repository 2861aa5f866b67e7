# IEEE 802.15.4 radio driver interface.
#
# The shape follows Contiki-NG's os/dev/radio.h: a frame is prepared into the driver, then
# transmitted; received frames are read out by the caller into its own buffer. Frames cross
# this interface without their FCS: the radio appends it on transmit and checks (and drops
# bad) frames on receive, as 802.15.4 transceivers do. Return codes are the constants below.
#
# Transmission is asynchronous so that the MAC can be a polled state machine: transmit()
# starts sending the prepared frame and returns TX_OK at once; tx_busy() stays True until
# the last symbol is on air. A radio that acknowledges by itself (auto_ack() True) sends the
# acknowledgement aTurnaroundTime after a frame addressed to it with the AR bit set, with
# the frame pending bit taken from its pending-source table (set_ack_pending), the way
# transceivers with source address matching do; the MAC waits for and reads ACK frames.
# A radio may instead run CSMA-CA, the ACK wait and the retransmissions itself (MRF24J40's
# TXNCON with TXNACKREQ): it then offers tx_waits_ack() -> True, tx_busy() lasts until its
# retries are over, tx_status() (TX_OK, TX_NOACK, TX_COLLISION for a busy channel),
# tx_ack_pending() and tx_retries() describe the outcome, and ACK frames never reach
# read(). han/mac/csma.py takes either kind.
#
# Drivers: NullRadio here; han.radio_sim.SimRadio (simulated medium, host);
# han.radio_bridge.BridgeRadio (UART bridge to the medium's server);
# hal.radio.mrf24j40.Mrf24j40 (Microchip MRF24J40MA over SPI, docs/han-mrf24j40.md; board
# wiring in hal.radio.wiring).

TX_OK = 0
TX_ERR = 1
TX_COLLISION = 2
TX_NOACK = 3


class Radio:
    """Interface every radio driver implements (methods raise until overridden)."""

    def on(self):
        raise NotImplementedError

    def off(self):
        raise NotImplementedError

    def prepare(self, frame, length):
        """Copy `length` bytes of `frame` (PSDU without FCS) into the transmit buffer."""
        raise NotImplementedError

    def transmit(self):
        """Send the prepared frame; return one of the TX_* codes."""
        raise NotImplementedError

    def read(self, buf):
        """Copy the oldest received frame into `buf`; return its length, 0 if none."""
        raise NotImplementedError

    def pending_packet(self):
        raise NotImplementedError

    def channel_clear(self):
        """Clear channel assessment: True when the medium is idle."""
        raise NotImplementedError

    def energy_detect(self):
        """Energy on the current channel, 0..255 (IEEE 802.15.4-2020 10.2.6)."""
        raise NotImplementedError

    def set_channel(self, channel):
        raise NotImplementedError

    def set_addresses(self, pan_id, short_addr, ext_addr):
        raise NotImplementedError

    def auto_ack(self):
        """True when the radio sends acknowledgements by itself."""
        raise NotImplementedError

    def tx_busy(self):
        """True from transmit() until the frame has left the antenna."""
        raise NotImplementedError

    def last_rssi(self):
        """RSSI of the last frame read(), dBm."""
        raise NotImplementedError

    def last_lqi(self):
        """Link quality of the last frame read(), 0..255 (IEEE 802.15.4-2020 10.2.7)."""
        raise NotImplementedError

    def set_promiscuous(self, on):
        """Sniffer mode (Contiki-NG: address filter and auto-ACK off): every frame with a
        good FCS is received, whatever its addressing, and nothing is acknowledged."""
        raise NotImplementedError

    def set_ack_pending(self, addr, on):
        """Mark whether auto-ACKs to source `addr` (short address int, or 8-byte extended
        address, most significant byte first) carry frame pending = 1 (indirect data
        queued for it). A radio without a source table sets one global bit."""
        raise NotImplementedError


class NullRadio(Radio):
    """A radio with nothing on the air: accepts frames, never receives, channel always clear."""

    def __init__(self):
        self.channel = 11
        self.sent = 0
        self.enabled = False

    def on(self):
        self.enabled = True

    def off(self):
        self.enabled = False

    def prepare(self, frame, length):
        if length > 127:
            raise ValueError("frame longer than aMaxPhyPacketSize (127)")

    def transmit(self):
        if not self.enabled:
            return TX_ERR
        self.sent += 1
        return TX_OK

    def read(self, buf):
        return 0

    def pending_packet(self):
        return False

    def channel_clear(self):
        return True

    def energy_detect(self):
        return 0

    def set_channel(self, channel):
        if not 11 <= channel <= 26:
            raise ValueError("2.4 GHz O-QPSK channels are 11..26")
        self.channel = channel

    def set_addresses(self, pan_id, short_addr, ext_addr):
        pass

    def auto_ack(self):
        return False

    def tx_busy(self):
        return False

    def last_rssi(self):
        return -127

    def last_lqi(self):
        return 0

    def set_ack_pending(self, addr, on):
        pass

    def set_promiscuous(self, on):
        pass
