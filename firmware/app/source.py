# The meter as H1 sees it: fills a MeterSnapshot (h1/snapshot.py) at each period boundary
# from the read-only views of the subsystems (never writing them):
#   registers (registers/view.py)  clock, DST, energy per tariff and totals, tariff indicator,
#                                  power failures and their log, sags/swells, demand
#   metrology (metrology/frontend) per-phase voltage, current, active and reactive power
#   registers' mailboxes           the text message (configuration path) and the gas reading
#                                  the HAN relayed, with its own capture time; a gas meter
#                                  silent for longer than the mailbox's limit keeps its last
#                                  reading in P1 and raises ALERT_GAS_SILENT (check_gas)
#   identity (constructor)         the P1 equipment identifier from the provisioning record
# Nothing is invented: without an identity or a text their lengths stay 0 (P1 leaves the
# identity lines out), and there is no gas reading (mbus_valid = 0) until the HAN relays a
# real one. ready() is False until the metrology has measured its first whole period: no
# telegram carries a value that was not measured.
from app.status import ALERT_GAS_SILENT
from h1.snapshot import MeterSnapshot
from registers import civil

_DAY = 86400


def round_half_away(x):
    """x to the nearest integer, halves away from zero: how P1 and the HAN's Metering
    server both turn watts into the digits they show (the same value, to the last digit)."""
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


_round = round_half_away


class MeterSource:
    def __init__(self, clock, view=None, metrology=None, std_offset_s=3600, identity=None,
                 text=None, indicator=None):
        """identity: the P1 equipment identifier (bytes, printed as hex); text: the P1 text
        message (bytes). None leaves them empty. indicator: the StatusIndicator that shows
        the gas meter's silence (None: no alert)."""
        self.clock = clock
        self.indicator = indicator
        self.view = view
        self.metrology = metrology
        if view is not None:
            std_offset_s = view.std_offset_s()
        self.std_offset_s = std_offset_s
        s = MeterSnapshot()
        self.snapshot = s
        s.utc_offset_s = std_offset_s
        s.mbus_valid = 0
        if identity is not None:
            s.set_equipment_id(identity)
        if text is not None:
            s.set_text(text)
        self._text = None  # the registers' message last copied (copied again on change)
        self._gas_version = 0  # the gas mailbox's version last copied (0: none yet)

    def ready(self):
        """True once there is a measurement to send (the push waits for it)."""
        m = self.metrology
        return m is None or m.periods > 0

    def capture(self, snapshot, utc):
        """The push scheduler's source interface: snapshot := the meter at second utc."""
        s = self.snapshot
        s.utc = utc
        if self.view is not None:
            self._registers(s, self.view, utc)
        else:
            s.dst = 1 if civil.eu_summer_time(utc) else 0
        m = self.metrology
        if m is not None and m.periods:
            self._instantaneous(s, m)
        snapshot.copy_from(s)

    def _registers(self, s, v, utc):
        s.utc = utc
        s.utc_offset_s = self.std_offset_s
        s.dst = v.dst(utc)
        n = v.tariffs_in_use
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
        text = v.text_message()
        if text is not self._text:
            self._text = text
            s.set_text(text)
        version = v.gas_version()
        if version != self._gas_version:  # a new reading, or the one restored at boot
            self._gas_version = version
            s.mbus_valid = 1 if v.gas_valid() else 0
            s.mbus_device_type = v.gas_device_type()
            s.gas_litres = v.gas_litres()
            s.gas_utc = v.gas_capture_utc()  # the reading's own time (DSMR 5.0.2 7.3)
            ident, n = v.gas_device_id()
            s.set_mbus_id(ident, n)
        self.check_gas(utc)
        count = min(v.demand_history_count(), len(s.peak_hist_w))
        s.peak_hist_count = count
        for i in range(count):  # the snapshot lists the oldest first
            age = count - 1 - i
            peak_utc = v.demand_history_utc(age)
            s.peak_hist_w[i] = v.demand_history_w(age)
            s.peak_hist_utc[i] = peak_utc
            s.peak_hist_month_utc[i] = self._month_start(peak_utc, v)

    def check_gas(self, utc):
        """Raise ALERT_GAS_SILENT while the gas meter's last capture is older than the gas
        mailbox's limit at utc; clear it once a newer reading is in. capture() calls it,
        but P1 captures only while Data Request is high: main calls it each second too.
        Returns True while silent."""
        v = self.view
        silent = v is not None and v.gas_silent(utc)
        indicator = self.indicator
        if indicator is not None:
            if silent:
                indicator.raise_alert(ALERT_GAS_SILENT)
            else:
                indicator.clear_alert(ALERT_GAS_SILENT)
        return silent

    def _month_start(self, utc, v):
        # 00:00 local on the first of the month that holds utc (e-MUCS H 0-0:98.1.0).
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
