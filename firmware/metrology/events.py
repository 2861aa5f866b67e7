# Metrology events, decided once per period from the period's results:
#   sag / swell    a cycle's RMS voltage below sag_fraction or above swell_fraction of
#                  nominal (the kernel keeps each period's lowest and highest cycle); one
#                  event per excursion, however many periods it lasts (EN 50160 counts events)
#   voltage loss   a phase's RMS below loss_fraction of nominal, or no zero crossing for
#                  longer than loss_gap_cycles (an interruption shorter than a period); all
#                  phases lost together is a power failure, reported with its duration when
#                  the supply returns
#   reverse flow   a phase's active power below -reverse_w (export where none is expected
#                  is a tamper indicator on meters without export)
#   adc stuck      a channel with (almost) no variance: a live ADC always shows noise
#   adc saturated  samples at the ADC's rails (seed 001 use case 2.a.4, measurement
#                  deterioration)
#   freq out of    the period's measured frequency outside freq_min_hz..freq_max_hz, or none
#   range          (voltage lost, fewer than two zero crossings); the taps stay at the last
#                  good frequency meanwhile. last_bad_freq_mhz[phase] keeps the latest such
#                  measurement in mHz (0: none) for the callback's consumer
# Each event is counted and time-stamped here; the registers hear of sags, swells and power
# failures through the sink (record_sag, record_swell, record_power_failure) and of the
# others through on_event(kind, phase, utc, active).

SAG = "sag"
SWELL = "swell"
VOLTAGE_LOSS = "voltage_loss"
POWER_FAILURE = "power_failure"
REVERSE_FLOW = "reverse_flow"
ADC_STUCK = "adc_stuck"
ADC_SATURATED = "adc_saturated"
FREQ_OUT_OF_RANGE = "freq_out_of_range"
KINDS = (SAG, SWELL, VOLTAGE_LOSS, REVERSE_FLOW, ADC_STUCK, ADC_SATURATED, FREQ_OUT_OF_RANGE)


class EventCounter:
    """Start count, whether active, and the UTC of the last start and end, per phase."""

    def __init__(self, phases):
        self.count = [0] * phases
        self.active = [False] * phases
        self.last_start = [0] * phases
        self.last_end = [0] * phases

    def update(self, phase, condition, utc):
        """Returns +1 when an event starts, -1 when it ends, 0 otherwise."""
        if condition and not self.active[phase]:
            self.active[phase] = True
            self.count[phase] += 1
            self.last_start[phase] = utc
            return 1
        if not condition and self.active[phase]:
            self.active[phase] = False
            self.last_end[phase] = utc
            return -1
        return 0


class EventDetector:
    def __init__(self, config, sink=None, on_event=None):
        self.config = config
        self.sink = sink
        self.on_event = on_event
        n = config.phases
        self.counters = {}
        for kind in KINDS:
            self.counters[kind] = EventCounter(n)
        self.last_bad_freq_mhz = [0] * n
        self.power_failures = 0
        self._failure_start = None

    def _notify(self, kind, phase, utc, change):
        if change and self.on_event:
            self.on_event(kind, phase + 1, utc, change > 0)

    def period(self, results, utc):
        """results: the metrology's PhaseResult list for the period just ended."""
        cfg = self.config
        un = cfg.nominal_v
        lost_all = True
        for k, r in enumerate(results):
            c = self.counters
            change = c[SAG].update(k, 0 < r.cycle_min_vrms < cfg.sag_fraction * un, utc)
            if change > 0 and self.sink:
                self.sink.record_sag(k + 1)
            self._notify(SAG, k, utc, change)
            change = c[SWELL].update(k, r.cycle_max_vrms > cfg.swell_fraction * un, utc)
            if change > 0 and self.sink:
                self.sink.record_swell(k + 1)
            self._notify(SWELL, k, utc, change)
            lost = r.voltage_lost
            lost_all = lost_all and lost
            self._notify(VOLTAGE_LOSS, k, utc, c[VOLTAGE_LOSS].update(k, lost, utc))
            reverse = r.p_w < -cfg.reverse_w
            self._notify(REVERSE_FLOW, k, utc, c[REVERSE_FLOW].update(k, reverse, utc))
            self._notify(ADC_STUCK, k, utc, c[ADC_STUCK].update(k, r.stuck, utc))
            self._notify(ADC_SATURATED, k, utc, c[ADC_SATURATED].update(k, r.saturated, utc))
            f = r.freq_measured_hz
            bad = not cfg.freq_min_hz <= f <= cfg.freq_max_hz
            if bad:
                self.last_bad_freq_mhz[k] = int(f * 1000 + 0.5)
            self._notify(FREQ_OUT_OF_RANGE, k, utc, c[FREQ_OUT_OF_RANGE].update(k, bad, utc))
        if lost_all and self._failure_start is None:
            self._failure_start = utc
            if self.on_event:
                self.on_event(POWER_FAILURE, 0, utc, True)
        elif not lost_all and self._failure_start is not None:
            duration = utc - self._failure_start
            self._failure_start = None
            self.power_failures += 1
            if self.sink:
                self.sink.record_power_failure(utc, duration)
            if self.on_event:
                self.on_event(POWER_FAILURE, 0, utc, False)
