# Backends for the emulated board: ARM MPS2-AN385 as QEMU models it (-machine mps2-an385).
#
# Peripherals used (ARM AN385 application note; QEMU hw/arm/mps2.c):
#   UART0..4  CMSDK APB UART at 0x40004000 + n * 0x1000 (ARM DDI 0479C 4.4)
#             QEMU maps its n-th -serial option to UARTn. UART0 is MicroPython's REPL.
#   FPGAIO    0x40028000: LED0 register at +0x00 (bits 0..1 drive the two user LEDs)
#   WATCHDOG  CMSDK APB watchdog at 0x40008000 (ARM DDI 0479C 4.6), clocked at 25 MHz; its
#             interrupt is wired to NMI and its reset output resets the board (QEMU 7.2)
# Input lines driven by the host (e.g. P1 Data Request) arrive on a control UART
# (UART3 by convention, see docs/emulated-board.md): each received byte sets one line,
# bit 7 = level, bits 0..6 = line number. tools/emu.py sends these bytes, repeating every
# line's level every 100 ms as a wire would hold it.
import machine
from micropython import const

from hal import IOCTL_BLOCK_COUNT, IOCTL_BLOCK_ERASE, IOCTL_BLOCK_SIZE

_UART_BASE = const(0x40004000)
_UART_STRIDE = const(0x1000)
_DATA = const(0x00)
_STATE = const(0x04)  # bit0 TX buffer full, bit1 RX buffer full
_CTRL = const(0x08)  # bit0 TX enable, bit1 RX enable
_BAUDDIV = const(0x10)
_STATE_TX_FULL = const(1)
_STATE_RX_FULL = const(2)
_CTRL_TX_RX_EN = const(3)
_PCLK_HZ = const(25000000)  # AN385: APB clock 25 MHz

_FPGAIO_LED = const(0x40028000)

# CMSDK APB watchdog (ARM DDI 0479C 4.6): a 32-bit down-counter. Expiring once sets the
# interrupt (INTEN also enables the counter); expiring again with it still set asserts
# the reset (RESEN). Writes need the LOCK register unlocked with its key.
_WDOG_BASE = const(0x40008000)
_WDOG_LOAD = const(0x00)
_WDOG_CTRL = const(0x08)  # bit0 INTEN (counter and interrupt), bit1 RESEN
_WDOG_INTCLR = const(0x0C)  # any write: clear the interrupt, reload the counter
_WDOG_RIS = const(0x10)
_WDOG_LOCK = const(0xC00)
_WDOG_KEY = const(0x1ACCE551)  # unlocks; any other value locks
_WDOG_INTEN_RESEN = const(3)
_PCLK_PER_MS = const(25000)


class CmsdkUart:
    """Register-level driver for one CMSDK APB UART (polled; the FIFO depth is one byte).

    write() blocks until every byte is in the transmit register, as machine.UART.write does
    with no timeout; QEMU drains the register at once. readinto() returns what is there.
    """

    def __init__(self, index, baudrate=115200):
        if not 1 <= index <= 4:
            raise ValueError("UART0 is the REPL; use UART1..UART4")
        self.index = index
        self._base = _UART_BASE + index * _UART_STRIDE
        self.baudrate = baudrate
        machine.mem32[self._base + _BAUDDIV] = _PCLK_HZ // baudrate
        machine.mem32[self._base + _CTRL] = _CTRL_TX_RX_EN

    def write(self, buf):
        mem32 = machine.mem32
        state = self._base + _STATE
        data = self._base + _DATA
        for b in buf:
            while mem32[state] & _STATE_TX_FULL:
                pass
            mem32[data] = b
        return len(buf)

    def any(self):
        return 1 if machine.mem32[self._base + _STATE] & _STATE_RX_FULL else 0

    def readinto(self, buf, nbytes=-1):
        limit = len(buf) if nbytes < 0 else min(nbytes, len(buf))
        mem32 = machine.mem32
        state = self._base + _STATE
        data = self._base + _DATA
        n = 0
        while n < limit and mem32[state] & _STATE_RX_FULL:
            buf[n] = mem32[data] & 0xFF
            n += 1
        return n or None


class ConsoleRx:
    """What is typed on UART0 (the REPL's console) while the meter runs, read at register
    level: the qemu port's stdin cannot be polled (its mp_hal_stdio_poll always answers
    "not ready"), so the configuration channel (app/console.py) reads the UART itself.
    Ctrl-C keeps its REPL meaning: it raises KeyboardInterrupt, as the REPL would."""

    def readinto(self, buf, nbytes=-1):
        limit = len(buf) if nbytes < 0 else min(nbytes, len(buf))
        mem32 = machine.mem32
        n = 0
        while n < limit and mem32[_UART_BASE + _STATE] & _STATE_RX_FULL:
            c = mem32[_UART_BASE + _DATA] & 0xFF
            if c == 3:
                raise KeyboardInterrupt
            buf[n] = c
            n += 1
        return n


