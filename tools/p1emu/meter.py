# A plausible household behind the emulated P1 port (host only: floats and `random` are fine
# here, nothing of this runs on a device). It owns one firmware MeterSnapshot and advances it
# second by second from the meter's UTC clock:
#
#   load     per phase a base load, a fridge cycling, and appliances (kettle, oven, washing
#            machine, heat pump) switched on at random for their usual durations;
#   PV       a 4 kWp roof following the local daylight hours with drifting clouds, so the
#            net power turns to export at noon and the export registers grow too;
#   energy   import/export registers of the active tariff and the totals integrate the net
#            power exactly (W*s carried over until a whole Wh), reactive energy likewise;
#   tariff   from the profile's factory calendar (registers.tou), in local time;
#   grid     voltages wandering around 230 V, dropping with load, rising with export;
#            currents = apparent power / voltage;
#   gas      an M-Bus gas meter (profiles that print one) heating with the season, its
#            reading captured every 5 minutes (DSMR 5.0.2 7.3);
#   quality  a power-failure log of three events, failure, sag and swell counters;
#   demand   the 15-minute average demand, the month peak and a 13-month history (e-MUCS H).
#
# Seeded: the same --seed and --start give the same telegrams on every run.
import math
import random

from h1.snapshot import MeterSnapshot
from registers import civil, tou
from registers.clock import DST_EU

GAS_PERIOD_S = 300  # DSMR 5.0.2 7.3: the last 5-minute value
DEMAND_PERIOD_S = 900  # e-MUCS H: 15-minute average demand
CATCH_UP_MAX_S = 86400  # a longer jump of the clock re-bases instead of replaying

# (name, watts, seconds on, probability of switching on in a given second)
APPLIANCES = (
    ("kettle", 2000, 150, 1 / 1800),
    ("oven", 2400, 2400, 1 / 20000),
    ("washer", 600, 3600, 1 / 30000),
    ("heat pump", 1500, 1200, 1 / 4000),
)

# Equipment identifiers as the meters print them: ASCII octets, shown as hex by the builder.
IDENTITY = {"lu": b"SAG1050700000001"}  # 0-0:42.0.0 takes 16 octets (Smarty Table 3.1)
DEFAULT_IDENTITY = b"E0099001234567890"
GAS_IDENTITY = b"G0012345678901234"


def has_gas(profile):
    return any(e[0].startswith(b"0-1:24.2.") for e in profile.entries)


