# The meter as H1 sees it: fills a MeterSnapshot (app/snapshot.py) at each period boundary
# from the read-only views of the subsystems (never writing them):
#   registers (registers/view.py)  clock, DST, energy per tariff and totals, tariff indicator,
#                                  power failures and their log, sags/swells, demand
#   metrology (metrology/frontend) per-phase voltage, current, active and reactive power
#   H1 sim source (h1/simsource)   what no subsystem provides yet: the gas reading (the HAN
#                                  relays it later), the text message and identifiers
from h1.simsource import SimSource

_DAY = 86400


def _round(x):
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


class MeterSource:
    def __init__(self, clock, view=None, metrology=None, std_offset_s=3600):
        self.clock = clock
        self.view = view
        self.metrology = metrology
        self.std_offset_s = std_offset_s
        self.sim = SimSource(clock.time(), std_offset_s)

    def capture(self, snapshot, utc):
        """The push scheduler's source interface: snapshot := the meter at second utc."""
        s = self.sim.update(utc)
        if self.view is not None:
            self._registers(s, self.view, utc)
        m = self.metrology
        if m is not None and m.periods:
            self._instantaneous(s, m)
        snapshot.copy_from(s)

    def _registers(self, s, v, utc):
        s.utc = utc
        s.utc_offset_s = self.std_offset_s
        s.dst = v.dst(utc)
        n = v.tariff_count
        s.tariff_count = n
        for t in range(n):
            s.import_wh[t] = v.import_wh(t + 1)
            s.export_wh[t] = v.export_wh(t + 1)
        s.import_total_wh = v.total_import_wh()
        s.export_total_wh = v.total_export_wh()
        s.reactive_import_varh = v.reactive_import_varh()
        s.reactive_export_varh = v.reactive_export_varh()
        s.tariff = v.tariff_indicator()
        s.power_failures = v.power_failures()
        s.long_power_failures = v.long_power_failures()
        count = min(v.long_failure_log_count(), len(s.pf_log_end_utc))
        s.pf_log_count = count
        for age in range(count):  # most recent first, as 1-0:99.97.0 lists them
            s.pf_log_end_utc[age] = v.long_failure_end_utc(age)
            s.pf_log_duration_s[age] = v.long_failure_duration_s(age)
        for phase in range(3):
            s.sag_count[phase] = v.voltage_sags(phase + 1)
            s.swell_count[phase] = v.voltage_swells(phase + 1)
        s.demand_avg_w = v.demand_current_w(utc)
        s.peak_month_w = v.demand_month_peak_w()
        s.peak_month_utc = v.demand_month_peak_utc()
        count = min(v.demand_history_count(), len(s.peak_hist_w))
        s.peak_hist_count = count
        for i in range(count):  # the snapshot lists the oldest first
            age = count - 1 - i
            peak_utc = v.demand_history_utc(age)
            s.peak_hist_w[i] = v.demand_history_w(age)
            s.peak_hist_utc[i] = peak_utc
            s.peak_hist_month_utc[i] = self._month_start(peak_utc, v)

    def _month_start(self, utc, v):
        # 00:00 local on the first of the month that holds utc (e-MUCS H 0-0:98.1.0).
        from registers import civil

        packed = civil.civil_from_days((utc + v.utc_offset_s(utc)) // _DAY)
        first = civil.days_from_civil(civil.year_of(packed), civil.month_of(packed), 1) * _DAY
        return first - v.utc_offset_s(first - self.std_offset_s)

    @staticmethod
    def _instantaneous(s, m):
        for k in range(3):
            r = m.results[k] if k < len(m.results) else None
            p = _round(r.p_w) if r else 0
            q = _round(r.q_var) if r else 0
            s.voltage_dv[k] = _round(r.vrms * 10) if r else 0
            s.current_ma[k] = _round(r.irms * 1000) if r else 0
            s.power_import_w_l[k] = p if p > 0 else 0
            s.power_export_w_l[k] = -p if p < 0 else 0
            s.reactive_import_var_l[k] = q if q > 0 else 0
            s.reactive_export_var_l[k] = -q if q < 0 else 0
        total_p = _round(m.total.p_w)
        total_q = _round(m.total.q_var)
        va = _round(m.total.s_va)
        s.power_import_w = total_p if total_p > 0 else 0
        s.power_export_w = -total_p if total_p < 0 else 0
        s.reactive_import_var = total_q if total_q > 0 else 0
        s.reactive_export_var = -total_q if total_q < 0 else 0
        s.apparent_import_va = va if total_p >= 0 else 0
        s.apparent_export_va = va if total_p < 0 else 0
