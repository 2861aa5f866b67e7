# The MAC's outgoing security frame counter kept in the registers' record store
# (firmware/han/counters.py over registers/counters.py FlashCounterStore): after a reboot
# (a new MacSecurity / Mac over the same MemoryFs and RecordStore) the counter continues
# past every value used before, also when the power fails while a block is being reserved;
# the HAN's entry does not disturb a P1 key's. Portable: tiers 1 and 2.
from hal.clock import FakeClock
from han.counters import HanCounterStore, key_id_of
from han.mac import frame as fr
from han.mac.mac import Mac
from han.mac.security import MacSecurity
from registers.counters import FlashCounterStore
from registers.memfs import MemoryFs
from registers.store import RecordStore
from test_han_inventory import KEY, Radio

EXT = bytes.fromhex("0004A30B00C0FFEE")
P1_KEY_ID = b"KEYID001"


def _boot(fs, reserve=16):
    store = HanCounterStore(FlashCounterStore(RecordStore(fs)))
    sec = MacSecurity(EXT, store, reserve=reserve)
    sec.keys.add(KEY, 1, 1)
    return sec


def test_key_id_is_8_bytes_tagged_with_the_address_tail():
    # b"\x15\x4F" + the last 6 bytes of the extended address, from the name MacSecurity
    # gives its counter (b"154FC" + address).
    assert bytes(key_id_of(b"154FC" + EXT)) == bytes.fromhex("154FA30B00C0FFEE")


def test_counter_continues_past_every_used_value_after_reboots():
    fs = MemoryFs()
    FlashCounterStore(RecordStore(fs)).save(P1_KEY_ID, 1000)  # the P1 encryptor's
    f = fr.FrameFields()
    used = []
    for boot in range(4):
        sec = _boot(fs)
        for _ in range(5 + 7 * boot):  # 5, 12, 19, 26 frames per boot
            assert sec.prepare(f) == 0
            used.append(f.frame_counter)
    # Never a value twice, always increasing across boots.
    assert len(set(used)) == len(used) and used == sorted(used)
    # Blocks of 16: boot 0 used 0..4 (reserved to 16); boot 1 16..27 (to 32); boot 2
    # 32..50 (to 64); boot 3 64..89 (to 96).
    assert used[0] == 0 and used[5] == 16 and used[17] == 32 and used[36] == 64
    assert used[-1] == 89
    sec = _boot(fs)
    sec.prepare(f)
    assert f.frame_counter == 96 > max(used)
    # The P1 counter in the same store is untouched.
    assert FlashCounterStore(RecordStore(fs)).load(P1_KEY_ID) == 1000


def test_power_cut_while_reserving_never_reuses():
    fs = MemoryFs(atomic=False)
    f = fr.FrameFields()
    sec = _boot(fs, reserve=8)
    used = []
    for _ in range(8):
        sec.prepare(f)
        used.append(f.frame_counter)
    fs.cut_after_bytes = 20  # the supply fails during the next reservation's write
    try:
        sec.prepare(f)
        cut = False
    except OSError:
        cut = True
    assert cut
    fs.cut_after_bytes = None
    sec = _boot(fs, reserve=8)  # the torn slot is ignored, the older one read
    sec.prepare(f)
    assert f.frame_counter == 8 and f.frame_counter > max(used)


def test_counters_on_air_continue_after_a_mac_reboot():
    fs = MemoryFs()
    seen = []
    for boot in range(2):
        clock = FakeClock()
        radio = Radio()
        mac = Mac(radio, clock, EXT, 0x1A2B, 0x0001, lambda n: 0, security=_boot(fs))
        g = fr.FrameFields()
        for k in range(3):
            mac.send(0x0000, b"\x3f\x01", 2, clock.ticks_us())
            for _ in range(20):
                clock.advance_us(500)
                mac.step(clock.ticks_us())
            # The frame counter as transmitted (auxiliary security header).
            assert fr.decode(radio.tx, radio.tx_len, g, False) == fr.OK and g.security
            seen.append(g.frame_counter)
    assert seen == [0, 1, 2, 16, 17, 18]
