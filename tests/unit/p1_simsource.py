# A deterministic stand-in for the meter (metrology, registers, HAN gas relay), for tests
# and benchmarks only (never on a device's production path, which has real data): it
# advances a MeterSnapshot plausibly, second by second, from the UTC clock alone, so tests
# and tools/bench.py see the same numbers on every run.
#
#   3-phase loads following a pseudo-random walk (a 16-bit LCG: small ints on every port),
#   energy registers integrating that power exactly (W*s -> Wh with the remainder kept),
#   tariff 1 (low) from 23:00 to 07:00 local time and tariff 2 (normal) otherwise
#   (DSMR 5.0.2 7.1 note), EU summer time, a gas reading captured every 5 minutes
#   (DSMR 5.0.2 7.3), the 15-minute average demand and the month peak (e-MUCS H).
from micropython import const

from h1.snapshot import MeterSnapshot
from registers import civil

_GAS_PERIOD_S = const(300)  # DSMR 5.0.2 7.3: last 5-minute value
_DEMAND_PERIOD_S = const(900)  # e-MUCS H: 15-minute average demand
_CATCH_UP_MAX_S = const(3600)  # a longer clock jump re-bases instead of replaying
_GAS_ML_PER_S = const(139)  # about 0.5 m3/h
_LCG_MOD = const(65537)


class SimSource:
    """Owns a live MeterSnapshot; update(utc) advances it to utc, one second at a time."""

    def __init__(self, utc=1735682330, utc_offset_s=3600, tariff_count=2, seed=1):
        s = MeterSnapshot()
        self.snapshot = s
        s.utc_offset_s = utc_offset_s
        self._set_clock(utc)
        s.tariff_count = tariff_count
        s.set_equipment_id(b"MPY-H1-SIM-000001")
        s.set_mbus_id(b"GAS-SIM-00000001")
        s.set_text(b"H1 simulation")
        s.mbus_valid = 1
        for t in range(tariff_count):
            s.import_wh[t] = 1234567 + 1000003 * t
            s.export_wh[t] = 2345 + 101 * t
        s.import_total_wh = sum(s.import_wh)
        s.export_total_wh = sum(s.export_wh)
        s.reactive_import_varh = 345678
        s.reactive_export_varh = 4567
        s.power_failures = 4
        s.long_power_failures = 2
        s.pf_log_count = 2  # most recent first
        s.pf_log_end_utc[0] = utc - 86400 * 3
        s.pf_log_duration_s[0] = 240
        s.pf_log_end_utc[1] = utc - 86400 * 40
        s.pf_log_duration_s[1] = 301
        s.sag_count[0] = 2
        s.sag_count[1] = 1
        s.swell_count[1] = 3
        s.peak_hist_count = 2  # oldest first
        s.peak_hist_month_utc[0] = utc - 86400 * 60
        s.peak_hist_utc[0] = utc - 86400 * 75
        s.peak_hist_w[0] = 3695
        s.peak_hist_month_utc[1] = utc - 86400 * 30
        s.peak_hist_utc[1] = utc - 86400 * 44
        s.peak_hist_w[1] = 5980
        self._lcg = seed
        self._load = [900, 450, 300]  # W per phase
        self._ws_import = 0  # W*s not yet a whole Wh
        self._ws_reactive = 0
        self._gas_ml = 0
        self._gas_litres = 1278512
        self._demand_ws = 0
        self._demand_start = utc - utc % _DEMAND_PERIOD_S
        self._measure()
        self._capture_gas(utc - utc % _GAS_PERIOD_S)

    def _set_clock(self, utc):
        s = self.snapshot
        s.utc = utc
        s.dst = 1 if civil.eu_summer_time(utc) else 0
        local = utc + s.utc_offset_s + 3600 * s.dst
        hour = (local % 86400) // 3600
        s.tariff = 2 if 7 <= hour < 23 else 1

    def _random(self):
        self._lcg = (self._lcg * 75 + 74) % _LCG_MOD  # ZX81 generator: stays below 2**17
        return self._lcg

    def _measure(self):
        s = self.snapshot
        total = 0
        apparent = 0
        for ph in range(3):
            step = self._random() % 41 - 20
            load = self._load[ph] + step * 5
            load = 100 if load < 100 else (6000 if load > 6000 else load)
            self._load[ph] = load
            dv = 2300 + self._random() % 41 - 20  # 228.0 .. 232.0 V
            s.voltage_dv[ph] = dv
            s.power_import_w_l[ph] = load
            s.power_export_w_l[ph] = 0
            s.current_ma[ph] = load * 10000 // dv
            s.reactive_import_var_l[ph] = load // 4
            s.reactive_export_var_l[ph] = 0
            total += load
            apparent += dv * s.current_ma[ph] // 10000
        s.power_import_w = total
        s.power_export_w = 0
        s.reactive_import_var = total // 4
        s.reactive_export_var = 0
        s.apparent_import_va = apparent
        s.apparent_export_va = 0

    def _capture_gas(self, at_utc):
        s = self.snapshot
        self._gas_litres += self._gas_ml // 1000
        self._gas_ml %= 1000
        s.gas_litres = self._gas_litres
        s.gas_utc = at_utc

    def _tick(self):
        # One second of metering at the power measured for it, then the new second's values.
        s = self.snapshot
        s.utc += 1
        utc = s.utc
        self._set_clock(utc)
        self._ws_import += s.power_import_w
        self._ws_reactive += s.reactive_import_var
        self._demand_ws += s.power_import_w
        wh = self._ws_import // 3600
        if wh:
            self._ws_import -= wh * 3600
            s.import_wh[s.tariff - 1] += wh
            s.import_total_wh += wh
        varh = self._ws_reactive // 3600
        if varh:
            self._ws_reactive -= varh * 3600
            s.reactive_import_varh += varh
        self._gas_ml += _GAS_ML_PER_S
        if utc % _GAS_PERIOD_S == 0:
            self._capture_gas(utc)
        elapsed = utc - self._demand_start
        s.demand_avg_w = self._demand_ws // elapsed if elapsed else 0
        if elapsed >= _DEMAND_PERIOD_S:
            if s.demand_avg_w > s.peak_month_w:
                s.peak_month_w = s.demand_avg_w
                s.peak_month_utc = utc
            self._demand_start = utc
            self._demand_ws = 0
        self._measure()

    def update(self, utc):
        """Advance the live snapshot to utc (seconds); returns it."""
        s = self.snapshot
        if utc - s.utc > _CATCH_UP_MAX_S or utc < s.utc:
            s.utc = utc - 1
        while s.utc < utc:
            self._tick()
        return s

    def capture(self, snapshot, utc):
        """The push scheduler's source interface: snapshot := the meter at second utc."""
        snapshot.copy_from(self.update(utc))
