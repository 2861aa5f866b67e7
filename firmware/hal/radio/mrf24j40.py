# Microchip MRF24J40 (the MRF24J40MA module) IEEE 802.15.4 2.4 GHz transceiver on SPI: the
# hal.radio interface at register level. Facts from Microchip DS39776C, "MRF24J40 Data
# Sheet" (2010); registers and values in hal/radio/mrf24j40_regs.py; wiring, design and the
# fake chip the tests use in docs/han-mrf24j40.md.
#
# Division of labour. Once the TX normal FIFO is triggered with TXNACKREQ the chip runs
# unslotted CSMA-CA, waits for the ACK and retransmits up to aMaxFrameRetries (3) times by
# itself (DS 3.12.2, 3.13.1); TXSTAT then tells success, no ACK or channel access failure,
# and TXNCON.FPSTAT the frame pending bit of the ACK (3.13.3). Received ACK frames stay in
# the chip: only beacon, data and command frames reach the RX FIFO (3.11.2). A MAC polled
# over SPI could not see an ACK within macAckWaitDuration (864 us) anyway, so this driver
# says tx_waits_ack() and han/mac/csma.py leaves CSMA-CA and retries to the chip.
#
# The chip acknowledges frames addressed to it by itself (RXMCR.NOACKRSP = 0, 3.13.2). It
# has no source address table: the frame pending bit of its ACKs is one bit,
# ACKTMOUT.DRPACK, used for ACKs to data request commands (3.13.4). set_ack_pending keeps
# the addresses with indirect data queued and sets DRPACK while there is any; a device
# polling while another one has data waiting is told "pending" too, which the standard
# allows (the device waits macMaxFrameTotalWaitTime and goes back to sleep).
#
# Hardware comes in as objects (never `machine`): spi with write/readinto/write_readinto
# (machine.SPI, mode 0, at most 10 MHz), cs and the optional reset and int_pin with value()
# (machine.Pin), sleep_us(us) for the data sheet's waits. With int_pin (the INT line,
# active low), polling reads INTSTAT only when the chip signals something. Nothing on the
# transmit and receive paths allocates: fixed buffers and preallocated views of them.
from micropython import const

from hal.radio import TX_COLLISION, TX_ERR, TX_NOACK, TX_OK
from hal.radio import mrf24j40_regs as R

_MAX_PSDU = const(125)  # aMaxPHYPacketSize 127 less the FCS the chip appends
_AR_BIT = const(0x20)  # acknowledgment request, frame control bit 5 (2006 7.2.1.1.4)
_PENDING_SLOTS = const(8)  # short and extended addresses with indirect data, each
_SOFTRST_POLLS = const(16)


