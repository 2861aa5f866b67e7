# P1 profiles as data. Each profile is a tuple of line entries derived from one base table,
# the NL DSMR 5.0.2 P1 Companion Standard Table 6-3, the way the national texts derive from
# it (the Luxembourg and Lithuanian texts refer to DSMR 5.0.2; Fluvius e-MUCS H extends it).
#
# An entry is a tuple (obis, kind, source, index, n, d, div, unit, source2, cond, cond_min):
#   obis      the reduced OBIS code as printed, bytes
#   kind      how the value is formatted (K_* below)
#   source    MeterSnapshot attribute the value comes from (h1/snapshot.py)
#   index     item of a list attribute, or -1 for a scalar
#   n, d      Fn(x,y) as n digits of which d decimals (DSMR 5.0.2 6.4, Table 5-1); In = n, 0
#   div       integer divisor from the snapshot unit to the printed resolution (rounded half
#             away from zero), e.g. mA -> A is 1000; Wh -> kWh with 3 decimals is 1
#   unit      printed after '*' (empty: no unit)
#   source2   second attribute: length of a hex string, or the capture time of an M-Bus value
#   cond      attribute that must be > cond_min for the line to be printed (None: always)
from micropython import const

from registers.clock import DST_EU, DST_NONE

K_FIXED = const(0)  # (value*unit), Fn(x,y) / In
K_CONST = const(1)  # (text) from the profile itself, e.g. the P1 version S2
K_TST = const(2)  # (YYMMDDhhmmssX) of the snapshot
K_HEX = const(3)  # (octets as upper-case hex), Sn: DSMR 5.0.2 6.5
K_MBUS = const(4)  # (TST)(value*unit): DSMR 5.0.2 6.10
K_PFLOG = const(5)  # (z)(0-0:96.7.19)(TST)(dur*s)...: DSMR 5.0.2 6.11
K_PEAK = const(6)  # (TST)(value*kW): e-MUCS H 1-0:1.6.0
K_PEAK_HISTORY = const(7)  # (z)(1-0:1.6.0)(1-0:1.6.0)((TST)(TST)(value*kW))*z: 0-0:98.1.0

# The DST rules are the registers' clock's (registers/clock.py): DST_NONE keeps local
# standard time all year (Sweden: "Svensk normaltid", X = W), DST_EU follows EU summer time
# (past timestamps by the EU rule, the snapshot's own time by its flag).

# Standard-time offsets of the markets' zones (UTC + offset = local standard time).
CET_S = const(3600)  # NL, BE, LU, SE: Central European Time
EET_S = const(7200)  # LT: Eastern European Time (Europe/Vilnius), EU summer time on top


def entry(obis, kind, source=None, index=-1, n=0, d=0, div=1, unit=b"", source2=None,
          cond=None, cond_min=0):
    return (obis, kind, source, index, n, d, div, unit, source2, cond, cond_min)


def fixed(obis, source, n, d, unit=b"", div=1, index=-1, cond=None, cond_min=0):
    return entry(obis, K_FIXED, source, index, n, d, div, unit, None, cond, cond_min)


def text_const(obis, text):
    return entry(obis, K_CONST, text)


def hexstr(obis, source, length_source, max_octets, cond=None):
    return entry(obis, K_HEX, source, -1, max_octets, 0, 1, b"", length_source, cond)


def mbus_reading(obis, n, d, unit):
    return entry(obis, K_MBUS, "gas_litres", -1, n, d, 1, unit, "gas_utc", "mbus_valid")


def mbus_fixed(obis, source, n):
    return fixed(obis, source, n, 0, cond="mbus_valid")


def mbus_valve(obis):
    # Only a valve position the gas meter reported (none does yet): never an invented one.
    return fixed(obis, "mbus_valve", 1, 0, cond="mbus_valve", cond_min=-1)


def obis_of(e):
    return e[0]


def derive(base, drop=(), replace=(), after=()):
    """A new table from base: entries whose OBIS is in drop are removed; each
    (obis, new_entry) in replace takes the place of the base line with that OBIS; each
    (obis, entries) in after inserts entries after the line with that OBIS (b"": at the top)."""
    replacing = {}
    for key, e in replace:
        replacing[key] = e
    out = []
    for key, entries in after:
        if key == b"":
            out.extend(entries)
    for e in base:
        if e[0] not in drop:
            out.append(replacing.get(e[0], e))
        for key, entries in after:
            if key == e[0]:
                out.extend(entries)
    return tuple(out)


def same(e):
    """A replace pair for an entry that keeps its OBIS code."""
    return (e[0], e)


def _phases(obis_l1, obis_l2, obis_l3, source, n, d, unit, div=1):
    return (fixed(obis_l1, source, n, d, unit, div, 0),
            fixed(obis_l2, source, n, d, unit, div, 1),
            fixed(obis_l3, source, n, d, unit, div, 2))


