"""Tier 1: the esp32c6-ads131m04 board against the fakes of the port modules: the ADS131M04
on SPI mode 1 with its CS, DRDY and SYNC/RESET pins, a sampler of V1, I1 at 2 kSPS that
comes up on the fake chip routed behind those pins, the scales of its front end, and an
absent chip (MISO low) reported as OSError at the first block, not at boot."""
import os
import sys
from array import array

import pytest

from tests.host.fakes import machine as fake_machine
from tests.host.test_real_board_backends import load_board, port_modules  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAME = "esp32c6-ads131m04"


def test_the_adc_on_spi_mode_1(port_modules):  # noqa: F811
    board = load_board(NAME)
    hal = board.make_hal()
    assert board.MPY_ARCH == "rv32imc" and hal.radio is None
    spi = [o for o in fake_machine.created if isinstance(o, fake_machine.SPI)]
    assert len(spi) == 1 and (spi[0].id, spi[0].polarity, spi[0].phase) == (1, 0, 1)
    assert spi[0].baudrate <= 25000000  # the chip's SCLK limit
    assert (spi[0].sck.id, spi[0].mosi.id, spi[0].miso.id) == (19, 18, 20)
    pins = {p.id: p for p in fake_machine.created if isinstance(p, fake_machine.Pin)}
    assert pins[board.ADC_CS].mode == fake_machine.Pin.OUT and pins[board.ADC_CS].value() == 1
    assert pins[board.ADC_DRDY].mode == fake_machine.Pin.IN
    assert pins[board.ADC_SYNC_RESET].value() == 1  # not held in reset
    adc = hal.adc
    assert (adc.channels, adc.rate_hz, adc.bits, adc.gapped) == (2, 2000, 24, True)
    with pytest.raises(OSError):  # nothing on the bus: the first block says so
        adc.read_block(array("i", [0] * 400))


def test_metrology_config_is_24_bit_and_its_scales_follow_the_front_end():
    sys.path.insert(0, os.path.join(ROOT, "firmware"))
    cfg = load_board(NAME).metrology_config()
    assert (cfg.adc_bits, cfg.adc_signed, cfg.rate_hz, cfg.phases) == (24, True, 2000, 1)
    assert cfg.time_base == "clock" and cfg.skew_us == 0.0
    assert abs(cfg.v_scale - 5.0700e-5) < 1e-8  # 1.2 V / 2^23 x 882.49 / 2.49
    assert abs(cfg.i_scale - 1.1490e-5) < 1e-8  # 1.2 V / 2^23 x 2000 / 24.9 Ohm


def test_the_board_meters_from_the_fake_chip(port_modules, monkeypatch):  # noqa: F811
    from hal.ads131m04_sim import ADS131M04Sim
    from metrology.frontend import Metrology

    board = load_board(NAME)
    chip = ADS131M04Sim(inputs=(("v", 0, 2.49 / 882.49), ("i", 0, 24.9 / 2000),
                                ("i", 0, 24.9 / 2000), None))
    routed = {board.ADC_CS: chip.cs, board.ADC_DRDY: chip.drdy,
              board.ADC_SYNC_RESET: chip.sync_reset}
    real_pin = fake_machine.Pin

    class RoutedPin(real_pin):
        def __new__(cls, id, *a, **k):
            return routed[id] if id in routed else real_pin.__new__(cls)

        def __init__(self, id, *a, **k):
            if id not in routed:
                real_pin.__init__(self, id, *a, **k)

    monkeypatch.setattr(fake_machine, "Pin", RoutedPin)
    monkeypatch.setattr(fake_machine, "SPI", lambda *a, **k: chip.spi)
    sampler = board.make_adc(chip.clock)
    monkeypatch.setattr(sampler.adc, "_sleep_us", chip.clock.sleep_us)
    m = Metrology(board.metrology_config(), clock=chip.clock)
    while m.periods < 2:
        m.run_block(sampler)
    r = m.results[0]
    assert abs(r.vrms - 230.0) < 0.5 and abs(r.irms - 5.0) < 0.01
    assert abs(r.p_w - 575.0) < 575.0 * 0.006
    assert chip.regs[3] == 0x0712  # channels 0..2 on, OSR 2048, high resolution
    assert sampler.frame[2] != 0 and sampler.frame[3] == 0  # neutral read, channel 3 off
