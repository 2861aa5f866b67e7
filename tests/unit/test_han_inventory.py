# Coordinator device inventory (firmware/han/inventory.py) and tamper events
# (firmware/han/tamper.py), driving the MAC directly with frames assembled here and fed
# through a fake radio: association fills the table, frames in/out, LQI/RSSI, failures
# (no ACK, MIC, replay), last seen; floods, replays, unknown devices and repeated MIC
# failures raise one event per episode. Expected values come from the scenario (frames
# fed, radio readings set), not from the code under test. Portable: tiers 1 and 2.
from hal.clock import FakeClock
from hal.radio import TX_OK
from han import tamper as tp
from han.inventory import DeviceInventory, DeviceRecord
from han.mac import cmdframes as cf
from han.mac import commands as cmd
from han.mac import frame as fr
from han.mac.mac import Mac
from han.mac.roles import Coordinator
from han.mac.security import MacSecurity
from registers.counters import RamCounterStore
from han.tamper import TamperDetector
from support import NoAllocation

COORD = bytes.fromhex("0004A30B00C0FFEE")
DEV = bytes.fromhex("0004A30B00000002")
OTHER = bytes.fromhex("0004A30B00000077")
KEY = bytes.fromhex("C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF")
PAN = 0x1A2B


class Radio:
    """Fake radio: frames fed with give() (a small FIFO), transmitted frames optionally
    acknowledged, fixed LQI/RSSI readings; no allocation in read/transmit."""

    def __init__(self):
        self.rx = [bytearray(127) for _ in range(4)]
        self.rx_len = [0] * 4
        self.rx_n = 0
        self.tx = bytearray(127)
        self.tx_len = 0
        self.sent = 0
        self.acking = True
        self._ack = bytearray(3)
        self._ack_due = False
        self.lqi = 200
        self.rssi = -61
        self.pending = {}

    def give(self, frame):
        k = self.rx_n
        n = len(frame)
        for i in range(n):
            self.rx[k][i] = frame[i]
        self.rx_len[k] = n
        self.rx_n = k + 1

    def on(self):
        pass

    def off(self):
        pass

    def channel_clear(self):
        return True

    def prepare(self, frame, length):
        for i in range(length):
            self.tx[i] = frame[i]
        self.tx_len = length

    def transmit(self):
        self.sent += 1
        if self.acking and self.tx[0] & 0x20:
            fr.encode_imm_ack(self._ack, self.tx[2], False)
            self._ack_due = True
        return TX_OK

    def tx_busy(self):
        if self._ack_due:
            self._ack_due = False
            self.give(self._ack)
        return False

    def pending_packet(self):
        return self.rx_n > 0

    def read(self, buf):
        n = self.rx_len[0]
        for i in range(n):
            buf[i] = self.rx[0][i]
        # shift the FIFO (at most 4 entries, no allocation: swap buffers)
        first = self.rx[0]
        for k in range(self.rx_n - 1):
            self.rx[k] = self.rx[k + 1]
            self.rx_len[k] = self.rx_len[k + 1]
        self.rx[self.rx_n - 1] = first
        self.rx_n -= 1
        return n

    def set_addresses(self, pan_id, short_addr, ext_addr):
        pass

    def set_channel(self, ch):
        pass

    def set_ack_pending(self, addr, on):
        self.pending[bytes(addr) if not isinstance(addr, int) else addr] = on

    def energy_detect(self):
        return 0

    def last_lqi(self):
        return self.lqi

    def last_rssi(self):
        return self.rssi


def _coordinator(secure=True, events=None):
    clock = FakeClock()
    radio = Radio()
    sec = None
    if secure:
        sec = MacSecurity(COORD, RamCounterStore())
        sec.keys.add(KEY, 1, 1)
    mac = Mac(radio, clock, COORD, PAN, 0x0000, lambda n: 0, security=sec)
    c = Coordinator(mac, 1 << 15, lambda n: 0)
    c.start_at(15, PAN, clock.ticks_us())
    inv = DeviceInventory(clock, size=4)
    inv.attach(c)
    if events is not None:
        TamperDetector(inv, lambda kind, addr, now: events.append(
            (kind, addr if isinstance(addr, int) else bytes(addr), now)))
    return c, mac, radio, clock, inv


