# The data contract between the meter (metrology, registers, HAN gas relay) and H1.
#
# MeterSnapshot is a preallocated record of everything any H1 profile prints. The meter fills
# one at each period boundary; the telegram builder reads only a snapshot, never live
# registers, so a telegram is consistent within itself (DSMR 5.0.2 6: "the information in the
# P1 telegram must be updated every second": one capture per period).
#
# Rules of the record:
# - Every field is an int, a list of ints of fixed length, or a bytearray with a length field.
#   Nothing is ever re-bound to a new container: writers assign list items and bytes in place.
# - Units are the meter's integer units, chosen so that every printed format is an exact
#   decimal shift or an integer division of the field (no floats anywhere):
#     energy Wh, reactive energy varh, power W, reactive power var, apparent power VA,
#     voltage decivolts (0.1 V), current milliamps, gas litres (0.001 m3), durations s.
# - Times are UTC seconds since 1970-01-01. utc_offset_s is the zone's standard-time offset
#   (3600 for CET, 7200 for EET); dst is 1 while daylight saving time is in force for `utc`
#   (the registers' clock decides; the builder adds 3600 s). Past times (power failures, gas
#   capture, demand peaks) are formatted with the EU summer-time rule by the builder.
#   Note: on 32-bit ports, values >= 2**30 (every date after 2004-01-10) are long ints;
#   assigning or reading them allocates nothing, arithmetic on them does (see docs/h1.md).
# - Registers are expected to roll over below 10**9 (F9(3,3) prints at most 999999.999 kWh),
#   which keeps them small ints on every port. Any value is safe to print: the builder
#   clamps one beyond its format's width to all nines and a negative one to zeros.
from micropython import const

TARIFFS = const(16)  # DSMR 5.0.2 7: "support for up to sixteen tariffs should be included"
PHASES = const(3)
PF_LOG_SIZE = const(10)  # DSMR 5.0.2 6.11: number of values z (max 10)
PEAK_HISTORY_SIZE = const(13)  # e-MUCS H: 0-0:98.1.0, maximum demand of the last 13 months
TEXT_MAX = const(1024)  # DSMR 5.0.2 7.2: one text message of up to 1024 characters
ID_MAX = const(48)  # DSMR 5.0.2 6.12: equipment identifier Sn (n=0..96) hex = 48 octets

MBUS_GAS = const(3)  # EN 13757-3 device type: gas


def _ints(n):
    return [0] * n


def _copy_list(dst, src):
    for i in range(len(dst)):
        dst[i] = src[i]


def _copy_bytes(dst, src, n):
    for i in range(n):
        dst[i] = src[i]