def _tariff_registers(group, source, first, last, conditional_from):
    # 1-0:1.8.t / 1-0:2.8.t, F9(3,3) kWh (DSMR 5.0.2 Table 6-3). Tariffs from
    # conditional_from on are printed only when the meter has that many (up to 16: 7.1).
    out = []
    for t in range(first, last + 1):
        obis = b"1-0:" + group + b".8." + str(t).encode()
        if t >= conditional_from:
            out.append(fixed(obis, source, 9, 3, b"kWh", 1, t - 1, "tariff_count", t - 1))
        else:
            out.append(fixed(obis, source, 9, 3, b"kWh", 1, t - 1))
    return tuple(out)


# --- NL DSMR 5.0.2, Table 6-3 (the base table) -------------------------------------------
NL_DSMR5 = (
    (text_const(b"1-3:0.2.8", b"50"),  # version information for P1 output, S2
     entry(b"0-0:1.0.0", K_TST),
     # Left out until the meter is provisioned (issue 10: nothing invented).
     hexstr(b"0-0:96.1.1", "equipment_id", "equipment_id_len", 48, "equipment_id_len"))
    + _tariff_registers(b"1", "import_wh", 1, 2, 99)
    + _tariff_registers(b"2", "export_wh", 1, 2, 99)
    + _tariff_registers(b"1", "import_wh", 3, 16, 3)
    + _tariff_registers(b"2", "export_wh", 3, 16, 3)
    + (fixed(b"0-0:96.14.0", "tariff", 4, 0),  # tariff indicator, S4
       fixed(b"1-0:1.7.0", "power_import_w", 5, 3, b"kW"),
       fixed(b"1-0:2.7.0", "power_export_w", 5, 3, b"kW"),
       fixed(b"0-0:96.7.21", "power_failures", 5, 0),
       fixed(b"0-0:96.7.9", "long_power_failures", 5, 0),
       entry(b"1-0:99.97.0", K_PFLOG))
    + _phases(b"1-0:32.32.0", b"1-0:52.32.0", b"1-0:72.32.0", "sag_count", 5, 0, b"")
    + _phases(b"1-0:32.36.0", b"1-0:52.36.0", b"1-0:72.36.0", "swell_count", 5, 0, b"")
    + (hexstr(b"0-0:96.13.0", "text", "text_len", 1024),)  # 7.2: max 1024 characters
    + _phases(b"1-0:32.7.0", b"1-0:52.7.0", b"1-0:72.7.0", "voltage_dv", 4, 1, b"V")
    + _phases(b"1-0:31.7.0", b"1-0:51.7.0", b"1-0:71.7.0", "current_ma", 3, 0, b"A", 1000)
    + _phases(b"1-0:21.7.0", b"1-0:41.7.0", b"1-0:61.7.0", "power_import_w_l", 5, 3, b"kW")
    + _phases(b"1-0:22.7.0", b"1-0:42.7.0", b"1-0:62.7.0", "power_export_w_l", 5, 3, b"kW")
    + (mbus_fixed(b"0-1:24.1.0", "mbus_device_type", 3),  # device type first: 6.12 note
       hexstr(b"0-1:96.1.0", "mbus_id", "mbus_id_len", 48, "mbus_valid"),
       mbus_reading(b"0-1:24.2.1", 8, 3, b"m3"))  # F8(3,3) for G4/G6: Table 6-3 note 2
)

# --- NL DSMR 4.2.2 compatibility: version 42, no voltages, every 10 s (4.2.2 5.1, 6.1) -----
NL_DSMR4 = derive(
    NL_DSMR5,
    drop=(b"1-0:32.7.0", b"1-0:52.7.0", b"1-0:72.7.0"),
    replace=(same(text_const(b"1-3:0.2.8", b"42")),))

