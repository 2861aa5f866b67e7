# A file system in RAM with the small part of the VFS interface the record store and the
# load profile use: open(name, mode) -> file with readinto/read/write/seek/close, stat(name),
# remove(name), ilistdir(). It lets CPython run the store (CPython has no littlefs binding),
# and a board without flash keep its registers in RAM.
#
# atomic=True behaves like littlefs: what a file handle wrote becomes visible only at
# close(). atomic=False writes through, so a power cut mid-write leaves a torn file: the
# harsher model the CPython power-cut campaign uses. cut_after_bytes (None: never) makes the
# file system lose power after that many more bytes reach "flash": the write stops there
# and OSError(EIO) is raised, as hal.sim.RamBlockDevice does at block level.
from micropython import const

_EIO = const(5)
_ENOENT = const(2)
_SEEK_SET = const(0)
_SEEK_END = const(2)


class MemoryFile:
    def __init__(self, fs, name, data, writable, append):
        self._fs = fs
        self._name = name
        self._data = data  # bytearray: the stored file (write-through) or a private copy
        self._pos = len(data) if append else 0
        self._writable = writable
        self._open = True

    def readinto(self, buf):
        data = self._data
        n = min(len(buf), len(data) - self._pos)
        if n <= 0:
            return 0
        start = self._pos
        for i in range(n):
            buf[i] = data[start + i]
        self._pos += n
        return n

    def read(self, n=-1):
        data = self._data
        if n < 0 or self._pos + n > len(data):
            n = len(data) - self._pos
        out = bytes(data[self._pos:self._pos + n])
        self._pos += n
        return out

    def write(self, buf):
        if not self._writable:
            raise OSError(_EIO)
        n = len(buf)
        allowed = self._fs.budget(n)
        data = self._data
        end = self._pos + allowed
        if end > len(data):
            data.extend(bytes(end - len(data)))
        for i in range(allowed):
            data[self._pos + i] = buf[i]
        self._pos = end
        if allowed < n:
            self._open = False  # the supply failed: this handle is dead
            raise OSError(_EIO)
        return n

    def seek(self, offset, whence=_SEEK_SET):
        if whence == _SEEK_END:
            offset += len(self._data)
        elif whence != _SEEK_SET:
            offset += self._pos
        self._pos = max(0, offset)
        return self._pos

    def tell(self):
        return self._pos

    def close(self):
        if self._open and self._writable and self._fs.atomic:
            self._fs.files[self._name] = self._data  # the commit point, like littlefs
        self._open = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False


class MemoryFs:
    def __init__(self, atomic=True, cut_after_bytes=None):
        self.files = {}
        self.atomic = atomic
        self.cut_after_bytes = cut_after_bytes
        self.bytes_written = 0
        self.commits = 0

    def budget(self, n):
        """How many of n bytes reach storage before the (simulated) supply fails."""
        if self.cut_after_bytes is not None:
            if n > self.cut_after_bytes:
                n = self.cut_after_bytes
            self.cut_after_bytes -= n
        self.bytes_written += n
        return n

    def open(self, name, mode="rb"):
        writable = "w" in mode or "a" in mode or "+" in mode
        append = "a" in mode
        if "w" in mode:
            stored = bytearray()
            if not self.atomic:
                self.files[name] = stored  # truncated at once, as a plain file system does
        else:
            if name not in self.files:
                if not append:
                    raise OSError(_ENOENT)
                self.files[name] = bytearray()
            stored = self.files[name]
        if writable:
            self.commits += 1
            if self.atomic:
                stored = bytearray(stored)  # private copy until close()
        return MemoryFile(self, name, stored, writable, append)

    def stat(self, name):
        if name not in self.files:
            raise OSError(_ENOENT)
        return (0x8000, 0, 0, 0, 0, 0, len(self.files[name]), 0, 0, 0)

    def remove(self, name):
        if name not in self.files:
            raise OSError(_ENOENT)
        del self.files[name]

    def ilistdir(self, path=""):
        for name in sorted(self.files):
            yield (name, 0x8000, 0, len(self.files[name]))
