# The registers' files in a directory of a filesystem the port has already mounted (the
# ESP32's "vfs" partition at /, the pyboard's /flash). Mounting a second littlefs over the
# same partition would give two instances with their own block allocators on one set of
# blocks: the first write through the other (make deploy, mpremote cp) could corrupt both.
# So on real boards the firmware works inside the port's own mount, through this wrapper,
# which has the small interface the record store and the load profile use
# (registers/store.py: open, stat, remove, ilistdir).
import os


class DirFs:
    def __init__(self, path):
        self.path = path.rstrip("/")
        self._made = False

    def _name(self, name):
        return self.path + "/" + name

    def open(self, name, mode="rb"):
        if not self._made and "w" in mode:  # the first write makes the directory
            try:
                os.mkdir(self.path)
            except OSError:
                pass  # it exists (EEXIST); anything else shows in the open below
            self._made = True
        return open(self._name(name), mode)

    def stat(self, name):
        return os.stat(self._name(name))

    def remove(self, name):
        os.remove(self._name(name))

    def ilistdir(self, path=""):
        where = self._name(path) if path else self.path
        if hasattr(os, "ilistdir"):
            return os.ilistdir(where)
        return ((name, 0, 0) for name in os.listdir(where))  # CPython (host tests)
