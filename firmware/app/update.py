# The meter's own firmware update, A/B (issue 13; seed 003 10.3 l: the hub updates the
# HAN's devices "including itself"). The frozen image in the board's program flash is the
# factory image (slot 0) and is never written. The file system holds two slots, fw.a/ and
# fw.b/, each a tree of the firmware's packages (main.py, app/, han/, ...) that takes the
# place of the frozen ones of the same name; packages not in a slot come from the frozen
# image. hal/, native/ and board.py belong to the boot part: an image may not carry them
# (the boot part has created the board's objects before it chooses an image).
#
# An update arrives as an OTA upgrade file (han/ota/image.py: our manufacturer, image type
# OTA_IMAGE_METER, authenticated with the provisioned ota_key) stored as INBOX, by `make
# deploy`, mpremote or the HAN (a device role's OTA client stages the same way). At boot
# (main.run, before any package of the image is used):
#   1. an INBOX file is verified while its archive is written into the slot not running;
#      only a whole, authentic, newer image is kept: the record says TRIAL; else the slot
#      is emptied and the refusal is noted. The INBOX file is deleted either way.
#   2. choose(): TRIAL -> BOOTING (written before the first instruction of the new image
#      runs), the new slot boots. BOOTING found at boot means the new image never reported
#      healthy before a reset (a crash, a hang the watchdog ended, a power cut): the record
#      goes back to the previous image (rolled back) and that one boots.
#   3. The new image confirms itself (confirm()) once its supervisor has seen every task run
#      HEALTHY_S without a fault; main.run ends a trial that raises or that has not
#      confirmed within LIMIT_S and boots the previous image.
# Every outcome is kept in the record until the running image has written it into the
# standard event log (take_note()), so a power cut loses none.
import struct

from micropython import const

from han.ota.archive import extract, move_tree, remove_tree
from han.ota.image import E_REFUSED, OK, VERDICTS, OtaImage
from registers.logs import FAULT, STANDARD

INBOX = "fw-update.zigbee"
SLOTS = ("", "fw.a/", "fw.b/")  # 0: the frozen image
BOOT_PARTS = ("hal", "native", "board")  # never taken from a slot
KIND_BOOT = const(0xBB)  # record kind (docs/registers.md's list)

NORMAL = const(0)
TRIAL = const(1)  # installed, not booted yet
BOOTING = const(2)  # booted, not confirmed

# Notes: the event to log, its code in registers/logs.py (EV_FIRMWARE in the standard log,
# the two others in the fault log).
NOTE_UPDATED = const(5)  # EV_FIRMWARE: a = old version, b = new version
NOTE_ROLLED_BACK = const(50)  # EV_FW_ROLLED_BACK: a = failed version, b = version in use
NOTE_REFUSED = const(51)  # EV_FW_REFUSED: a = verdict, b = the image's version (0: none)

HEALTHY_S = 30  # a new image confirms itself after this long without a task fault
LIMIT_S = 120  # ... and is rolled back when it has not within this

_FMT = "<BBBBIII"  # state, active, trial, notes held, versions[3]; then the notes
_NOTE = "<BII"  # code, a, b
_NOTES = const(3)  # a boot adds at most two (an install's refusal, a roll-back)
_LEN = const(43)


