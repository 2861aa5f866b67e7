# The MRF24J40 driver (firmware/hal/radio/mrf24j40.py) over the register-level fake chip
# (fake_mrf24j40.py). Expected register values are written out here from Microchip
# DS39776C ("MRF24J40 Data Sheet"): Example 3-1 (initialization), the RFCON0 register (channels),
# Table 3-8 (RSSI), the RX FIFO format (3.11), 3.11.1.1 (frame filter), 3.13 (ACKs).
# Also csma.py's path for radios that wait for the ACK themselves. Portable: tiers 1, 2.
from fake_mrf24j40 import FakeMrf24j40, kermit_crc
from hal.clock import FakeClock
from hal.radio import TX_COLLISION, TX_ERR, TX_NOACK, TX_OK
from han.mac import csma
from hal.radio.mrf24j40 import Mrf24j40
from support import NoAllocation, raises

EXT = bytes.fromhex("0004A30B00C0FFEE")  # most significant byte first, as the MAC has it
EXT_AIR = bytes.fromhex("EEFFC0000BA30400")  # the same on the air / in EADR0..EADR7

# DS 3.2 Example 3-1, then our additions, then the channel set and RF reset (steps 16-18).
INIT_WRITES = [
    ("S", 0x2A, 0x07),  # SOFTRST: reset power, baseband, MAC
    ("S", 0x18, 0x98),  # PACON2: FIFOEN, TXONTS = 6
    ("S", 0x2E, 0x95),  # TXSTBL: RFSTBL = 9, MSIFS = 5
    ("L", 0x200, 0x03),  # RFCON0: RFOPT = 3
    ("L", 0x201, 0x02),  # RFCON1: VCOOPT = 2 (the register description's value)
    ("L", 0x202, 0x80),  # RFCON2: PLLEN
    ("L", 0x206, 0x90),  # RFCON6: TXFIL, 20MRECVR
    ("L", 0x207, 0x80),  # RFCON7: SLPCLKSEL = 100 kHz internal
    ("L", 0x208, 0x10),  # RFCON8: RFVCO
    ("L", 0x220, 0x21),  # SLPCON1: CLKOUT off, SLPCLKDIV = 1
    ("S", 0x3A, 0x80),  # BBREG2: CCA mode 1 (energy)
    ("S", 0x3F, 0x60),  # CCAEDTH: about -69 dBm
    ("S", 0x3E, 0x40),  # BBREG6: RSSI appended to each received frame
    ("S", 0x11, 0x1C),  # TXMCR: macMinBE 3, macMaxCSMABackoffs 4, unslotted
    ("S", 0x12, 0x39),  # ACKTMOUT: MAWD reset value, DRPACK 0
    ("S", 0x22, 0x80),  # WAKECON: IMMWAKE
    ("L", 0x203, 0x00),  # RFCON3: full power
    ("S", 0x32, 0xF6),  # INTCON: RXIE, TXNIE enabled (0 = enabled)
    ("L", 0x200, 0x03),  # RFCON0: channel 11
    ("S", 0x36, 0x04),  # RFCTL: RF state machine reset ...
    ("S", 0x36, 0x00),  # ... released, then 192 us
    ("S", 0x0D, 0x01),  # RXFLUSH
]

# RFCON0 for channels 11 .. 26 (CHANNEL<7:4> = channel - 11, RFOPT = 0x3).
RFCON0_BY_CHANNEL = [0x03, 0x13, 0x23, 0x33, 0x43, 0x53, 0x63, 0x73,
                     0x83, 0x93, 0xA3, 0xB3, 0xC3, 0xD3, 0xE3, 0xF3]


class Waits:
    def __init__(self):
        self.log = []

    def __call__(self, us):
        self.log.append(us)


def _nothing(us):
    pass


def _radio(log=False, waits=None, reset=True, int_pin=True):
    chip = FakeMrf24j40()
    chip.logging = log
    r = Mrf24j40(chip.spi, chip.cs, waits if waits is not None else _nothing,
                 reset=chip.reset_pin if reset else None,
                 int_pin=chip.int_pin if int_pin else None)
    return chip, r


def _with_fcs(frame):
    out = bytearray(len(frame) + 2)
    out[:len(frame)] = frame
    crc = kermit_crc(out, len(frame))
    out[len(frame)] = crc & 0xFF
    out[len(frame) + 1] = crc >> 8
    return bytes(out)


