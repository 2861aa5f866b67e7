# The ADE7953 driver (hal/ade7953.py) against its fake chip (hal/ade7953_sim.py): the SPI
# frames byte by byte, the start-up unlock, energy registers that wrap (or clear on read)
# over a simulated year without losing a count, the no-load threshold, calibration through
# the gain and phase registers. Expected values come from the data sheet's figures and
# V * I * cos(angle), never from the code under test. Portable (tiers 1 and 2).
import math

from hal.adc_sim import PhaseScenario
from hal.ade7953 import ADE7953
from hal.ade7953_sim import ADE7953Sim
from metrology.frontend import PhaseResult
from support import NoAllocation, raises

FE = {"v_fs": 350.0, "ia_fs": 44.19, "ib_fs": 44.19}  # boards/esp32-ade7953's front end
# A front end with a coarse energy count (18 Ws), so that a year takes few reads while the
# 24-bit register still wraps about 200 times.
COARSE = {"v_fs": 350.0, "ia_fs": 44.19, "ib_fs": 44.19, "wh_per_count": (1, 200)}


def frame(sim, tx):
    """One CS-framed transfer of the bytes tx; the bytes the chip shifted out."""
    rx = bytearray(len(tx))
    sim.cs.value(0)
    sim.spi.write_readinto(bytes(tx), rx)
    sim.cs.value(1)
    return rx


def pair(**settings):
    sim = ADE7953Sim(**{k: v for k, v in settings.items() if k in COARSE})
    drv = ADE7953(sim.spi, sim.cs, **settings)
    drv.begin()
    return sim, drv


def energy_mws(v, i, angle_deg, seconds):
    return v * i * math.cos(math.radians(angle_deg)) * seconds * 1000.0


def test_spi_frames_and_register_widths():
    sim = ADE7953Sim(**FE)
    # 8 bits: VERSION at 0x702; 16: CONFIG 0x102 (default 0x8004); 24: AIGAIN 0x280
    # (default 0x400000); 32: the same location at 0x380, upper byte a sign extension.
    assert frame(sim, [0x07, 0x02, 0x80, 0])[3] == 2
    assert frame(sim, [0x00, 0x04, 0x80, 0])[3:] == bytearray([0x40])  # LCYCMODE
    assert frame(sim, [0x01, 0x02, 0x80, 0, 0])[3:] == bytearray([0x80, 0x04])
    assert frame(sim, [0x02, 0x80, 0x80, 0, 0, 0])[3:] == bytearray([0x40, 0, 0])
    assert frame(sim, [0x03, 0x80, 0x80, 0, 0, 0, 0])[3:] == bytearray([0, 0x40, 0, 0])
    assert frame(sim, [0x00, 0xFD, 0x80, 0])[3] == 0x35  # LAST_OP: a read
    # Write AVGAIN (0x281) through the 24-bit path, read it through the 32-bit path.
    frame(sim, [0x02, 0x81, 0x00, 0x41, 0x02, 0x03])
    assert frame(sim, [0x00, 0xFD, 0x80, 0])[3] == 0xCA  # LAST_OP: a write
    assert frame(sim, [0x03, 0x81, 0x80, 0, 0, 0, 0])[3:] == bytearray([0, 0x41, 0x02, 0x03])
    # A 32-bit write keeps the low 24 bits.
    frame(sim, [0x03, 0x81, 0x00, 0x12, 0x3F, 0xFF, 0xFE])
    assert frame(sim, [0x02, 0x81, 0x80, 0, 0, 0])[3:] == bytearray([0x3F, 0xFF, 0xFE])
    # A frame cut short writes nothing; a command byte other than 0x80 / 0x00 does nothing.
    frame(sim, [0x02, 0x81, 0x00, 0x40, 0x00])
    frame(sim, [0x02, 0x81, 0x01, 0x40, 0x00, 0x00])
    assert frame(sim, [0x02, 0x81, 0x80, 0, 0, 0])[3:] == bytearray([0x3F, 0xFF, 0xFE])
    assert frame(sim, [0x02, 0x81, 0x40, 0, 0, 0])[3:] == bytearray([0, 0, 0])
    # Read-only: IRMSA ignores a write.
    frame(sim, [0x02, 0x1A, 0x00, 0x12, 0x34, 0x56])
    assert frame(sim, [0x02, 0x1A, 0x80, 0, 0, 0])[3:] == bytearray([0, 0, 0])