# --- BE Fluvius e-MUCS H 1.7.x (objects as in the Fluvius telegrams of vectors/p1) ---------
BE_FLUVIUS = derive(
    NL_DSMR5,
    drop=(b"0-0:96.7.21", b"0-0:96.7.9", b"1-0:99.97.0",
          b"1-0:32.32.0", b"1-0:52.32.0", b"1-0:72.32.0",
          b"1-0:32.36.0", b"1-0:52.36.0", b"1-0:72.36.0"),
    replace=(
        (b"1-3:0.2.8", text_const(b"0-0:96.1.4", b"50217")),  # P1 5.0.2 + e-MUCS H 1.7
        # Currents with two decimals (000.27*A).
        same(fixed(b"1-0:31.7.0", "current_ma", 5, 2, b"A", 10, 0)),
        same(fixed(b"1-0:51.7.0", "current_ma", 5, 2, b"A", 10, 1)),
        same(fixed(b"1-0:71.7.0", "current_ma", 5, 2, b"A", 10, 2)),
        # Gas: identifier under 96.1.1, reading not temperature corrected under 24.2.3.
        (b"0-1:96.1.0", hexstr(b"0-1:96.1.1", "mbus_id", "mbus_id_len", 48, "mbus_valid")),
        (b"0-1:24.2.1", mbus_reading(b"0-1:24.2.3", 8, 3, b"m3"))),
    after=(
        (b"1-0:2.8.2", (fixed(b"1-0:1.4.0", "demand_avg_w", 5, 3, b"kW"),
                        entry(b"1-0:1.6.0", K_PEAK),
                        entry(b"0-0:98.1.0", K_PEAK_HISTORY))),
        (b"1-0:71.7.0", (fixed(b"0-0:96.3.10", "breaker_state", 1, 0),
                         fixed(b"0-0:17.0.0", "limiter_threshold_va", 4, 1, b"kW", 100),
                         fixed(b"1-0:31.4.0", "fuse_threshold_a", 3, 0, b"A"))),
        (b"0-1:96.1.0", (mbus_valve(b"0-1:24.4.0"),)),
    ))

# --- LU Smarty 1.1.3, Table 3.1 (maximum readout list) -------------------------------------
LU_SMARTY = derive(
    NL_DSMR5,
    drop=(b"0-0:96.1.1", b"0-0:96.14.0", b"0-0:96.7.9", b"1-0:99.97.0")
    + tuple(b"1-0:1.8." + str(t).encode() for t in range(1, 17))
    + tuple(b"1-0:2.8." + str(t).encode() for t in range(1, 17)),
    replace=(same(text_const(b"1-3:0.2.8", b"42")),),  # as in the example telegram (App. A)
    after=(
        (b"0-0:1.0.0", (hexstr(b"0-0:42.0.0", "equipment_id", "equipment_id_len", 16,  # S32
                               "equipment_id_len"),
                        fixed(b"1-0:1.8.0", "import_total_wh", 9, 3, b"kWh"),
                        fixed(b"1-0:2.8.0", "export_total_wh", 9, 3, b"kWh"),
                        fixed(b"1-0:3.8.0", "reactive_import_varh", 9, 3, b"kvarh"),
                        fixed(b"1-0:4.8.0", "reactive_export_varh", 9, 3, b"kvarh"))),
        (b"1-0:2.7.0", (fixed(b"1-0:3.7.0", "reactive_import_var", 5, 3, b"kvar"),
                        fixed(b"1-0:4.7.0", "reactive_export_var", 5, 3, b"kvar"),
                        fixed(b"0-0:17.0.0", "limiter_threshold_va", 4, 1, b"kVA", 100),
                        fixed(b"1-0:9.7.0", "apparent_import_va", 5, 3, b"kVA"),
                        fixed(b"1-0:10.7.0", "apparent_export_va", 5, 3, b"kVA"),
                        fixed(b"0-0:96.3.10", "breaker_state", 1, 0))),
        (b"1-0:62.7.0",
         _phases(b"1-0:23.7.0", b"1-0:43.7.0", b"1-0:63.7.0", "reactive_import_var_l", 5, 3,
                 b"kvar")
         + _phases(b"1-0:24.7.0", b"1-0:44.7.0", b"1-0:64.7.0", "reactive_export_var_l", 5, 3,
                   b"kvar")),
        (b"0-1:24.2.1", (mbus_valve(b"0-1:24.4.0"),)),
    ))

# --- SE HAN H1 2.0 (Energiforetagen 2019-12-03, Bilaga 3): formats 8.3, 4.3, 3.1 -----------
# Its own selection (no identifier, no version line: 3.1 comments), DSMR line syntax.
SE_H1 = (
    (entry(b"0-0:1.0.0", K_TST),
     fixed(b"1-0:1.8.0", "import_total_wh", 11, 3, b"kWh"),
     fixed(b"1-0:2.8.0", "export_total_wh", 11, 3, b"kWh"),
     fixed(b"1-0:3.8.0", "reactive_import_varh", 11, 3, b"kvarh"),
     fixed(b"1-0:4.8.0", "reactive_export_varh", 11, 3, b"kvarh"),
     fixed(b"1-0:1.7.0", "power_import_w", 7, 3, b"kW"),
     fixed(b"1-0:2.7.0", "power_export_w", 7, 3, b"kW"),
     fixed(b"1-0:3.7.0", "reactive_import_var", 7, 3, b"kvar"),
     fixed(b"1-0:4.7.0", "reactive_export_var", 7, 3, b"kvar"))
    + _phases(b"1-0:21.7.0", b"1-0:41.7.0", b"1-0:61.7.0", "power_import_w_l", 7, 3, b"kW")
    + _phases(b"1-0:22.7.0", b"1-0:42.7.0", b"1-0:62.7.0", "power_export_w_l", 7, 3, b"kW")
    + _phases(b"1-0:23.7.0", b"1-0:43.7.0", b"1-0:63.7.0", "reactive_import_var_l", 7, 3,
              b"kvar")
    + _phases(b"1-0:24.7.0", b"1-0:44.7.0", b"1-0:64.7.0", "reactive_export_var_l", 7, 3,
              b"kvar")
    + _phases(b"1-0:32.7.0", b"1-0:52.7.0", b"1-0:72.7.0", "voltage_dv", 4, 1, b"V")
    + _phases(b"1-0:31.7.0", b"1-0:51.7.0", b"1-0:71.7.0", "current_ma", 4, 1, b"A", 100))

