# The meter's own A/B update (firmware/app/update.py, main.run's boot loop), tiers 1 and 2.
# Update files are built by tests/unit/ota_images.py (the test's own builder) for image
# type 0x0001 (the meter) of manufacturer 0x1234, signed with this test's key. Tier 2 (the
# unix port: littlefs on a RAM block device, mounted and imported from) boots the slot's
# main.py for real; CPython has no littlefs to import from, so there a new image fails to
# start and is rolled back: both paths are asserted.
import sys

import main
from app import update as up
from app.provision import Provisioning, save
from hal import Hal
from hal.clock import SystemClock
from hal.sim import RamBlockDevice, SimLeds
from ota_images import build
from registers.logs import FAULT, STANDARD
from registers.memfs import MemoryFs
from registers.store import RecordStore

KEY = bytes(range(0x40, 0x60))  # this test's fleet signing key
MANUFACTURER, METER = 0x1234, 0x0001
FACTORY = 0x00000100  # the frozen image's version as these tests state it
V2, V3 = 0x00020000, 0x00030000
EV_FIRMWARE, EV_ROLLED_BACK, EV_REFUSED = 5, 50, 51  # registers/logs.py
E_INTEGRITY, E_AUTH, E_REFUSED = 16, 17, 13  # han/ota/image.py verdicts
GOOD_MAIN = b"""def banner(hal):
    return "stub image"


async def main_task(hal, board, seconds=None, out=print, *rest, update=None, healthy_s=None):
    out("stub image running")
    if update is not None:
        update.confirm()
        update.log_notes(lambda log, utc, code, a, b: out("event %d %d %d %d"
                                                          % (log, code, a, b)), 0)
"""
BROKEN_MAIN = b"raise RuntimeError('this image cannot start')\n"
IDLE_MAIN = b"""import asyncio


def banner(hal):
    return "idle image"


async def main_task(hal, board, *args, update=None, healthy_s=None):
    while True:  # runs, never reports healthy
        await asyncio.sleep_ms(20)
"""


def _image(version, files=None, key=KEY):
    files = files or [(b"main.py", GOOD_MAIN), (b"app/__init__.py", b"")]
    return build(files, version, key=key, manufacturer=MANUFACTURER, image_type=METER)


def _updater(fs, store=None, out=None):
    return up.Updater(fs, store or RecordStore(fs, max_payload=256), FACTORY, KEY,
                      MANUFACTURER, METER, (out if out is not None else []).append)


def _put(fs, data, name=up.INBOX):
    with fs.open(name, "wb") as f:
        f.write(data)


def _files(fs):
    return sorted(fs.files)


def test_a_good_image_is_tried_then_confirmed():
    fs = MemoryFs()
    _put(fs, _image(V2))
    u = _updater(fs)
    assert u.install() == 0 and u.state == up.TRIAL and u.trial == 1
    assert "fw.a/main.py" in fs.files and bytes(fs.files["fw.a/main.py"]) == GOOD_MAIN
    assert up.INBOX not in fs.files and u.notes == []
    # Boot: the new slot, the record saying so before it runs.
    assert u.choose() == 1 and u.trying()
    assert _updater(fs).state == up.BOOTING
    assert u.confirm() and not u.trying() and u.active == 1 and u.version() == V2
    assert u.notes == [(EV_FIRMWARE, FACTORY, V2)]
    logged = []
    u.log_notes(lambda *e: logged.append(e), 1800000000)
    assert logged == [(STANDARD, 1800000000, EV_FIRMWARE, FACTORY, V2)]
    # Power cycle: the confirmed slot boots, no note left.
    u = _updater(fs)
    assert u.choose() == 1 and not u.trying() and u.notes == []
    # The next update goes into the other slot; the running one stays whole.
    _put(fs, _image(V3))
    assert u.install() == 0 and u.trial == 2 and "fw.a/main.py" in fs.files
    assert u.choose() == 2