# Frames by hand (IEEE 802.15.4-2006 7.2): FCF little endian, seq, addressing, payload.
def _data(dst, seq=0x42, pan=0x1A2B, src=0x0001, ar=True, payload=b"\x3f\x01"):
    fcf = 0x8841 | (0x20 if ar else 0)  # data, PAN ID compression, short dst and src
    return bytes([fcf & 0xFF, fcf >> 8, seq, pan & 0xFF, pan >> 8, dst & 0xFF, dst >> 8,
                  src & 0xFF, src >> 8]) + payload


def test_init_writes_the_data_sheet_sequence_and_waits():
    waits = Waits()
    chip, r = _radio(log=True, waits=waits)
    assert chip.log == INIT_WRITES
    # RESET low 2 ms, oscillator start 2 ms (DS 3.1), RF calibration 192 us.
    assert waits.log == [2000, 2000, 192]
    assert chip.pin_resets == 1 and chip.soft_resets == 1 and chip.spi_errors == 0
    assert chip.channel == 11 and r.channel == 11 and not chip.asleep


def test_reset_without_reset_pin_and_a_silent_bus():
    waits = Waits()
    chip, r = _radio(waits=waits, reset=False)
    assert waits.log == [192] and chip.pin_resets == 0 and chip.short[0x18] == 0x98

    class DeadBus:  # nothing on MISO: the lines float high
        def write(self, buf):
            pass

        def write_readinto(self, w, r):
            for i in range(len(r)):
                r[i] = 0xFF

        def readinto(self, buf, write=0):
            for i in range(len(buf)):
                buf[i] = 0xFF

    raises(OSError, Mrf24j40, DeadBus(), chip.cs, _nothing)


def test_channels_11_to_26_set_rfcon0_and_reset_the_rf_state_machine():
    waits = Waits()
    chip, r = _radio(waits=waits)
    for ch in range(11, 27):
        chip.log = []
        chip.logging = True
        r.set_channel(ch)
        assert chip.log == [("L", 0x200, RFCON0_BY_CHANNEL[ch - 11]),
                            ("S", 0x36, 0x04), ("S", 0x36, 0x00)]
        assert waits.log[-1] == 192 and chip.channel == ch and r.channel == ch
    chip.log = []
    raises(ValueError, r.set_channel, 10)
    raises(ValueError, r.set_channel, 27)
    assert chip.log == [] and chip.channel == 26


def test_address_registers_and_pan_coordinator_bit():
    chip, r = _radio()
    r.set_addresses(0x1A2B, 0x0102, EXT)
    s = chip.short
    assert (s[0x01], s[0x02], s[0x03], s[0x04]) == (0x2B, 0x1A, 0x02, 0x01)
    assert bytes(s[0x05:0x0D]) == EXT_AIR  # EADR0 = least significant byte
    assert s[0x00] == 0x00  # RXMCR: normal mode, auto-ACK on, not coordinator
    r.set_addresses(0x1A2B, 0x0000, EXT)
    assert s[0x00] == 0x08  # PANCOORD


def test_transmit_path_fills_the_tx_normal_fifo_and_triggers():
    chip, r = _radio(log=True)
    r.set_addresses(0x1A2B, 0x0001, EXT)
    frame = _data(0x0000, payload=b"hello")
    chip.log = []
    r.prepare(frame, len(frame))
    assert chip.long[0] == 0 and chip.long[1] == len(frame)  # header length, frame length
    assert chip.tx_fifo_frame() == frame and not chip.tx_triggered
    assert r.transmit() == TX_OK and chip.tx_triggered
    assert chip.log[-1] == ("S", 0x1B, 0x05)  # TXNCON: TXNACKREQ | TXNTRIG
    assert r.tx_busy() and r.tx_busy()
    assert r.transmit() == TX_ERR  # one frame at a time
    chip.complete_tx(acked=True, pending=True, retries=1)
    assert not r.tx_busy()
    assert (r.tx_status(), r.tx_ack_pending(), r.tx_retries()) == (TX_OK, True, 1)
    # No ACK requested: TXNTRIG only.
    frame = _data(0xFFFF, ar=False)
    r.prepare(frame, len(frame))
    r.transmit()
    assert chip.log[-1] == ("S", 0x1B, 0x01)
    chip.complete_tx()
    assert not r.tx_busy() and r.tx_status() == TX_OK and not r.tx_ack_pending()


