# The registers' files in a directory of a filesystem the port has already mounted (the
# ESP32's "vfs" partition at /, the pyboard's /flash). Mounting a second littlefs over the
# same partition would give two instances with their own block allocators on one set of
# blocks: the first write through the other (make deploy, mpremote cp) could corrupt both.
# So on real boards the firmware works inside the port's own mount, through this wrapper,
# which has the small interface the record store and the load profile use
# (registers/store.py: open, stat, remove, ilistdir) and the directories the OTA staging
# and the A/B update's slots need (mkdir, rmdir, rename; app/update.py).
import os


class DirFs:
    def __init__(self, path):
        self.path = path.rstrip("/")
        self._made = False

    def _name(self, name):
        return self.path + "/" + name

    def _make(self):
        if not self._made:  # the first write makes the directory
            try:
                os.mkdir(self.path)
            except OSError:
                pass  # it exists (EEXIST); anything else shows in the caller's call
            self._made = True

    def open(self, name, mode="rb"):
        if "w" in mode:
            self._make()
        return open(self._name(name), mode)

    def mkdir(self, name):
        self._make()
        os.mkdir(self._name(name))

    def rmdir(self, name):
        os.rmdir(self._name(name))

    def rename(self, old, new):
        os.rename(self._name(old), self._name(new))

    def stat(self, name):
        return os.stat(self._name(name))

    def remove(self, name):
        os.remove(self._name(name))

    def ilistdir(self, path=""):
        where = self._name(path) if path else self.path
        if hasattr(os, "ilistdir"):
            return os.ilistdir(where)
        # CPython (host tests): the entry types as MicroPython's (0x4000 dir, 0x8000 file)
        return ((name, 0x4000 if os.path.isdir(where + "/" + name) else 0x8000, 0)
                for name in os.listdir(where))
