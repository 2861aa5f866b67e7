# MRF24J40 register map and bit values, from Microchip DS39776C "MRF24J40 Data Sheet"
# (2010): section 2 (memory organization, register descriptions), section 3 (operation).
# Only what hal/radio/mrf24j40.py uses. Public const names (imported by the driver); the
# fake chip in tests/unit/fake_mrf24j40.py keeps its own transcription on purpose, so one
# mistyped address cannot hide in both.
from micropython import const

# --- SPI command format (DS section 2, SPI port) ---------------------------------
# Short address (6 bits): one byte 0 A5..A0 R/W, then the data byte.
# Long address (10 bits): 1 A9..A3, then A2..A0 R/W 0000, then data; in a long access the
# address counts up with every further data byte (how FIFOs are read and written in one go).
SHORT_WRITE = const(0x01)
LONG_FLAG = const(0x80)
LONG_WRITE = const(0x10)

# --- short address registers (DS section 2, memory map) --------------------------------
RXMCR = const(0x00)
PANIDL = const(0x01)
PANIDH = const(0x02)
SADRL = const(0x03)
SADRH = const(0x04)
EADR0 = const(0x05)  # EADR0 .. EADR7 = 0x05 .. 0x0C, least significant byte first
RXFLUSH = const(0x0D)
TXMCR = const(0x11)
ACKTMOUT = const(0x12)
PACON2 = const(0x18)
TXNCON = const(0x1B)
WAKECON = const(0x22)
TXSTAT = const(0x24)
SOFTRST = const(0x2A)
TXSTBL = const(0x2E)
INTSTAT = const(0x31)
INTCON = const(0x32)
SLPACK = const(0x35)
RFCTL = const(0x36)
BBREG1 = const(0x39)
BBREG2 = const(0x3A)
BBREG6 = const(0x3E)
CCAEDTH = const(0x3F)

# --- long address registers and FIFOs (DS section 2, memory map) -----------------------
TX_NORMAL_FIFO = const(0x000)  # 128 bytes: header length, frame length, MHR + payload
RFCON0 = const(0x200)
RFCON1 = const(0x201)
RFCON2 = const(0x202)
RFCON3 = const(0x203)
RFCON6 = const(0x206)
RFCON7 = const(0x207)
RFCON8 = const(0x208)
RSSI = const(0x210)
SLPCON1 = const(0x220)
RX_FIFO = const(0x300)  # frame length (incl. FCS), MHR, payload, FCS, LQI, RSSI (DS 3.11)

# --- bits -------------------------------------------------------------------------------
RXMCR_NOACKRSP = const(0x20)  # 1: no automatic ACK (3.13.2); we keep it 0
RXMCR_PANCOORD = const(0x08)  # PAN coordinator: accept source-only frames (3.11.1.1 rule 5)
RXMCR_PROMI = const(0x01)  # promiscuous: every frame with a good FCS (3.11.1.3)
RXFLUSH_FLUSH = const(0x01)  # resets the RX FIFO address pointer (self-clearing)
TXMCR_CSMA_DEFAULTS = const(0x1C)  # MACMINBE<4:3> = 3 (macMinBE), CSMABF<2:0> = 4
ACKTMOUT_DRPACK = const(0x80)  # frame pending bit of ACKs to data request commands
ACKTMOUT_MAWD = const(0x39)  # MAWD<6:0> reset value (macAckWaitDuration)
TXNCON_TXNTRIG = const(0x01)  # transmit the TX normal FIFO (self-clearing)
TXNCON_TXNACKREQ = const(0x04)  # wait for the ACK, retransmit up to 3 times (3.13.1)
TXNCON_FPSTAT = const(0x10)  # frame pending bit of the ACK received (3.13.3)
TXSTAT_TXNSTAT = const(0x01)  # 1: the last TX normal FIFO transmission failed
TXSTAT_CCAFAIL = const(0x20)  # 1: it failed because CSMA-CA found the channel busy
WAKECON_IMMWAKE = const(0x80)  # immediate wake-up mode (3.15.2)
WAKECON_REGWAKE = const(0x40)  # register wake-up (set, then clear)
SOFTRST_ALL = const(0x07)  # RSTPWR | RSTBB | RSTMAC, self-clearing
SOFTRST_RSTPWR = const(0x04)  # power management reset, before sleep (3.15.2)
SLPACK_SLEEP = const(0x80)  # enter sleep now (immediate sleep mode)
INTSTAT_RXIF = const(0x08)
INTSTAT_TXNIF = const(0x01)
INTCON_ENABLE_RX_TXN = const(0xF6)  # INTCON bits enable when 0: RXIE (3) and TXNIE (0)
RFCTL_RFRST = const(0x04)  # RF state machine reset: write 1, then 0, then wait 192 us
BBREG1_RXDECINV = const(0x04)  # stop receiving frames off the air while the FIFO is read
BBREG2_CCA_ED = const(0x80)  # CCA mode 1: energy above CCAEDTH (IEEE 802.15.4 6.9.9)
BBREG6_RSSIMODE1 = const(0x80)  # start one RSSI measurement (self-clearing)
BBREG6_RSSIMODE2 = const(0x40)  # append the RSSI of each frame to the RX FIFO
BBREG6_RSSIRDY = const(0x01)  # the RSSI measurement is done
CCAEDTH_DEFAULT = const(0x60)  # about -69 dBm (Table 3-8), the data sheet's example
RFCON0_RFOPT = const(0x03)  # low nibble; CHANNEL<7:4> = channel - 11 (RFCON0 register description)

