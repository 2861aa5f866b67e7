# han/nwk/store.py across failed saves and power cuts, found by the HAN power-cut campaign
# (tools/powercut_han.py) and by reading the reservation path: an outgoing counter is never
# handed out unless a saved reservation covers it, even after a save failed; a table entry
# freed and given to another device never brings the previous device's incoming counters
# back after a cut. Portable: tiers 1 and 2.
from hal.clock import FakeClock
from han.nwk.devices import JOINING, NO_COUNTER, DeviceTable
from han.nwk.store import COUNTER_BLOCK, NetState, NetStore
from registers.memfs import MemoryFs
from registers.store import RecordStore
from support import raises

EXT_A = b"\x00\x04\xa3\x0b\x00\x00\x01\x00"
EXT_B = b"\x00\x04\xa3\x0b\x00\x00\x01\x01"
KEY_A = bytes(range(16))
KEY_B = bytes(range(16, 32))


def _boot(fs):
    """A coordinator's store over fs, loaded as after a reboot."""
    table = DeviceTable(4)
    store = NetStore(RecordStore(fs), table, FakeClock())
    st = NetState()
    store.load(st)
    return store, st, table


def test_failed_reservation_save_is_retried_before_the_next_counter_goes_out():
    fs = MemoryFs(atomic=False)
    store, st, _ = _boot(fs)
    st.role = 1
    store.save_net(st)
    used = [store.reserve(st, True) for _ in range(COUNTER_BLOCK)]  # the first block
    assert used[-1] == COUNTER_BLOCK - 1 and store.counter_saves == 1
    fs.cut_after_bytes = 0  # the flash refuses the next write (no reboot)
    raises(OSError, store.reserve, st, True)
    fs.cut_after_bytes = None  # the flash works again
    c = store.reserve(st, True)
    assert c == COUNTER_BLOCK
    assert store.counter_saves == 2  # the refused reservation was written now
    _, st2, _ = _boot(fs)
    assert st2.nwk_out > c  # after a reboot no counter handed out comes again


def test_reused_table_entry_never_inherits_the_previous_devices_counters():
    fs = MemoryFs()
    store, st, t = _boot(fs)
    st.role = 1
    assert t.register(EXT_A, KEY_A) == 0
    t.state[0] = JOINING
    t.nwk_in[0] = 155
    t.aps_in[0] = 40
    store.save_net(st)
    store.save_counters(st)
    # A is removed and B registered in its entry; B joins. No counter save is due yet
    # (rate limit), then the power fails.
    t.remove(0)
    store.save_net(st)
    assert t.register(EXT_B, KEY_B) == 0
    store.save_net(st)
    t.state[0] = JOINING
    store.save_net(st)
    _, _, t2 = _boot(fs)
    assert bytes(t2.ext[0]) == EXT_B and t2.state[0] == JOINING
    assert t2.nwk_in[0] == NO_COUNTER and t2.aps_in[0] == NO_COUNTER


def test_cut_between_the_network_and_the_counter_record_keeps_no_stale_counter():
    fs = MemoryFs(atomic=False)
    store, st, t = _boot(fs)
    st.role = 1
    t.register(EXT_A, KEY_A)
    t.state[0] = JOINING
    t.nwk_in[0] = 155
    store.save_net(st)
    store.save_counters(st)
    t.remove(0)
    store.save_net(st)
    t.register(EXT_B, KEY_B)
    # The power fails after B's network record is complete, in what follows it.
    fs.cut_after_bytes = 12 + len(store._nbuf) + 4  # record header + payload + CRC
    try:
        store.save_net(st)
    except OSError:
        pass
    fs.cut_after_bytes = None
    _, _, t2 = _boot(fs)
    assert bytes(t2.ext[0]) == EXT_B
    assert t2.nwk_in[0] == NO_COUNTER and t2.aps_in[0] == NO_COUNTER


def test_joined_entries_keep_their_saved_counters():
    fs = MemoryFs()
    store, st, t = _boot(fs)
    st.role = 1
    t.register(EXT_A, KEY_A)
    t.state[0] = JOINING
    store.save_net(st)
    t.nwk_in[0] = 7
    t.aps_in[0] = 3
    store.save_counters(st)
    _, _, t2 = _boot(fs)
    assert t2.nwk_in[0] == 7 and t2.aps_in[0] == 3
