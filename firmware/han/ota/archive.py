# The archive of firmware files that our OTA upgrade images carry in their upgrade image
# sub-element (tag 0x0000), written by `python -m tools.ota pack`:
#
#   "MFW1"                                      4 octets, format and version
#   then for each file:
#     name length u8 (1..255), name (UTF-8, '/'-separated path relative to the firmware
#     root, e.g. "han/zigbee.py" or "han/zigbee.mpy"), data length u32 little endian, data
#
# ArchiveReader takes the element's octets as they stream by (it is an OtaImage sink:
# reader(buf, start, stop)) and calls the consumer's on_file(name, nlen, size) at each
# file's start (name: a bytearray holding nlen octets), on_data(buf, start, stop) for its
# content, and on_end() after its last octet. It allocates nothing per call; it says
# nothing about authenticity: the consumer writes to a staging area and keeps it only when
# OtaImage.finish() says OK.
from micropython import const

from han.ota.image import E_HEADER, OK, verify_stream

MAGIC = b"MFW1"
_S_MAGIC = const(0)
_S_NLEN = const(1)
_S_NAME = const(2)
_S_SIZE = const(3)
_S_DATA = const(4)
_S_BAD = const(5)


class ArchiveReader:
    def __init__(self, on_file, on_data, on_end):
        self.on_file = on_file
        self.on_data = on_data
        self.on_end = on_end
        self.name = bytearray(255)
        self.reset()

    def reset(self):
        self.ok = True  # False once the octets are not an archive
        self.files = 0
        self._state = _S_MAGIC
        self._got = 0
        self._need = 4
        self._size = 0

    def done(self):
        """True when the octets so far end exactly at a file boundary."""
        return self.ok and self._state == _S_NLEN

    def __call__(self, buf, start, stop):
        i = start
        while i < stop:
            st = self._state
            if st == _S_DATA:
                take = min(self._need, stop - i)
                self.on_data(buf, i, i + take)
                i += take
                self._need -= take
                if self._need == 0:
                    self.on_end()
                    self.files += 1
                    self._state = _S_NLEN
                continue
            if st == _S_BAD:
                return
            v = buf[i]
            i += 1
            if st == _S_MAGIC:
                if v != MAGIC[self._got]:
                    self.ok = False
                    self._state = _S_BAD
                    return
                self._got += 1
                if self._got == 4:
                    self._state = _S_NLEN
            elif st == _S_NLEN:
                if v == 0:
                    self.ok = False
                    self._state = _S_BAD
                    return
                self._need = v
                self._got = 0
                self._state = _S_NAME
            elif st == _S_NAME:
                self.name[self._got] = v
                self._got += 1
                if self._got == self._need:
                    self._state = _S_SIZE
                    self._size = 0
                    self._got = 0
            else:  # _S_SIZE, little endian; sizes are below 2^24 (OtaImage's limit)
                if self._got == 3 and v:
                    self.ok = False
                    self._state = _S_BAD
                    return
                self._size |= v << (8 * self._got)
                self._got += 1
                if self._got == 4:
                    self.on_file(self.name, self._need, self._size)
                    if self._size:
                        self._need = self._size
                        self._state = _S_DATA
                    else:
                        self.on_end()
                        self.files += 1
                        self._state = _S_NLEN


def safe_name(name):
    """True for a relative '/'-separated path with no empty, '.' or '..' part: what an
    archive may name. Checked before anything is written, because files are extracted
    while the image streams by, before its authentication is known."""
    if not name or name[0] == "/":
        return False
    for part in name.split("/"):
        if part in ("", ".", ".."):
            return False
    return True


def make_dirs(fs, path):
    """The directories of path on a file system that has them (littlefs); the RAM file
    system of the CPython tests keeps flat names."""
    if not hasattr(fs, "mkdir"):
        return
    i = path.find("/")
    while i > 0:
        try:
            fs.mkdir(path[:i])
        except OSError:
            pass  # exists
        i = path.find("/", i + 1)


def remove_tree(fs, prefix):
    """Delete every file under prefix ('dir/'), and the directories on littlefs."""
    if hasattr(fs, "mkdir"):
        _remove_dir(fs, prefix[:-1])
        return
    for name in [e[0] for e in fs.ilistdir() if e[0].startswith(prefix)]:
        fs.remove(name)


def move_tree(fs, src, dst):
    """Move every file under prefix src ('dir/') to prefix dst (absent beforehand): one
    rename of the directory on littlefs; file by file on the flat RAM file system."""
    if hasattr(fs, "mkdir"):
        fs.rename(src[:-1], dst[:-1])
        return
    for name in [e[0] for e in fs.ilistdir() if e[0].startswith(src)]:
        with fs.open(name, "rb") as f:
            data = f.read()
        with fs.open(dst + name[len(src):], "wb") as f:
            f.write(data)
        fs.remove(name)


def _remove_dir(fs, path):
    try:
        entries = list(fs.ilistdir(path))
    except OSError:
        return  # absent
    for e in entries:
        child = path + "/" + e[0]
        if e[1] & 0x4000:
            _remove_dir(fs, child)
        else:
            fs.remove(child)
    fs.rmdir(path)


class TreeWriter:
    """An ArchiveReader's consumer writing each file under prefix on fs. A name that would
    leave prefix (safe_name) marks the archive refused and is not written."""

    def __init__(self, fs, prefix):
        self.fs = fs
        self.prefix = prefix
        self.refused = False
        self._f = None

    def on_file(self, name, nlen, size):
        path = bytes(name[:nlen]).decode()
        if not safe_name(path):
            self.refused = True
            return
        path = self.prefix + path
        make_dirs(self.fs, path)
        self._f = self.fs.open(path, "wb")

    def on_data(self, b, i, j):
        if self._f is not None:
            self._f.write(memoryview(b)[i:j])

    def on_end(self):
        self.close()

    def close(self):
        if self._f is not None:
            self._f.close()
            self._f = None


def extract(fs, path, size, reader, io, prefix):
    """Verify the OTA file at path (reader: an OtaImage; io: its read buffer) and write the
    files of its archive under prefix as they stream by. OK only when the image verifies
    and its archive is whole and well named; else the caller deletes what was written."""
    w = TreeWriter(fs, prefix)
    arch = ArchiveReader(w.on_file, w.on_data, w.on_end)
    reader.sink = arch
    try:
        with fs.open(path, "rb") as f:
            v = verify_stream(f, io, reader, size)
    finally:
        reader.sink = None
        w.close()
    if v != OK:
        return v
    return OK if arch.done() and not w.refused else E_HEADER
