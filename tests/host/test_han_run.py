# asyncio wrappers (firmware/han/run.py): a coordinator and one end device, each in its
# own asyncio task, on the simulated medium in real time (a clock over time.monotonic,
# a third task moving the medium to the clock's present), until the device has associated
# and a secured report reached the coordinator, whose inventory then lists the device.
# Tier 1 (CPython's asyncio).
import asyncio
import random
import time

from tools import fwpath

fwpath.setup()
from han import radio_sim  # noqa: E402
from han.inventory import DeviceInventory, DeviceRecord  # noqa: E402
from han.mac import commands as cmd  # noqa: E402
from han.mac.mac import Mac  # noqa: E402
from han.mac.roles import Coordinator, EndDevice  # noqa: E402
from han.mac.security import MacSecurity  # noqa: E402
from registers.counters import RamCounterStore  # noqa: E402
from han.run import run_coordinator, run_end_device, step_once  # noqa: E402
from tools.han.rtclock import MonotonicClock  # noqa: E402

COORD = bytes.fromhex("0004A30B00C0FFEE")
DEV = bytes.fromhex("0004A30B00000002")
KEY = bytes.fromhex("C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF")


def _mac(medium, clock, ext, pos, seed, short):
    radio = radio_sim.SimRadio(medium, pos, 26)
    sec = MacSecurity(ext, RamCounterStore())
    sec.keys.add(KEY, 1, 1)
    return Mac(radio, clock, ext, 0xFFFF, short, random.Random(seed).getrandbits,
               security=sec)


async def _medium(medium, clock, stop):
    while not stop():
        medium.advance(clock.ticks_us())
        await asyncio.sleep(0.0002)


def test_coordinator_and_device_associate_under_asyncio():
    clock = MonotonicClock()
    medium = radio_sim.Medium(seed=3)
    cmac = _mac(medium, clock, COORD, (0.0, 0.0), 1, 0x0000)
    coord = Coordinator(cmac, 1 << 15, random.Random(2).getrandbits)
    inv = DeviceInventory(clock, size=4)
    inv.attach(coord)
    dmac = _mac(medium, clock, DEV, (4.0, 0.0), 3, 0xFFFF)
    dev = EndDevice(dmac, 1 << 15, cmd.CAP_RX_ON_IDLE, scan_duration=2)
    got = []
    cmac.on_data = lambda f, buf, lqi: got.append(
        bytes(buf[f.header_len:f.header_len + f.payload_len]))
    coord.start_at(15, 0x1A2B, clock.ticks_us())
    dev.join(clock.ticks_us())
    state = {"sent": False}

    def done():
        if dev.associated and not state["sent"]:
            dmac.send(0x0000, b"\x3f\x11\x22", 3, clock.ticks_us())
            state["sent"] = True
        return bool(got)

    async def main():
        t0 = time.monotonic()
        await asyncio.wait_for(asyncio.gather(
            run_coordinator(coord, until=done),
            run_end_device(dev, until=done),
            _medium(medium, clock, done)), timeout=20)
        return time.monotonic() - t0

    elapsed = asyncio.run(main())
    assert dev.associated and dmac.short_addr == coord.short_of(DEV) == 0x0001
    assert got == [b"\x3f\x11\x22"]  # decrypted by the coordinator's security
    # Scan (2 x 30.72 ms x 5 ~ 77 ms) + macResponseWaitTime (491.52 ms) at least.
    assert 0.5 < elapsed < 20
    rec = DeviceRecord()
    assert inv.read(inv.find_ext(DEV), rec) and rec.associated and rec.short == 0x0001
    assert rec.frames_in >= 2 and rec.frames_out >= 1 and rec.lqi > 0 and rec.rssi < 0


def test_step_once_sleeps_for_the_nearest_deadline():
    class Stub:
        def __init__(self, waits):
            self.waits = list(waits)

        def step(self, now):
            return self.waits.pop(0)

    # role, mac, role: the smallest non-negative wait; -1 everywhere -> the idle period.
    assert step_once(Stub([-1, 700]), Stub([300]), 0) == 300
    assert step_once(Stub([-1, -1]), Stub([-1]), 0, idle_us=1500) == 1500
    assert step_once(None, Stub([90000]), 0, idle_us=2000) == 2000
    assert step_once(Stub([0, 5]), Stub([10]), 0) == 0
