# Frame counters in the record store (registers/counters.py): they survive a reboot, so an
# encryptor never reuses a counter for its key (Smarty 1.1.3 3.2.5).
from h1.crypt import FrameEncryptor
from registers.counters import FlashCounterStore
from registers.memfs import MemoryFs
from registers.store import RecordStore
from support import raises


def test_counters_survive_a_reboot_per_key():
    fs = MemoryFs()
    store = FlashCounterStore(RecordStore(fs))
    assert store.load(b"KEYID001") == 0
    store.save(b"KEYID001", 16)
    store.save(b"KEYID002", 5)
    store.save(b"KEYID001", 32)
    again = FlashCounterStore(RecordStore(fs))  # a new boot on the same flash
    assert again.load(b"KEYID001") == 32 and again.load(b"KEYID002") == 5
    raises(ValueError, again.save, b"KEYID001", 1 << 32)


def test_a_fifth_key_replaces_the_longest_unsaved():
    fs = MemoryFs()
    store = FlashCounterStore(RecordStore(fs))
    for k in range(4):
        store.save(b"KEY0000" + str(k).encode(), 100 + k)
    store.save(b"KEY00000", 200)  # key 0 is now the most recently saved
    store.save(b"KEY00009", 9)  # replaces key 1
    again = FlashCounterStore(RecordStore(fs))
    assert again.load(b"KEY00001") == 0
    assert again.load(b"KEY00000") == 200 and again.load(b"KEY00009") == 9


def test_encryptor_never_reuses_a_counter_across_reboots():
    fs = MemoryFs()
    key = bytes(range(16))
    seen = set()
    for boot in range(3):
        enc = FrameEncryptor(key, b"MPYTEST1", FlashCounterStore(RecordStore(fs)), 64)
        for _ in range(5):
            assert enc.counter not in seen
            seen.add(enc.counter)
            plain = b"/TEST5\r\n\r\n!0000\r\n"
            assert enc.encrypt(plain, len(plain)) > 0
    assert len(seen) == 15