class HostLines:
    """Input lines whose levels the host sets through a control UART (see module comment)."""

    def __init__(self, uart, count=8):
        self._uart = uart
        self._levels = bytearray(count)
        self._buf = bytearray(16)

    def poll(self):
        # Drain everything queued: the host repeats levels, only the latest byte counts.
        while True:
            n = self._uart.readinto(self._buf)
            if not n:
                return
            for i in range(n):
                b = self._buf[i]
                line = b & 0x7F
                if line < len(self._levels):
                    self._levels[line] = b >> 7

    def pin(self, line):
        return _HostPin(self, line)


class _HostPin:
    def __init__(self, lines, line):
        self._lines = lines
        self._line = line

    def value(self, v=None):
        if v is not None:
            raise ValueError("host-driven line is an input")
        self._lines.poll()
        return self._lines._levels[self._line]


class FpgaLeds:
    """The board's two user LEDs (FPGAIO LED0 register)."""

    count = 2

    def set(self, index, on):
        bit = 1 << index
        value = machine.mem32[_FPGAIO_LED]
        machine.mem32[_FPGAIO_LED] = (value | bit) if on else (value & ~bit)


class HostFileFlash:
    """The board's flash as a file on the host (the board C module emuflash, over ARM
    semihosting): MicroPython's extended block protocol for vfs.VfsLfs2. The file outlives
    QEMU, so what the firmware stored survives an emulated power cycle. tools/emu.py
    chooses the file (QEMU's working directory holds it). Erased flash reads 0xFF; a new
    file is erased flash."""

    def __init__(self, path="meter-flash.bin", block_size=4096, block_count=128):
        import emuflash

        self._flash = emuflash
        self._handle = emuflash.open(path)
        self.block_size = block_size
        self.block_count = block_count
        self._erased = bytearray(b"\xff" * block_size)

    def readblocks(self, block, buf, offset=0):
        self._flash.read(self._handle, block * self.block_size + offset, buf)

    def writeblocks(self, block, buf, offset=None):
        if offset is None:  # simple protocol: whole blocks, erase implied
            offset = 0
        self._flash.write(self._handle, block * self.block_size + offset, buf)

    def ioctl(self, op, arg):
        if op == IOCTL_BLOCK_COUNT:
            return self.block_count
        if op == IOCTL_BLOCK_SIZE:
            return self.block_size
        if op == IOCTL_BLOCK_ERASE:
            self._flash.write(self._handle, arg * self.block_size, self._erased)
        return 0


_reset_cause = None  # per interpreter session: emureset answers once per hardware reset


class CmsdkWatchdog:
    """The board's CMSDK APB watchdog at register level, and the reset cause.

    LOAD is the timeout: after timeout_ms without a feed the counter expires the first
    time and raises NMI, whose handler (boards/emu-mps2/cmodules/emuboard/emu_reset.c)
    records "watchdog" as the reset cause in RAM that survives the reset and parks the
    CPU; after another timeout_ms the second expiry resets the board. So the board is lost
    timeout_ms after the last feed and restarts 2 * timeout_ms after it. The counter runs
    from the first feed (building the Hal does not arm it). Stages above about 42 s would
    need LOAD past MicroPython's small-int range: refused."""

    MAX_TIMEOUT_MS = 40000

    def __init__(self, timeout_ms=4000):
        if not 0 < timeout_ms <= self.MAX_TIMEOUT_MS:
            raise ValueError("watchdog timeout out of range")
        self.timeout_ms = timeout_ms
        self._load = timeout_ms * _PCLK_PER_MS
        self.running = False

    def _write(self, offset, value):
        mem32 = machine.mem32
        mem32[_WDOG_BASE + _WDOG_LOCK] = _WDOG_KEY
        mem32[_WDOG_BASE + offset] = value
        mem32[_WDOG_BASE + _WDOG_LOCK] = 0

    def start(self):
        import emureset

        emureset.arm()
        # An interrupt left pending by an earlier run (QEMU's counter goes on while
        # disabled) would make the first expiry count as the second: clear it first.
        self._write(_WDOG_INTCLR, 1)
        self._write(_WDOG_LOAD, self._load)
        self._write(_WDOG_CTRL, _WDOG_INTEN_RESEN)
        self.running = True

    def feed(self):
        if not self.running:
            self.start()
        else:
            self._write(_WDOG_INTCLR, 1)

    def stop(self):
        """Disable the counter (the CMSDK watchdog allows it; real boards' do not)."""
        self._write(_WDOG_CTRL, 0)
        self._write(_WDOG_INTCLR, 1)
        self.running = False

    def reset_cause(self):
        """hal.watchdog RESET_*: power-on, hard (system reset), watchdog, or soft (a
        MicroPython soft reboot after the cause was read once)."""
        global _reset_cause
        if _reset_cause is None:
            import emureset

            _reset_cause = emureset.cause()
        return _reset_cause


def system_reset():
    """Reset the whole board (Cortex-M AIRCR SYSRESETREQ) and mark it as a hard reset."""
    import emureset

    emureset.system_reset()