class MeterSnapshot:
    """Everything a P1 telegram can carry, captured at one period boundary."""

    def __init__(self):
        # Time of capture (0-0:1.0.0).
        self.utc = 0
        self.utc_offset_s = 3600
        self.dst = 0
        # Identity (0-0:96.1.1, and 0-0:42.0.0 in Luxembourg): octets, printed as hex.
        self.equipment_id = bytearray(ID_MAX)
        self.equipment_id_len = 0
        # Energy registers: index 0 = tariff 1. Totals are registers of their own (1.8.0 ...)
        # so that no sum of registers is formed on the device.
        self.tariff_count = 2
        self.import_wh = _ints(TARIFFS)
        self.export_wh = _ints(TARIFFS)
        self.import_total_wh = 0
        self.export_total_wh = 0
        self.reactive_import_varh = 0
        self.reactive_export_varh = 0
        self.tariff = 1  # 0-0:96.14.0, 1-based
        # Instantaneous values: totals and per phase (index 0 = L1).
        self.power_import_w = 0
        self.power_export_w = 0
        self.power_import_w_l = _ints(PHASES)
        self.power_export_w_l = _ints(PHASES)
        self.reactive_import_var = 0
        self.reactive_export_var = 0
        self.reactive_import_var_l = _ints(PHASES)
        self.reactive_export_var_l = _ints(PHASES)
        self.apparent_import_va = 0
        self.apparent_export_va = 0
        self.voltage_dv = _ints(PHASES)
        self.current_ma = _ints(PHASES)
        # Quality events.
        self.power_failures = 0  # 0-0:96.7.21
        self.long_power_failures = 0  # 0-0:96.7.9
        self.pf_log_count = 0  # 1-0:99.97.0, index 0 = most recent
        self.pf_log_end_utc = _ints(PF_LOG_SIZE)
        self.pf_log_duration_s = _ints(PF_LOG_SIZE)
        self.sag_count = _ints(PHASES)
        self.swell_count = _ints(PHASES)
        # Text message 0-0:96.13.0 (octets, printed as hex).
        self.text = bytearray(TEXT_MAX)
        self.text_len = 0
        # Breaker and limiter (Fluvius, Smarty).
        self.breaker_state = 1  # 0-0:96.3.10: 0 disconnected, 1 connected, 2 ready
        self.limiter_threshold_va = 999900  # 0-0:17.0.0 (999.9 kW/kVA: no limit)
        self.fuse_threshold_a = 999  # 1-0:31.4.0
        # M-Bus channel 1: gas meter relayed from the HAN.
        self.mbus_valid = 0
        self.mbus_device_type = MBUS_GAS
        self.mbus_id = bytearray(ID_MAX)
        self.mbus_id_len = 0
        self.mbus_valve = -1  # 0-1:24.4.0 (0 closed, 1 open, 2 released); -1: not known
        self.gas_litres = 0  # reading, 0.001 m3
        self.gas_utc = 0  # capture time of that reading
        # Belgian capacity tariff (e-MUCS H).
        self.demand_avg_w = 0  # 1-0:1.4.0, current 15-minute average demand
        self.peak_month_w = 0  # 1-0:1.6.0 value
        self.peak_month_utc = 0  # 1-0:1.6.0 time of the peak
        self.peak_hist_count = 0  # 0-0:98.1.0 entries, index 0 = oldest
        self.peak_hist_month_utc = _ints(PEAK_HISTORY_SIZE)  # start of that month
        self.peak_hist_utc = _ints(PEAK_HISTORY_SIZE)  # time of that month's peak
        self.peak_hist_w = _ints(PEAK_HISTORY_SIZE)

    def set_equipment_id(self, octets):
        n = min(len(octets), ID_MAX)
        _copy_bytes(self.equipment_id, octets, n)
        self.equipment_id_len = n

    def set_mbus_id(self, octets, length=-1):
        """The first `length` octets of octets (all of them when -1)."""
        n = min(len(octets) if length < 0 else length, ID_MAX)
        _copy_bytes(self.mbus_id, octets, n)
        self.mbus_id_len = n

    def set_text(self, octets):
        n = min(len(octets), TEXT_MAX)
        _copy_bytes(self.text, octets, n)
        self.text_len = n

    def copy_from(self, other):
        """Make this snapshot equal to other, in place; allocates nothing."""
        self.utc = other.utc
        self.utc_offset_s = other.utc_offset_s
        self.dst = other.dst
        _copy_bytes(self.equipment_id, other.equipment_id, other.equipment_id_len)
        self.equipment_id_len = other.equipment_id_len
        self.tariff_count = other.tariff_count
        _copy_list(self.import_wh, other.import_wh)
        _copy_list(self.export_wh, other.export_wh)
        self.import_total_wh = other.import_total_wh
        self.export_total_wh = other.export_total_wh
        self.reactive_import_varh = other.reactive_import_varh
        self.reactive_export_varh = other.reactive_export_varh
        self.tariff = other.tariff
        self.power_import_w = other.power_import_w
        self.power_export_w = other.power_export_w
        _copy_list(self.power_import_w_l, other.power_import_w_l)
        _copy_list(self.power_export_w_l, other.power_export_w_l)
        self.reactive_import_var = other.reactive_import_var
        self.reactive_export_var = other.reactive_export_var
        _copy_list(self.reactive_import_var_l, other.reactive_import_var_l)
        _copy_list(self.reactive_export_var_l, other.reactive_export_var_l)
        self.apparent_import_va = other.apparent_import_va
        self.apparent_export_va = other.apparent_export_va
        _copy_list(self.voltage_dv, other.voltage_dv)
        _copy_list(self.current_ma, other.current_ma)
        self.power_failures = other.power_failures
        self.long_power_failures = other.long_power_failures
        self.pf_log_count = other.pf_log_count
        _copy_list(self.pf_log_end_utc, other.pf_log_end_utc)
        _copy_list(self.pf_log_duration_s, other.pf_log_duration_s)
        _copy_list(self.sag_count, other.sag_count)
        _copy_list(self.swell_count, other.swell_count)
        _copy_bytes(self.text, other.text, other.text_len)
        self.text_len = other.text_len
        self.breaker_state = other.breaker_state
        self.limiter_threshold_va = other.limiter_threshold_va
        self.fuse_threshold_a = other.fuse_threshold_a
        self.mbus_valid = other.mbus_valid
        self.mbus_device_type = other.mbus_device_type
        _copy_bytes(self.mbus_id, other.mbus_id, other.mbus_id_len)
        self.mbus_id_len = other.mbus_id_len
        self.mbus_valve = other.mbus_valve
        self.gas_litres = other.gas_litres
        self.gas_utc = other.gas_utc
        self.demand_avg_w = other.demand_avg_w
        self.peak_month_w = other.peak_month_w
        self.peak_month_utc = other.peak_month_utc
        self.peak_hist_count = other.peak_hist_count
        _copy_list(self.peak_hist_month_utc, other.peak_hist_month_utc)
        _copy_list(self.peak_hist_utc, other.peak_hist_utc)
        _copy_list(self.peak_hist_w, other.peak_hist_w)
