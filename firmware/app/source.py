# The meter as H1 sees it: fills a MeterSnapshot (app/snapshot.py) at each period boundary.
#
# Measured values come from the metrology (per-phase voltage, current, powers) and the energy
# it hands on (this object is its energy sink until the registers subsystem takes that role:
# Wh registers per tariff with the sub-Wh remainder kept). What the firmware does not measure
# yet, the H1 sim source supplies: the gas reading (the HAN relays it later), power-failure
# log, demand and text message (the registers later). Each field says where it came from in
# docs/h1.md.
from h1.simsource import SimSource


def _clamp_int(x):
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


class MeterSource:
    def __init__(self, clock, metrology=None, utc_offset_s=3600):
        self.clock = clock
        self.metrology = metrology
        self.sim = SimSource(clock.time(), utc_offset_s)
        s = self.sim.snapshot
        # Energy registers, seeded like a meter taken from stock (zero) would be; mWh kept.
        self._tariffs = s.tariff_count
        self.import_mwh = [0] * self._tariffs
        self.export_mwh = [0] * self._tariffs
        self.reactive_import_mvarh = 0
        self.reactive_export_mvarh = 0

    # -- energy sink (metrology/energy.py) -------------------------------------------------
    def add_energy(self, import_mwh, export_mwh, q1_mvarh, q2_mvarh, q3_mvarh, q4_mvarh):
        t = self.sim.snapshot.tariff - 1
        self.import_mwh[t] += import_mwh
        self.export_mwh[t] += export_mwh
        self.reactive_import_mvarh += q1_mvarh + q2_mvarh  # +R = QI + QII
        self.reactive_export_mvarh += q3_mvarh + q4_mvarh  # -R = QIII + QIV

    def record_sag(self, phase):
        self.sim.snapshot.sag_count[phase - 1] += 1

    def record_swell(self, phase):
        self.sim.snapshot.swell_count[phase - 1] += 1

    def record_power_failure(self, end_utc, duration_s):
        self.sim.snapshot.power_failures += 1

    # -- H1 source (h1/push.py) ------------------------------------------------------------
    def capture(self, snapshot, utc):
        s = self.sim.update(utc)
        total_import = total_export = 0
        for t in range(self._tariffs):
            s.import_wh[t] = self.import_mwh[t] // 1000
            s.export_wh[t] = self.export_mwh[t] // 1000
            total_import += s.import_wh[t]
            total_export += s.export_wh[t]
        s.import_total_wh = total_import
        s.export_total_wh = total_export
        s.reactive_import_varh = self.reactive_import_mvarh // 1000
        s.reactive_export_varh = self.reactive_export_mvarh // 1000
        m = self.metrology
        if m is not None and m.periods:
            self._instantaneous(s, m)
        snapshot.copy_from(s)

    @staticmethod
    def _instantaneous(s, m):
        p_imp = p_exp = q_imp = q_exp = 0
        for k in range(3):
            r = m.results[k] if k < len(m.results) else None
            p = _clamp_int(r.p_w) if r else 0
            q = _clamp_int(r.q_var) if r else 0
            s.voltage_dv[k] = _clamp_int(r.vrms * 10) if r else 0
            s.current_ma[k] = _clamp_int(r.irms * 1000) if r else 0
            s.power_import_w_l[k] = p if p > 0 else 0
            s.power_export_w_l[k] = -p if p < 0 else 0
            s.reactive_import_var_l[k] = q if q > 0 else 0
            s.reactive_export_var_l[k] = -q if q < 0 else 0
        total_p = _clamp_int(m.total.p_w)
        total_q = _clamp_int(m.total.q_var)
        s.power_import_w, s.power_export_w = (total_p, 0) if total_p >= 0 else (0, -total_p)
        s.reactive_import_var, s.reactive_export_var = ((total_q, 0) if total_q >= 0
                                                        else (0, -total_q))
        va = _clamp_int(m.total.s_va)
        s.apparent_import_va, s.apparent_export_va = (va, 0) if total_p >= 0 else (0, va)