# --- initialization, DS 3.2 Example 3-1, in the data sheet's order ----------------------
# (short register, value) and (long register, value) pairs; addresses above 0x3F are long.
# RFCON1: Example 3-1 prints 0x01, the RFCON1 register description gives
# VCOOPT = 0x02 as the value to program; most drivers write 0x02.
INIT_SEQUENCE = (
    (SOFTRST, SOFTRST_ALL),  # software reset of power management, baseband, MAC
    (PACON2, 0x98),  # FIFOEN = 1, TXONTS = 0x6
    (TXSTBL, 0x95),  # RFSTBL = 0x9, MSIFS = 0x5
    (RFCON0, RFCON0_RFOPT),  # RFOPT = 0x03 (channel 11 until set_channel)
    (RFCON1, 0x02),  # VCOOPT = 0x02
    (RFCON2, 0x80),  # PLLEN = 1
    (RFCON6, 0x90),  # TXFIL = 1, 20MRECVR = 1
    (RFCON7, 0x80),  # SLPCLKSEL = 0x2 (100 kHz internal oscillator)
    (RFCON8, 0x10),  # RFVCO = 1
    (SLPCON1, 0x21),  # CLKOUT disabled, SLPCLKDIV = 1
    (BBREG2, BBREG2_CCA_ED),  # CCA mode 1 (energy above threshold)
    (CCAEDTH, CCAEDTH_DEFAULT),  # CCA energy threshold
    (BBREG6, BBREG6_RSSIMODE2),  # RSSI of each frame appended to the RX FIFO
    (TXMCR, TXMCR_CSMA_DEFAULTS),  # unslotted CSMA-CA, macMinBE 3, macMaxCSMABackoffs 4
    (ACKTMOUT, ACKTMOUT_MAWD),  # no frame pending in data request ACKs yet
    (WAKECON, WAKECON_IMMWAKE),  # sleep and wake by register (3.15.2)
    (RFCON3, 0x00),  # transmit power 0 dB attenuation (the MA module's maximum, 0 dBm)
    (INTCON, INTCON_ENABLE_RX_TXN),  # RX and TX normal FIFO interrupts on the INT pin
)

# --- timing -----------------------------------------------------------------------------
RESET_LOW_US = const(2000)  # RESET held low (DS 3.1 states no minimum: 2 ms, generous)
RESET_START_US = const(2000)  # after RESET or wake-up: 20 MHz oscillator start (3.1, 3.15.2)
RF_RESET_US = const(192)  # after an RF state machine reset: RF calibration (DS 3.1)
RSSI_POLLS = const(64)  # RSSIRDY reads before an RSSI measurement is given up (8 sym each)

# --- RSSI register value -> dBm (DS Table 3-8, "RSSI vs received power") ----------------
# RSSI_STEPS[k] is the register value at -90 + k dBm (k = 0 .. 55, i.e. -90 .. -35 dBm);
# the chip reads 0 below -90 dBm and 255 from about -35 dBm up.
RSSI_FLOOR_DBM = const(-90)
RSSI_STEPS = (b"\x00\x01\x02\x05\x09\x0d\x12\x17\x1b\x20"  # -90 .. -81 dBm
              b"\x25\x2b\x30\x35\x3a\x3f\x44\x49\x4e\x53"  # -80 .. -71
              b"\x59\x5f\x64\x6b\x6f\x75\x79\x7d\x81\x85"  # -70 .. -61
              b"\x8a\x8f\x94\x99\x9f\xa5\xaa\xb0\xb7\xbc"  # -60 .. -51
              b"\xc1\xc6\xcb\xcf\xd4\xd8\xdd\xe1\xe4\xe9"  # -50 .. -41
              b"\xef\xf5\xfa\xfd\xfe\xff")  # -40 .. -35
