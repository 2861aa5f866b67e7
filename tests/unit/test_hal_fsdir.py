# hal.fsdir.DirFs: the record store inside a directory of an already mounted filesystem
# (how the real boards keep their registers, never mounting their partition twice).
import os

from hal.fsdir import DirFs
from registers.store import RecordStore


def _scratch_dir(name):
    path = "build/test-fsdir-" + name
    try:
        for entry in os.listdir(path):
            os.remove(path + "/" + entry)
        os.rmdir(path)
    except OSError:
        pass
    return path


def test_records_survive_a_new_wrapper_over_the_same_directory():
    path = _scratch_dir("records")
    fs = DirFs(path)
    slots = RecordStore(fs, max_payload=64).slots("energy", 0x10, 16)
    assert slots.load(bytearray(16)) == -1  # nothing yet, and no directory made by reading
    slots.save(b"0123456789abcdef", 16)
    slots.save(b"fedcba9876543210", 16)
    again = RecordStore(DirFs(path + "/"), max_payload=64).slots("energy", 0x10, 16)
    buf = bytearray(16)
    assert again.load(buf) == 16 and bytes(buf) == b"fedcba9876543210"
    assert sorted(name for name, *_ in DirFs(path).ilistdir()) == ["energy.a", "energy.b"]
    assert DirFs(path).stat("energy.a")[6] == 12 + 16 + 4  # header, payload, CRC
