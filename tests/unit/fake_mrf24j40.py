# A register-level fake of the Microchip MRF24J40 for tests (DS39776C, "MRF24J40 Data
# Sheet"): what a driver sees on the SPI pins. It decodes the short and long address
# command bytes one at a time between CS low and CS high (DS section 2, SPI port), keeps
# the register file and the FIFOs in two byte arrays, and acts on the registers that do
# something:
#   SOFTRST (reset, bits clear themselves), RXFLUSH (flush the RX FIFO), TXNCON.TXNTRIG
#   (send the TX normal FIFO), RFCTL.RFRST (RF state machine reset: the channel in RFCON0
#   takes effect), SLPACK / WAKECON.REGWAKE (sleep, wake), BBREG1.RXDECINV (stop receiving),
#   BBREG6.RSSIMODE1 (measure the energy into RSSI and set RSSIRDY), INTSTAT (clears on
#   read), TXSTAT / TXNCON.FPSTAT (outcome of a transmission), the INT pin (active low
#   while an enabled INTSTAT bit is set).
# Reception (receive_air): the FCS is checked, then the normal-mode filter of DS 3.11.1.1
# (RXMCR.PROMI accepts any frame with a good FCS; RXMCR.ERRPKT any frame), the frame type
# filter of RXFLUSH (3.11.2); ACK frames never reach the RX FIFO (they end the chip's own
# ACK wait); an accepted frame is stored as length, PSDU with FCS, LQI, RSSI at 0x300
# (DS 3.11, RX FIFO format) and sets INTSTAT.RXIF; a frame arriving before the last one was flushed
# overwrites it (counted). Frames to us with AR set get an ACK (unless RXMCR.NOACKRSP),
# with frame pending = ACKTMOUT.DRPACK for data request commands.
#
# Alone (no medium) a triggered transmission waits for complete_tx(...) from the test, and
# ACKs sent are kept in acks_sent. attach(medium, position) makes the fake a node of
# han.radio_sim.Medium (host tests): then the chip's unslotted CSMA-CA (TXMCR: macMinBE,
# macMaxCSMABackoffs; macMaxBE 5), CCA mode 1 against CCAEDTH, the ACK wait of MAWD
# symbols and up to 3 retransmissions run on the medium's time; advance(now) and
# next_event() let the caller's loop drive it.
#
# Not modelled: security engine, beacon mode and GTS FIFOs, the symbol and sleep timers,
# oscillator and PLL start-up times, SPI clock limits, RSSI noise, the errata.
# The register-access paths allocate nothing (the driver's no-allocation tests run them
# with the heap locked); receive_air, complete_tx and the medium side may allocate.

# Register addresses and bits (DS section 2, memory map), transcribed here on their own.
RXMCR, PANIDL, PANIDH, SADRL, SADRH, EADR0 = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05
RXFLUSH, ORDER, TXMCR, ACKTMOUT = 0x0D, 0x10, 0x11, 0x12
TXNCON, WAKECON, TXSTAT, SOFTRST = 0x1B, 0x22, 0x24, 0x2A
INTSTAT, INTCON, SLPACK, RFCTL = 0x31, 0x32, 0x35, 0x36
BBREG1, BBREG2, BBREG6, CCAEDTH = 0x39, 0x3A, 0x3E, 0x3F
RFCON0, RSSI_REG, SLPCON0 = 0x200, 0x210, 0x211
RX_FIFO = 0x300

SYMBOL_US = 16
BACKOFF_US = 320  # aUnitBackoffPeriod
TURNAROUND_US = 192  # aTurnaroundTime
MAX_FRAME_RETRIES = 3  # aMaxFrameRetries, fixed in the chip

# dBm -> RSSI register anchors from DS Table 3-8 (every 5 dB), linear in between.
_RSSI_ANCHORS = ((-90, 0), (-85, 13), (-80, 37), (-75, 63), (-70, 89), (-65, 117),
                 (-60, 138), (-55, 165), (-50, 193), (-45, 216), (-40, 239), (-35, 255))

_T_IDLE, _T_BACKOFF, _T_AIR, _T_ACK_WAIT = 0, 1, 2, 3


def rssi_byte(dbm):
    """The RSSI register value the chip reports for `dbm` (DS Table 3-8)."""
    if dbm <= -90:
        return 0
    if dbm >= -35:
        return 255
    for i in range(len(_RSSI_ANCHORS) - 1):
        d0, v0 = _RSSI_ANCHORS[i]
        d1, v1 = _RSSI_ANCHORS[i + 1]
        if dbm <= d1:
            return int(v0 + (v1 - v0) * (dbm - d0) / (d1 - d0) + 0.5)
    return 255