class Mrf24j40:
    """hal.radio driver for the MRF24J40; reset() (called here) runs the data sheet's
    initialization, so the radio is awake, on channel 11 and receiving afterwards."""

    def __init__(self, spi, cs, sleep_us, reset=None, int_pin=None):
        self._spi = spi
        self._cs = cs
        self._sleep_us = sleep_us
        self._reset_pin = reset
        self._int = int_pin
        self._cmd = bytearray(3)  # one register access: command byte(s) and data
        self._ans = bytearray(3)
        self._cmd2 = memoryview(self._cmd)[:2]
        self._ans2 = memoryview(self._ans)[:2]
        self._fifo_cmd = bytearray(2)
        # TX normal FIFO image, written from its first byte in one SPI transaction: long
        # write command (2), header length, frame length, MHR + payload. A frame goes out
        # in the smallest 16-byte step of the buffer that holds it; the bytes after it land
        # in unused FIFO space (the FIFO is 128 bytes, we write at most 127).
        self._tx = bytearray(4 + _MAX_PSDU)
        mv = memoryview(self._tx)
        self._tx_views = tuple(mv[:min(20 + 16 * k, len(self._tx))] for k in range(8))
        # RX FIFO from 0x301: frame incl. FCS (at most 127), LQI, RSSI; read likewise.
        self._rx = bytearray(129)
        mv = memoryview(self._rx)
        self._rx_views = tuple(mv[:min(16 + 16 * k, len(self._rx))] for k in range(9))
        self._pend_short = [-1] * _PENDING_SLOTS
        self._pend_ext = bytearray(8 * _PENDING_SLOTS)
        self._pend_ext_used = bytearray(_PENDING_SLOTS)
        self.channel = 11
        self.rx_frames = 0
        self.rx_errors = 0  # RX FIFO length fields out of range, frames too long for buf
        self.pending_overflow = 0  # set_ack_pending calls that found the table full
        self.reset()

    # --- SPI access (DS section 2, SPI port) -----------------------------------------------
    def _read_short(self, reg):
        c = self._cmd2
        c[0] = reg << 1
        c[1] = 0
        self._cs.value(0)
        self._spi.write_readinto(c, self._ans2)
        self._cs.value(1)
        return self._ans2[1]

    def _write_short(self, reg, value):
        c = self._cmd2
        c[0] = (reg << 1) | R.SHORT_WRITE
        c[1] = value
        self._cs.value(0)
        self._spi.write(c)
        self._cs.value(1)

    def _read_long(self, reg):
        c = self._cmd
        c[0] = R.LONG_FLAG | (reg >> 3)
        c[1] = (reg << 5) & 0xE0
        c[2] = 0
        self._cs.value(0)
        self._spi.write_readinto(c, self._ans)
        self._cs.value(1)
        return self._ans[2]

    def _write_long(self, reg, value):
        c = self._cmd
        c[0] = R.LONG_FLAG | (reg >> 3)
        c[1] = ((reg << 5) & 0xE0) | R.LONG_WRITE
        c[2] = value
        self._cs.value(0)
        self._spi.write(c)
        self._cs.value(1)

    def _read_block(self, reg, view):
        # Sequential long read: the address counts up with each byte clocked out.
        c = self._fifo_cmd
        c[0] = R.LONG_FLAG | (reg >> 3)
        c[1] = (reg << 5) & 0xE0
        self._cs.value(0)
        self._spi.write(c)
        self._spi.readinto(view)
        self._cs.value(1)

    # --- reset, initialization, RF state machine ----------------------------------------
    def reset(self):
        """Hardware reset (when a reset pin is wired), then DS 3.2 Example 3-1. The chip
        forgets its addresses: set_addresses again after a later reset."""
        if self._reset_pin is not None:
            self._reset_pin.value(0)
            self._sleep_us(R.RESET_LOW_US)
            self._reset_pin.value(1)
            self._sleep_us(R.RESET_START_US)
        for reg, value in R.INIT_SEQUENCE:
            if reg > 0x3F:
                self._write_long(reg, value)
            else:
                self._write_short(reg, value)
            if reg == R.SOFTRST:
                for _ in range(_SOFTRST_POLLS):  # the reset bits clear themselves
                    if not self._read_short(R.SOFTRST) & R.SOFTRST_ALL:
                        break
        self._awake = True
        self._coord = False  # RXMCR as the reset left it: normal mode, auto-ACK
        self._promisc = False
        self._drpack = False
        self._flags = 0  # INTSTAT bits read but not yet handled (INTSTAT clears on read)
        self._tx_active = False
        self._tx_status = TX_OK
        self._tx_retries = 0
        self._tx_fp = False
        self._ack_req = False
        self._lqi = 0
        self._rssi_raw = 0
        for i in range(_PENDING_SLOTS):
            self._pend_short[i] = -1
            self._pend_ext_used[i] = 0
        self.set_channel(self.channel)  # RFCON0, RF state machine reset, 192 us
        self._write_short(R.RXFLUSH, R.RXFLUSH_FLUSH)
        self._read_short(R.INTSTAT)  # drop anything flagged before
        if self._read_short(R.PACON2) != 0x98:
            raise OSError("MRF24J40 does not answer on SPI")

    def _rf_reset(self):
        # RF state machine reset; the RF circuitry calibrates for 192 us after (DS 3.1).
        self._write_short(R.RFCTL, R.RFCTL_RFRST)
        self._write_short(R.RFCTL, 0)
        self._sleep_us(R.RF_RESET_US)

    def _poll(self):
        if self._int is not None and self._int.value():
            return  # INT high: nothing flagged (SLPCON0.INTEDGE = 0, active low)
        self._flags |= self._read_short(R.INTSTAT)

    # --- hal.radio interface -------------------------------------------------------------
    def on(self):
        """Wake from sleep (immediate wake-up by register, DS 3.15.2)."""
        if self._awake:
            return
        self._write_short(R.WAKECON, R.WAKECON_IMMWAKE | R.WAKECON_REGWAKE)
        self._write_short(R.WAKECON, R.WAKECON_IMMWAKE)
        self._rf_reset()
        self._sleep_us(R.RESET_START_US)  # 20 MHz oscillator start-up before RX or TX
        self._awake = True

    def off(self):
        """Sleep (immediate sleep, DS 3.15.2); not while a frame is being sent."""
        if not self._awake or self._tx_active:
            return
        self._write_short(R.SOFTRST, R.SOFTRST_RSTPWR)
        self._write_short(R.SLPACK, R.SLPACK_SLEEP)
        self._awake = False

    def prepare(self, frame, length):
        if length > _MAX_PSDU:
            raise ValueError("frame longer than aMaxPHYPacketSize (127)")
        tx = self._tx
        tx[0] = R.LONG_FLAG | (R.TX_NORMAL_FIFO >> 3)
        tx[1] = ((R.TX_NORMAL_FIFO << 5) & 0xE0) | R.LONG_WRITE
        tx[2] = 0  # header length: only the chip's in-line security reads it (DS 3.12.1)
        tx[3] = length
        for i in range(length):
            tx[4 + i] = frame[i]
        self._ack_req = length > 0 and bool(frame[0] & _AR_BIT)
        self._cs.value(0)
        self._spi.write(self._tx_views[(length - 1) // 16 if length else 0])
        self._cs.value(1)

    def transmit(self):
        """Start the prepared frame: the chip's CSMA-CA, then (AR set) its ACK wait and
        retries. TX_OK means started; the outcome is tx_status() once tx_busy() is False."""
        if not self._awake or self._tx_active:
            return TX_ERR
        self._flags &= ~R.INTSTAT_TXNIF
        trig = R.TXNCON_TXNTRIG | (R.TXNCON_TXNACKREQ if self._ack_req else 0)
        self._write_short(R.TXNCON, trig)
        self._tx_active = True
        return TX_OK

    def tx_busy(self):
        if not self._tx_active:
            return False
        if not self._flags & R.INTSTAT_TXNIF:
            self._poll()
            if not self._flags & R.INTSTAT_TXNIF:
                return True
        self._flags &= ~R.INTSTAT_TXNIF
        self._tx_active = False
        s = self._read_short(R.TXSTAT)
        self._tx_retries = s >> 6  # TXNRETRY<1:0>
        if s & R.TXSTAT_TXNSTAT:
            self._tx_status = TX_COLLISION if s & R.TXSTAT_CCAFAIL else TX_NOACK
        else:
            self._tx_status = TX_OK
        self._tx_fp = bool(self._read_short(R.TXNCON) & R.TXNCON_FPSTAT)
        return False

    def tx_waits_ack(self):
        """The chip runs CSMA-CA, ACK wait and retries (han/mac/csma.py asks)."""
        return True

    def tx_status(self):
        """TX_OK (sent; acknowledged when AR was set), TX_NOACK, or TX_COLLISION (channel
        access failure) for the last frame, once tx_busy() is False."""
        return self._tx_status

    def tx_ack_pending(self):
        return self._tx_fp

    def tx_retries(self):
        return self._tx_retries

    def pending_packet(self):
        if not self._flags & R.INTSTAT_RXIF:
            self._poll()
        return bool(self._flags & R.INTSTAT_RXIF)

    def read(self, buf):
        """The received frame (without FCS) into buf; its length, 0 if none or unusable.
        Reception off the air is stopped while the FIFO is read (DS 3.11, RXDECINV), the
        FIFO flushed afterwards."""
        if not self.pending_packet():
            return 0
        self._flags &= ~R.INTSTAT_RXIF
        self._write_short(R.BBREG1, R.BBREG1_RXDECINV)
        n = self._read_long(R.RX_FIFO) & 0x7F  # frame length, FCS included
        length = 0
        if 5 <= n and n - 2 <= len(buf):
            self._read_block(R.RX_FIFO + 1, self._rx_views[(n + 1) // 16])
            rx = self._rx
            length = n - 2
            for i in range(length):
                buf[i] = rx[i]
            self._lqi = rx[n]  # after the FCS: LQI, then RSSI (DS 3.11, RX FIFO format)
            self._rssi_raw = rx[n + 1]
            self.rx_frames += 1
        else:
            self.rx_errors += 1
        self._write_short(R.RXFLUSH, R.RXFLUSH_FLUSH)
        self._write_short(R.BBREG1, 0)
        return length

    def _measure(self):
        # One RSSI measurement: RSSIMODE1, wait for RSSIRDY, read RSSI (BBREG6 description).
        self._write_short(R.BBREG6, R.BBREG6_RSSIMODE1)
        for _ in range(R.RSSI_POLLS):
            if self._read_short(R.BBREG6) & R.BBREG6_RSSIRDY:
                break
            self._sleep_us(128)
        v = self._read_long(R.RSSI)
        self._write_short(R.BBREG6, R.BBREG6_RSSIMODE2)
        return v

    def channel_clear(self):
        """CCA mode 1 as the chip's CSMA-CA does it: energy below CCAEDTH."""
        return self._measure() < R.CCAEDTH_DEFAULT

    def energy_detect(self):
        """The RSSI register, 0..255 over about -90..-35 dBm (DS Table 3-8): monotonic in
        the energy and spanning more than the 40 dB IEEE 802.15.4-2020 10.2.6 asks."""
        return self._measure()

    def set_channel(self, channel):
        if not 11 <= channel <= 26:
            raise ValueError("2.4 GHz O-QPSK channels are 11..26")
        # RFCON0 register description: CHANNEL<7:4> = channel - 11, RFOPT<3:0> = 0x3.
        self._write_long(R.RFCON0, ((channel - 11) << 4) | R.RFCON0_RFOPT)
        self._rf_reset()
        self.channel = channel

    def set_addresses(self, pan_id, short_addr, ext_addr):
        """PAN ID, short and extended address for the chip's frame filter and auto-ACK;
        ext_addr most significant byte first. Short address 0x0000 is the PAN
        coordinator, which also takes frames with a source address only (DS 3.11.1.1)."""
        self._write_short(R.PANIDL, pan_id & 0xFF)
        self._write_short(R.PANIDH, pan_id >> 8)
        self._write_short(R.SADRL, short_addr & 0xFF)
        self._write_short(R.SADRH, short_addr >> 8)
        for i in range(8):
            self._write_short(R.EADR0 + i, ext_addr[7 - i])  # EADR0: least significant
        self._coord = short_addr == 0x0000
        self._write_rxmcr()

    def set_promiscuous(self, on):
        """Sniffer mode: RXMCR.PROMI (every frame with a good FCS, DS 3.11.1.3) and
        NOACKRSP (nothing acknowledged). ACK frames still stay out of the RX FIFO."""
        self._promisc = bool(on)
        self._write_rxmcr()

    def _write_rxmcr(self):
        v = R.RXMCR_PANCOORD if self._coord else 0
        if self._promisc:
            v |= R.RXMCR_PROMI | R.RXMCR_NOACKRSP
        self._write_short(R.RXMCR, v)

    def auto_ack(self):
        return True

    def last_rssi(self):
        """RSSI of the last frame read, dBm (DS Table 3-8; -90 means -90 or less)."""
        v = self._rssi_raw
        steps = R.RSSI_STEPS
        k = 0
        while k + 1 < len(steps) and steps[k + 1] <= v:
            k += 1
        return R.RSSI_FLOOR_DBM + k

    def last_lqi(self):
        """The chip's LQI byte of the last frame read (0..255, higher is better)."""
        return self._lqi

    def set_ack_pending(self, addr, on):
        if isinstance(addr, int):
            i = self._slot_short(addr)
            if on and i < 0:
                i = self._slot_short(-1)
                if i >= 0:
                    self._pend_short[i] = addr
            elif not on and i >= 0:
                self._pend_short[i] = -1
        else:
            i = self._slot_ext(addr)
            if on and i < 0:
                i = self._slot_ext(None)
                if i >= 0:
                    for j in range(8):
                        self._pend_ext[8 * i + j] = addr[j]
                    self._pend_ext_used[i] = 1
            elif not on and i >= 0:
                self._pend_ext_used[i] = 0
        if on and i < 0:
            self.pending_overflow += 1
        want = False
        for i in range(_PENDING_SLOTS):
            if self._pend_short[i] >= 0 or self._pend_ext_used[i]:
                want = True
        if want != self._drpack:
            self._write_short(R.ACKTMOUT, R.ACKTMOUT_MAWD | (R.ACKTMOUT_DRPACK if want else 0))
            self._drpack = want

    def _slot_short(self, addr):
        for i in range(_PENDING_SLOTS):
            if self._pend_short[i] == addr:
                return i
        return -1

    def _slot_ext(self, addr):
        # The slot holding addr; addr None: a free slot.
        used = self._pend_ext_used
        for i in range(_PENDING_SLOTS):
            if addr is None or not used[i]:
                if addr is None and not used[i]:
                    return i
                continue
            j = 0
            while j < 8 and self._pend_ext[8 * i + j] == addr[j]:
                j += 1
            if j == 8:
                return i
        return -1
