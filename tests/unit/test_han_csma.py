# Unslotted CSMA-CA, ACK wait and retries (firmware/han/mac/csma.py) and the MAC data
# service (mac.py) on a scripted fake radio: the standard's constants, the backoff ranges
# per BE (2006 7.5.1.4), channel access failure after macMaxCSMABackoffs, retransmission
# after macAckWaitDuration, duplicate rejection. Portable: tiers 1 and 2.
from hal.clock import FakeClock
from hal.radio import TX_OK
from han.mac import csma
from han.mac import frame as fr
from han.mac.mac import Mac, SUCCESS
from support import NoAllocation


class ScriptedRadio:
    """Channel busy for the first `busy` CCAs; frames take `airtime` us on air."""

    def __init__(self, clock, busy=0, airtime=1000):
        self.clock = clock
        self.busy = busy
        self.airtime = airtime
        self.cca_times = []
        self.sent = []
        self.rx = []
        self.tx_end = 0
        self.enabled = False
        self.pending = {}

    def on(self):
        self.enabled = True

    def off(self):
        self.enabled = False

    def channel_clear(self):
        self.cca_times.append(self.clock.ticks_us())
        if self.busy:
            self.busy -= 1
            return False
        return True

    def prepare(self, frame, length):
        self._frame = bytes(frame[:length])

    def transmit(self):
        self.sent.append((self.clock.ticks_us(), self._frame))
        self.tx_end = self.clock.ticks_us() + self.airtime
        return TX_OK

    def tx_busy(self):
        return self.clock.ticks_us() < self.tx_end

    def pending_packet(self):
        return bool(self.rx)

    def read(self, buf):
        data = self.rx.pop(0)
        buf[:len(data)] = data
        return len(data)

    def set_addresses(self, pan_id, short_addr, ext_addr):
        pass

    def set_ack_pending(self, addr, on):
        self.pending[addr] = on

    def last_lqi(self):
        return 200


class Counter:
    """rand_bits stand-in returning 2**n - 1 (the largest backoff) and recording n."""

    def __init__(self):
        self.calls = []

    def __call__(self, n):
        self.calls.append(n)
        return (1 << n) - 1


def _run(engine, clock, limit=5000):
    for _ in range(limit):
        r = engine.step(clock.ticks_us())
        if r != csma.BUSY:
            return r
        d = engine.wake_in(clock.ticks_us())
        clock.advance_us(d if d > 0 else 10)
    raise AssertionError("did not finish")


def test_constants_are_the_standards():
    # 2006 Table 86 defaults and Table 85 aUnitBackoffPeriod (20 symbols of 16 us).
    assert (csma.MAC_MIN_BE, csma.MAC_MAX_BE, csma.MAC_MAX_CSMA_BACKOFFS) == (3, 5, 4)
    assert csma.MAC_MAX_FRAME_RETRIES == 3
    assert csma.A_UNIT_BACKOFF_US == 20 * 16
    assert csma.MAC_ACK_WAIT_US == 54 * 16


def test_busy_channel_gives_access_failure_with_growing_be():
    clock = FakeClock()
    radio = ScriptedRadio(clock, busy=100)
    rnd = Counter()
    e = csma.CsmaTx(radio, clock, rnd)
    e.start(b"\x01\x00\x00", 3, 0, False, clock.ticks_us())
    assert _run(e, clock) == csma.CHANNEL_ACCESS_FAILURE
    # NB runs 0..macMaxCSMABackoffs: 5 CCAs; BE = 3, 4, 5, 5, 5.
    assert rnd.calls == [3, 4, 5, 5, 5]
    assert len(radio.cca_times) == 5
    gaps = [radio.cca_times[0]] + [radio.cca_times[i] - radio.cca_times[i - 1]
                                   for i in range(1, 5)]
    assert gaps == [7 * 320, 15 * 320, 31 * 320, 31 * 320, 31 * 320]
    assert radio.sent == []