def test_an_image_not_confirmed_before_a_reset_is_rolled_back():
    fs = MemoryFs()
    _put(fs, _image(V2))
    u = _updater(fs)
    u.install()
    assert u.choose() == 1
    # A reset (crash, watchdog, power cut) before confirm(): the next boot goes back.
    u = _updater(fs)
    assert u.choose() == 0 and not u.trying() and u.active == 0
    assert u.notes == [(EV_ROLLED_BACK, V2, FACTORY)]
    # Kept until logged, across a power cut.
    u = _updater(fs)
    assert u.notes == [(EV_ROLLED_BACK, V2, FACTORY)]
    logged = []
    u.log_notes(lambda *e: logged.append(e), 1800000000)
    assert logged == [(FAULT, 1800000000, EV_ROLLED_BACK, V2, FACTORY)]
    # Once only: the boot after that is an ordinary one.
    u = _updater(fs)
    assert u.choose() == 0 and u.notes == []


def test_refused_images_leave_nothing_and_a_note():
    cases = [
        (_image(V2, key=bytes(32)), E_AUTH),  # signed by someone else
        (_image(FACTORY), E_REFUSED),  # not newer than the running image
    ]
    bad = bytearray(_image(V2))
    bad[100] ^= 0x01
    cases.append((bytes(bad), E_INTEGRITY))
    for data, verdict in cases:
        fs = MemoryFs()
        _put(fs, data)
        u = _updater(fs)
        assert u.install() == verdict, verdict
        assert _files(fs) == ["fwboot.a"], _files(fs)  # the slot emptied, the file gone
        assert u.choose() == 0
        assert u.notes[0][:2] == (EV_REFUSED, verdict)


def test_an_archive_cannot_write_outside_its_slot():
    # Files are written while the image streams by, before its signature is known: a name
    # leaving the slot must not be written at all (here: over the provisioning record).
    fs = MemoryFs()
    _put(fs, _image(V2, [(b"../prov.a", b"evil"), (b"main.py", GOOD_MAIN)]))
    u = _updater(fs)
    assert u.install() != 0
    assert "prov.a" not in fs.files and "../prov.a" not in fs.files
    assert _files(fs) == ["fwboot.a"]


def test_an_image_may_not_replace_the_boot_part():
    fs = MemoryFs()
    _put(fs, _image(V2, [(b"main.py", GOOD_MAIN), (b"hal/__init__.py", b"")]))
    u = _updater(fs)
    assert u.install() != 0 and _files(fs) == ["fwboot.a"]


def test_a_power_cut_during_install_keeps_the_old_image_and_the_file():
    fs = MemoryFs()
    data = _image(V2)
    _put(fs, data)
    store = RecordStore(fs, max_payload=256)
    fs.cut_after_bytes = 100  # the supply fails while the slot is written
    u = up.Updater(fs, store, FACTORY, KEY, MANUFACTURER, METER, [].append)
    try:
        u.install()
        cut = False
    except OSError:
        cut = True
    assert cut
    fs.cut_after_bytes = None
    u = _updater(fs)  # power back
    assert u.state == up.NORMAL and u.choose() == 0
    assert bytes(fs.files[up.INBOX]) == data  # still there: installed at this boot
    assert u.install() == 0 and u.choose() == 1


# --- main.run's boot loop -----------------------------------------------------------------
class _Board:
    """A board with flash that keeps its contents from one main.run to the next."""
    NAME = "update-test"
    CLOCK_KEEPS_TIME = True

    def __init__(self):
        from registers.storage import open_filesystem

        self.flash = RamBlockDevice(block_count=64)
        # Opened once: on CPython a RAM file system stands in for littlefs, and a new one
        # at each boot would forget everything.
        self.fs = open_filesystem(self.flash)[0]

    def make_hal(self):
        import time

        hal = Hal(self.NAME, clock=SystemClock(utc_at_boot=int(time.time())),
                  leds=SimLeds(2), flash=self.flash)
        hal.fs = self.fs
        return hal