def test_energy_register_sign_extension_and_read_with_reset():
    sim = ADE7953Sim(**COARSE)
    sim.set_load(0, PhaseScenario(230.0, 10.0, 180.0), 50.0)  # pure export
    frame(sim, [0x00, 0x04, 0x00, 0x00])  # LCYCMODE: RSTREAD off
    sim.advance(10.0)
    # 2300 W * 10 s / 18 Ws = 1277.8 counts exported: -1277 = 0xFFFB03 in 24 bits.
    assert frame(sim, [0x02, 0x1E, 0x80, 0, 0, 0])[3:] == bytearray([0xFF, 0xFB, 0x03])
    assert frame(sim, [0x03, 0x1E, 0x80, 0, 0, 0, 0])[3:] == bytearray([0xFF, 0xFF, 0xFB, 0x03])
    frame(sim, [0x00, 0x04, 0x00, 0x40])  # RSTREAD on: the read clears the register
    assert frame(sim, [0x02, 0x1E, 0x80, 0, 0, 0])[3:] == bytearray([0xFF, 0xFB, 0x03])
    assert frame(sim, [0x02, 0x1E, 0x80, 0, 0, 0])[3:] == bytearray([0, 0, 0])


def test_register_0x120_needs_the_key_first():
    sim = ADE7953Sim(**FE)
    frame(sim, [0x01, 0x20, 0x00, 0x00, 0x30])
    assert frame(sim, [0x01, 0x20, 0x80, 0, 0])[3:] == bytearray([0, 0]) and not sim.optimum
    frame(sim, [0x00, 0xFE, 0x00, 0xAD])
    frame(sim, [0x01, 0x02, 0x80, 0, 0])  # another frame in between locks it again
    frame(sim, [0x01, 0x20, 0x00, 0x00, 0x30])
    assert not sim.optimum
    frame(sim, [0x00, 0xFE, 0x00, 0xAD])
    frame(sim, [0x01, 0x20, 0x00, 0x00, 0x30])
    assert frame(sim, [0x01, 0x20, 0x80, 0, 0])[3:] == bytearray([0, 0x30]) and sim.optimum
    # The driver's start-up does it, and leaves the accumulators free-running.
    sim, drv = pair(**FE)
    assert sim.optimum and sim.regs[0x004] == 0x00 and drv.version == 2


class _DeadBus:
    """An SPI bus with no chip: MISO pulled to `level`."""

    def __init__(self, level):
        self.level = level

    def write_readinto(self, wbuf, rbuf):
        for i in range(len(rbuf)):
            rbuf[i] = self.level


class _Pin:
    def value(self, v=None):
        return 1


def test_begin_refuses_a_bus_without_the_chip():
    for level in (0x00, 0xFF):
        raises(OSError, ADE7953(_DeadBus(level), _Pin(), **FE).begin)


def run_year(drv, sim, angle, step_s, steps):
    sim.set_load(0, PhaseScenario(230.0, 10.0, angle), 50.0)
    res = [PhaseResult()]
    p = q = flags = 0
    for _ in range(steps):
        sim.advance(step_s)
        dp, dq = drv.read(res)
        p += dp
        q += dq
        flags |= drv.raw[8]  # IRQSTATA as the driver read (and cleared) it
    return p, q, flags


def check_year(read_reset):
    sim, drv = pair(read_reset=read_reset, **COARSE)
    num, den = drv.ENERGY_MWS_PER_COUNT
    assert (num, den) == (18000, 1)  # 1/200 Wh = 18 Ws
    # Half a year importing at 30 degrees lag, half exporting (150 degrees), read every 12 h:
    # about 4.8 million counts between reads (the register holds 2**23 either way).
    half = 365 * 86400 // 2
    p1, q1, flags = run_year(drv, sim, 30.0, 43200.0, 365)
    p2, q2, flags2 = run_year(drv, sim, 150.0, 43200.0, 365)
    for p, q, angle in ((p1, q1, 30.0), (p2, q2, 150.0)):
        want_p = energy_mws(230.0, 10.0, angle, half)
        want_q = 230.0 * 10.0 * math.sin(math.radians(angle)) * half * 1000.0
        assert abs(p * num / den - want_p) <= num / den, (p, want_p)
        assert abs(q * num / den - want_q) <= num / den, (q, want_q)
    # More than 100 times the register's range went through it each way.
    assert p1 > 100 * (1 << 24) and -p2 > 100 * (1 << 24)
    return flags | flags2


def test_free_running_register_wraps_through_a_year_without_loss():
    flags = check_year(False)
    assert flags & (1 << 3)  # the chip flagged its overflows (AEOFA)


def test_read_with_reset_through_a_year_without_loss():
    check_year(True)


