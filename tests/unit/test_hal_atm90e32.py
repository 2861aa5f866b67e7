# The ATM90E32AS driver (hal.atm90e32) against its fake chip (hal.atm90e32_sim): SPI frames
# at byte level, identification and configuration, measurements, read-clear energy summed
# without loss over a year's energy, the no-load threshold, calibration through the gain
# and phase registers, range errors, and the per-second register transfer without
# allocation (tier 2). Expected values come from V, I and the angle, not from the driver.
import math

from hal.adc_sim import PhaseScenario
from hal.atm90e32 import ATM90E32
from hal.atm90e32_sim import ATM90E32Sim
from metrology.frontend import PhaseResult
from support import NoAllocation, raises

COUNT_MWS = 11250  # 0.01 CF at 3200 imp/kWh: 3.6e9 mWs / 3200 / 100


def _no_wait(ms):
    pass


def make(line_hz=50, **hw):
    chip = ATM90E32Sim(**hw)
    drv = ATM90E32(chip.spi, chip.cs, line_hz=line_hz, sleep_ms=_no_wait)
    drv.begin()
    return chip, drv


def frame(chip, b0, b1, b2, b3):
    """One hand-made SPI frame on the fake's bus: the 4 bytes that came back."""
    tx = bytearray((b0, b1, b2, b3))
    rx = bytearray(4)
    chip.cs.value(0)
    chip.spi.write_readinto(tx, rx)
    chip.cs.value(1)
    return rx


class SpyBus:
    """Records the bytes the driver clocks out, each frame between CS low and high."""

    def __init__(self, chip):
        self.chip = chip
        self.frames = []

    def write_readinto(self, wbuf, rbuf):
        self.frames.append(bytes(wbuf))
        self.chip.spi.write_readinto(wbuf, rbuf)


def test_frames_carry_the_read_bit_and_ten_address_bits():
    chip = ATM90E32Sim()
    spy = SpyBus(chip)
    drv = ATM90E32(spy, chip.cs, sleep_ms=_no_wait)
    assert drv.read_reg(0x31) == 0x0861  # PLconstH's reset value
    drv.write_reg(0x7F, 0x55AA)
    drv.read_reg(0x10B)
    assert spy.frames == [b"\x80\x31\x00\x00", b"\x00\x7f\x55\xaa", b"\x81\x0b\x00\x00"]
    # The fake answers a hand-made read frame in bytes 2-3, MSB first.
    assert frame(chip, 0x80, 0x32, 0, 0) == b"\x00\x00\xc4\x68"
    assert frame(chip, 0x80, 0x78, 0, 0)[2:] == b"\xc4\x68"  # LastSPIData echoes it


def test_begin_configures_verifies_and_locks():
    chip, drv = make()
    regs = chip.regs
    assert regs[0x00] == 1  # MeterEn
    assert regs[0x33] == 0x0287  # 3P4W, 50 Hz, phases summed, CF2 reactive, 0.01 CF
    assert (regs[0x31], regs[0x32]) == (0x0861, 0xC468)
    assert (regs[0x61], regs[0x62], regs[0x48]) == (7305, 27518, 0)
    assert (regs[0x69], regs[0x6A], regs[0x4C]) == (7305, 27518, 0)
    assert regs[0x35] == 7500 and regs[0x38] == 750  # 2.4 W and 0.24 W at 0.00032 W
    assert regs[0x7F] == 0  # locked again
    frame(chip, 0x00, 0x61, 0x12, 0x34)  # a write while locked is ignored
    assert regs[0x61] == 7305
    _, drv60 = make(line_hz=60)
    assert drv60.read_reg(0x33) == 0x1287
    assert drv.ENERGY_MWS_PER_COUNT == (COUNT_MWS, 1)


class DeadBus:
    def write_readinto(self, wbuf, rbuf):
        for k in range(len(rbuf)):
            rbuf[k] = 0xFF


def test_begin_raises_when_nothing_answers():
    chip = ATM90E32Sim()
    raises(OSError, ATM90E32(DeadBus(), chip.cs, sleep_ms=_no_wait).begin)


def test_measurements_per_phase():
    chip, drv = make()
    chip.set_load(0, PhaseScenario(231.0, 6.5, 0.0), 50.0)
    chip.set_load(1, PhaseScenario(229.0, 3.2, 35.0), 50.0)
    chip.set_load(2, PhaseScenario(232.5, 4.0, 180.0), 50.0)  # exporting
    chip.advance(1.0)
    res = [PhaseResult() for _ in range(3)]
    drv.read(res)
    for r, (v, i, deg) in zip(res, ((231.0, 6.5, 0.0), (229.0, 3.2, 35.0),
                                    (232.5, 4.0, 180.0))):
        c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
        assert abs(r.vrms - v) < 0.0001 and abs(r.irms - i) < 0.00001
        assert abs(r.p_w - v * i * c) < 0.004 and abs(r.q_var - v * i * s) < 0.004
        assert abs(r.s_va - v * i) < 0.004
        assert abs(r.pf - c) <= 0.0005
        assert r.freq_hz == 50.0 and r.freq_valid and not r.voltage_lost
    assert res[2].p_w < 0 and res[2].pf < 0
    chip.set_load(1, None)  # phase B loses its voltage
    chip.advance(1.0)
    drv.read(res)
    assert res[1].voltage_lost and res[1].freq_measured_hz == 0.0 and res[1].freq_hz == 50.0
    assert not res[0].voltage_lost


