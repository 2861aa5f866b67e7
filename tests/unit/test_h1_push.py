# H1 push scheduler (firmware/h1/push.py) driven by FakeClock, SimPin and UART fakes:
# one telegram per period at second boundaries while Data Request is high, never a partial
# telegram, none started while it is low. Also the encrypted framing (h1/crypt.py) and its
# frame counter. Portable: tier 1 and tier 2.
from hal.clock import FakeClock
from hal.sim import SimPin, SimUART
from h1 import profiles
from h1.crypt import COUNTER_LAST, FrameEncryptor
from h1.push import IDLE, SENDING, STOPPED, P1Push
from native import gcm
from native.crc16 import crc16_python
from p1_simsource import SimSource
from registers.counters import RamCounterStore

START_UTC = 1735682330  # 2024-12-31 21:58:50 UTC
KEY = bytes(range(0x40, 0x50))
TITLE = b"MPYH1SIM"
SMARTY_AAD = bytes.fromhex("3000112233445566778899AABBCCDDEEFF")


class ChunkUART:
    """A UART whose transmit buffer takes at most `chunk` bytes per write() (0 = all),
    recording the clock time at which each accepted byte run started."""

    def __init__(self, clock, chunk=0):
        self.clock = clock
        self.chunk = chunk
        self.data = bytearray()
        self.starts = []  # (time_ms, offset) of every write that took bytes

    def write(self, buf):
        n = len(buf) if not self.chunk else min(self.chunk, len(buf))
        if n:
            self.starts.append((self.clock.time_ms(), len(self.data)))
            self.data.extend(bytes(buf[:n]))
        return n


def split_telegrams(data):
    """Complete telegrams in data; asserts every byte belongs to a complete, CRC-valid one."""
    telegrams = []
    pos = 0
    while pos < len(data):
        assert data[pos:pos + 1] == b"/", "stray bytes at %d" % pos
        bang = data.index(b"!", pos)
        end = bang + 7
        assert end <= len(data), "partial telegram"
        telegram = bytes(data[pos:end])
        assert telegram[-2:] == b"\r\n"
        assert int(telegram[-6:-2], 16) == crc16_python(telegram[:bang - pos + 1])
        telegrams.append(telegram)
        pos = end
    return telegrams


def field(telegram, obis):
    start = telegram.index(obis + b"(") + len(obis) + 1
    return telegram[start:telegram.index(b")", start)]


def make_push(profile="nl", chunk=0, level=1, start_ms=START_UTC * 1000 + 500, **kw):
    clock = FakeClock(utc=0)
    clock.advance_ms(start_ms)
    pin = SimPin(level)
    uart = ChunkUART(clock, chunk)
    push = P1Push(uart, pin, clock, profiles.by_name(profile), SimSource(START_UTC), **kw)
    return push, clock, pin, uart


