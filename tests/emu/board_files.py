"""What tier 3 tests put into and read back from an emulated board's flash: a provisioning
record carrying a fleet's ota_key, and the event logs read by booting the board again."""
import json
import re

from conftest import ROOT
from tools.emu import PROMPT, EmulatedBoard

READ_LOGS = (
    "import board; from registers.storage import open_filesystem; from registers.meter "
    "import MeterRegisters; h = board.make_hal(); fs, _ = open_filesystem(h.flash); "
    "r = MeterRegisters(h.clock, fs); r.logs.load(); "
    "print('LOGS', [[r.logs.log(k).entry(i)[2:] for i in range(r.logs.log(k).count)] "
    "for k in (0, 1, 2, 3)])")


def event_logs(flash_dir):
    """[standard, fault, tamper, transaction]: each [(code, flags, a, b)] newest first, from
    the flash file meter-flash.bin in flash_dir."""
    board = EmulatedBoard(flash_dir=str(flash_dir)).start()
    try:
        board.open_console()
        board.wait_console(PROMPT, timeout=30)
        out = board.exec_line(READ_LOGS, timeout=30)
    finally:
        board.stop()
    m = re.search(r"LOGS (\[.*\])", out)
    assert m, out
    return eval(m.group(1))


def record_with_ota_key(tmp_path, key_hex, name="meter.json"):
    """The emulated board's provisioning record with ota_key added, written to
    tmp_path/name, and the key as a key file tmp_path/sign.key (tools.ota pack --key-file);
    the record's path."""
    with open(ROOT + "/boards/emu-mps2/device.json") as f:
        record = json.load(f)
    record["ota_key"] = key_hex
    (tmp_path / name).write_text(json.dumps(record))
    (tmp_path / "sign.key").write_text(key_hex)
    return str(tmp_path / name)
