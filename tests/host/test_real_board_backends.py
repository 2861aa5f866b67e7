"""Tier 1: the real-board HAL backends (hal.esp32, hal.stm32) and each board's make_hal(),
run against fakes of the port modules: the objects the firmware gets are configured as the
board's pins and DSMR's P1 port require. (Only a real board checks the electrical side.)"""
import importlib.util
import os
import sys

import pytest

from tests.host.fakes import esp32 as fake_esp32
from tests.host.fakes import machine as fake_machine
from tests.host.fakes import neopixel as fake_neopixel
from tests.host.fakes import pyb as fake_pyb

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def port_modules(monkeypatch):
    for name, mod in (("machine", fake_machine), ("esp32", fake_esp32),
                      ("neopixel", fake_neopixel), ("pyb", fake_pyb)):
        monkeypatch.setitem(sys.modules, name, mod)
    for name in ("hal.esp32", "hal.stm32"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    fake_machine.created.clear()
    fake_pyb.created.clear()


def load_board(name):
    spec = importlib.util.spec_from_file_location("board_" + name.replace("-", "_"),
                                                  os.path.join(ROOT, "boards", name, "board.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", ["esp32", "esp32c6"])
def test_esp32_boards(port_modules, name):
    board = load_board(name)
    hal = board.make_hal()
    uart = hal.p1_uart
    # P1: 115200 8N1 (DSMR 5.0.2 P1 CS 6.1), TX inverted for the open-collector output.
    assert (uart.baudrate, uart.bits, uart.parity, uart.stop) == (115200, 8, None, 1)
    assert uart.invert == fake_machine.UART.INV_TX
    assert (uart.id, uart.tx) == (board.P1_UART, board.P1_TX)
    dr = hal.data_request
    assert (dr.id, dr.mode, dr.pull) == (board.P1_DATA_REQUEST, fake_machine.Pin.IN,
                                         fake_machine.Pin.PULL_DOWN)
    assert hal.flash.path == "/meter"  # a directory of the port's own mount (hal.fsdir)
    hal.leds.set(0, True)
    hal.leds.set(1, True)  # the alert LED index exists on every board's indicator
    assert board.MPY_ARCH in ("xtensawin", "rv32imc")


def test_esp32c6_rgb_led_colours(port_modules):
    hal = load_board("esp32c6").make_hal()
    hal.leds.set(0, True)
    assert hal.leds._np.pixels[0] == (0, 32, 0)  # green: powered
    hal.leds.set(1, True)
    assert hal.leds._np.pixels[0] == (32, 32, 0)  # plus red: alert


def test_pyboard(port_modules):
    board = load_board("pyboard")
    hal = board.make_hal()
    uart = hal.p1_uart
    assert (uart.id, uart.baudrate, uart.bits, uart.parity, uart.stop) == (6, 115200, 8, None, 1)
    assert (hal.data_request.name, hal.data_request.pull) == ("Y3", fake_pyb.Pin.PULL_DOWN)
    hal.leds.set(1, True)
    assert hal.leds._leds[1].n == 1 and hal.leds._leds[1].lit
    assert hal.flash.path == "/flash/meter"
    assert board.MPY_ARCH == "armv7emsp"
    # The ADC: six channels on one timer at 8 kHz, interleaved V1, I1, V2, I2, V3, I3.
    import array

    adc = hal.adc
    assert adc.channels == 6 and adc.gapped and board.metrology_config().time_base == "clock"
    assert [a.pin.name for a in adc._adcs] == list(board.ADC_PINS)
    block = array.array("h", [0] * (6 * 200))
    assert adc.read_block(block) == 200
    assert list(block[:12]) == [0, 1000, 2000, 3000, 4000, 5000, 1, 1001, 2001, 3001, 4001, 5001]
    assert block[6 * 199 + 5] == 5199


@pytest.mark.parametrize("name", ["esp32", "esp32c6", "pyboard"])
def test_han_radio_wiring(port_modules, monkeypatch, name):
    # The MRF24J40MA on the board's SPI bus, mode 0, with its CS/RESET/INT pins. Nothing on
    # the bus (MISO low): no radio, the meter runs without the HAN. With the register-level
    # fake of the chip behind the pins: the driver comes up on it.
    from hal.radio.mrf24j40 import Mrf24j40
    from tests.unit.fake_mrf24j40 import FakeMrf24j40

    board = load_board(name)
    hal = board.make_hal()
    spi = [o for o in fake_machine.created if isinstance(o, fake_machine.SPI)]
    assert len(spi) == 1 and hal.spi is spi[0] and hal.radio is None
    assert (spi[0].id, spi[0].polarity, spi[0].phase) == (board.SPI_ID, 0, 0)
    assert spi[0].baudrate <= 10000000  # the chip's SPI limit
    if name != "pyboard":  # ESP32: routed through the GPIO matrix
        assert (spi[0].sck.id, spi[0].mosi.id, spi[0].miso.id) == (
            board.SPI_SCK, board.SPI_MOSI, board.SPI_MISO)
    chip = FakeMrf24j40()
    pins = {board.SPI_CS: chip.cs, board.RADIO_RESET: chip.reset_pin,
            board.RADIO_INT: chip.int_pin}
    real_pin = fake_machine.Pin
    monkeypatch.setattr(fake_machine, "SPI", lambda *a, **k: chip.spi)

    class RoutedPin(real_pin):  # the radio's lines go to the fake chip, the rest as before
        def __new__(cls, id, *a, **k):
            return pins[id] if id in pins else real_pin.__new__(cls)

    monkeypatch.setattr(fake_machine, "Pin", RoutedPin)
    hal = board.make_hal()
    assert isinstance(hal.radio, Mrf24j40) and chip.pin_resets >= 1