def test_transmit_outcomes_from_txstat():
    chip, r = _radio()
    frame = _data(0x0000)
    r.prepare(frame, len(frame))
    r.transmit()
    chip.complete_tx(acked=False, retries=3)
    assert not r.tx_busy() and (r.tx_status(), r.tx_retries()) == (TX_NOACK, 3)
    r.transmit()
    chip.complete_tx(cca_fail=True)
    assert not r.tx_busy() and r.tx_status() == TX_COLLISION


def test_longest_frame_stays_inside_the_tx_normal_fifo():
    chip, r = _radio()
    chip.long[0x07F] = 0xA5
    chip.long[0x080] = 0x5A  # TX beacon FIFO starts here
    frame = bytes(range(125))
    r.prepare(frame, 125)
    assert chip.tx_fifo_frame() == frame
    assert chip.long[0x07F] == 0xA5 and chip.long[0x080] == 0x5A
    raises(ValueError, r.prepare, bytes(126), 126)


def test_receive_path_reads_the_fifo_layout_and_flushes():
    chip, r = _radio(log=True)
    r.set_addresses(0x1A2B, 0x0102, EXT)
    frame = _data(0x0102, payload=b"\x3fmeter")
    assert not r.pending_packet()
    assert chip.receive_air(_with_fcs(frame), rssi_dbm=-70, lqi=200)
    assert chip.int_pin.value() == 0  # INT asserted (active low)
    chip.log = []
    buf = bytearray(127)
    assert r.pending_packet()
    n = r.read(buf)
    assert n == len(frame) and bytes(buf[:n]) == frame
    assert r.last_lqi() == 200 and r.last_rssi() == -70
    # RXDECINV set around the FIFO read, FIFO flushed, reception back on (DS 3.11).
    assert chip.log == [("S", 0x39, 0x04), ("S", 0x0D, 0x01), ("S", 0x39, 0x00)]
    assert not r.pending_packet() and r.read(buf) == 0 and chip.int_pin.value() == 1
    assert r.rx_frames == 1 and r.rx_errors == 0


def test_rssi_mapping_follows_table_3_8():
    chip, r = _radio()
    r.set_addresses(0x1A2B, 0x0102, EXT)
    frame = _with_fcs(_data(0x0102, ar=False))
    n = len(frame)
    buf = bytearray(127)
    # (RSSI register, dBm) from DS Table 3-8.
    for raw, dbm in ((0, -90), (1, -89), (36, -81), (37, -80), (89, -70), (138, -60),
                     (192, -51), (193, -50), (239, -40), (254, -36), (255, -35)):
        chip.receive_air(frame, lqi=7)
        chip.long[0x300 + 2 + n] = raw  # RSSI is the byte after the LQI
        assert r.read(buf) == n - 2
        assert r.last_rssi() == dbm, (raw, r.last_rssi())
        assert r.last_lqi() == 7


def test_frame_filter_and_auto_ack():
    chip, r = _radio()
    r.set_addresses(0x1A2B, 0x0102, EXT)
    buf = bytearray(127)

    def heard(frame):
        got = chip.receive_air(_with_fcs(frame))
        assert got == r.pending_packet()
        r.read(buf)
        return got

    assert heard(_data(0x0102, seq=7))  # to us: ACK with our sequence number, no pending
    assert chip.acks_sent[-1] == _with_fcs(b"\x02\x00\x07")
    assert not heard(_data(0x0103)) and len(chip.acks_sent) == 1  # another device
    assert not heard(_data(0x0102, pan=0x7777))  # another PAN
    assert heard(_data(0xFFFF)) and len(chip.acks_sent) == 1  # broadcast: never ACKed
    to_ext = bytes([0x61, 0xCC, 9, 0x2B, 0x1A]) + EXT_AIR + EXT_AIR + b"\x01"
    assert heard(to_ext) and chip.acks_sent[-1] == _with_fcs(b"\x02\x00\x09")
    # Beacons: from our PAN only, from any PAN while our PAN ID is 0xFFFF (rule 2).
    beacon = bytes([0x00, 0x80, 1, 0x77, 0x77, 0x00, 0x00, 0xFF, 0xCF, 0x00, 0x00])
    assert not heard(beacon)
    r.set_addresses(0xFFFF, 0xFFFE, EXT)
    assert heard(beacon)
    # Source addressing only: to the PAN coordinator only (rule 5).
    r.set_addresses(0x1A2B, 0x0102, EXT)
    src_only = bytes([0x61, 0x80, 3, 0x2B, 0x1A, 0x05, 0x00, 0x3F])
    assert not heard(src_only)
    r.set_addresses(0x1A2B, 0x0000, EXT)
    assert heard(src_only) and chip.acks_sent[-1] == _with_fcs(b"\x02\x00\x03")
    # ACK frames and frames with a bad FCS never reach the FIFO.
    assert not chip.receive_air(_with_fcs(b"\x02\x00\x03")) and not r.pending_packet()
    bad = bytearray(_with_fcs(_data(0x0000)))
    bad[-1] ^= 0xFF
    assert not chip.receive_air(bytes(bad)) and not r.pending_packet()