def test_read_each_second_with_the_board_front_end():
    sim, drv = pair(**FE)
    num, den = drv.ENERGY_MWS_PER_COUNT
    sim.set_load(0, PhaseScenario(230.0, 40.0, 0.0), 50.0)
    res = [PhaseResult()]
    total = 0
    for _ in range(600):  # 9200 W: about 123 000 counts a second, 4.4 wraps in 600 s
        sim.advance(1.0)
        total += drv.read(res)[0]
    assert total > 4 * (1 << 24)
    assert abs(total * num / den - 9200.0 * 600 * 1000) <= num / den
    r = res[0]
    assert abs(r.vrms - 230.0) < 0.01 and abs(r.irms - 40.0) < 0.01
    assert abs(r.p_w - 9200.0) < 0.5 and abs(r.q_var) < 0.5 and abs(r.pf - 1.0) < 1e-4
    assert r.freq_valid and r.freq_hz == 223750 / 4475  # PERIOD = 4474 at 50 Hz
    assert abs(r.i_neutral - 40.0) < 0.01 and not r.voltage_lost


def test_a_failed_read_leaves_its_counts_in_the_chip():
    sim, drv = pair(**COARSE)
    sim.set_load(0, PhaseScenario(230.0, 10.0, 0.0), 50.0)
    res = [PhaseResult()]
    real = sim.spi

    class Failing:
        def write_readinto(self, wbuf, rbuf):
            if wbuf[0] == 0x02 and wbuf[1] == 0x1E:
                raise OSError("SPI fault")
            real.write_readinto(wbuf, rbuf)

    total = 0
    sim.advance(3600.0)
    drv._spi = Failing()
    raises(OSError, drv.read, res)
    drv._spi = real
    sim.advance(3600.0)
    total += drv.read(res)[0]
    assert abs(total * 18000 - energy_mws(230.0, 10.0, 0.0, 7200)) <= 18000


def test_no_load_threshold():
    sim, drv = pair(**FE)
    num, den = drv.ENERGY_MWS_PER_COUNT
    res = [PhaseResult()]
    # Data sheet: X = 65536 - Y / 1.4; the default 58393 gives Y = 10000, a threshold of
    # full-scale power / 10000 = 350 V * 44.19 A / 10000 = 1.547 W.
    for irms, angle in ((0.005, 0.0), (0.0, 0.0), (0.004, 70.0)):
        sim.set_load(0, PhaseScenario(230.0 * 1.15, irms, angle), 50.0)
        drv.read(res)
        for _ in range(60):
            sim.advance(60.0)
            assert drv.read(res)[0] == 0  # below 1.547 W: an hour without a count
            assert drv.noload
    sim.set_load(0, PhaseScenario(230.0, 0.008, 0.0), 50.0)  # 1.84 W: counts
    total = 0
    for _ in range(60):
        sim.advance(60.0)
        total += drv.read(res)[0]
    assert not drv.noload
    assert abs(total * num / den - energy_mws(230.0, 0.008, 0.0, 3600)) <= num / den


def test_no_load_holds_back_an_idle_front_ends_residual_power():
    # 115 % Un, no current, 1 W of crosstalk: under the 1.547 W threshold, nothing registers
    # in an hour; the same residual with the no-load feature disabled (DISNOLOAD) creeps.
    sim = ADE7953Sim(offset_w=1.0, **FE)
    drv = ADE7953(sim.spi, sim.cs, **FE)
    drv.begin()
    assert abs(sim.noload_threshold_w() - 350.0 * 44.19 / (1.4 * (65536 - 58393))) < 1e-9
    res = [PhaseResult()]
    sim.set_load(0, PhaseScenario(230.0 * 1.15, 0.0, 0.0), 50.0)
    drv.read(res)
    total = 0
    for _ in range(60):
        sim.advance(60.0)
        total += drv.read(res)[0]
    assert total == 0
    drv.write_reg(0x001, 0x07)
    sim.advance(3600.0)
    num, den = drv.ENERGY_MWS_PER_COUNT
    assert abs(drv.read(res)[0] * num / den - 3600.0 * 1000) <= num / den


def test_voltage_lost_and_frequency():
    sim, drv = pair(**FE)
    res = [PhaseResult()]
    sim.set_load(0, PhaseScenario(230.0, 5.0, 0.0), 60.0)
    sim.advance(1.0)
    drv.read(res)
    assert res[0].freq_valid and abs(res[0].freq_hz - 60.0) < 0.01
    sim.set_load(0, PhaseScenario(0.0, 5.0, 0.0), 60.0)
    sim.advance(1.0)
    drv.read(res)
    assert res[0].voltage_lost and not res[0].freq_valid and res[0].freq_measured_hz == 0.0


