# Record store (firmware/registers/store.py) over the RAM file system (both runtimes) and
# over real littlefs on a RAM block device (MicroPython only: CPython has no littlefs).
import struct

from native.crc32 import crc32
from registers.memfs import MemoryFs
from registers.store import HEADER_SIZE, RecordStore, seq_newer
from support import IS_MICROPYTHON, raises


def _save_load(fs):
    store = RecordStore(fs, max_payload=64)
    slots = store.slots("e", 7)
    assert slots.load(bytearray(64)) == -1  # nothing yet
    for i in range(5):
        slots.save(bytes([i]) * 10, 10)
    fresh = RecordStore(fs, max_payload=64).slots("e", 7)
    buf = bytearray(64)
    assert fresh.load(buf) == 10
    assert buf[:10] == bytes([4]) * 10
    assert fresh.seq == 5
    fresh.save(b"\x09" * 3, 3)  # goes into the older slot
    again = RecordStore(fs, max_payload=64).slots("e", 7)
    assert again.load(buf) == 3 and buf[:3] == b"\x09\x09\x09" and again.seq == 6


def test_newest_valid_record_wins():
    _save_load(MemoryFs())


def test_record_layout_matches_the_documented_format():
    fs = MemoryFs()
    RecordStore(fs).slots("x", 0x42).save(b"abc", 3)
    raw = bytes(fs.files["x.a"])  # the first save goes to slot a
    assert raw[:4] == b"MR\x01\x42"
    assert struct.unpack("<IHH", raw[4:12]) == (1, 3, 0xFFFF)
    assert raw[12:15] == b"abc"
    # CRC-32 of header + payload, computed here with the known-answer-tested fallback
    from native.crc32 import crc32_python
    assert struct.unpack("<I", raw[15:19])[0] == crc32_python(raw[:15])
    assert len(raw) == HEADER_SIZE + 3 + 4


def test_torn_newest_slot_falls_back_to_the_older():
    fs = MemoryFs()
    slots = RecordStore(fs).slots("e", 1)
    slots.save(b"old-record", 10)  # slot a, seq 1
    slots.save(b"new-record", 10)  # slot b, seq 2
    fs.files["e.b"] = fs.files["e.b"][:15]  # torn mid-payload
    fresh = RecordStore(fs).slots("e", 1)
    buf = bytearray(32)
    assert fresh.load(buf) == 10 and buf[:10] == b"old-record"
    assert fresh.invalid_slots == 1
    fresh.save(b"next", 4)  # overwrites the torn slot, keeps the good one
    assert RecordStore(fs).slots("e", 1).load(buf) == 4 and buf[:4] == b"next"


def test_flipped_bit_or_wrong_kind_is_rejected():
    fs = MemoryFs()
    slots = RecordStore(fs).slots("e", 1)
    slots.save(b"payload", 7)
    fs.files["e.a"][13] ^= 0x10
    assert RecordStore(fs).slots("e", 1).load(bytearray(16)) == -1
    slots.save(b"payload", 7)
    assert RecordStore(fs).slots("e", 2).load(bytearray(16)) == -1  # another kind


def test_sequence_comparison_wraps():
    assert seq_newer(2, 1) and not seq_newer(1, 2)
    assert seq_newer(0, 0xFFFFFFFF)  # 0 follows 2**32 - 1
    assert not seq_newer(5, 5)


def test_oversized_record_is_refused():
    slots = RecordStore(MemoryFs(), max_payload=8).slots("e", 1)
    raises(ValueError, slots.save, bytes(9), 9)


def test_write_through_cut_leaves_previous_record():
    fs = MemoryFs(atomic=False)
    slots = RecordStore(fs).slots("e", 1)
    slots.save(b"first", 5)
    slots.save(b"second", 6)
    fs.cut_after_bytes = 9  # the third save stops after 9 bytes of its 22
    raises(OSError, slots.save, b"third!", 6)
    buf = bytearray(16)
    fs.cut_after_bytes = None
    assert RecordStore(fs).slots("e", 1).load(buf) == 6 and buf[:6] == b"second"


def test_crc32_of_empty_payload_record():
    fs = MemoryFs()
    RecordStore(fs).slots("z", 3).save(b"", 0)
    raw = bytes(fs.files["z.a"])
    assert struct.unpack("<I", raw[12:16])[0] == crc32(raw[:12])


def test_store_on_littlefs():
    if not IS_MICROPYTHON:
        return  # vfs.VfsLfs2 exists only on MicroPython (tier 2 runs this)
    import vfs

    from hal.sim import PowerCut, RamBlockDevice

    bd = RamBlockDevice(block_size=4096, block_count=16)
    vfs.VfsLfs2.mkfs(bd)
    _save_load(vfs.VfsLfs2(bd))
    # A cut in the middle of a save: the previous record survives a remount.
    fs = vfs.VfsLfs2(bd)
    slots = RecordStore(fs, max_payload=64).slots("e", 7)
    buf = bytearray(64)
    slots.load(buf)
    before = bytes(buf[:3])
    bd.cut_after = 0  # the commit's first program operation fails half way
    try:
        slots.save(b"xyz", 3)
        raised = False
    except OSError:
        raised = True
    assert raised and not bd.powered
    bd.cut_after = None
    again = RecordStore(vfs.VfsLfs2(bd), max_payload=64).slots("e", 7)
    assert again.load(buf) == 3 and bytes(buf[:3]) == before
    assert again.seq == slots.seq  # the interrupted save never became visible
    assert isinstance(PowerCut(5), OSError)


def test_ram_block_device_stays_off_after_the_cut():
    # The power-cut model the campaign relies on (hal.sim.RamBlockDevice): only the failing
    # operation half-programs; later ones change nothing until power is restored.
    from hal.sim import PowerCut, RamBlockDevice

    bd = RamBlockDevice(block_size=256, block_count=2, cut_after=0)
    raises(PowerCut, bd.writeblocks, 0, b"\x00" * 8, 0)
    raises(PowerCut, bd.writeblocks, 0, b"\x00" * 8, 8)  # a close() in a finally
    out = bytearray(16)
    bd.readblocks(0, out)
    assert out == b"\x00" * 4 + b"\xff" * 12 and not bd.powered
    bd.cut_after = None
    assert bd.powered
    bd.writeblocks(0, b"\x00" * 8, 8)
    bd.readblocks(0, out)
    assert out == b"\x00" * 4 + b"\xff" * 4 + b"\x00" * 8
