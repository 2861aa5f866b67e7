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