class Updater:
    """The boot record (kind 0xBB in the record store) and the operations on it.
    factory_version: the frozen image's file version (app/version.py file_version())."""

    def __init__(self, fs, store, factory_version, key=None, manufacturer=0, image_type=0,
                 out=print):
        self.fs = fs
        self.key = key
        self.manufacturer = manufacturer
        self.image_type = image_type
        self.out = out
        self._slots = store.slots("fwboot", KIND_BOOT, _LEN)
        self._buf = bytearray(_LEN)
        self.state = NORMAL
        self.active = 0
        self.trial = 0
        self.versions = [factory_version, 0, 0]
        self.notes = []  # (code, a, b) not yet in the event logs, oldest first
        self.booted = 0  # the slot chosen at this boot
        if self._slots.load(self._buf) == _LEN:
            self.state, self.active, self.trial, n, _, v1, v2 = \
                struct.unpack_from(_FMT, self._buf)
            self.versions[1] = v1
            self.versions[2] = v2
            for i in range(min(n, _NOTES)):
                self.notes.append(struct.unpack_from(_NOTE, self._buf, 16 + 9 * i))
            if self.active > 2 or self.trial > 2 or self.state > BOOTING:
                self.state, self.active = NORMAL, 0  # a record we cannot read: factory

    def _save(self):
        v = self.versions
        struct.pack_into(_FMT, self._buf, 0, self.state, self.active, self.trial,
                         len(self.notes), v[0], v[1], v[2])
        for i in range(len(self.notes)):
            struct.pack_into(_NOTE, self._buf, 16 + 9 * i, *self.notes[i])
        self._slots.save(self._buf, _LEN)

    def _noted(self, note, a, b):
        if len(self.notes) == _NOTES:
            self.notes.pop(0)  # three boots in a row that never reached the event log
        self.notes.append((note, a & 0xFFFFFFFF, b & 0xFFFFFFFF))

    def version(self, slot=None):
        return self.versions[self.active if slot is None else slot]

    # --- 1. install ----------------------------------------------------------------------
    def install(self, path=INBOX):
        """Verify the OTA file at path into the slot not in use. Its verdict (OK: the next
        choose() boots it). The file is deleted; a refusal is noted for the event log."""
        slot = 2 if self.active == 1 else 1
        prefix = SLOTS[slot]
        remove_tree(self.fs, prefix)
        found = [0]

        def newer(header):
            found[0] = header.file_version
            return header.file_version > self.version()

        reader = OtaImage(self.key, manufacturer=self.manufacturer,
                          image_type=self.image_type, on_header=newer)
        try:
            size = self.fs.stat(path)[6]
            v = extract(self.fs, path, size, reader, bytearray(256), prefix)
        except OSError:
            v = -1  # unreadable
        if v == OK and self._carries_boot_part(prefix):
            v = -2
        if v != OK:
            remove_tree(self.fs, prefix)
            self._noted(NOTE_REFUSED, v, found[0])
        else:
            self.state, self.trial = TRIAL, slot
            self.versions[slot] = found[0]
        self._save()
        try:
            self.fs.remove(path)
        except OSError:
            pass
        self.out("update: %s %s (version 0x%08x)" % (
            path, "installed in slot %s" % "-ab"[slot] if v == OK else
            "refused: " + VERDICTS.get(v, str(v)), found[0]))
        return v

    def adopt(self, stage, version):
        """A device role's image, verified and written under stage by its OTA client
        (han/ota/client.py) over the HAN: moved into the slot not in use as a TRIAL of
        version (booted at the next start, then confirmed or rolled back as any update).
        False, and stage emptied, for an image carrying the boot part or not newer."""
        slot = 2 if self.active == 1 else 1
        prefix = SLOTS[slot]
        remove_tree(self.fs, prefix)
        if version <= self.version() or self._carries_boot_part(stage):
            remove_tree(self.fs, stage)
            self._noted(NOTE_REFUSED, E_REFUSED, version)
            self._save()
            return False
        move_tree(self.fs, stage, prefix)
        self.state, self.trial = TRIAL, slot
        self.versions[slot] = version
        self._save()
        self.out("update: version 0x%08x from the HAN in slot %s, tried at the next start"
                 % (version, "-ab"[slot]))
        return True

    def running_version(self):
        """The version of the image booted now (the one choose() gave)."""
        return self.versions[self.booted]

    def _carries_boot_part(self, prefix):
        fs = self.fs
        if hasattr(fs, "mkdir"):  # littlefs: the slot directory's entries
            try:
                names = [e[0] for e in fs.ilistdir(prefix[:-1])]
            except OSError:
                names = []
        else:  # flat names: the first part after the prefix
            names = [e[0][len(prefix):].split("/")[0] for e in fs.ilistdir()
                     if e[0].startswith(prefix)]
        for name in names:
            if name.split(".")[0] in BOOT_PARTS:
                return True
        return False

    # --- 2. choose -------------------------------------------------------------------------
    def choose(self):
        """The slot to boot now (0: the frozen image), the record written first."""
        if self.state == BOOTING:
            self._roll_back()
        elif self.state == TRIAL:
            self.state = BOOTING
            self._save()
            self.booted = self.trial
            self.out("update: trying version 0x%08x (slot %s)"
                     % (self.versions[self.trial], "-ab"[self.trial]))
            return self.trial
        self.booted = self.active
        return self.active

    def trying(self):
        return self.state == BOOTING

    def _roll_back(self):
        failed = self.versions[self.trial]
        self.state = NORMAL
        self._noted(NOTE_ROLLED_BACK, failed, self.version())
        self._save()
        self.out("update: version 0x%08x did not report healthy: back to version 0x%08x"
                 % (failed, self.version()))

    def failed(self):
        """The trial image raised or did not confirm in time: back to the previous one (the
        caller boots choose() again)."""
        if self.state == BOOTING:
            self._roll_back()

    # --- 3. confirm ------------------------------------------------------------------------
    def confirm(self):
        if self.state != BOOTING:
            return False
        old = self.version()
        self.active, self.state = self.trial, NORMAL
        self._noted(NOTE_UPDATED, old, self.version())
        self._save()
        self.out("update: version 0x%08x confirmed (slot %s)"
                 % (self.version(), "-ab"[self.active]))
        return True

    def log_notes(self, record_event, utc):
        """Write the outcomes not yet logged into the event logs (record_event(log, utc,
        code, a, b): MeterRegisters'), then forget them (one record write)."""
        if not self.notes:
            return
        for code, a, b in self.notes:
            record_event(STANDARD if code == NOTE_UPDATED else FAULT, utc, code, a, b)
        self.notes = []
        self._save()


