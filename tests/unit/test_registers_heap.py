# Steady-state heap of the registers subsystem on MicroPython (tier 2): what one
# MeterRegisters with its view holds after boot on littlefs, and that hours of operation
# (energy every second, profile, demand, persistence) leave nothing behind.
from hal.clock import FakeClock
from support import IS_MICROPYTHON

T0 = 1735686000


def _run(regs, clock, seconds):
    for _ in range(seconds):
        clock.advance_ms(1000)
        regs.add_energy(400, 0, 20, 0, 0, 0)
        regs.step(clock.time())


def test_heap_is_bounded_and_steady():
    if not IS_MICROPYTHON:
        return  # gc.mem_alloc and littlefs are MicroPython's
    import gc

    import vfs

    from hal.sim import RamBlockDevice
    from registers.meter import MeterRegisters
    from registers.view import RegistersView

    bd = RamBlockDevice(block_size=4096, block_count=96)
    vfs.VfsLfs2.mkfs(bd)
    clock = FakeClock(utc=T0)
    gc.collect()
    before = gc.mem_alloc()
    regs = MeterRegisters(clock, vfs.VfsLfs2(bd))
    view = RegistersView(regs)
    regs.boot(clock.time())
    gc.collect()
    after_boot = gc.mem_alloc() - before
    _run(regs, clock, 3600)
    gc.collect()
    after_hour = gc.mem_alloc() - before
    _run(regs, clock, 2 * 3600)
    gc.collect()
    after_three = gc.mem_alloc() - before
    # 64-bit unix port figures (measured: about 21.5 KiB); a 32-bit board needs less.
    assert after_boot < 28 * 1024, after_boot
    assert after_three == after_hour, (after_hour, after_three)
    assert after_hour - after_boot < 512
    assert view.total_import_wh() == 4320