# --- LT ESO P1 data model (2025-07), profile "3F standartinis", formats of its example ------
LT_ESO = derive(
    NL_DSMR5,
    drop=(b"1-3:0.2.8", b"1-0:2.8.1", b"1-0:2.8.2", b"0-0:96.14.0", b"1-0:2.7.0",
          b"0-0:96.7.9", b"1-0:99.97.0", b"1-0:22.7.0", b"1-0:42.7.0", b"1-0:62.7.0",
          b"0-1:24.1.0", b"0-1:96.1.0", b"0-1:24.2.1")
    + tuple(b"1-0:2.8." + str(t).encode() for t in range(3, 17))
    + tuple(b"1-0:1.8." + str(t).encode() for t in range(5, 17)),
    replace=tuple(same(e) for e in _tariff_registers(b"1", "import_wh", 3, 4, 99)),  # 4 rates
    after=(
        (b"0-0:1.0.0", (fixed(b"1-0:1.8.0", "import_total_wh", 9, 3, b"kWh"),)),
        (b"1-0:1.8.2", (fixed(b"1-0:2.8.0", "export_total_wh", 9, 3, b"kWh"),)),
    ))


class Profile:
    """A national variant: its table, how and how often it is sent, and its market's policy:
    the time zone the meter's clock keeps (standard offset and DST rule: the TOU calendar,
    billing and P1's timestamps all follow it) and the factory tariff calendar
    (`calendar`: ("single", tariff) or ("day_night", day, night, start_min, end_min), see
    registers.tou; replaced through the configuration path)."""

    def __init__(self, name, title, entries, period_s, header, std_offset_s=CET_S,
                 dst_rule=DST_EU, calendar=("single", 1), encrypted=False):
        self.name = name
        self.title = title
        self.entries = entries
        self.period_s = period_s
        self.header = header  # identification line after '/', FLAG id + '5' + type
        self.std_offset_s = std_offset_s
        self.dst_rule = dst_rule
        self.calendar = calendar
        self.encrypted = encrypted

    def default_calendar(self):
        """The market's factory tariff calendar (a registers.tou calendar)."""
        from registers import tou

        if self.calendar[0] == "day_night":
            return tou.day_night(*self.calendar[1:])
        return tou.single_tariff(self.calendar[1])


# NL: tariff 1 low, 2 normal, normal 07:00-23:00 on weekdays (DSMR 5.0.2 7.1).
# BE: tariff 1 day, 2 night, day 07:00-22:00 on weekdays (Fluvius).
PROFILES = (
    Profile("nl", "NL DSMR 5.0.2", NL_DSMR5, 1, b"MPY5\\2H1-NL",  # 6.1: every second
            calendar=("day_night", 2, 1)),
    Profile("nl4", "NL DSMR 4.2.2 compatibility", NL_DSMR4, 10, b"MPY5\\2H1-NL4",  # 4.2.2 5.1
            calendar=("day_night", 2, 1)),
    Profile("be", "BE Fluvius e-MUCS H 1.7", BE_FLUVIUS, 1, b"MPY5\\2H1-BE",
            calendar=("day_night", 1, 2, 420, 1320)),
    Profile("lu", "LU Smarty 1.1.3", LU_SMARTY, 10, b"MPY5\\2H1-LU",  # 3.2.1: every 10 s
            encrypted=True),  # 3.2.5
    Profile("se", "SE HAN H1 2.0", SE_H1, 10, b"MPY5\\2H1-SE",  # 3.2: at least every 10 s
            dst_rule=DST_NONE),
    Profile("lt", "LT ESO P1", LT_ESO, 1, b"MPY5\\2H1-LT", std_offset_s=EET_S),
)


def by_name(name):
    for p in PROFILES:
        if p.name == name:
            return p
    raise ValueError("unknown P1 profile: %s" % name)
