# Hardware abstraction: the only package that touches hardware.
#
# Subsystems receive these objects in their constructors (see main.py); they never import
# `machine`, `pyb` or a board. Each interface is small and duck-typed, in the shape of
# MicroPython's own `machine` classes, so a `machine` object often fits directly:
#
#   Clock        ticks_ms(), ticks_us(), ticks_diff(a, b), ticks_add(t, d),
#                time() -> UTC seconds since 1970-01-01, set_time(utc_seconds)
#   UART         write(buf) -> n, readinto(buf) -> n or None, any() -> n
#   Pin          value() -> 0/1 (input), value(v) (output)
#   ADCBlock     channels, rate_hz, bits; read_block(samples) fills an array('h') with
#                len(samples) // channels interleaved frames, returns the frame count
#   BlockDevice  readblocks(n, buf, off=0), writeblocks(n, buf, off=None), ioctl(op, arg):
#                MicroPython's extended block protocol (vfs.VfsLfs2 mounts it)
#   SPI          write(buf), readinto(buf, write=0), write_readinto(wbuf, rbuf)
#   Leds         set(index, on), count
#   Radio        see hal.radio (Contiki-NG shape; asynchronous transmit + tx_busy)
#   Watchdog     feed(), reset_cause() -> hal.watchdog RESET_*, timeout_ms (hal.watchdog)
#   entropy      entropy(n) -> n bytes from a true random source (os.urandom where the
#                port has one: the ESP32's and STM32's hardware RNG, the host's), or None
#
# Backends: hal.sim (deterministic, CPython and the unix port), hal.emu_mps2 (the emulated
# MPS2-AN385 board), hal.esp32 and hal.stm32 (real boards). boards/<b>/board.py picks them.

# Block device ioctl operations (MicroPython docs, "Block devices", extended interface).
IOCTL_INIT = 1
IOCTL_DEINIT = 2
IOCTL_SYNC = 3
IOCTL_BLOCK_COUNT = 4
IOCTL_BLOCK_SIZE = 5
IOCTL_BLOCK_ERASE = 6


class Hal:
    """The hardware one board hands to the firmware; absent parts are None."""

    def __init__(self, name, clock, console=None, p1_uart=None, data_request=None,
                 leds=None, adc=None, flash=None, spi=None, radio=None, power_warning=None,
                 watchdog=None, entropy=None, meter_ic=None):
        self.name = name
        self.clock = clock
        self.console = console
        self.p1_uart = p1_uart
        self.data_request = data_request
        self.leds = leds
        self.adc = adc
        # A metering IC's driver (hal/atm90e32.py, hal/ade7953.py) on a board whose front end
        # is one: the metrology reads its registers instead of ADC blocks (adc is None then).
        self.meter_ic = meter_ic
        self.flash = flash
        self.spi = spi
        self.radio = radio
        # Supply monitor's early warning (high: the supply is failing, a few tens of ms of
        # hold-up remain): the registers persist at once.
        self.power_warning = power_warning
        # Hardware watchdog (hal.watchdog interface): fed by app.supervisor while every task
        # makes progress; also tells the cause of the last reset.
        self.watchdog = watchdog
        # Secret keys (the HAN trust centre's) need it; None on a board without one.
        self.entropy = entropy if entropy is not None else os_entropy()
        # The file system on flash, once main has opened it (one instance per flash).
        self.fs = None


def os_entropy():
    """os.urandom where the port provides it (MicroPython: MICROPY_PY_OS_URANDOM, backed by
    the chip's RNG on ESP32 and STM32), else None (the emulated MPS2-AN385 has no RNG)."""
    try:
        import os

        return os.urandom
    except (ImportError, AttributeError):
        return None