def kermit_crc(data, n):
    """IEEE 802.15.4 FCS (CRC-16, polynomial 0x1021 reflected, init 0)."""
    crc = 0
    for i in range(n):
        crc ^= data[i]
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


class _Spi:
    """machine.SPI-shaped: every byte goes through the chip's decoder."""

    def __init__(self, chip):
        self._chip = chip

    # (self._chip.xfer(...) each time: a bound method kept in a local would be an allocation)
    def write(self, buf):
        for i in range(len(buf)):
            self._chip.xfer(buf[i])

    def readinto(self, buf, write=0):
        for i in range(len(buf)):
            buf[i] = self._chip.xfer(write)

    def write_readinto(self, wbuf, rbuf):
        for i in range(len(wbuf)):
            rbuf[i] = self._chip.xfer(wbuf[i])


class _Pin:
    def __init__(self, chip, which):
        self._chip = chip
        self._which = which
        self._level = 1

    def value(self, v=None):
        if v is None:
            if self._which == "int":
                return self._chip.int_level()
            return self._level
        v = 1 if v else 0
        if self._which == "cs":
            self._chip.chip_select(v == 0)
        elif self._which == "reset" and v and not self._level:
            self._chip.pin_resets += 1
            self._chip.power_on_reset()
        self._level = v
        return None