def run_for(push, clock, ms, step_ms=10):
    for _ in range(ms // step_ms):
        push.step()
        clock.advance_ms(step_ms)


def test_one_telegram_per_second_from_the_boundary():
    push, clock, pin, uart = make_push()
    run_for(push, clock, 5000)
    telegrams = split_telegrams(uart.data)
    assert len(telegrams) == 5
    # Each telegram is written at a second boundary of the meter clock, all in one go.
    assert [t % 1000 for t, _ in uart.starts] == [0] * 5
    assert [t // 1000 for t, _ in uart.starts] == [START_UTC + i for i in range(1, 6)]
    # The snapshot is the one of that boundary: 21:58:51 UTC = 22:58:51 CET, and on.
    stamps = [field(t, b"0-0:1.0.0") for t in telegrams]
    assert stamps == [b"241231225851W", b"241231225852W", b"241231225853W",
                      b"241231225854W", b"241231225855W"]
    assert push.telegrams == 5 and push.overruns == 0


def test_nothing_while_data_request_is_low():
    push, clock, pin, uart = make_push(level=0)
    run_for(push, clock, 3000)
    assert len(uart.data) == 0
    pin.value(1)  # rises at xx.500: the first telegram goes at the next boundary
    run_for(push, clock, 1000)
    assert len(split_telegrams(uart.data)) == 1
    assert uart.starts[0][0] % 1000 == 0
    assert uart.starts[0][0] - clock.time_ms() > -1000


def test_a_request_seen_at_a_boundary_is_served_at_that_boundary():
    # The asyncio wrapper steps 1 ms after each boundary. Data Request that rose during the
    # second before is first seen there: the telegram goes at that boundary, at most 1 s
    # after the request (Smarty 1.1.3 3.2.1). Waiting one more boundary made it up to 2 s.
    push, clock, pin, uart = make_push(level=0, start_ms=START_UTC * 1000 + 1)
    push.step()
    clock.advance_ms(600)
    pin.value(1)  # rises at xx.601
    clock.advance_ms(400)  # the next step: 1 ms after the boundary START_UTC + 1
    push.step()
    assert uart.starts and uart.starts[0][0] == (START_UTC + 1) * 1000 + 1
    # A request first seen in mid-second waits for the next boundary (a telegram starts at
    # a boundary), as before.
    push, clock, pin, uart = make_push(level=1, start_ms=START_UTC * 1000 + 400)
    push.step()
    assert uart.data == b""
    clock.advance_ms(600)
    push.step()
    assert uart.starts[0][0] == (START_UTC + 1) * 1000


def test_data_request_dropped_mid_telegram_completes_it_and_starts_no_other():
    push, clock, pin, uart = make_push(chunk=64)
    run_for(push, clock, 500)  # to the boundary
    push.step()
    assert push.state == SENDING and len(uart.data) == 64
    clock.advance_ms(1)
    push.step()
    pin.value(0)  # the reader lets go after 128 bytes
    for _ in range(3000):
        clock.advance_ms(1)
        push.step()
    telegrams = split_telegrams(uart.data)  # no partial telegram anywhere
    assert len(telegrams) == 1 and push.state == IDLE
    # Back up mid-second, and down again within the next telegram.
    pin.value(1)
    for _ in range(1500):
        clock.advance_ms(1)
        push.step()
        if push.state == SENDING:
            pin.value(0)
    assert len(split_telegrams(uart.data)) == 2


def test_partial_writes_add_up_to_the_built_telegram():
    push, clock, pin, uart = make_push(chunk=7)
    run_for(push, clock, 1200, step_ms=1)  # one boundary, about 133 steps of 7 bytes
    telegrams = split_telegrams(uart.data)
    assert len(telegrams) == 1
    assert telegrams[0] == bytes(push.builder.buf[:push.builder.length])


def test_ten_second_profile():
    push, clock, pin, uart = make_push(profile="nl4")
    run_for(push, clock, 25000, step_ms=50)
    telegrams = split_telegrams(uart.data)
    assert len(telegrams) == 3
    assert [t // 1000 - START_UTC for t, _ in uart.starts] == [1, 11, 21]
    assert b"1-3:0.2.8(42)" in telegrams[0]


def test_slow_uart_skips_boundaries_but_never_cuts_a_telegram():
    push, clock, pin, uart = make_push(chunk=1)
    run_for(push, clock, 4000, step_ms=2)  # 1 byte per 2 ms: about 1.8 s per telegram
    telegrams = split_telegrams(uart.data[:len(uart.data) - (push._pos if push.state else 0)])
    assert len(telegrams) >= 1 and push.overruns >= 1


def test_missed_steps_keep_the_period_phase():
    push, clock, pin, uart = make_push(profile="nl4")
    run_for(push, clock, 600)  # first telegram at START+1
    clock.advance_ms(12300)  # the task was held up past the START+11 boundary
    run_for(push, clock, 10000, step_ms=100)
    seconds = [t // 1000 - START_UTC for t, _ in uart.starts]
    assert seconds == [1, 21]


def test_frame_layout_and_decryption():
    store = RamCounterStore()
    source = SimSource(START_UTC)
    builder_push = P1Push(SimUART(), SimPin(1), FakeClock(), profiles.by_name("lu"), source)
    snap = builder_push.snapshot
    source.capture(snap, START_UTC + 1)
    n = builder_push.builder.build(snap)
    plain = bytes(builder_push.builder.buf[:n])
    enc = FrameEncryptor(KEY, TITLE, store, n)
    m = enc.encrypt(builder_push.builder.buf, n)
    f = enc.frame
    assert m == n + 30 and f[0] == 0xDB and f[1] == 8 and bytes(f[2:10]) == TITLE
    assert f[10] == 0x82 and (f[11] << 8 | f[12]) == n + 17 and f[13] == 0x30
    assert bytes(f[14:18]) == b"\x00\x00\x00\x00"
    out = bytearray(n)
    assert gcm.gcm_decrypt(gcm.gcm_key(KEY), TITLE + bytes(f[14:18]), SMARTY_AAD, f, 18, n,
                           out, bytes(f[m - 12:m]))
    assert bytes(out) == plain
    enc.encrypt(builder_push.builder.buf, n)
    assert bytes(f[14:18]) == b"\x00\x00\x00\x01"


def test_frame_counter_never_repeats_across_restarts_and_resets_with_a_new_key():
    store = RamCounterStore()
    buf = b"/X5\r\n\r\n!0000\r\n"
    enc = FrameEncryptor(KEY, TITLE, store, len(buf), reserve=4)
    for _ in range(6):
        enc.encrypt(buf, len(buf))
    assert enc.counter == 6 and store.saves == 2  # reserved 0..3, then 4..7
    again = FrameEncryptor(KEY, TITLE, store, len(buf), reserve=4)  # after a power cut
    assert again.counter == 8
    other = FrameEncryptor(bytes(16), TITLE, store, len(buf), reserve=4)
    assert other.counter == 0  # a new key starts from 0 (Smarty 1.1.3 3.2.5)


def test_sending_stops_at_the_last_counter():
    store = RamCounterStore()
    probe = FrameEncryptor(KEY, TITLE, store, 2000)
    store.save(probe.key_id, COUNTER_LAST - 2)
    enc = FrameEncryptor(KEY, TITLE, store, 2000)
    push, clock, pin, uart = make_push(profile="lu", encryptor=enc)
    run_for(push, clock, 45000, step_ms=100)
    assert push.telegrams == 2 and push.state == STOPPED
    assert enc.exhausted and enc.counter == COUNTER_LAST
    # Two frames, with the two last counters that may be used.
    first_len = (uart.data[11] << 8 | uart.data[12]) + 13
    assert bytes(uart.data[14:18]) == b"\xff\xff\xff\xfd"
    assert bytes(uart.data[first_len + 14:first_len + 18]) == b"\xff\xff\xff\xfe"
    assert len(uart.data) == first_len + (uart.data[first_len + 11] << 8
                                          | uart.data[first_len + 12]) + 13