def _provisioned_board():
    b = _Board()
    hal = b.make_hal()
    up.open_updater(hal, [].append)  # formats the flash
    save(RecordStore(hal.fs, max_payload=256), Provisioning(serial=b"UPD-1", ota_key=KEY))
    return b


def _run(board, **kw):
    lines = []
    saved_modules, saved_path = dict(sys.modules), list(sys.path)
    try:
        hal = main.run(seconds=1, board_module=board, out=lines.append, **kw)
    finally:
        sys.modules.clear()
        sys.modules.update(saved_modules)
        sys.path[:] = saved_path
        try:
            import vfs

            vfs.umount(up.MOUNT)
        except (ImportError, OSError):
            pass
    return hal, lines


def _log(hal, log_id):
    from registers.meter import MeterRegisters

    r = MeterRegisters(hal.clock, hal.fs)
    r.logs.load()
    L = r.logs.log(log_id)
    return [L.entry(i)[2:] for i in range(L.count)]  # (code, flags, a, b), newest first


def _store(board, data):
    hal = board.make_hal()
    up.open_updater(hal, [].append)
    _put(hal.fs, data)


def test_main_boots_a_new_image_or_rolls_back_a_broken_one():
    board = _provisioned_board()
    _store(board, _image(V2))
    hal, lines = _run(board)
    assert any(ln.startswith("update: fw-update.zigbee installed in slot a") for ln in lines)
    assert "update: trying version 0x00020000 (slot a)" in lines, lines
    if sys.implementation.name == "micropython":
        # The slot's main.py ran and confirmed itself.
        assert "stub image" in lines and "stub image running" in lines, lines
        assert "update: version 0x00020000 confirmed (slot a)" in lines
        assert "event 0 %d %d %d" % (EV_FIRMWARE, main_version(), V2) in lines
        u = _updater(hal.fs)
        assert u.active == 1 and u.choose() == 1
        # A broken image after it: it raises at import; slot a comes back in the same run.
        _store(board, _image(V3, [(b"main.py", BROKEN_MAIN)]))
        hal, lines = _run(board)
        assert "update: version 0x00030000 did not report healthy: back to version " \
               "0x00020000" in lines, lines
        assert lines.index("stub image running") > lines.index("update: trying version "
                                                                  "0x00030000 (slot b)")
        assert "event 1 %d %d %d" % (EV_ROLLED_BACK, V3, V2) in lines
    else:
        # CPython's RAM file system cannot be imported from: the image cannot start, the
        # frozen one runs on (its status lines), and the fault log says so.
        assert any("the new image failed: OSError" in ln for ln in lines), lines
        assert [ln for ln in lines if ln.startswith("status uptime=1s")]
        assert _log(hal, FAULT)[0][0] == EV_ROLLED_BACK
        assert _log(hal, FAULT)[0][2] == V2


def main_version():
    from app.version import file_version

    return file_version()


def test_main_rolls_back_an_image_that_never_reports_healthy():
    if sys.implementation.name != "micropython":
        return  # CPython cannot import from a slot: covered by the test above
    board = _provisioned_board()
    _store(board, _image(V2, [(b"main.py", IDLE_MAIN)]))
    hal, lines = _run(board, limit_s=1)
    assert "idle image" in lines
    assert any("the new image failed: TrialExpired" in ln for ln in lines), lines
    assert [ln for ln in lines if ln.startswith("status uptime=1s")], lines  # frozen runs
    assert _log(hal, FAULT)[0][0] == EV_ROLLED_BACK