def test_calibration_corrects_a_voltage_gain_error():
    sim = ADE7953Sim(v_gain_error=0.02, **FE)
    drv = ADE7953(sim.spi, sim.cs, **FE)
    drv.begin()
    res = [PhaseResult()]
    sim.set_load(0, PhaseScenario(230.0, 10.0, 0.0), 50.0)
    sim.advance(1.0)
    drv.read(res)
    assert abs(res[0].p_w / 2300.0 - 1.02) < 1e-4  # the front end's +2 %
    drv.apply_calibration(0, 230.0 / res[0].vrms, 1.0, 0.0)
    sim.advance(1.0)
    drv.read(res)
    assert abs(res[0].p_w / 2300.0 - 1.0) < 0.001
    total = 0
    for _ in range(10):
        sim.advance(60.0)
        total += drv.read(res)[0]
    num, den = drv.ENERGY_MWS_PER_COUNT
    assert abs(total * num / den / energy_mws(230.0, 10.0, 0.0, 600) - 1.0) < 0.001


def test_calibration_corrects_a_current_phase_error():
    sim = ADE7953Sim(i_phase_deg=0.5, **FE)  # the sensor delays the current by 0.5 deg
    drv = ADE7953(sim.spi, sim.cs, **FE)
    drv.begin()
    res = [PhaseResult()]
    sim.set_load(0, PhaseScenario(230.0, 10.0, 60.0), 50.0)
    sim.advance(1.0)
    drv.read(res)
    assert res[0].p_w < 1150.0 * 0.99  # cos(60.5) / cos(60) = 0.985
    measured = math.degrees(math.acos(res[0].p_w / res[0].s_va))
    drv.apply_calibration(0, 1.0, 1.0, measured - 60.0)
    sim.advance(1.0)
    drv.read(res)
    assert abs(res[0].p_w / 1150.0 - 1.0) < 0.001


def test_calibration_register_values_and_ranges():
    drv = ADE7953(None, None, **FE)
    regs = dict(drv.calibration_registers(0, 1.02, 0.98, -0.5))
    assert regs[0x281] == 4278190  # round(0x400000 * 1.02)
    assert regs[0x280] == 4110418  # round(0x400000 * 0.98)
    # -0.5 deg at 50 Hz = 27.8 us = 24.9 steps of 4 / 3.579545 MHz: sign bit 9 and 25.
    assert regs[0x108] == 0x200 | 25
    assert dict(drv.calibration_registers(0, 1.0, 1.0, 0.5))[0x108] == 25
    assert regs[0x282] == regs[0x283] == regs[0x284] == 0x400000
    for args in ((0, 1.6, 1.0, 0.0), (0, 1.0, 0.45, 0.0), (0, 1.0, 1.0, 8.0),
                 (0, 1.0, 1.0, -10.0), (1, 1.0, 1.0, 0.0), (0, float("nan"), 1.0, 0.0)):
        raises(ValueError, drv.calibration_registers, *args)
    assert len(drv.calibration_registers(0, 1.5, 0.5, 7.6)) == 6  # the range's edges


def test_a_reset_of_the_chip_is_noticed_and_repaired():
    sim, drv = pair(**COARSE)
    res = [PhaseResult()]
    sim.set_load(0, PhaseScenario(230.0, 10.0, 0.0), 50.0)
    sim.advance(3600.0)
    before = drv.read(res)[0]
    sim.brownout()  # the supply dipped: defaults back, accumulators at zero
    sim.set_load(0, PhaseScenario(230.0, 10.0, 0.0), 50.0)
    sim.advance(1800.0)
    after = drv.read(res)[0]
    assert drv.resets == 1 and sim.optimum and sim.regs[0x004] == 0x00
    assert abs(before * 18000 - energy_mws(230.0, 10.0, 0.0, 3600)) <= 18000
    assert abs(after * 18000 - energy_mws(230.0, 10.0, 0.0, 1800)) <= 18000
    sim.advance(1800.0)
    assert abs(drv.read(res)[0] * 18000 - energy_mws(230.0, 10.0, 0.0, 1800)) <= 18000


def test_neutral_current_is_reported():
    sim, drv = pair(**FE)
    res = [PhaseResult()]
    sim.set_load(0, PhaseScenario(230.0, 10.0, 0.0), 50.0, neutral_irms=4.0)
    sim.advance(1.0)
    drv.read(res)
    assert abs(res[0].irms - 10.0) < 0.01 and abs(res[0].i_neutral - 4.0) < 0.01


def test_register_reads_allocate_nothing():
    sim, drv = pair(**FE)
    sim.set_load(0, PhaseScenario(230.0, 10.0, 30.0), 50.0)
    sim.advance(1.0)
    drv.read_raw()
    sim.advance(1.0)
    with NoAllocation():
        drv.read_raw()
    assert drv.delta_p > 0 and drv.delta_q > 0