def test_promiscuous_mode_hears_everything_and_acknowledges_nothing():
    chip, r = _radio()
    r.set_addresses(0x1A2B, 0x0000, EXT)
    r.set_promiscuous(True)
    assert chip.short[0x00] == 0x08 | 0x20 | 0x01  # PANCOORD kept, NOACKRSP, PROMI
    buf = bytearray(127)
    for frame in (_data(0x0103, pan=0x7777), _data(0x0000)):
        assert chip.receive_air(_with_fcs(frame)) and r.read(buf) == len(frame)
    assert chip.acks_sent == []
    r.set_promiscuous(False)
    assert chip.short[0x00] == 0x08
    assert not chip.receive_air(_with_fcs(_data(0x0103, pan=0x7777)))
    assert chip.receive_air(_with_fcs(_data(0x0000))) and len(chip.acks_sent) == 1


def test_data_request_ack_carries_drpack():
    chip, r = _radio()
    r.set_addresses(0x1A2B, 0x0000, EXT)  # coordinator
    # Data request from 0x0102 (command 0x04, 2006 7.3.4) and a data frame, both with AR.
    poll = bytes([0x63, 0x88, 0x21, 0x2B, 0x1A, 0x00, 0x00, 0x02, 0x01, 0x04])
    poll_ext = bytes([0x63, 0xC8, 0x22, 0x2B, 0x1A, 0x00, 0x00]) + EXT_AIR + b"\x04"
    buf = bytearray(127)

    def ack_pending(frame):
        chip.receive_air(_with_fcs(frame))
        r.read(buf)
        return bool(chip.acks_sent[-1][0] & 0x10)

    assert chip.short[0x12] == 0x39 and not ack_pending(poll)
    r.set_ack_pending(0x0102, True)
    assert chip.short[0x12] == 0xB9  # DRPACK | MAWD
    assert ack_pending(poll) and ack_pending(poll_ext)  # one bit for every requester
    assert not ack_pending(_data(0x0000, src=0x0102))  # only data request ACKs carry it
    r.set_ack_pending(EXT, True)
    r.set_ack_pending(0x0102, False)
    assert chip.short[0x12] == 0xB9
    r.set_ack_pending(bytearray(EXT), False)
    assert chip.short[0x12] == 0x39 and not ack_pending(poll)
    for a in range(9):  # eight slots: the ninth is counted, DRPACK stays set
        r.set_ack_pending(0x0200 + a, True)
    assert r.pending_overflow == 1 and chip.short[0x12] == 0xB9


def test_energy_detect_and_cca_against_ccaedth():
    chip, r = _radio(log=True)
    for level, clear in ((0, True), (0x5F, True), (0x60, False), (0xFF, False)):
        chip.ambient_rssi = level
        chip.log = []
        assert r.energy_detect() == level
        assert chip.log[0] == ("S", 0x3E, 0x80) and chip.log[-1] == ("S", 0x3E, 0x40)
        assert r.channel_clear() == clear
    assert chip.short[0x3E] == 0x40  # RSSI appending back on


