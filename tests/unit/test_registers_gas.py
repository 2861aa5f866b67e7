# The gas mailbox (registers/gas.py): the HAN's reading, read by P1 through the view.
from hal.clock import FakeClock
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from registers.view import RegistersView
from support import raises

T0 = 1795694400  # 2026-11-26 12:00:00 UTC


def _view():
    regs = MeterRegisters(FakeClock(utc=T0), MemoryFs())
    regs.boot(T0)
    return regs, RegistersView(regs)


def test_no_reading_until_the_han_delivers_one():
    regs, view = _view()
    assert not view.gas_valid()
    assert regs.gas.put(1234567, T0 - 300, b"G0012345678901234")
    assert view.gas_valid() and view.gas_litres() == 1234567
    assert view.gas_capture_utc() == T0 - 300
    ident, n = view.gas_device_id()
    assert bytes(ident[:n]) == b"G0012345678901234"


def test_an_older_reading_never_replaces_a_newer_one():
    regs, view = _view()
    # Capture times in the past of the meter's clock (one ahead of it would be refused).
    regs.gas.put(2000, T0 - 600, b"G1")
    assert not regs.gas.put(1999, T0 - 900, b"G1")  # a late retry of the previous one
    assert view.gas_litres() == 2000 and view.gas_capture_utc() == T0 - 600
    assert regs.gas.put(2001, T0 - 300, b"G1")
    assert view.gas_litres() == 2001


def test_bad_readings_are_refused():
    regs, view = _view()
    raises(ValueError, regs.gas.put, -1, T0, b"G1")
    raises(ValueError, regs.gas.put, 1, 0, b"G1")
    raises(ValueError, regs.gas.put, 1, T0, b"G" * 49)
    assert not view.gas_valid()
