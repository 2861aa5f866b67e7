"""The asyncio wrapper of the P1 push (firmware/h1/push.py run()) on CPython's asyncio with
the real clock: telegrams at second boundaries, complete, while Data Request is high."""
import asyncio

from hal.clock import SystemClock
from hal.sim import SimPin, SimUART
from h1 import profiles
from h1.push import P1Push, run
from native.crc16 import crc16_python
from p1_simsource import SimSource


def test_run_sends_one_telegram_per_second():
    clock = SystemClock(utc_at_boot=1735682330)
    uart = SimUART()
    push = P1Push(uart, SimPin(1), clock, profiles.by_name("nl"), SimSource(1735682330))
    asyncio.run(run(push, seconds=2.5))
    data = uart.written()
    telegrams = data.split(b"/")[1:]
    assert 2 <= len(telegrams) <= 3 and push.telegrams == len(telegrams)
    for t in telegrams:
        t = b"/" + t
        bang = t.rindex(b"!")
        assert int(t[bang + 1:bang + 5], 16) == crc16_python(t[:bang + 1])