class FakeMrf24j40:
    def __init__(self, rand_bits=None, seed=1):
        self.short = bytearray(64)
        self.long = bytearray(1024)
        self.spi = _Spi(self)
        self.cs = _Pin(self, "cs")
        self.int_pin = _Pin(self, "int")
        self.reset_pin = _Pin(self, "reset")
        self.log = []  # ("S" or "L", address, value) of register writes while logging
        self.logging = False
        self.spi_errors = 0  # bytes past a short access, access while selected in reset
        self.spi_bytes = 0  # bytes clocked while selected
        self._sel = False
        self._idx = 0
        self._addr = 0
        self._long = False
        self._write = False
        self._seed = seed
        self._rand_bits = rand_bits if rand_bits is not None else self._lcg_bits
        self.medium = None
        self.position = (0.0, 0.0)
        self.acks_sent = []  # ACK PSDUs (with FCS) sent when alone
        self.rx_overwritten = 0
        self.rx_dropped = 0  # frames rejected by FCS check or filter
        self.transmissions = 0  # frames put on the air (retransmissions included)
        self.pin_resets = 0  # rising edges on RESET
        self.soft_resets = 0  # SOFTRST writes with RSTBB or RSTMAC
        self.rf_resets = 0
        self.sleeps = 0
        self.wakes = 0
        self.ambient_rssi = 0  # RSSI register value of the energy on the channel when alone
        self.power_on_reset()

    def _lcg_bits(self, n):
        self._seed = (self._seed * 1103515245 + 12345) & 0x7FFFFFFF
        return (self._seed >> 16) & ((1 << n) - 1)

    # --- reset values (DS section 2: only those that matter here) -----------------
    def power_on_reset(self):
        for i in range(64):
            self.short[i] = 0
        for i in range(1024):
            self.long[i] = 0
        self.short[TXMCR] = 0x1C  # macMinBE 3, macMaxCSMABackoffs 4
        self.short[ACKTMOUT] = 0x39
        self.short[INTCON] = 0xFF  # all interrupts disabled
        self.short[ORDER] = 0xFF  # non-beacon
        self.channel = 11
        self.asleep = False
        self._rx_full = False
        self._tx_state = _T_IDLE
        self._deadline = None
        self._tx_spans = []
        self.tx_triggered = False

    # --- SPI decoder (DS section 2, SPI port) ----------------------------------------------
    def chip_select(self, selected):
        self._sel = selected
        self._idx = 0

    def xfer(self, b):
        """One byte in on MOSI, the byte the chip drives on MISO at the same time."""
        if not self._sel or not self.reset_pin._level:
            self.spi_errors += 1
            return 0xFF
        self.spi_bytes += 1
        i = self._idx
        self._idx = i + 1
        if i == 0:
            self._long = bool(b & 0x80)
            if self._long:
                self._addr = (b & 0x7F) << 3  # A9..A3
            else:
                self._addr = (b >> 1) & 0x3F
                self._write = bool(b & 0x01)
            return 0
        if self._long:
            if i == 1:
                self._addr |= b >> 5  # A2..A0
                self._write = bool(b & 0x10)
                return 0
            a = self._addr
            self._addr = (a + 1) & 0x3FF  # sequential access
            if self._write:
                self._write_long(a, b)
                return 0
            return self._read_long(a)
        if i > 1:
            self.spi_errors += 1
            return 0
        if self._write:
            self._write_short(self._addr, b)
            return 0
        return self._read_short(self._addr)

    def _read_short(self, a):
        v = self.short[a]
        if a == INTSTAT:
            self.short[INTSTAT] = 0  # clears on read
        return v

    def _read_long(self, a):
        return self.long[a]

    def _write_long(self, a, v):
        if self.logging:
            self.log.append(("L", a, v))
        if a == RSSI_REG:
            return  # read-only
        self.long[a] = v

    def _write_short(self, a, v):
        if self.logging:
            self.log.append(("S", a, v))
        s = self.short
        if a == SOFTRST:
            if v & 0x03:  # RSTBB / RSTMAC: registers back to their reset values
                sel, idx = self._sel, self._idx
                self.soft_resets += 1
                self.power_on_reset()
                self._sel, self._idx = sel, idx
            s[SOFTRST] = 0
            return
        if a == RXFLUSH:
            if v & 0x01:
                self._rx_full = False
            s[RXFLUSH] = v & 0x7E
            return
        if a == TXNCON:
            s[TXNCON] = (s[TXNCON] & 0x10) | (v & 0x0E)  # FPSTAT is read-only
            if v & 0x01:
                self._trigger()
            return
        if a == RFCTL:
            if s[RFCTL] & 0x04 and not v & 0x04:
                self.channel = 11 + (self.long[RFCON0] >> 4)  # takes effect now
                self.rf_resets += 1
            s[RFCTL] = v
            return
        if a == SLPACK:
            if v & 0x80 and not self.asleep:
                self.asleep = True
                self.sleeps += 1
            s[SLPACK] = v & 0x7F
            return
        if a == WAKECON:
            if v & 0x40 and v & 0x80 and self.asleep:
                self.asleep = False
                self.wakes += 1
            s[WAKECON] = v
            return
        if a == BBREG6:
            if v & 0x80:
                self.long[RSSI_REG] = self._energy_byte()
                s[BBREG6] = (v & 0x40) | 0x01  # RSSIMODE1 clears, RSSIRDY sets
            else:
                s[BBREG6] = v & 0x40
            return
        if a == INTSTAT or a == TXSTAT:
            return  # read-only
        s[a] = v

    def int_level(self):
        active = self.short[INTSTAT] & ~self.short[INTCON] & 0xFF
        high_active = self.long[SLPCON0] & 0x02  # INTEDGE
        if high_active:
            return 1 if active else 0
        return 0 if active else 1

    # --- helpers for tests -------------------------------------------------------------
    def tx_fifo_frame(self):
        """The frame (MHR + payload) in the TX normal FIFO: header length, length, data."""
        n = self.long[1]
        return bytes(self.long[2:2 + n])

    def pan_id(self):
        return self.short[PANIDL] | self.short[PANIDH] << 8

    def short_addr(self):
        return self.short[SADRL] | self.short[SADRH] << 8

    def ext_addr_air(self):
        """EADR0..EADR7: the extended address as it goes on the air (LSB first)."""
        return bytes(self.short[EADR0:EADR0 + 8])

    @property
    def enabled(self):
        return not self.asleep and not self.short[BBREG1] & 0x04

    # --- transmit ----------------------------------------------------------------------
    def _trigger(self):
        if self.asleep or self._tx_state != _T_IDLE:
            self.spi_errors += 1
            return
        self.tx_triggered = True
        if self.medium is not None:
            self._tx_retries = 0
            self._start_csma(self.medium.now)
            self.advance(self.medium.now)

    def complete_tx(self, acked=True, pending=False, retries=0, cca_fail=False):
        """Alone: end the triggered transmission as the chip would (TXSTAT, FPSTAT, TXNIF)."""
        assert self.tx_triggered and self.medium is None
        need_ack = bool(self.short[TXNCON] & 0x04)
        ok = not cca_fail and (acked or not need_ack)
        self._finish(ok, cca_fail, retries, pending and ok and need_ack)

    def _finish(self, ok, cca_fail, retries, pending):
        s = self.short
        s[TXSTAT] = (retries << 6) | (0x20 if cca_fail else 0) | (0 if ok else 0x01)
        s[TXNCON] = (s[TXNCON] & 0x0E) | (0x10 if pending else 0)
        s[INTSTAT] |= 0x01  # TXNIF
        self.tx_triggered = False
        self._tx_state = _T_IDLE
        self._deadline = None

    def _psdu(self):
        n = self.long[1]
        frame = bytearray(n + 2)
        frame[:n] = self.long[2:2 + n]
        crc = kermit_crc(frame, n)
        frame[n] = crc & 0xFF
        frame[n + 1] = crc >> 8
        return bytes(frame)

    # --- medium side (han.radio_sim.Medium node) -------------------------------------------
    def attach(self, medium, position):
        self.medium = medium
        self.position = position
        medium.add(self)

    def _energy_byte(self):
        # Alone: ambient_rssi (set by the test; no float arithmetic under a locked heap).
        if self.medium is None:
            return self.ambient_rssi
        return rssi_byte(self.medium.energy_at(self, self.medium.now))

    def _start_csma(self, now):
        txmcr = self.short[TXMCR]
        self._nb = 0
        self._be = (txmcr >> 3) & 0x03
        if txmcr & 0x80:  # NOCSMA
            self._deadline = now
            self._tx_state = _T_BACKOFF
            self._no_csma = True
            return
        self._no_csma = False
        self._backoff(now)

    def _backoff(self, now):
        self._deadline = now + self._rand_bits(self._be) * BACKOFF_US if self._be else now
        self._tx_state = _T_BACKOFF

    def next_event(self):
        return self._deadline

    def advance(self, now):
        while self._deadline is not None and self._deadline <= now:
            st = self._tx_state
            t = self.medium.now
            if st == _T_BACKOFF:
                own = self._own_end()
                if own > t:  # still sending an ACK: one transmitter, the frame waits
                    self._deadline = own
                    continue
                busy = not self._no_csma and self.short[BBREG2] & 0x80 and \
                    rssi_byte(self.medium.energy_at(self, t)) >= self.short[CCAEDTH]
                if busy:
                    self._nb += 1
                    self._be = min(self._be + 1, 5)
                    if self._nb > (self.short[TXMCR] & 0x07):
                        self._finish(False, True, self._tx_retries, False)
                    else:
                        self._backoff(t)
                    continue
                tx = self.medium.start_tx(self, self._psdu(), TURNAROUND_US)
                self._span(tx.start, tx.end)
                self.transmissions += 1
                self._tx_seq = self.long[4] if self.long[1] >= 3 else -1
                self._deadline = tx.end
                self._tx_state = _T_AIR
            elif st == _T_AIR:
                if self.short[TXNCON] & 0x04:
                    self._deadline = t + (self.short[ACKTMOUT] & 0x7F) * SYMBOL_US
                    self._tx_state = _T_ACK_WAIT
                else:
                    self._finish(True, False, 0, False)
            elif st == _T_ACK_WAIT:
                if self._tx_retries < MAX_FRAME_RETRIES:
                    self._tx_retries += 1
                    self._start_csma(t)
                else:
                    self._finish(False, False, self._tx_retries, False)
            else:
                self._deadline = None

    def _span(self, start, end):
        self._tx_spans.append((start, end))
        if len(self._tx_spans) > 4:
            self._tx_spans.pop(0)

    def _own_end(self):
        end = 0
        for _, e in self._tx_spans:
            if e > end:
                end = e
        return end

    def transmitting_during(self, start, end):
        for s, e in self._tx_spans:
            if s < end and start < e:
                return True
        return False

    def deliver(self, frame, rssi, lqi, end):
        self.receive_air(frame, rssi, lqi, end)

    # --- receive -----------------------------------------------------------------------
    def receive_air(self, psdu, rssi_dbm=-60.0, lqi=255, end=None):
        """A PSDU (FCS included) off the air. Returns True when it reached the RX FIFO."""
        if not self.enabled:
            return False
        n = len(psdu)
        rxmcr = self.short[RXMCR]
        fcs_ok = n >= 5 and kermit_crc(psdu, n - 2) == psdu[n - 2] | psdu[n - 1] << 8
        if not fcs_ok and not rxmcr & 0x02:
            self.rx_dropped += 1
            return False
        fc = psdu[0] | psdu[1] << 8 if n >= 2 else 0
        ftype = fc & 0x07
        if ftype == 2:  # ACK: ends our ACK wait, never stored (DS 3.11.2, 3.13.3)
            if (self._tx_state == _T_ACK_WAIT and fcs_ok and n >= 5
                    and psdu[2] == self._tx_seq):
                self._finish(True, False, self._tx_retries, bool(fc & 0x10))
            return False
        mine = self._addressed_to_me(psdu, n - 2, fc) if fcs_ok else 0
        if not rxmcr & 0x03 and not mine:
            self.rx_dropped += 1
            return False
        flt = self.short[RXFLUSH] & 0x0E  # CMDONLY 0x08, DATAONLY 0x04, BCNONLY 0x02
        if (flt & 0x08 and ftype != 3) or (flt & 0x04 and ftype != 1) or \
                (flt & 0x02 and ftype != 0):
            self.rx_dropped += 1
            return False
        if fc & 0x20 and mine == 2 and ftype in (1, 3) and not rxmcr & 0x20:
            self._send_ack(psdu, fc, end)
        if self._rx_full:
            self.rx_overwritten += 1
        lg = self.long
        lg[RX_FIFO] = n
        for i in range(n):
            lg[RX_FIFO + 1 + i] = psdu[i]
        lg[RX_FIFO + 1 + n] = lqi
        lg[RX_FIFO + 2 + n] = rssi_byte(rssi_dbm)
        self._rx_full = True
        self.short[INTSTAT] |= 0x08  # RXIF
        return True

    def _addressed_to_me(self, p, n, fc):
        """0: rejected by DS 3.11.1.1; 1: accepted (broadcast, beacon); 2: accepted and
        addressed to this device (an ACK is due when AR is set)."""
        ftype = fc & 0x07
        if ftype > 3:
            return 0  # reserved frame type (rule 1)
        dmode = (fc >> 10) & 3
        smode = (fc >> 14) & 3
        if dmode == 1 or smode == 1:
            return 0
        pos = 3
        my_pan = self.pan_id()
        dst_pan = -1
        result = 1
        if dmode:
            if pos + 2 > n:
                return 0
            dst_pan = p[pos] | p[pos + 1] << 8
            pos += 2
            if dst_pan not in (my_pan, 0xFFFF):
                return 0  # rule 3
            if dmode == 2:
                if pos + 2 > n:
                    return 0
                d = p[pos] | p[pos + 1] << 8
                pos += 2
                if d == 0xFFFF:
                    result = 1
                elif d == self.short_addr():
                    result = 2
                else:
                    return 0  # rule 4
            else:
                if pos + 8 > n:
                    return 0
                for i in range(8):
                    if p[pos + i] != self.short[EADR0 + i]:
                        return 0  # rule 4
                pos += 8
                result = 2
        src_pan = dst_pan
        if smode:
            if not (fc & 0x40 and dmode):  # PAN ID compression (2006 7.2.1.1.5)
                if pos + 2 > n:
                    return 0
                src_pan = p[pos] | p[pos + 1] << 8
                pos += 2
            pos += 2 if smode == 2 else 8
            if pos > n:
                return 0
        if ftype == 0:  # beacon: rule 2
            return 1 if my_pan == 0xFFFF or src_pan == my_pan else 0
        if not dmode:  # rule 5: source addressing only, to the PAN coordinator
            if smode and self.short[RXMCR] & 0x08 and src_pan == my_pan:
                return 2
            return 0
        return result

    def _send_ack(self, psdu, fc, end):
        pending = False
        if fc & 0x07 == 3 and self.short[ACKTMOUT] & 0x80:
            pending = self._command_id(psdu, fc) == 0x04  # data request (2006 7.3.4)
        ack = bytearray(5)
        ack[0] = 0x02 | (0x10 if pending else 0)
        ack[1] = 0x00
        ack[2] = psdu[2]
        crc = kermit_crc(ack, 3)
        ack[3] = crc & 0xFF
        ack[4] = crc >> 8
        if self.medium is None:
            self.acks_sent.append(bytes(ack))
            return
        # aTurnaroundTime after the frame's last symbol (2006 7.5.6.4.2).
        t_end = end if end is not None else self.medium.now
        tx = self.medium.start_tx(self, bytes(ack), t_end + TURNAROUND_US - self.medium.now)
        self._span(tx.start, tx.end)

    @staticmethod
    def _command_id(p, fc):
        dmode = (fc >> 10) & 3
        smode = (fc >> 14) & 3
        pos = 3
        if dmode:
            pos += 2 + (2 if dmode == 2 else 8)
        if smode:
            if not (fc & 0x40 and dmode):
                pos += 2
            pos += 2 if smode == 2 else 8
        if fc & 0x08:
            return -1  # secured command: the chip cannot see the identifier
        return p[pos] if pos < len(p) - 2 else -1
