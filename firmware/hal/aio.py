# The asyncio sleeps every task awaits, on both runtimes: MicroPython's asyncio has
# sleep_ms (integer milliseconds), CPython's only sleep(seconds). Chosen once at import;
# each call returns the awaitable.
import asyncio

if hasattr(asyncio, "sleep_ms"):

    def sleep_ms(ms):
        return asyncio.sleep_ms(ms)

    def sleep_us(us):
        # Waits under 1 ms become sleep_ms(0), a yield: the scheduler's tick is 1 ms.
        return asyncio.sleep_ms(us // 1000)

else:

    def sleep_ms(ms):
        return asyncio.sleep(ms / 1000)

    def sleep_us(us):
        return asyncio.sleep(us / 1000000)
