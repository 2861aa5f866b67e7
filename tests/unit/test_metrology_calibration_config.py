# The calibration reaches the metrology only through the authenticated configuration path
# (registers/config.py + main.make_config_session), is kept in the record store and comes
# back after a reboot.
import main
from hal.clock import FakeClock
from metrology.calibration import Calibration
from metrology.config import MetrologyConfig
from metrology.frontend import Metrology
from registers.config import OP_SET_CALIBRATION, AuthError, command, hmac_sha256
from registers.logs import TAMPER
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from support import raises

KEY = b"0123456789abcdef0123456789abcdef"


def boot(fs, clock):
    regs = MeterRegisters(clock, fs)
    regs.boot()
    metrology = Metrology(MetrologyConfig(phases=3, rate_hz=4000), sink=regs, clock=clock)
    return regs, metrology, main.make_config_session(regs, metrology, KEY)


def signed(counter, payload):
    cmd = command(OP_SET_CALIBRATION, counter, payload)
    return cmd, hmac_sha256(KEY, cmd)


def test_calibration_through_the_configuration_path_survives_a_reboot():
    fs = MemoryFs()
    clock = FakeClock(utc=1735689600)
    regs, metrology, session = boot(fs, clock)
    assert metrology.calibration.phases[1].v_gain == 1.0
    cal = Calibration(3)
    cal.phases[1].v_gain = 1.0125
    cal.phases[2].phase_deg = -0.42
    session.execute(*signed(1, cal.encode()))
    assert abs(metrology.calibration.phases[1].v_gain - 1.0125) < 1e-6
    regs2, metrology2, _ = boot(fs, clock)  # power cycle: same flash
    assert abs(metrology2.calibration.phases[1].v_gain - 1.0125) < 1e-6
    assert abs(metrology2.calibration.phases[2].phase_deg + 0.42) < 1e-6


def test_forged_replayed_or_malformed_calibration_changes_nothing():
    fs = MemoryFs()
    clock = FakeClock(utc=1735689600)
    regs, metrology, session = boot(fs, clock)
    good = Calibration(3)
    good.phases[0].i_gain = 0.99
    cmd, tag = signed(5, good.encode())
    raises(AuthError, session.execute, cmd, b"\x00" * 32)  # forged tag
    assert metrology.calibration.phases[0].i_gain == 1.0
    assert regs.logs.logs[TAMPER].count >= 1
    raises(ValueError, session.execute, *signed(6, good.encode()[:-1]))  # torn record
    raises(ValueError, session.execute, *signed(7, Calibration(1).encode()))  # 1 phase
    assert metrology.calibration.phases[0].i_gain == 1.0
    session.execute(*signed(8, good.encode()))
    assert abs(metrology.calibration.phases[0].i_gain - 0.99) < 1e-6  # float32 in the record
    raises(AuthError, session.execute, *signed(8, good.encode()))  # replayed counter


def test_an_out_of_range_record_stored_by_older_firmware_is_not_applied_at_boot():
    from metrology.calibration import CalibrationStore

    fs = MemoryFs()
    clock = FakeClock(utc=1735689600)
    regs, _, _ = boot(fs, clock)
    bad = Calibration(3)
    bad.phases[0].v_gain = float("nan")
    bad.phases[1].phase_deg = 180.0
    CalibrationStore(regs.store, 3).save(bad)  # as the unchecked path used to
    _, metrology, _ = boot(fs, clock)
    assert metrology.calibration.phases[0].v_gain == 1.0
    assert metrology.calibration.phases[1].phase_deg == 0.0


def test_calibration_rejections_carry_their_reason():
    fs = MemoryFs()
    regs, metrology, session = boot(fs, FakeClock(utc=1735689600))
    cal = Calibration(3)
    cal.phases[2].i_gain = 2.5
    e = raises(ValueError, session.execute, *signed(1, cal.encode()))
    assert e.reason == 2  # REJECT_RANGE
    e = raises(ValueError, session.execute, *signed(2, cal.encode()[:-2]))
    assert e.reason == 1  # REJECT_MALFORMED
    assert metrology.calibration.phases[2].i_gain == 1.0


def test_a_metering_ics_calibration_goes_through_the_same_path_into_its_registers():
    # On a metering-IC board (boards/esp32-ade7953) the signed calibration command ends in
    # the chip's own gain and phase registers (ADE7953: AVGAIN 0x281, AIGAIN 0x280, nominal
    # 0x400000; PHCALA 0x108), and a refused one writes none of them.
    from hal.ade7953 import ADE7953
    from hal.ade7953_sim import ADE7953Sim
    from metrology.ic_front import ICMetrology

    clock = FakeClock(utc=1735689600)
    regs = MeterRegisters(clock, MemoryFs())
    regs.boot()
    sim = ADE7953Sim()
    metrology = ICMetrology(MetrologyConfig(phases=1), ADE7953(sim.spi, sim.cs),
                            sink=regs, clock=clock)
    session = main.make_config_session(regs, metrology, KEY)
    assert sim.regs[0x281] == 0x400000 and sim.regs[0x280] == 0x400000
    cal = Calibration(1)
    cal.phases[0].v_gain = 1.02
    cal.phases[0].i_gain = 0.995
    session.execute(*signed(1, cal.encode()))
    # float32 in the record: 1.02 and 0.995 (0.99500000476...) times 2^22, rounded half up.
    assert sim.regs[0x281] == 4278190 and sim.regs[0x280] == 4173333
    bad = Calibration(1)
    bad.phases[0].i_noise_a = 0.05  # no such setting on the IC
    raises(ValueError, session.execute, *signed(2, bad.encode()))
    assert sim.regs[0x281] == 4278190 and abs(metrology.calibration.phases[0].v_gain - 1.02) < 1e-6