class SimMeter:
    """snapshot(utc) advances the simulated meter to second utc and returns its snapshot."""

    def __init__(self, profile, start_utc, seed=1):
        self.profile = profile
        self.rng = random.Random(seed)
        self.calendar = tou.Calendar(profile.default_calendar())
        self.eu_dst = profile.dst_rule == DST_EU
        s = self.snap = MeterSnapshot()
        s.utc_offset_s = profile.std_offset_s
        s.tariff_count = 4 if profile.name == "lt" else 2
        s.set_equipment_id(IDENTITY.get(profile.name, DEFAULT_IDENTITY))
        s.utc = start_utc
        # Registers of a meter some years in service.
        for t in range(s.tariff_count):
            s.import_wh[t] = 4_321_987 + 2_102_345 * t
            s.export_wh[t] = 1_203_456 + 304_567 * t
        s.import_total_wh = sum(s.import_wh)
        s.export_total_wh = sum(s.export_wh)
        s.reactive_import_varh = 987_654
        s.reactive_export_varh = 123_456
        # Quality: three failures in the log (most recent first), sags and swells.
        s.power_failures = 7
        s.long_power_failures = 3
        s.pf_log_count = 3
        for i, (days, duration) in enumerate(((2, 311), (47, 4210), (160, 188))):
            s.pf_log_end_utc[i] = start_utc - days * 86400 - 3 * 3600
            s.pf_log_duration_s[i] = duration
        s.sag_count[0], s.sag_count[1], s.sag_count[2] = 3, 1, 0
        s.swell_count[0], s.swell_count[1], s.swell_count[2] = 0, 2, 1
        # Gas meter on M-Bus channel 1.
        self.gas = has_gas(profile)
        if self.gas:
            s.mbus_valid = 1
            s.set_mbus_id(GAS_IDENTITY)
        self._gas_litres = 5_432_100.0
        # Capacity tariff history: 13 months, oldest first.
        s.peak_hist_count = 13
        for i in range(13):
            month_start = start_utc - (13 - i) * 30 * 86400
            s.peak_hist_month_utc[i] = month_start - month_start % 86400
            s.peak_hist_utc[i] = month_start + 9 * 86400 + 18 * 3600
            s.peak_hist_w[i] = 2500 + (i * 737) % 3000
        s.peak_month_w = 3120  # this month's peak so far, two days ago
        s.peak_month_utc = start_utc - start_utc % DEMAND_PERIOD_S - 2 * 86400
        self._demand_start = start_utc - start_utc % DEMAND_PERIOD_S
        self._demand_ws = 0
        # Loads and carried remainders.
        self._base = [180.0, 120.0, 90.0]
        self._running = []  # (phase, watts, seconds left)
        self._cloud = 0.8
        self._volt = [2300.0, 2305.0, 2296.0]
        self._rem = {"imp": 0.0, "exp": 0.0, "rimp": 0.0, "rexp": 0.0}
        self._set_clock(start_utc)
        self._measure()
        self._capture_gas(start_utc - start_utc % GAS_PERIOD_S)

    # --- clock and tariff ------------------------------------------------------------------
    def _local(self, utc):
        return utc + self.snap.utc_offset_s + (3600 if self.snap.dst else 0)

    def _set_clock(self, utc):
        s = self.snap
        s.utc = utc
        s.dst = 1 if self.eu_dst and civil.eu_summer_time(utc) else 0
        tariff = self.calendar.tariff_at(self._local(utc))
        s.tariff = min(max(tariff, 1), s.tariff_count)

    # --- one second of physics -------------------------------------------------------------
    def _pv_w(self):
        hour = (self._local(self.snap.utc) % 86400) / 3600.0
        if not 6.0 < hour < 20.0:
            return 0.0
        self._cloud = min(1.0, max(0.2, self._cloud + self.rng.uniform(-0.02, 0.02)))
        return 4000.0 * math.sin(math.pi * (hour - 6.0) / 14.0) * self._cloud

    def _loads(self):
        rng = self.rng
        for name, watts, seconds, p in APPLIANCES:
            if rng.random() < p and not any(r[3] == name for r in self._running):
                self._running.append([rng.randrange(3), watts, seconds, name])
        loads = [b + rng.uniform(-15, 15) for b in self._base]
        fridge_on = (self.snap.utc // 600) % 3 == 0  # 10 minutes in 30
        loads[1] += 110.0 if fridge_on else 0.0
        for r in self._running:
            loads[r[0]] += r[1]
            r[2] -= 1
        self._running = [r for r in self._running if r[2] > 0]
        return loads

    def _measure(self):
        s = self.snap
        loads = self._loads()
        pv = self._pv_w() / 3.0
        tot_imp = tot_exp = tot_q = tot_va = 0
        for ph in range(3):
            net = loads[ph] - pv
            q = loads[ph] * 0.22
            imp_w = int(round(net)) if net > 0 else 0
            exp_w = int(round(-net)) if net < 0 else 0
            s.power_import_w_l[ph] = imp_w
            s.power_export_w_l[ph] = exp_w
            s.reactive_import_var_l[ph] = int(round(q))
            s.reactive_export_var_l[ph] = 0
            v = self._volt[ph] + self.rng.uniform(-3, 3)
            v = min(2380.0, max(2220.0, 0.98 * v + 0.02 * 2300.0))
            self._volt[ph] = v
            dv = int(round(v - net / 400.0))  # 0.25 V per kW of load, up with export
            s.voltage_dv[ph] = dv
            va = math.hypot(net, q)
            s.current_ma[ph] = int(round(va * 10000.0 / dv))
            tot_imp += imp_w
            tot_exp += exp_w
            tot_q += int(round(q))
            tot_va += int(round(va))
        s.power_import_w = tot_imp
        s.power_export_w = tot_exp
        s.reactive_import_var = tot_q
        s.reactive_export_var = 0
        s.apparent_import_va = tot_va if tot_imp >= tot_exp else 0
        s.apparent_export_va = tot_va if tot_exp > tot_imp else 0

    def _carry(self, key, watts):
        self._rem[key] += watts
        wh = int(self._rem[key] // 3600)
        self._rem[key] -= wh * 3600
        return wh

    def _capture_gas(self, at_utc):
        s = self.snap
        s.gas_litres = int(self._gas_litres)
        s.gas_utc = at_utc

    def _tick(self):
        s = self.snap
        # The second just ended is metered at the power measured for it.
        wh = self._carry("imp", s.power_import_w)
        s.import_wh[s.tariff - 1] += wh
        s.import_total_wh += wh
        wh = self._carry("exp", s.power_export_w)
        s.export_wh[s.tariff - 1] += wh
        s.export_total_wh += wh
        s.reactive_import_varh += self._carry("rimp", s.reactive_import_var)
        s.reactive_export_varh += self._carry("rexp", s.reactive_export_var)
        self._demand_ws += s.power_import_w
        self._set_clock(s.utc + 1)
        utc = s.utc
        month = civil.month_of(civil.civil_from_days(self._local(utc) // 86400))
        heating = 0.25 if 5 <= month <= 9 else 1.1  # litres per second: ~0.9 / ~4 m3/h
        self._gas_litres += heating * self.rng.uniform(0.2, 1.0)
        if self.gas and utc % GAS_PERIOD_S == 0:
            self._capture_gas(utc)
        elapsed = utc - self._demand_start
        s.demand_avg_w = self._demand_ws // elapsed if elapsed else 0
        if elapsed >= DEMAND_PERIOD_S:
            if s.demand_avg_w > s.peak_month_w:
                s.peak_month_w = s.demand_avg_w
                s.peak_month_utc = utc
            self._demand_start = utc
            self._demand_ws = 0
        self._measure()

    def snapshot(self, utc):
        s = self.snap
        if utc - s.utc > CATCH_UP_MAX_S or utc < s.utc:
            self._set_clock(utc - 1)
        while s.utc < utc:
            self._tick()
        return s