def test_a_device_roles_image_from_the_han_becomes_the_next_starts_trial():
    # The gas meter role's OTA client verified and wrote the image's files under
    # ota-stage/ (han/ota/client.py); adopt() makes them the slot tried at the next start.
    fs = MemoryFs()
    for name, data in ((b"ota-stage/main.py", GOOD_MAIN), (b"ota-stage/app/__init__.py", b"")):
        _put(fs, data, name.decode())
    out = []
    u = _updater(fs, out=out)
    assert u.adopt("ota-stage/", V2)
    assert sorted(n for n in fs.files if not n.startswith("fwboot")) == [
        "fw.a/app/__init__.py", "fw.a/main.py"]
    assert bytes(fs.files["fw.a/main.py"]) == GOOD_MAIN
    assert u.state == up.TRIAL and u.choose() == 1 and u.running_version() == V2
    assert out[0] == "update: version 0x00020000 from the HAN in slot a, tried at the next start"
    # Not newer than the running image, or carrying the boot part: refused, stage emptied.
    u.confirm()
    _put(fs, GOOD_MAIN, "ota-stage/main.py")
    assert not u.adopt("ota-stage/", V2)
    _put(fs, b"", "ota-stage/hal/__init__.py")
    assert not u.adopt("ota-stage/", V3)
    assert not [n for n in fs.files if n.startswith("ota-stage/")]
    assert [n[:2] for n in u.notes][-2:] == [(EV_REFUSED, E_REFUSED), (EV_REFUSED, E_REFUSED)]


def test_adopt_moves_directories_on_littlefs():
    try:
        import vfs
    except ImportError:
        return  # CPython: no littlefs binding (the RAM file system is tested above)
    bdev = RamBlockDevice(block_count=64)
    vfs.VfsLfs2.mkfs(bdev)
    fs = vfs.VfsLfs2(bdev)
    for d in ("ota-stage", "ota-stage/app"):
        fs.mkdir(d)
    _put(fs, GOOD_MAIN, "ota-stage/main.py")
    _put(fs, b"", "ota-stage/app/__init__.py")
    u = _updater(fs)
    assert u.adopt("ota-stage/", V2)
    assert sorted(e[0] for e in fs.ilistdir("fw.a")) == ["app", "main.py"]
    assert "ota-stage" not in [e[0] for e in fs.ilistdir("")]
    with fs.open("fw.a/main.py", "rb") as f:
        assert f.read() == GOOD_MAIN


def test_slots_in_a_directory_of_a_mounted_filesystem():
    # Real boards keep the registers in a directory of the port's own mount (hal.fsdir:
    # the ESP32's /meter, the pyboard's /flash/meter): the slots are directories there.
    import os

    from hal.fsdir import DirFs

    base = "/tmp/test_app_update_%d" % (int(SystemClock().ticks_us()) & 0xFFFFFF)
    os.mkdir(base)
    fs = DirFs(base + "/meter")
    try:
        _put(fs, _image(V2))
        u = _updater(fs)
        assert u.install() == 0 and u.choose() == 1
        with fs.open("fw.a/main.py", "rb") as f:
            assert f.read() == GOOD_MAIN
        assert up.slot_path(fs, 1) == base + "/meter/fw.a"
        u.confirm()
        _put(fs, _image(V3, [(b"main.py", BROKEN_MAIN)]))
        assert u.install() == 0 and u.trial == 2
        # The HAN's way in: a staged tree moved into the free slot (b again).
        for d in ("ota-stage", "ota-stage/app"):
            fs.mkdir(d)
        _put(fs, GOOD_MAIN, "ota-stage/main.py")
        _put(fs, b"", "ota-stage/app/__init__.py")
        u.state = up.NORMAL
        assert u.adopt("ota-stage/", V3)
        assert sorted(e[0] for e in fs.ilistdir("fw.b")) == ["app", "main.py"]
    finally:
        for top, dirs, files in _walk(base):
            for n in files:
                os.remove(top + "/" + n)
            os.rmdir(top)


def _walk(path):
    """(dir, subdirs, files) deepest first (os.walk is not in MicroPython)."""
    import os

    out = []
    try:
        names = os.listdir(path)
    except OSError:
        return out
    dirs = [n for n in names if os.stat(path + "/" + n)[0] & 0x4000]
    for d in dirs:
        out += _walk(path + "/" + d)
    out.append((path, dirs, [n for n in names if n not in dirs]))
    return out
