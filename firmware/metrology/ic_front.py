# The metrology of a meter built on a metering IC (ATM90E32AS, ADE7953: hal/atm90e32.py,
# hal/ade7953.py). The IC samples and integrates energy itself; once per second this front
# reads its registers through the driver and hands the results on exactly as the sample
# front (metrology/frontend.py) does: PhaseResult per phase, the total, events (EventDetector)
# and energy through the same EnergyIntegrator into the registers' sink. So the registers,
# P1 and the HAN see no difference. The driver contract: docs/metrology.md "Metering ICs".
#
# Energy: the driver returns the signed counts the IC accumulated since the previous read
# (wrap-around and read-clear handled there: every count appears in exactly one read); one
# count is num/den mWs exactly (ENERGY_MWS_PER_COUNT). Counts become whole mWs by integer
# arithmetic with each direction's remainder carried, so nothing is lost or invented over
# any time (a float per-second product would drift by rounding).
#
# Calibration comes through the same authenticated path as the sample front's: the gains and
# the phase become the IC's own gain and phase registers (the driver maps and range-checks
# them). The noise floor (i_noise_a) has no IC register: the IC's no-load threshold does its
# work, and a non-zero value is refused rather than silently ignored.
import math

from metrology.calibration import Calibration
from metrology.energy import EnergyIntegrator
from metrology.events import EventDetector
from metrology.frontend import PhaseResult


class ICMetrology:
    def __init__(self, config, chip, calibration=None, sink=None, clock=None, on_event=None):
        if chip.PHASES != config.phases:
            raise ValueError("the IC measures %d phase(s), the configuration %d"
                             % (chip.PHASES, config.phases))
        self.config = config
        self.chip = chip
        self.clock = clock
        self.energy = EnergyIntegrator(sink)
        self.events = EventDetector(config, sink, on_event)
        self.results = [PhaseResult() for _ in range(config.phases)]
        self.total = PhaseResult()
        self.periods = 0
        self.dropped_blocks = 0
        self.read_errors = 0  # seconds whose registers could not be read (SPI fault)
        num, den = chip.ENERGY_MWS_PER_COUNT
        if num <= 0 or den <= 0:
            raise ValueError("the driver's energy unit must be positive")
        self._num = num
        self._den = den
        # Carried remainders (in 1/den mWs) of +P, -P, +Q, -Q.
        self._rest = [0, 0, 0, 0]
        self.calibration = None
        chip.begin()
        self.set_calibration(calibration or Calibration(config.phases))

    # -- calibration (the authenticated configuration path) -------------------------------
    def check_calibration(self, calibration):
        """ValueError unless set_calibration would take this calibration; returns each
        phase's register writes."""
        n = self.config.phases
        if len(calibration.phases) != n:
            raise ValueError("calibration is for %d phases" % len(calibration.phases))
        writes = []
        for k in range(n):
            cal = calibration.phases[k]
            if cal.i_noise_a:
                raise ValueError("L%d: a metering IC has no noise floor setting (its no-load "
                                 "threshold does that): give 0" % (k + 1))
            writes.append(self.chip.calibration_registers(k, cal.v_gain, cal.i_gain,
                                                          cal.phase_deg))
        return writes

    def set_calibration(self, calibration):
        """Check everything first (a refused calibration changes nothing), then write the
        IC's gain and phase registers."""
        self.check_calibration(calibration)
        for k in range(self.config.phases):
            cal = calibration.phases[k]
            self.chip.apply_calibration(k, cal.v_gain, cal.i_gain, cal.phase_deg)
        self.calibration = calibration

    # -- once per second ----------------------------------------------------------------------
    def poll(self):
        """Read the IC's registers for the second just ended, integrate its energy, decide
        events. An SPI fault (OSError) skips the second: the counts stay in the IC and come
        with the next read."""
        try:
            counts_p, counts_q = self.chip.read(self.results)
        except OSError:
            self.read_errors += 1
            return False
        tot = self.total
        tot.p_w = tot.q_var = 0.0
        for r in self.results:
            # The IC gives no cycle-by-cycle RMS; its one-second RMS stands for both.
            r.cycle_min_vrms = r.cycle_max_vrms = r.vrms
            tot.p_w += r.p_w
            tot.q_var += r.q_var
        s = math.sqrt(tot.p_w * tot.p_w + tot.q_var * tot.q_var)
        tot.s_va = s
        tot.pf = tot.p_w / s if s else 0.0
        self.energy.add_mws(self._to_mws(counts_p, 0), self._to_mws(counts_q, 2),
                            counts_p >= 0)
        self.periods += 1
        utc = self.clock.time() if self.clock else self.periods
        self.events.period(self.results, utc)
        return True

    def _to_mws(self, counts, which):
        # Whole mWs of `counts`, each direction with its own carried remainder: exact over
        # any number of reads, and an export never borrows from an import's fraction.
        if counts < 0:
            which += 1
            counts = -counts
        total = counts * self._num + self._rest[which]
        whole = total // self._den
        self._rest[which] = total - whole * self._den
        return whole if which % 2 == 0 else -whole