class Sender:
    """A device building its frames by hand: FCF, sequence number, addresses, optional
    level-5 security with its own MacSecurity (the receiver's is independent)."""

    def __init__(self, ext, short=None):
        self.ext = ext
        self.short = short
        self.seq = 0x30
        self.sec = MacSecurity(ext, RamCounterStore())
        self.sec.keys.add(KEY, 1, 1)
        self.f = fr.FrameFields()

    def data(self, payload=b"\x3f\x01\x02\x03", secure=False, counter=None, seq=None):
        f = self.f
        f.clear()
        f.frame_type = fr.FT_DATA
        f.version = fr.VERSION_2006
        self.seq = (self.seq + 1) & 0xFF
        f.seq = self.seq if seq is None else seq
        f.ack_request = True
        f.dst_mode = fr.ADDR_SHORT
        f.dst_pan = PAN
        f.dst_addr = 0x0000
        f.pan_id_compression = True
        if self.short is not None and not secure:
            f.src_mode = fr.ADDR_SHORT
            f.src_addr = self.short
        else:
            f.src_mode = fr.ADDR_EXT
            f.src_ext[:] = self.ext
        buf = bytearray(127)
        if secure:
            f.security = True
            f.sec_level = 5
            f.key_id_mode = 1
            f.key_index = 1
            if counter is None:
                self.sec.prepare(f)
            else:
                f.frame_counter = counter
        n = fr.encode_header(f, buf)
        buf[n:n + len(payload)] = payload
        n += len(payload)
        if secure:
            n = self.sec.secure(f, buf, n)
        return bytes(buf[:n])


def _assoc_request(ext, seq):
    f, buf = fr.FrameFields(), bytearray(60)
    n = cf.assoc_request(f, buf, PAN, 0x0000, ext, cmd.CAP_ALLOCATE_ADDRESS | cmd.CAP_RX_ON_IDLE)
    buf[2] = seq
    return bytes(buf[:n])


def _data_request_from_ext(ext, seq):
    return bytes([0x63, 0xC8, seq]) + bytes.fromhex("2b1a0000") + bytes(reversed(ext)) + b"\x04"


def _feed(mac, radio, clock, frame, advance_us=1000):
    clock.advance_us(advance_us)
    radio.give(frame)
    mac.step(clock.ticks_us())