def test_sleep_and_wake_by_register():
    waits = Waits()
    chip, r = _radio(log=True, waits=waits)
    r.set_addresses(0x1A2B, 0x0102, EXT)
    chip.log = []
    r.off()
    assert chip.asleep and chip.log == [("S", 0x2A, 0x04), ("S", 0x35, 0x80)]
    r.off()
    assert len(chip.log) == 2  # already asleep: nothing written
    assert not chip.receive_air(_with_fcs(_data(0x0102)))
    assert r.transmit() == TX_ERR
    chip.log = []
    waits.log = []
    r.on()
    assert not chip.asleep
    assert chip.log == [("S", 0x22, 0xC0), ("S", 0x22, 0x80), ("S", 0x36, 0x04),
                        ("S", 0x36, 0x00)]
    assert waits.log == [192, 2000]  # RF calibration, oscillator start-up (DS 3.15.2)
    assert chip.receive_air(_with_fcs(_data(0x0102))) and r.pending_packet()


def test_int_pin_saves_spi_reads_when_idle():
    chip, r = _radio()
    before = chip.spi_bytes
    for _ in range(5):
        assert not r.pending_packet() and not r.tx_busy()
    assert chip.spi_bytes == before  # INT high: INTSTAT is not read
    chip2, r2 = _radio(int_pin=False)
    before = chip2.spi_bytes
    assert not r2.pending_packet()
    assert chip2.spi_bytes == before + 2  # one short read of INTSTAT


def test_transmit_and_receive_paths_allocate_nothing():
    chip, r = _radio()
    r.set_addresses(0x1A2B, 0x0102, EXT)
    frame = bytearray(_data(0x0000, payload=bytes(60)))
    n = len(frame)
    rx = _with_fcs(_data(0x0102, payload=bytes(80)))
    buf = bytearray(127)
    with NoAllocation():
        r.prepare(frame, n)
        ok = r.transmit() == TX_OK and r.tx_busy()
    chip.complete_tx(acked=True, pending=True)
    chip.receive_air(rx, rssi_dbm=-60, lqi=99)
    with NoAllocation():
        done = not r.tx_busy() and r.tx_status() == TX_OK and r.tx_ack_pending()
        got = r.read(buf) if r.pending_packet() else -1
        rssi = r.last_rssi()
        lqi = r.last_lqi()
        r.set_ack_pending(0x0105, True)
        r.set_ack_pending(EXT, True)
        r.set_ack_pending(0x0105, False)
        r.set_ack_pending(EXT, False)
        e = r.energy_detect()
    assert ok and done and got == len(rx) - 2 and rssi == -60 and lqi == 99 and e == 0


# --- csma.py with a radio that waits for the ACK itself ------------------------------------
def _csma():
    chip, r = _radio()
    clock = FakeClock()
    draws = []

    def rand_bits(n):
        draws.append(n)
        return 0

    return chip, r, clock, csma.CsmaTx(r, clock, rand_bits), draws


def test_csma_leaves_backoff_ack_wait_and_retries_to_the_chip():
    chip, r, clock, tx, draws = _csma()
    frame = _data(0x0000)
    now = clock.ticks_us()
    tx.start(frame, len(frame), frame[2], True, now)
    assert tx.step(now) == csma.BUSY and chip.tx_triggered  # no software backoff or CCA
    assert chip.tx_fifo_frame() == frame and draws == []
    assert tx.step(now) == csma.BUSY and tx.wake_in(now) == -1
    chip.complete_tx(acked=True, pending=True, retries=2)
    assert tx.step(now) == csma.SENT and tx.ack_pending and tx.retries == 2 and tx.idle


def test_csma_reports_the_chips_failures():
    chip, r, clock, tx, draws = _csma()
    frame = _data(0x0000)
    tx.start(frame, len(frame), frame[2], True, 0)
    tx.step(0)
    chip.complete_tx(acked=False, retries=3)
    assert tx.step(0) == csma.NO_ACK and tx.no_acks == 1 and tx.retries == 3
    tx.start(frame, len(frame), frame[2], True, 0)
    tx.step(0)
    chip.complete_tx(cca_fail=True)
    assert tx.step(0) == csma.CHANNEL_ACCESS_FAILURE and tx.access_failures == 1
    # A broadcast: no ACK asked, so no frame pending either.
    frame = _data(0xFFFF, ar=False)
    tx.start(frame, len(frame), frame[2], False, 0)
    tx.step(0)
    chip.complete_tx(pending=True)
    assert tx.step(0) == csma.SENT and not tx.ack_pending and draws == []
