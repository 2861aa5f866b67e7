"""Tier 1: every boards/<board>/board.py fulfils the board contract of docs/boards.md, the
real boards against the faithful fakes of their port modules (tests/host/fakes), and what
each board's manifest freezes: no simulation module on a real board, every firmware module
on the emulated one."""
import os
import sys

import pytest

from tests.host.test_real_board_backends import load_board, port_modules  # noqa: F401
from tools.manifest import manifest_files, module_names

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BOARDS = sorted(b for b in os.listdir(os.path.join(ROOT, "boards"))
                if os.path.isfile(os.path.join(ROOT, "boards", b, "board.py")))
REAL = ["esp32", "esp32-ade7953", "esp32-atm90e32", "esp32c6", "esp32c6-ads131m04", "pyboard"]
SIMULATION_MODULES = {"hal.sim", "hal.adc_sim", "hal.adc_replay", "han.radio_sim",
                      "hal.meter_ic_sim", "hal.ads131m04_sim", "hal.ads131m04_sim_bus",
                      "hal.atm90e32_sim", "hal.ade7953_sim"}
METER_IC_BOARDS = {"esp32-ade7953": "ADE7953", "esp32-atm90e32": "ATM90E32"}


def test_the_boards_are_the_documented_ones():
    assert BOARDS == ["emu-mps2", "esp32", "esp32-ade7953", "esp32-atm90e32", "esp32c6",
                      "esp32c6-ads131m04", "pyboard", "sim"]
    with open(os.path.join(ROOT, "docs", "boards.md")) as f:
        doc = f.read()
    for name in REAL:
        assert "| %s |" % name in doc  # each real board's pins are documented


@pytest.mark.parametrize("name", BOARDS)
def test_constants_and_metrology_config(name):
    sys.path.insert(0, os.path.join(ROOT, "firmware"))
    from metrology.config import MetrologyConfig

    board = load_board(name)
    assert isinstance(board.NAME, str) and board.NAME == name
    assert board.MPY_ARCH in ("x64", "armv7m", "armv7emsp", "rv32imc", "xtensawin")
    assert isinstance(board.CLOCK_KEEPS_TIME, bool)
    assert isinstance(board.metrology_config(), MetrologyConfig)
    # Keys and identity come from the provisioning record, never from the board.
    for invented in ("config_key", "han_key", "han_ext"):
        assert not hasattr(board, invented), invented


@pytest.mark.parametrize("name", REAL)
def test_real_board_hal_has_every_part(port_modules, name):  # noqa: F811
    board = load_board(name)
    hal = board.make_hal()
    for part in ("clock", "p1_uart", "data_request", "flash", "leds", "watchdog"):
        assert getattr(hal, part) is not None, part
    assert callable(hal.clock.time) and callable(hal.clock.set_time)
    # A supply monitor's warning, unless the board declares it has none (the CircuitSetup
    # meter brings none to the ESP32: its registers persist on their period only).
    if getattr(board, "POWER_WARNING", 0) is None:
        assert hal.power_warning is None
    else:
        assert callable(hal.power_warning.value)
    # The registers live in a directory of the port's own mount, never a second mount.
    assert hasattr(hal.flash, "open") and hal.flash.path.startswith("/")
    assert callable(hal.watchdog.feed) and callable(hal.watchdog.reset_cause)
    # The metrology's front end: a metering IC's driver or an ADC block sampler, not both.
    if name in METER_IC_BOARDS:
        assert hal.adc is None and type(hal.meter_ic).__name__ == METER_IC_BOARDS[name]
        assert hal.meter_ic.PHASES == board.PHASES
    else:
        assert hal.meter_ic is None and hal.adc.channels == 2 * board.PHASES


def test_sim_board_hal_has_what_the_host_tests_use():
    hal = load_board("sim").make_hal()
    for part in ("clock", "p1_uart", "data_request", "flash", "adc", "leds", "radio"):
        assert getattr(hal, part) is not None, part


@pytest.mark.parametrize("name", REAL)
def test_real_boards_freeze_no_simulation(name):
    modules = set(module_names(manifest_files(name)))
    assert not modules & SIMULATION_MODULES, modules & SIMULATION_MODULES
    assert "hal.fsdir" in modules and "hal.watchdog" in modules and "main" in modules
    assert not any(m.startswith(("tests", "tools")) for m in modules)


def test_the_emulated_board_freezes_every_firmware_module():
    modules = set(module_names(manifest_files("emu-mps2")))
    firmware = os.path.join(ROOT, "firmware")
    missing = []
    for d, _, files in os.walk(firmware):
        for fn in files:
            if not fn.endswith(".py") or fn == "manifest.py":
                continue
            rel = os.path.relpath(os.path.join(d, fn), firmware)[:-3].replace(os.sep, ".")
            name = rel[:-len(".__init__")] if rel.endswith(".__init__") else rel
            backend = name in ("hal.esp32", "hal.stm32")  # other ports' hardware
            if not backend and name not in modules:
                missing.append(name)
    assert missing == [], "not in any manifest: %s" % missing


def test_pyboard_loads_the_armv7m_natmods():
    from tools.deploy import board_arch, natmod_arch

    assert board_arch("pyboard") == "armv7emsp" and natmod_arch("pyboard") == "armv7m"
    assert natmod_arch("esp32c6") == "rv32imc" and natmod_arch("emu-mps2") == "armv7m"
