# Entry point: wire the subsystems for one board from its config and run them on asyncio.
# On a real board MicroPython runs this file at boot (__name__ == "__main__"); on the
# emulated board tools/emu.py types `import main; main.run()` at the REPL.
import sys

import asyncio
from app.status import StatusIndicator, heap_free, status_line
from app.version import FIRMWARE_NAME, FIRMWARE_VERSION


def sleep_ms(ms):
    # MicroPython's asyncio has sleep_ms; CPython's has only sleep(seconds).
    if hasattr(asyncio, "sleep_ms"):
        return asyncio.sleep_ms(ms)
    return asyncio.sleep(ms / 1000)


def banner(hal):
    impl = sys.implementation
    runtime = "{} {}".format(impl.name, ".".join(str(v) for v in impl.version[:3]))
    return "{} {} board={} runtime={} heap_free={}".format(
        FIRMWARE_NAME, FIRMWARE_VERSION, hal.name, runtime, heap_free())


async def status_task(hal, indicator, seconds=None, out=print):
    """Once a second: advance the LED pattern and print the status line."""
    clock = hal.clock
    start = clock.ticks_ms()
    uptime = 0
    while seconds is None or uptime < seconds:
        next_at = clock.ticks_add(start, (uptime + 1) * 1000)
        delay = clock.ticks_diff(next_at, clock.ticks_ms())
        if delay > 0:
            await sleep_ms(delay)
        uptime += 1
        indicator.tick()
        out(status_line(uptime, clock, hal.data_request, indicator))


async def main_task(hal, seconds=None, out=print):
    indicator = StatusIndicator(hal.leds)
    await status_task(hal, indicator, seconds, out)


def run(seconds=None, board_module=None, out=print):
    if board_module is None:
        import board as board_module
    hal = board_module.make_hal()
    out(banner(hal))
    asyncio.run(main_task(hal, seconds, out))
    return hal


if __name__ == "__main__":
    run()
