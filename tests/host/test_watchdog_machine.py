"""Tier 1: hal.watchdog.MachineWatchdog over a fake of MicroPython's machine module (WDT,
reset_cause) in the numbering of the esp32 and the stm32 ports, and each real board's
watchdog as make_hal() builds it."""
import importlib.util
import os
import sys
import types

import pytest

from tests.host.fakes import esp32 as fake_esp32
from tests.host.fakes import machine as fake_machine
from tests.host.fakes import neopixel as fake_neopixel
from tests.host.fakes import pyb as fake_pyb

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "firmware"))

from hal import watchdog  # noqa: E402


def stm32_machine(cause):
    # ports/stm32/modmachine.c: SOFT 0, PWRON 1, HARD 2, WDT 3, DEEPSLEEP 4
    m = types.SimpleNamespace(SOFT_RESET=0, PWRON_RESET=1, HARD_RESET=2, WDT_RESET=3,
                              DEEPSLEEP_RESET=4, WDT=fake_machine.WDT)
    m.reset_cause = lambda: cause
    return m


def test_the_wdt_starts_at_the_first_feed_with_the_timeout():
    fake_machine.created.clear()
    wd = watchdog.MachineWatchdog(8000, machine_module=fake_machine)
    assert not [o for o in fake_machine.created if isinstance(o, fake_machine.WDT)]
    wd.feed()
    wd.feed()
    wdts = [o for o in fake_machine.created if isinstance(o, fake_machine.WDT)]
    assert len(wdts) == 1 and wdts[0].timeout == 8000 and wdts[0].feeds == 2
    assert not hasattr(wd, "stop")  # machine.WDT cannot be stopped


@pytest.mark.parametrize("raw,expected", [(1, 1), (2, 2), (3, 3), (4, 2), (5, 4), (9, 0)])
def test_esp32_reset_causes(monkeypatch, raw, expected):
    monkeypatch.setattr(fake_machine, "cause", raw)
    assert watchdog.MachineWatchdog(8000, machine_module=fake_machine).reset_cause() == expected


@pytest.mark.parametrize("raw,expected", [(0, 4), (1, 1), (2, 2), (3, 3), (4, 2)])
def test_stm32_reset_causes(raw, expected):
    wd = watchdog.MachineWatchdog(8000, watchdog.STM32_MAX_TIMEOUT_MS,
                                  machine_module=stm32_machine(raw))
    assert wd.reset_cause() == expected


def test_stm32_timeout_limit():
    with pytest.raises(ValueError):
        watchdog.MachineWatchdog(40000, watchdog.STM32_MAX_TIMEOUT_MS, machine_module=fake_machine)
    with pytest.raises(ValueError):
        watchdog.MachineWatchdog(0, machine_module=fake_machine)


@pytest.mark.parametrize("name", ["esp32", "esp32c6", "pyboard"])
def test_each_real_board_has_an_unstarted_machine_watchdog(monkeypatch, name):
    for mod_name, mod in (("machine", fake_machine), ("esp32", fake_esp32),
                          ("neopixel", fake_neopixel), ("pyb", fake_pyb)):
        monkeypatch.setitem(sys.modules, mod_name, mod)
    for mod_name in ("hal.esp32", "hal.stm32"):
        monkeypatch.delitem(sys.modules, mod_name, raising=False)
    fake_machine.created.clear()
    spec = importlib.util.spec_from_file_location(
        "board_" + name, os.path.join(ROOT, "boards", name, "board.py"))
    board = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(board)
    hal = board.make_hal()
    assert isinstance(hal.watchdog, watchdog.MachineWatchdog)
    assert hal.watchdog.timeout_ms == 8000
    assert not [o for o in fake_machine.created if isinstance(o, fake_machine.WDT)]