def _drain(mac, clock, us=50000):
    for _ in range(us // 500):
        clock.advance_us(500)
        mac.step(clock.ticks_us())


def _associate(c, mac, radio, clock, ext=DEV, seq=0x10):
    _feed(mac, radio, clock, _assoc_request(ext, seq))
    _feed(mac, radio, clock, _data_request_from_ext(ext, seq + 1))
    _drain(mac, clock)
    return c.short_of(ext)


def test_association_enters_the_device_and_frames_update_it():
    c, mac, radio, clock, inv = _coordinator()
    rec = DeviceRecord()
    assert inv.count() == 0 and not inv.read(0, rec)
    short = _associate(c, mac, radio, clock)
    assert short == 0x0001 and inv.count() == 1
    assert inv.read(inv.find_ext(DEV), rec)
    assert bytes(rec.ext) == DEV and rec.short == 0x0001 and rec.associated
    # The association response went out to the extended address and was acknowledged.
    assert rec.frames_out == 1 and rec.tx_failures == 0
    # Frames count from the association on: the request came before the entry existed,
    # the data request that fetched the response after.
    assert rec.frames_in == 1
    dev = Sender(DEV, short)
    radio.lqi, radio.rssi = 143, -72
    _feed(mac, radio, clock, dev.data(secure=True), 2000)
    t1 = clock.ticks_us()
    radio.lqi, radio.rssi = 151, -70
    _feed(mac, radio, clock, dev.data(secure=True), 3000)
    t2 = clock.ticks_us()
    _drain(mac, clock)
    inv.read(0, rec)
    assert rec.frames_in == 3 and rec.lqi == 151 and rec.rssi == -70
    assert rec.last_seen_us == t2 and t2 > t1 and rec.heard
    # A message to the device: acknowledged -> frames out 2; unacknowledged -> a failure.
    mac.send(short, b"\x3f\x05", 2, clock.ticks_us())
    _drain(mac, clock)
    radio.acking = False
    mac.send(short, b"\x3f\x06", 2, clock.ticks_us())
    _drain(mac, clock, 200000)
    inv.read(0, rec)
    assert rec.frames_out == 2 and rec.tx_failures == 1
    # A forged frame (MIC broken) and a replayed one are security errors, not frames in.
    bad = bytearray(dev.data(secure=True))
    bad[-1] ^= 0x01
    _feed(mac, radio, clock, bytes(bad))
    _feed(mac, radio, clock, dev.data(secure=True, counter=0))
    inv.read(0, rec)
    assert rec.security_errors == 2 and rec.frames_in == 3 and rec.failures == 3
    # Leaving keeps the history, without the short address.
    c.disassociate(DEV, clock.ticks_us())
    inv.read(0, rec)
    assert not rec.associated and rec.short == 0xFFFE and rec.frames_in == 3


def test_receive_path_with_inventory_and_tamper_allocates_nothing():
    c, mac, radio, clock, inv = _coordinator()
    hits = [0] * 5  # events per kind; the callback stores into it (no allocation)

    def on_tamper(kind, addr, now):
        hits[kind] += 1

    TamperDetector(inv, on_tamper)
    short = _associate(c, mac, radio, clock)
    dev = Sender(DEV, short)
    frames = [dev.data(secure=True) for _ in range(3)]
    replayed = Sender(DEV, short).data(secure=True, counter=0, seq=0x99)
    stranger = Sender(OTHER, 0x0042).data()
    radio.acking = False
    rec = DeviceRecord()
    with NoAllocation():
        for frame in frames:
            radio.give(frame)
            mac._receive(clock.ticks_us())
        radio.give(replayed)
        mac._receive(clock.ticks_us())
        radio.give(stranger)
        mac._receive(clock.ticks_us())
        inv.read(0, rec)
    assert rec.frames_in == 1 + 3 and rec.security_errors == 1
    assert hits == [0, 0, 1, 1, 0]  # one replay, one unknown device


def test_flood_raises_once_per_episode():
    events = []
    c, mac, radio, clock, inv = _coordinator(secure=False, events=events)
    inv.associated(DEV, 0x0005)  # pre-installed
    dev = Sender(DEV, 0x0005)
    # 50 frames in one second: the threshold itself is not a flood.
    for _ in range(tp.FLOOD_FRAMES_PER_S):
        _feed(mac, radio, clock, dev.data(), 10000)
    assert events == []
    # Frames 51.. within the same second: one event, from the device's extended address.
    for _ in range(20):
        _feed(mac, radio, clock, dev.data(), 1000)
    assert len(events) == 1 and events[0][0] == tp.TAMPER_FLOOD and events[0][1] == DEV
    # The flood goes on in the next seconds: the same episode.
    for _ in range(3):
        for _ in range(60):
            _feed(mac, radio, clock, dev.data(), 5000)
        clock.advance_us(700000)
    assert len(events) == 1
    # Quiet for longer than the episode gap, then flooding again: a second event.
    clock.advance_us(tp.TAMPER_EPISODE_GAP_US)
    for _ in range(tp.FLOOD_FRAMES_PER_S + 1):
        _feed(mac, radio, clock, dev.data(), 1000)
    assert len(events) == 2 and events[1][0] == tp.TAMPER_FLOOD
    # Normal traffic (5 frames/s) from the same device raises nothing.
    clock.advance_us(tp.TAMPER_EPISODE_GAP_US)
    for _ in range(100):
        _feed(mac, radio, clock, dev.data(), 200000)
    assert len(events) == 2


def test_normal_traffic_late_in_the_tick_period_raises_no_flood():
    # A source's first frames when the tick counter is in its second half (ticks_us
    # 2**29 .. 2**30 after boot: about 9 to 18 minutes): its window start (0) lies "in
    # the future" for ticks_diff, so the window never restarted and the 51st frame of a
    # quiet device, minutes apart, was a FLOOD (found with the gas meter rejoining).
    events = []
    c, mac, radio, clock, inv = _coordinator(secure=False, events=events)
    clock.advance_us((1 << 29) + 1000)
    inv.associated(DEV, 0x0005)
    dev = Sender(DEV, 0x0005)
    for _ in range(tp.FLOOD_FRAMES_PER_S + 10):
        _feed(mac, radio, clock, dev.data(), 2000000)  # one frame every 2 s
    assert events == []


def test_replay_raises_once_per_episode():
    events = []
    c, mac, radio, clock, inv = _coordinator(events=events)
    short = _associate(c, mac, radio, clock)
    dev = Sender(DEV, short)
    for _ in range(5):
        _feed(mac, radio, clock, dev.data(secure=True), 10000)  # counters 0..4
    assert events == []
    for old in (1, 2, 3):  # captured frames sent again (new sequence numbers)
        _feed(mac, radio, clock, dev.data(secure=True, counter=old), 10000)
    assert len(events) == 1 and events[0][0] == tp.TAMPER_REPLAY and events[0][1] == DEV
    assert mac.security.errors[3] == 3  # SEC_ERR_REPLAY counted by the security layer
    clock.advance_us(tp.TAMPER_EPISODE_GAP_US + 1)
    _feed(mac, radio, clock, dev.data(secure=True, counter=2), 0)
    assert len(events) == 2 and events[1][0] == tp.TAMPER_REPLAY
    # A retransmission (same sequence number and counter) is a duplicate, not a replay.
    frame = dev.data(secure=True)
    _feed(mac, radio, clock, frame)
    _feed(mac, radio, clock, frame)
    assert len(events) == 2 and mac.rx_duplicates == 1


def test_unknown_device_raises_but_association_does_not():
    events = []
    c, mac, radio, clock, inv = _coordinator(events=events)
    # A new device associating sends commands from an unknown address: no event.
    _associate(c, mac, radio, clock, OTHER, 0x50)
    assert events == [] and c.short_of(OTHER) == 1
    # Data from a short address nobody was given: one event for the episode.
    stranger = Sender(DEV, 0x0042)
    for _ in range(4):
        _feed(mac, radio, clock, stranger.data(), 50000)
    assert events == [(tp.TAMPER_UNKNOWN_DEVICE, 0x0042, events[0][2])]
    # Secured frames from an extended address that never associated: its own event.
    ghost = Sender(bytes.fromhex("1122334455667788"))
    for _ in range(3):
        _feed(mac, radio, clock, ghost.data(secure=True), 50000)
    assert len(events) == 2 and events[1][:2] == (tp.TAMPER_UNKNOWN_DEVICE,
                                                  bytes.fromhex("1122334455667788"))
    # A device that left and keeps sending data is no longer known.
    c.disassociate(OTHER, clock.ticks_us())
    _drain(mac, clock)
    _feed(mac, radio, clock, Sender(OTHER).data(secure=True), 50000)
    assert len(events) == 3 and events[2][:2] == (tp.TAMPER_UNKNOWN_DEVICE, OTHER)


def test_repeated_mic_failures_raise_once():
    events = []
    c, mac, radio, clock, inv = _coordinator(events=events)
    short = _associate(c, mac, radio, clock)
    dev = Sender(DEV, short)

    def forged():
        b = bytearray(dev.data(secure=True))
        b[-2] ^= 0x40
        return bytes(b)

    for _ in range(tp.MIC_FAILURES_THRESHOLD - 1):
        _feed(mac, radio, clock, forged(), 100000)
    assert events == []  # one or two may be a device with an old key
    _feed(mac, radio, clock, forged(), 100000)
    assert events == [(tp.TAMPER_MIC_FAILURES, DEV, clock.ticks_us())]
    for _ in range(5):
        _feed(mac, radio, clock, forged(), 100000)
    assert len(events) == 1
    # Failures spread wider than the window do not add up.
    clock.advance_us(tp.MIC_WINDOW_US)
    for _ in range(4):
        _feed(mac, radio, clock, forged(), tp.MIC_WINDOW_US // 2 + 1000)
    assert len(events) == 1
    assert mac.security.errors[4] == tp.MIC_FAILURES_THRESHOLD + 5 + 4  # SEC_ERR_MIC


class _LateRadio(Radio):
    """The ACK is already in the receive queue when the MAC next looks (its step came
    after the frame and the ACK had both ended, as under asyncio)."""

    def transmit(self):
        self.sent += 1
        if self.tx[0] & 0x20:
            fr.encode_imm_ack(self._ack, self.tx[2], False)
            self.give(self._ack)
        return TX_OK

    def tx_busy(self):
        return False


def test_mac_takes_an_ack_queued_before_its_step():
    # (The MAC change the asyncio wrappers needed: an ACK read while CSMA still had the
    # frame on air is kept for the ACK wait, mac.py.)
    clock = FakeClock()
    radio = _LateRadio()
    mac = Mac(radio, clock, DEV, PAN, 0x0005, lambda n: 0)
    mac.send(0x0000, b"\x3f\x01", 2, clock.ticks_us())
    mac.step(clock.ticks_us())  # backoff 0: transmitted at once
    clock.advance_us(5000)
    mac.step(clock.ticks_us())
    assert mac.tx_ok == 1 and radio.sent == 1 and mac.csma.retries == 0
