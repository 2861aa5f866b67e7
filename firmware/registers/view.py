# Read-only view of the registers for H1 (the P1 push) and the HAN: integers only, no
# setters, nothing that reaches the store. The lead's glue copies these into the snapshot.
from registers.energy import (Q1, TOTAL_EXPORT, TOTAL_IMPORT, TOTAL_R_MINUS, TOTAL_R_PLUS,
                              tariff_export_index, tariff_import_index)
from registers.quality import PHASES


class RegistersView:
    def __init__(self, registers):
        self._r = registers

    # Energy, Wh / varh (DSMR 1-0:1.8.t, 2.8.t, 1.8.0, 2.8.0, 3.8.0, 4.8.0, 5..8.8.0)
    @property
    def tariff_count(self):
        return self._r.energy.tariffs

    @property
    def tariffs_in_use(self):
        """The tariffs P1 shows: 1 and 2 always, more only when the active calendar
        switches to them (DSMR 5.0.2 Table 6-3; docs/bap/h1.md H1-INF-007)."""
        r = self._r
        n = r.tariffs.active.max_used if r.tariffs is not None else 2
        n = 2 if n < 2 else n
        return n if n < r.energy.tariffs else r.energy.tariffs

    def import_wh(self, tariff):
        return self._r.energy.wh[tariff_import_index(tariff)]

    def export_wh(self, tariff):
        return self._r.energy.wh[tariff_export_index(tariff)]

    def total_import_wh(self):
        return self._r.energy.wh[TOTAL_IMPORT]

    def total_export_wh(self):
        return self._r.energy.wh[TOTAL_EXPORT]

    def reactive_import_varh(self):
        return self._r.energy.wh[TOTAL_R_PLUS]

    def reactive_export_varh(self):
        return self._r.energy.wh[TOTAL_R_MINUS]

    def quadrant_varh(self, quadrant):
        """Reactive energy of quadrant 1..4."""
        if not 1 <= quadrant <= 4:
            raise ValueError("quadrant 1..4")
        return self._r.energy.wh[Q1 + quadrant - 1]

    def tariff_indicator(self):
        """0-0:96.14.0: the current tariff number (NL 1 = low, 2 = normal; BE 1 = day,
        2 = night: the calendar decides which number runs when)."""
        return self._r.energy.tariff

    # Clock
    def utc(self):
        return self._r.clock.utc()

    def std_offset_s(self):
        """The zone's standard-time offset (the market's: profile of the meter)."""
        return self._r.clock.std_offset_s

    def utc_offset_s(self, utc=None):
        return self._r.clock.offset(self._r.clock.utc() if utc is None else utc)

    def dst(self, utc=None):
        """1 while summer time is in force (the S/W letter of a TST), else 0."""
        return 1 if self._r.clock.is_dst(self._r.clock.utc() if utc is None else utc) else 0

    # Supply interruptions and voltage quality (0-0:96.7.21, 96.7.9, 1-0:99.97.0, x.32.0/x.36.0)
    def power_failures(self):
        return self._r.quality.failures

    def long_power_failures(self):
        return self._r.quality.long_failures

    def long_failure_log_count(self):
        return self._r.quality.long_count

    def long_failure_end_utc(self, age):
        """End of the long failure `age` back, 0 = most recent (99.97.0 order)."""
        return self._r.quality.long_failure_end(age)

    def long_failure_duration_s(self, age):
        return self._r.quality.long_failure_duration(age)

    def voltage_sags(self, phase):
        if not 1 <= phase <= PHASES:
            raise ValueError("phase 1..3")
        return self._r.quality.sags[phase - 1]

    def voltage_swells(self, phase):
        if not 1 <= phase <= PHASES:
            raise ValueError("phase 1..3")
        return self._r.quality.swells[phase - 1]

    # Demand, W (Fluvius 1-0:1.4.0, 1-0:1.6.0, 0-0:98.1.0)
    def demand_current_w(self, utc=None):
        return self._r.demand.current_w(self._r.clock.utc() if utc is None else utc)

    def demand_last_w(self):
        return self._r.demand.last_w

    def demand_month_peak_w(self):
        return self._r.demand.peak_w

    def demand_month_peak_utc(self):
        return self._r.demand.peak_utc

    def demand_history_count(self):
        return self._r.demand.history_count

    def demand_history_w(self, age):
        return self._r.demand.history(age)[0]

    def demand_history_utc(self, age):
        return self._r.demand.history(age)[1]

    def demand_tariff_max_w(self, tariff):
        return self._r.demand.tariff_max_w[tariff - 1]

    # Gas meter relayed by the HAN (registers/gas.py): M-Bus channel 1 in P1
    def gas_valid(self):
        return self._r.gas.valid

    def gas_litres(self):
        return self._r.gas.litres

    def gas_capture_utc(self):
        return self._r.gas.capture_utc

    def gas_device_id(self):
        """(octets, length): the identifier's buffer and how much of it is used."""
        return self._r.gas.device_id, self._r.gas.device_id_len

    def gas_device_type(self):
        """EN 13757-3 device type of the relayed meter (0-1:24.1.0; 3 = gas)."""
        return self._r.gas.device_type

    def gas_version(self):
        """Changes each time the held reading changes: copy the identifier only then."""
        return self._r.gas.version

    def gas_silent(self, utc):
        """True while the last reading was captured more than the mailbox's limit ago."""
        return self._r.gas.silent(utc)

    def gas_reading(self):
        """(litres, capture_utc, device_type, identifier) or None (allocates)."""
        return self._r.gas.read()

    # P1 text message set through the configuration path (registers/text.py)
    def text_message(self):
        return self._r.text.message()
