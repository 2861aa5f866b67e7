# asyncio wrappers around the polled HAN state machines: a role (Coordinator, EndDevice)
# and its MAC are stepped, then the task sleeps for what they returned (as h1/push.py's
# run()). -1 ("only a received frame can wake it") becomes idle_us: the radio drivers have
# no receive interrupt wired to asyncio yet, so an idle node polls its radio that often.
# Roles are stepped before and after Mac.step (roles.py), so that what the MAC received
# is acted on at once. Sleeps through hal.aio.sleep_us (on MicroPython waits under 1 ms
# become a yield; the CSMA-CA backoff periods are 320 us).
from micropython import const

IDLE_US = const(2000)  # receive polling period of an idle node


def _sooner(a, b):
    """The earlier of two wake-up delays, -1 meaning never."""
    if b < 0:
        return a
    if a < 0 or b < a:
        return b
    return a


def step_once(role, mac, now, idle_us=IDLE_US):
    """One pass of role/MAC/role; returns the microseconds the task may sleep."""
    wait = -1
    if role is not None:
        wait = role.step(now)
    wait = _sooner(wait, mac.step(now))
    if role is not None:
        wait = _sooner(wait, role.step(now))
    if wait < 0 or wait > idle_us:
        wait = idle_us
    return wait


async def run_node(mac, role=None, seconds=None, until=None, idle_us=IDLE_US):
    """Drive role and mac until `seconds` (clock time) have passed or until() is true;
    forever when neither is given."""
    from hal.aio import sleep_us

    clock = mac.clock
    start = clock.ticks_us()
    limit = int(seconds * 1000000) if seconds is not None else -1
    while True:
        now = clock.ticks_us()
        if limit >= 0 and clock.ticks_diff(now, start) >= limit:
            return
        if until is not None and until():
            return
        await sleep_us(step_once(role, mac, now, idle_us))


def run_coordinator(coordinator, seconds=None, until=None, idle_us=IDLE_US):
    """Coroutine running a Coordinator (start() or start_at() called before)."""
    return run_node(coordinator.mac, coordinator, seconds, until, idle_us)


def run_end_device(device, seconds=None, until=None, idle_us=IDLE_US):
    """Coroutine running an EndDevice (join() or rejoin() called before)."""
    return run_node(device.mac, device, seconds, until, idle_us)