def test_no_ack_retries_then_fails():
    clock = FakeClock()
    radio = ScriptedRadio(clock, airtime=800)
    e = csma.CsmaTx(radio, clock, lambda n: 0)
    e.start(b"\x21\x00\x05", 3, 5, True, clock.ticks_us())
    assert _run(e, clock) == csma.NO_ACK
    assert len(radio.sent) == 1 + csma.MAC_MAX_FRAME_RETRIES
    # Each retry starts after the end of the frame + macAckWaitDuration (backoff 0).
    starts = [t for t, _ in radio.sent]
    assert starts[1] - starts[0] >= 800 + csma.MAC_ACK_WAIT_US
    assert e.retries == 3 and e.no_acks == 1


def test_ack_ends_the_frame_and_carries_pending():
    clock = FakeClock()
    radio = ScriptedRadio(clock, airtime=800)
    e = csma.CsmaTx(radio, clock, lambda n: 0)
    e.start(b"\x21\x00\x05", 3, 5, True, clock.ticks_us())
    e.step(clock.ticks_us())
    clock.advance_us(900)
    assert e.step(clock.ticks_us()) == csma.BUSY  # now waiting for the ACK
    assert not e.ack_received(6, True)  # wrong sequence number
    assert e.ack_received(5, True)
    assert e.step(clock.ticks_us()) == csma.SENT and e.ack_pending


def _data_frame(seq, src=0x0105, payload=b"hi"):
    f = fr.FrameFields()
    f.frame_type = fr.FT_DATA
    f.ack_request = True
    f.pan_id_compression = True
    f.seq = seq
    f.dst_mode = f.src_mode = fr.ADDR_SHORT
    f.dst_pan = 0x1A2B
    f.dst_addr = 0x0000
    f.src_addr = src
    buf = bytearray(127)
    return bytes(buf[:fr.encode(f, payload, len(payload), buf)])


def test_mac_rejects_duplicates_and_counts_garbage():
    clock = FakeClock()
    radio = ScriptedRadio(clock)
    got = []
    mac = Mac(radio, clock, b"\x00" * 8, 0x1A2B, 0x0000, lambda n: 0,
              on_data=lambda f, buf, lqi: got.append(bytes(buf[f.header_len:f.length])))
    radio.rx += [_data_frame(9), _data_frame(9), _data_frame(10), b"\x64\x88", b"\x61"]
    mac.step(clock.ticks_us())
    assert got == [b"hi", b"hi"]
    assert mac.rx_duplicates == 1
    assert mac.rx_errors[fr.ERR_FRAME_TYPE] == 1 and mac.rx_errors[fr.ERR_SHORT] == 1


def test_mac_send_builds_frame_and_reports_success():
    clock = FakeClock()
    radio = ScriptedRadio(clock, airtime=700)
    done = []
    mac = Mac(radio, clock, b"\x00" * 8, 0x1A2B, 0x0105, lambda n: 0,
              on_sent=lambda h, s: done.append((h, s)))
    h = mac.send(0x0000, b"abc", 3, clock.ticks_us())
    mac.step(clock.ticks_us())
    assert len(radio.sent) == 1
    frame = radio.sent[0][1]
    f = fr.FrameFields()
    assert fr.decode(frame, len(frame), f, False) == fr.OK
    assert f.ack_request and f.dst_addr == 0 and f.src_addr == 0x0105
    assert frame[f.header_len:] == b"abc"
    clock.advance_us(800)
    mac.step(clock.ticks_us())
    radio.rx.append(bytes([0x02, 0x00, f.seq]))
    mac.step(clock.ticks_us())
    assert done == [(h, SUCCESS)]


def _poll_from(src, seq):
    """A data request (MAC command 0x04, 2006 7.3.4) from short address src."""
    f = fr.FrameFields()
    f.frame_type = fr.FT_CMD
    f.ack_request = True
    f.pan_id_compression = True
    f.dst_mode = f.src_mode = fr.ADDR_SHORT
    f.dst_pan = 0x1A2B
    f.src_addr = src
    f.seq = seq
    buf = bytearray(127)
    n = fr.encode(f, b"\x04", 1, buf)
    return bytes(buf[:n])