async def health_task(supervisor, updater, clock, healthy_s=HEALTHY_S, on_confirm=None):
    """Confirm a new image once every supervised task ran healthy_s without a fault or a
    hang (app/supervisor.py's counters); a fault starts the count again. Then on_confirm()
    (main: log the outcome now) and return."""
    import asyncio

    start = clock.ticks_ms()
    faults = sum(supervisor.faults)
    while updater.trying():
        await asyncio.sleep_ms(500)
        now_faults = sum(supervisor.faults)
        if now_faults != faults or supervisor.hung:
            faults = now_faults
            start = clock.ticks_ms()
        elif clock.ticks_diff(clock.ticks_ms(), start) >= healthy_s * 1000:
            updater.confirm()
            if on_confirm is not None:
                on_confirm()


class TrialExpired(Exception):
    """A new image did not confirm itself within LIMIT_S."""


MOUNT = "/flash"  # where the slots are imported from on a board whose flash is littlefs
# The packages an image may replace: purged from sys.modules when the image changes (the
# boot part's, and MicroPython's own such as asyncio, stay).
FIRMWARE_PACKAGES = ("main", "app", "h1", "han", "metrology", "registers")


def slot_path(fs, slot):
    """The sys.path entry of slot on fs: a directory of the board's mounted filesystem
    (hal.fsdir.DirFs), or of littlefs mounted at MOUNT here. OSError on a file system that
    cannot be imported from (the RAM file system of the CPython tests)."""
    name = SLOTS[slot][:-1]
    if hasattr(fs, "path"):
        return fs.path.rstrip("/") + "/" + name
    if not hasattr(fs, "mkdir"):
        raise OSError(95)  # EOPNOTSUPP
    import vfs

    try:
        vfs.mount(fs, MOUNT)
    except OSError:
        pass  # mounted by an earlier switch
    return MOUNT + "/" + name


def use_slot(path):
    """Make the next imports of the firmware's packages come from the slot directory at
    path (None: the frozen image): path first on sys.path, the modules loaded forgotten."""
    import sys

    for p in [p for p in sys.path if p.endswith(("/fw.a", "/fw.b"))]:
        sys.path.remove(p)
    if path is not None:
        sys.path.insert(0, path)
    for name in [n for n in sys.modules if n.split(".")[0] in FIRMWARE_PACKAGES]:
        del sys.modules[name]


def open_updater(hal, out):
    """The boot record on the board's flash, an update file found there installed first;
    None on a board without flash. The file system opened here is the registers' too
    (hal.fs): one littlefs instance per flash."""
    if hal.flash is None:
        return None
    from app import provision
    from app.version import OTA_IMAGE_METER, OTA_MANUFACTURER, file_version
    from registers.storage import open_filesystem
    from registers.store import RecordStore

    if hal.fs is None:  # (a board may have opened it already)
        hal.fs, _ = open_filesystem(hal.flash)
    store = RecordStore(hal.fs, max_payload=256)
    updater = Updater(hal.fs, store, file_version(), None, OTA_MANUFACTURER,
                      OTA_IMAGE_METER, out)
    try:
        hal.fs.stat(INBOX)
    except OSError:
        return updater  # the usual boot: the provisioning is main_task's to read
    record = provision.load(store)  # the key, only to verify an update
    updater.key = record.ota_key if record else None
    updater.install(INBOX)
    return updater


async def guard_trial(coro, updater, clock, limit_s=LIMIT_S):
    """Run the meter (coro); a new image that has not confirmed itself within limit_s is
    stopped with TrialExpired, and main.run boots the previous one."""
    import asyncio

    task = asyncio.create_task(coro)
    if updater is None or not updater.trying():
        return await task
    start = clock.ticks_ms()
    while not task.done():
        if not updater.trying():
            return await task
        if clock.ticks_diff(clock.ticks_ms(), start) >= limit_s * 1000:
            task.cancel()
            raise TrialExpired(limit_s)
        await asyncio.sleep_ms(250)
    return await task