# A day of loads repeated (per phase: V, I, current lag): import, motors, solar export.
_DAY = (
    ((231.0, 30.0, 0.0), (229.5, 28.0, 30.0), (232.0, 25.0, -15.0)),
    ((230.0, 38.0, 5.0), (228.0, 35.0, 25.0), (231.0, 30.0, 10.0)),
    ((233.0, 20.0, 180.0), (232.0, 18.0, 175.0), (234.0, 6.0, 0.0)),  # solar: net export
    ((229.0, 32.0, 60.0), (230.0, 36.0, 0.0), (231.0, 30.0, 40.0)),
)


def _analytic(load, seconds):
    p = q = 0.0
    for v, i, deg in load:
        p += v * i * math.cos(math.radians(deg)) * seconds * 1000
        q += v * i * math.sin(math.radians(deg)) * seconds * 1000
    return p, q


def test_a_years_energy_read_clear_loses_nothing():
    # A household's year (about 2,200 kWh net, 2,800 kWh through the registers with the
    # solar export) at high load, compressed into 25 s steps that fill a 16-bit read-clear
    # register with up to 51,000 counts between reads.
    chip, drv = make()
    res = [PhaseResult() for _ in range(3)]
    step = 25.0
    steps = 25000
    active = reactive = 0
    want_p = want_q = 0.0
    biggest = 0
    for n in range(steps):
        load = _DAY[(n // 50) % len(_DAY)]
        for k in range(3):
            chip.set_load(k, PhaseScenario(*load[k]), 50.0)
        chip.advance(step)
        a, r = drv.read(res)
        biggest = max(biggest, abs(a))
        active += a
        reactive += r
        dp, dq = _analytic(load, step)
        want_p += dp
        want_q += dq
    # Each of the four registers carries under one count: the net is within two.
    assert abs(active * COUNT_MWS - want_p) < 2 * COUNT_MWS
    assert abs(reactive * COUNT_MWS - want_q) < 2 * COUNT_MWS
    assert 20000 < biggest < 65536 and drv.transfer_errors == 0
    assert 2150 < active * COUNT_MWS / 3.6e9 < 2250  # kWh


def test_seconds_of_reads_match_one_long_integration():
    # Read every second for 10 minutes at a load that gives fractional counts per second.
    chip, drv = make()
    load = ((230.3, 0.731, 12.0), (229.1, 1.913, -33.0), (231.7, 0.0, 0.0))
    for k in range(3):
        chip.set_load(k, PhaseScenario(*load[k]), 50.0)
    res = [PhaseResult() for _ in range(3)]
    total = 0
    counts = []
    for _ in range(600):
        chip.advance(1.0)
        a, _r = drv.read(res)
        counts.append(a)
        total += a
    want, _q = _analytic(load, 600.0)
    assert abs(total * COUNT_MWS - want) < COUNT_MWS
    assert min(counts) >= 47 and max(counts) <= 49  # about 48.5 counts a second


def test_start_threshold_no_energy_below_it():
    chip, drv = make()
    res = [PhaseResult() for _ in range(3)]
    chip.set_load(0, PhaseScenario(264.5, 0.0, 0.0), 50.0)  # 115 % Un, no current
    chip.set_load(1, PhaseScenario(230.0, 0.005, 0.0), 50.0)  # 1.15 W < 2.4 W start
    total = 0
    for _ in range(360):
        chip.advance(10.0)
        total += drv.read(res)[0]
    assert total == 0 and drv.no_load
    chip.set_load(1, PhaseScenario(230.0, 0.02, 0.0), 50.0)  # 4.6 W: counts
    total = 0
    for _ in range(360):
        chip.advance(10.0)
        total += drv.read(res)[0]
    assert abs(total - 4.6 * 3600 * 1000 / COUNT_MWS) < 1 and not drv.no_load


def test_calibration_corrects_a_two_percent_current_gain_error():
    chip, drv = make(i_error=0.02, phase_error_deg=0.4)
    res = [PhaseResult() for _ in range(3)]
    for k in range(3):
        chip.set_load(k, PhaseScenario(230.0, 10.0, 60.0), 50.0)
    chip.advance(1.0)
    drv.read(res)
    want = 2300.0 * math.cos(math.radians(60.0))
    # The hardware's errors show: I 2 % high, P off by +2 % and the lag's -1.2 %.
    assert abs(res[0].irms / 10.0 - 1.02) < 0.0001 and abs(res[0].p_w / want - 1) > 0.005
    for k in range(3):
        drv.apply_calibration(k, 1.0, 1 / 1.02, 0.4)
    assert chip.regs[0x62] == int(27518 / 1.02 + 0.5) and chip.regs[0x7F] == 0
    assert chip.regs[0x48] == 0x8000 | int(0.4 * 4096000 / 18000 + 0.5)  # voltage delayed
    chip.advance(1.0)
    drv.read(res)
    for r in res:
        assert abs(r.p_w / want - 1) < 0.001 and abs(r.irms / 10.0 - 1) < 0.001
    total = 0
    for _ in range(100):
        chip.advance(1.0)
        total += drv.read(res)[0]
    assert abs(total * COUNT_MWS / (3 * want * 100 * 1000) - 1) < 0.001
    assert not drv.config_lost  # the new calibration is the configuration now


def test_calibration_outside_the_registers_is_refused():
    chip, drv = make()
    frames = chip.frames
    assert drv.calibration_registers(1, 1.0, 1.0, 0.0) == [(0x65, 7305), (0x66, 27518),
                                                         (0x4A, 0)]
    assert drv.calibration_registers(2, 1.01, 0.99, -1.0)[2] == (0x4C, 228)  # current delayed
    assert chip.frames == frames  # pure: nothing written
    raises(ValueError, drv.calibration_registers, 0, 9.0, 1.0, 0.0)  # 65745 > 0xFFFF
    raises(ValueError, drv.calibration_registers, 0, 1.0, 2.5, 0.0)
    raises(ValueError, drv.calibration_registers, 0, 1.0, 0.0, 0.0)
    raises(ValueError, drv.calibration_registers, 0, 1.0, 1.0, 4.6)  # > 4.49 deg at 50 Hz
    raises(ValueError, drv.calibration_registers, 3, 1.0, 1.0, 0.0)
    raises(ValueError, drv.calibration_registers, 0, float("nan"), 1.0, 0.0)
    raises(ValueError, drv.calibration_registers, 0, 1.0, 1.0, float("inf"))
    raises(ValueError, drv.apply_calibration, 0, 1.0, 1.0, -9.0)
    assert chip.regs[0x48] == 0 and chip.regs[0x7F] == 0


def test_a_garbled_energy_word_is_taken_from_the_echo():
    chip, drv = make()
    for k in range(3):
        chip.set_load(k, PhaseScenario(230.0, 20.0, 0.0), 50.0)
    res = [PhaseResult() for _ in range(3)]
    total = 0
    for n in range(60):
        chip.advance(1.0)
        if n % 10 == 3:
            chip.corrupt_reads = 1
        total += drv.read(res)[0]
    want, _q = _analytic(((230.0, 20.0, 0.0),) * 3, 60.0)
    assert drv.transfer_errors == 6 and abs(total * COUNT_MWS - want) < COUNT_MWS


def test_a_chip_reset_is_noticed_and_repaired():
    chip, drv = make()
    res = [PhaseResult() for _ in range(3)]
    drv.apply_calibration(1, 1.0, 0.98, -0.5)
    cal = (chip.regs[0x65], chip.regs[0x66], chip.regs[0x4A])
    chip.advance(1.0)
    drv.read(res)
    assert not drv.config_lost and cal == (7305, int(27518 * 0.98 + 0.5), 114)
    frame(chip, 0x00, 0x70, 0x78, 0x9A)  # soft reset behind the driver's back
    chip.advance(1.0)
    drv.read(res)
    assert drv.recoveries == 1 and not drv.config_lost
    assert chip.regs[0x00] == 1 and (chip.regs[0x65], chip.regs[0x66], chip.regs[0x4A]) == cal
    drv.read(res)
    assert drv.recoveries == 1


class FlakyBus:
    """Raises OSError on the n-th frame, like a bus fault in the middle of a read."""

    def __init__(self, chip):
        self.chip = chip
        self.fail_at = -1

    def write_readinto(self, wbuf, rbuf):
        self.fail_at -= 1
        if self.fail_at == 0:
            raise OSError("bus fault")
        self.chip.spi.write_readinto(wbuf, rbuf)


def test_counts_read_before_a_bus_fault_come_with_the_next_read():
    chip = ATM90E32Sim()
    bus = FlakyBus(chip)
    drv = ATM90E32(bus, chip.cs, sleep_ms=_no_wait)
    drv.begin()
    chip.set_load(0, PhaseScenario(230.0, 30.0, 0.0), 50.0)
    res = [PhaseResult() for _ in range(3)]
    total = 0
    for n in range(20):
        chip.advance(1.0)
        if n == 5:
            bus.fail_at = 5  # after the first two energy words (each read + echo)
            raises(OSError, drv.read, res)
            continue
        total += drv.read(res)[0]
    want = 230.0 * 30.0 * 20 * 1000
    assert abs(total * COUNT_MWS - want) < COUNT_MWS


def test_register_transfer_allocates_nothing():
    # fetch() is all of read()'s SPI traffic; read() then makes the float results (boxed
    # on MicroPython's ports) and the (active, reactive) tuple of the contract.
    chip, drv = make()
    for k in range(3):
        chip.set_load(k, PhaseScenario(230.0, 5.0, 20.0), 50.0)
    chip.advance(1.0)
    chip.corrupt_reads = 1
    with NoAllocation():
        drv.fetch()
    assert drv.transfer_errors == 1 and drv.raw[0] > 0