def test_mac_indirect_frame_waits_for_data_request():
    clock = FakeClock()
    radio = ScriptedRadio(clock, airtime=500)
    done = []
    mac = Mac(radio, clock, b"\x00" * 8, 0x1A2B, 0x0000, lambda n: 0,
              on_sent=lambda h, s: done.append(s))
    mac.send(0x0109, b"for the gas meter", 17, clock.ticks_us(), indirect=True)
    mac.step(clock.ticks_us())
    assert radio.sent == [] and radio.pending[0x0109]
    radio.rx.append(_poll_from(0x0109, 1))  # the sleepy device polls
    clock.advance_us(100)
    mac.step(clock.ticks_us())
    assert len(radio.sent) == 1 and not radio.pending[0x0109]
    g = fr.FrameFields()
    frame = radio.sent[0][1]
    assert fr.decode(frame, len(frame), g, False) == fr.OK
    assert g.dst_addr == 0x0109 and frame[g.header_len:] == b"for the gas meter"
    # No ACK: the frame stays pending for the next poll (until it expires).
    for _ in range(40):
        clock.advance_us(1000)
        mac.step(clock.ticks_us())
    assert radio.pending[0x0109] and done == []
    clock.advance_us(8000000)
    mac.step(clock.ticks_us())
    assert done == [3]  # TRANSACTION_EXPIRED


def test_mac_receive_path_allocates_nothing():
    clock = FakeClock()
    radio = ScriptedRadio(clock)
    mac = Mac(radio, clock, b"\x00" * 8, 0x1A2B, 0x0000, lambda n: 0)
    frames = [_data_frame(s) for s in range(5)] + [b"\x64\x88\x00", _data_frame(4)]
    buf = bytearray(127)

    class Feed:
        i = 0

    def read(b):
        data = frames[Feed.i]
        Feed.i += 1
        for j in range(len(data)):
            b[j] = data[j]
        return len(data)

    radio.read = read
    radio.pending_packet = lambda: Feed.i < len(frames)
    with NoAllocation():
        mac.step(0)
    assert mac.rx_frames == 5 and mac.rx_duplicates == 1 and mac.rx_errors[fr.ERR_FRAME_TYPE] == 1
    del buf


def test_mac_indirect_frames_leave_in_the_order_they_were_queued():
    # Frames queued with one loop time share their expiry time; a later frame that took a
    # lower slot (freed by a direct frame meanwhile) must still wait for the earlier ones:
    # the sleepy device's NWK frame counters refuse a frame that comes after a newer one.
    clock = FakeClock()
    radio = ScriptedRadio(clock, airtime=500)
    mac = Mac(radio, clock, b"\x00" * 8, 0x1A2B, 0x0000, lambda n: 0)
    now = clock.ticks_us()  # the caller's loop time, for every send below
    mac.send(0xFFFF, b"direct", 6, now)  # slot 0, broadcast: no ACK awaited
    mac.send(0x0109, b"first", 5, now, indirect=True)  # slot 1
    mac.send(0x0109, b"second", 6, now, indirect=True)  # slot 2
    for _ in range(5):
        clock.advance_us(1000)
        mac.step(clock.ticks_us())
    assert [f[-6:] for _, f in radio.sent] == [b"direct"]  # slot 0 is free again
    mac.send(0x0109, b"third", 5, now, indirect=True)  # slot 0
    got = []
    for seq in range(3):
        radio.rx.append(_poll_from(0x0109, seq))
        clock.advance_us(100)
        mac.step(clock.ticks_us())
        g = fr.FrameFields()
        frame = radio.sent[-1][1]
        assert fr.decode(frame, len(frame), g, False) == fr.OK
        got.append(bytes(frame[g.header_len:]))
        clock.advance_us(600)
        radio.rx.append(bytes([0x02, 0x00, g.seq]))  # the device's ACK
        for _ in range(3):
            clock.advance_us(1000)
            mac.step(clock.ticks_us())
    assert got == [b"first", b"second", b"third"]
