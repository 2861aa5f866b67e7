# Deterministic simulated hardware for CPython tests and the MicroPython unix port.
# Small and faithful to the `machine` signatures, with test hooks (inject/written/cut).
from hal import IOCTL_BLOCK_COUNT, IOCTL_BLOCK_ERASE, IOCTL_BLOCK_SIZE


class SimUART:
    """A UART whose far end is the test: inject() feeds RX, written() returns TX."""

    def __init__(self, baudrate=115200, invert_tx=False, rx_size=256):
        self.baudrate = baudrate
        self.invert_tx = invert_tx
        self._rx = bytearray(rx_size)
        self._rx_len = 0
        self._tx = bytearray()

    def inject(self, data):
        n = len(data)
        if self._rx_len + n > len(self._rx):
            raise OverflowError("RX buffer full")
        self._rx[self._rx_len:self._rx_len + n] = data
        self._rx_len += n

    def written(self, clear=True):
        data = bytes(self._tx)
        if clear:
            self._tx = bytearray()
        return data

    def write(self, buf):
        self._tx.extend(buf)
        return len(buf)

    def any(self):
        return self._rx_len

    def readinto(self, buf, nbytes=-1):
        n = self._rx_len if nbytes < 0 else min(nbytes, self._rx_len)
        n = min(n, len(buf))
        if n == 0:
            return None
        for i in range(n):
            buf[i] = self._rx[i]
        remaining = self._rx_len - n
        for i in range(remaining):
            self._rx[i] = self._rx[n + i]
        self._rx_len = remaining
        return n


class SimPin:
    """A GPIO line: the test drives inputs with value(v) and reads outputs with value()."""

    def __init__(self, value=0):
        self._value = 1 if value else 0

    def value(self, v=None):
        if v is None:
            return self._value
        self._value = 1 if v else 0
        return None


class SimLeds:
    def __init__(self, count=2):
        self.count = count
        self.state = [False] * count

    def set(self, index, on):
        self.state[index] = bool(on)


class PowerCut(OSError):
    """Raised by RamBlockDevice when the simulated supply fails during a write or erase."""


class RamBlockDevice:
    """A flash-like block device in RAM for vfs.VfsLfs2, able to lose power mid-operation.

    cut_after: number of further program/erase operations that succeed before the power
    fails (None: never). The failing operation leaves its target partly written, as real
    flash does; after it the supply stays off: every later program or erase raises PowerCut
    and changes nothing (the code still running above the device, e.g. a file close in a
    `finally`, cannot reach the chip). Assigning cut_after again powers the device back on.
    Reads keep working so tests can inspect the chip. Reads, writes and erases work with
    the heap locked (littlefs runs them from a file's GC finaliser then): programming copies
    with an index loop; reads take a slice copy and fall back to the loop on MemoryError.
    """

    def __init__(self, block_size=4096, block_count=64, cut_after=None):
        self.block_size = block_size
        self.block_count = block_count
        size = block_size * block_count
        self.data = bytearray(size)
        erased = b"\xff" * 256
        for start in range(0, size, 256):  # fill without a second full-size temporary
            self.data[start:start + 256] = erased
        self._view = memoryview(self.data)
        self._cut_after = cut_after
        self.powered = True
        self.writes = 0
        self.erases = 0

    @property
    def cut_after(self):
        return self._cut_after

    @cut_after.setter
    def cut_after(self, value):
        self._cut_after = value
        self.powered = True

    def _operation(self):
        if self._cut_after is not None:
            if self._cut_after == 0:
                self.powered = False
                raise PowerCut(5)  # EIO
            self._cut_after -= 1

    def readblocks(self, block, buf, offset=0):
        start = block * self.block_size + offset
        try:
            # Fast path: one copy (the slice objects are small heap allocations).
            buf[:] = self._view[start:start + len(buf)]
        except MemoryError:
            # Heap locked (littlefs closing a file from a GC finaliser): byte loop.
            data = self.data
            for i in range(len(buf)):
                buf[i] = data[start + i]

    def writeblocks(self, block, buf, offset=None):
        if offset is None:
            # Simple protocol: erase then write whole blocks.
            for i in range(len(buf) // self.block_size):
                self.ioctl(IOCTL_BLOCK_ERASE, block + i)
            offset = 0
        start = block * self.block_size + offset
        data = self.data
        n = len(buf)
        if self._cut_after == 0:
            n = n // 2 if self.powered else 0  # the page program stops half way
        for i in range(n):
            data[start + i] &= buf[i]  # programming only clears bits, like NOR flash
        self._operation()
        self.writes += 1

    def ioctl(self, op, arg):
        if op == IOCTL_BLOCK_COUNT:
            return self.block_count
        if op == IOCTL_BLOCK_SIZE:
            return self.block_size
        if op == IOCTL_BLOCK_ERASE:
            self._operation()
            start = arg * self.block_size
            data = self.data
            for i in range(self.block_size):
                data[start + i] = 0xFF
            self.erases += 1
            return 0
        return 0


class SimSPI:
    """An SPI bus whose device is a function: respond(tx_bytes) -> rx_bytes of equal length."""

    def __init__(self, respond=None):
        self.respond = respond
        self.transfers = []

    def write(self, buf):
        self.transfers.append(bytes(buf))

    def write_readinto(self, wbuf, rbuf):
        self.transfers.append(bytes(wbuf))
        reply = self.respond(bytes(wbuf)) if self.respond else bytes(len(wbuf))
        for i in range(len(rbuf)):
            rbuf[i] = reply[i]

    def readinto(self, buf, write=0):
        self.write_readinto(bytes([write]) * len(buf), buf)
