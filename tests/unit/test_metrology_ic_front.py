# The metering-IC front (metrology/ic_front.py) over a scripted chip that follows the driver
# contract (docs/metrology.md "Metering ICs"): exact conversion of the IC's energy counts,
# the quadrants, calibration through the chip's registers, read faults, events.
from metrology.calibration import Calibration
from metrology.config import MetrologyConfig
from metrology.energy import EXPORT, IMPORT, Q1, Q2, Q3, Q4
from metrology.events import VOLTAGE_LOSS
from metrology.ic_front import ICMetrology
from support import EnergySink, raises


class ScriptedChip:
    PHASES = 1
    ENERGY_MWS_PER_COUNT = (7, 3)  # one count is 2.333... mWs

    def __init__(self, script):
        self.script = list(script)  # (vrms, p_w, q_var, counts_p, counts_q) per read
        self.begun = False
        self.written = []

    def begin(self):
        self.begun = True

    def read(self, results):
        item = self.script.pop(0)
        if item is None:
            raise OSError(5)
        vrms, p, q, cp, cq = item
        r = results[0]
        r.vrms, r.p_w, r.q_var = vrms, p, q
        r.voltage_lost = vrms < 92.0
        r.freq_hz = r.freq_measured_hz = 50.0
        r.freq_valid = True
        return cp, cq

    def calibration_registers(self, phase, v_gain, i_gain, phase_deg):
        if not 0.5 <= v_gain <= 2.0:
            raise ValueError("gain out of the register's range")
        return [(0x10, int(v_gain * 1000)), (0x11, int(i_gain * 1000))]

    def apply_calibration(self, phase, v_gain, i_gain, phase_deg):
        self.written.append((phase, v_gain, i_gain, phase_deg))


def test_counts_become_whole_mws_without_loss():
    # 3000 reads of 1 count each: 3000 * 7 / 3 = 7000 mWs exactly, though no single read
    # makes a whole number.
    chip = ScriptedChip([(230.0, 8.4, 0.0, 1, 0)] * 3000)
    m = ICMetrology(MetrologyConfig(), chip)
    assert chip.begun
    for _ in range(3000):
        assert m.poll()
    assert m.energy.total_mws[IMPORT] == 7000
    assert m.periods == 3000 and m.total.p_w == 8.4


def test_directions_and_quadrants_keep_their_own_remainders():
    # +2 counts then -1 count, alternating: import 2000 * 14/3 mWs, export 2000 * 7/3 mWs,
    # each exact on its own (a shared remainder would move fractions between them).
    script = []
    for _ in range(2000):
        script.append((230.0, 10.0, 5.0, 2, 1))  # QI
        script.append((230.0, -5.0, -3.0, -1, -1))  # QIII
    sink = EnergySink()
    m = ICMetrology(MetrologyConfig(), ScriptedChip(script), sink=sink)
    for _ in range(4000):
        m.poll()
    t = m.energy.total_mws
    assert t[IMPORT] == 9333 and t[EXPORT] == 4666  # floor(28000/3), floor(14000/3)
    assert t[Q1] == 4666 and t[Q3] == 4666 and t[Q2] == 0 and t[Q4] == 0
    assert sink.mwh[IMPORT] == 2 and sink.mwh[EXPORT] == 1  # whole mWh handed on


def test_a_read_fault_skips_the_second_and_keeps_the_counts_for_the_next():
    chip = ScriptedChip([(230.0, 1.0, 0.0, 3, 0), None, (230.0, 1.0, 0.0, 6, 0)])
    m = ICMetrology(MetrologyConfig(), chip)
    assert m.poll() and not m.poll() and m.poll()
    assert m.read_errors == 1 and m.periods == 2
    assert m.energy.total_mws[IMPORT] == 21  # (3 + 6) * 7 / 3


def test_calibration_goes_to_the_chip_and_a_refused_one_changes_nothing():
    chip = ScriptedChip([])
    m = ICMetrology(MetrologyConfig(), chip)
    assert chip.written == [(0, 1.0, 1.0, 0.0)]  # unity at start
    c = Calibration(1)
    c.phases[0].v_gain, c.phases[0].i_gain, c.phases[0].phase_deg = 1.02, 0.99, 0.4
    m.set_calibration(c)
    assert chip.written[-1] == (0, 1.02, 0.99, 0.4) and m.calibration is c
    bad = Calibration(1)
    bad.phases[0].v_gain = 3.0
    assert raises(ValueError, m.set_calibration, bad)
    noisy = Calibration(1)
    noisy.phases[0].i_noise_a = 0.01
    assert raises(ValueError, m.set_calibration, noisy)
    assert raises(ValueError, m.set_calibration, Calibration(3))
    assert len(chip.written) == 2 and m.calibration is c


def test_phase_count_must_match_the_chip():
    assert raises(ValueError, ICMetrology, MetrologyConfig(phases=3), ScriptedChip([]))


def test_events_come_from_the_chips_readings():
    seen = []
    chip = ScriptedChip([(230.0, 0.0, 0.0, 0, 0), (10.0, 0.0, 0.0, 0, 0),
                         (231.0, 0.0, 0.0, 0, 0)])
    m = ICMetrology(MetrologyConfig(), chip, on_event=lambda *e: seen.append(e))
    for _ in range(3):
        m.poll()
    kinds = [(kind, active) for kind, phase, utc, active in seen if kind == VOLTAGE_LOSS]
    assert kinds == [(VOLTAGE_LOSS, True), (VOLTAGE_LOSS, False)]


def test_the_task_reads_the_chip_once_a_second_and_once_after_a_stall():
    import asyncio

    from hal.clock import FakeClock
    from metrology.task import run

    class SteppingClock(FakeClock):
        # Each look at the clock moves it on a quarter second; one look jumps 5 s (a stall).
        looks = 0

        def ticks_ms(self):
            self.looks += 1
            self.advance_ms(5000 if self.looks == 12 else 250)
            return FakeClock.ticks_ms(self)

    clock = SteppingClock(utc=1700000000)
    chip = ScriptedChip([(230.0, 100.0, 0.0, 3, 0)] * 10)
    m = ICMetrology(MetrologyConfig(), chip, clock=clock)
    asyncio.run(run(m, None, clock, seconds=4))
    assert m.periods == 4 and len(chip.script) == 6
    # The stall's backlog is read once (the IC's counters hold it), and counted.
    assert m.dropped_blocks == 1 and m.energy.total_mws[IMPORT] == 28  # 12 counts * 7 / 3
