# The P1 builder at the extremes of every field of every profile (issue 14, "Builder"):
# every Fn/In value keeps exactly its width (all nines above it, all zeros at or below zero,
# never a sign: DSMR 5.0.2 6.4 Table 5-1 has digits only, Table 6-3 unsigned types), the
# buffer holds the longest telegram of each profile exactly, and the CRC checks.
# Portable: CPython (tier 1) and MicroPython (tier 2, where NoAllocation locks the heap).
# Every expected text below is written out by hand from the formats of the specifications,
# never produced by the builder or its tables; the CRC is the bitwise one of support.
from h1 import profiles
from h1.builder import TelegramBuilder, max_telegram_length, put_fixed
from h1.snapshot import MeterSnapshot
from support import NoAllocation, crc16_reflected

HUGE = 10 ** 30  # a long int on every port
NEG_HUGE = -HUGE  # made here: negating a long int inside NoAllocation would allocate


def fixed(value, n, d, div=1):
    buf = bytearray(24)
    end = put_fixed(buf, 0, value, n, d, div)
    return bytes(buf[:end]).decode()


def test_f9_kwh_clamps_and_never_signs():
    # F9(3,3) kWh from Wh (DSMR 5.0.2 Table 6-3, 1-0:1.8.1).
    assert fixed(999999998, 9, 3) == "999999.998"
    assert fixed(999999999, 9, 3) == "999999.999"
    assert fixed(10 ** 9, 9, 3) == "999999.999"
    assert fixed(10 ** 12, 9, 3) == "999999.999"
    assert fixed(HUGE, 9, 3) == "999999.999"
    assert fixed(0, 9, 3) == "000000.000"
    assert fixed(-1, 9, 3) == "000000.000"
    assert fixed(-123456789, 9, 3) == "000000.000"
    assert fixed(-HUGE, 9, 3) == "000000.000"


def test_f10_and_wider_clamp_instead_of_wrapping():
    # F10(0,0) s, the power failure durations (Table 6-3, 1-0:99.97.0): the case.
    assert fixed(10 ** 10 + 5, 10, 0) == "9999999999"
    assert fixed(10 ** 10, 10, 0) == "9999999999"
    assert fixed(10 ** 10 - 1, 10, 0) == "9999999999"
    assert fixed(10 ** 10 - 2, 10, 0) == "9999999998"
    assert fixed(2 ** 64, 10, 0) == "9999999999"
    assert fixed(-5, 10, 0) == "0000000000"
    # Sweden "8.3" (Bilaga 3: xxxxxxxx.xxx kWh), 11 digits from Wh.
    assert fixed(99999999999, 11, 3) == "99999999.999"
    assert fixed(10 ** 11, 11, 3) == "99999999.999"
    assert fixed(HUGE, 11, 3) == "99999999.999"
    assert fixed(-HUGE, 11, 3) == "00000000.000"
    assert fixed(12345678901, 11, 3) == "12345678.901"


def test_rounded_formats_clamp_at_the_rounding_boundary():
    # F3(0,0) A from mA: 999.499 A prints 999, 999.5 A would round to 1000: full scale.
    assert fixed(999499, 3, 0, 1000) == "999"
    assert fixed(999500, 3, 0, 1000) == "999"
    assert fixed(998500, 3, 0, 1000) == "999"
    assert fixed(998499, 3, 0, 1000) == "998"
    assert fixed(-499, 3, 0, 1000) == "000"
    assert fixed(-500, 3, 0, 1000) == "000"
    assert fixed(-HUGE, 3, 0, 1000) == "000"
    assert fixed(HUGE, 3, 0, 1000) == "999"
    # Fluvius F5(2,2) A from mA (/10) and Sweden 3.1 A / limiter F4(1,1) from VA (/100).
    assert fixed(999994, 5, 2, 10) == "999.99"
    assert fixed(999995, 5, 2, 10) == "999.99"
    assert fixed(999984, 5, 2, 10) == "999.98"
    assert fixed(999949, 4, 1, 100) == "999.9"
    assert fixed(999950, 4, 1, 100) == "999.9"
    assert fixed(999849, 4, 1, 100) == "999.8"
    assert fixed(-1, 4, 1, 100) == "000.0"


def test_one_digit_and_integer_formats():
    assert fixed(9, 1, 0) == "9"  # I1: breaker state, valve position
    assert fixed(10, 1, 0) == "9"
    assert fixed(-1, 1, 0) == "0"
    assert fixed(10000, 4, 0) == "9999"  # tariff indicator S4
    assert fixed(-2, 4, 0) == "0000"
    assert fixed(1000, 3, 0) == "999"  # M-Bus device type F3(0,0)


def test_put_fixed_allocates_nothing_at_the_extremes():
    buf = bytearray(23)
    with NoAllocation():
        a = put_fixed(buf, 0, HUGE, 10, 0)
        b = put_fixed(buf, a, NEG_HUGE, 9, 3)
        c = put_fixed(buf, b, HUGE, 3, 0, 1000)
    assert c == 23 and bytes(buf) == b"9999999999000000.000999"


# --- whole telegrams ---------------------------------------------------------------------
# Formats by tag: (largest raw value that prints without clamping, full-scale text, zero).
FORMATS = {
    "kWh9": (999999999, "999999.999*kWh", "000000.000*kWh"),  # F9(3,3) from Wh
    "kvarh9": (999999999, "999999.999*kvarh", "000000.000*kvarh"),
    "kWh11": (99999999999, "99999999.999*kWh", "00000000.000*kWh"),  # SE 8.3
    "kvarh11": (99999999999, "99999999.999*kvarh", "00000000.000*kvarh"),
    "kW5": (99999, "99.999*kW", "00.000*kW"),  # F5(3,3) from W
    "kvar5": (99999, "99.999*kvar", "00.000*kvar"),
    "kVA5": (99999, "99.999*kVA", "00.000*kVA"),
    "kW7": (9999999, "9999.999*kW", "0000.000*kW"),  # SE 4.3
    "kvar7": (9999999, "9999.999*kvar", "0000.000*kvar"),
    "V4": (9999, "999.9*V", "000.0*V"),  # F4(1,1) from dV
    "A3": (999499, "999*A", "000*A"),  # F3(0,0) from mA, rounded
    "A5_2": (999994, "999.99*A", "000.00*A"),  # Fluvius, from mA / 10
    "A4_1": (999949, "999.9*A", "000.0*A"),  # SE 3.1, from mA / 100
    "kW4_1": (999949, "999.9*kW", "000.0*kW"),  # Fluvius limiter, from VA / 100
    "kVA4_1": (999949, "999.9*kVA", "000.0*kVA"),  # Smarty limiter
    "A3i": (999, "999*A", "000*A"),  # Fluvius fuse threshold, A
    "m3_8": (99999999, "99999.999*m3", "00000.000*m3"),  # F8(3,3) from litres
    "s10": (9999999999, "9999999999*s", "0000000000*s"),  # F10(0,0) s
    "n5": (99999, "99999", "00000"),
    "n4": (9999, "9999", "0000"),
    "n3": (999, "999", "000"),
    "n1": (9, "9", "0"),
}

NL_FIELDS = {
    "import_wh": "kWh9", "export_wh": "kWh9", "tariff": "n4", "power_import_w": "kW5",
    "power_export_w": "kW5", "power_failures": "n5", "long_power_failures": "n5",
    "pf_log_duration_s": "s10", "sag_count": "n5", "swell_count": "n5", "voltage_dv": "V4",
    "current_ma": "A3", "power_import_w_l": "kW5", "power_export_w_l": "kW5",
    "mbus_device_type": "n3", "gas_litres": "m3_8",
}
BE_FIELDS = dict(NL_FIELDS)
BE_FIELDS.update({
    "current_ma": "A5_2", "demand_avg_w": "kW5", "peak_month_w": "kW5", "peak_hist_w": "kW5",
    "breaker_state": "n1", "limiter_threshold_va": "kW4_1", "fuse_threshold_a": "A3i",
    "mbus_valve": "n1",
})
LU_FIELDS = dict(NL_FIELDS)
LU_FIELDS.update({
    "import_total_wh": "kWh9", "export_total_wh": "kWh9", "reactive_import_varh": "kvarh9",
    "reactive_export_varh": "kvarh9", "reactive_import_var": "kvar5",
    "reactive_export_var": "kvar5", "limiter_threshold_va": "kVA4_1",
    "apparent_import_va": "kVA5", "apparent_export_va": "kVA5", "breaker_state": "n1",
    "reactive_import_var_l": "kvar5", "reactive_export_var_l": "kvar5", "mbus_valve": "n1",
})
SE_FIELDS = {
    "import_total_wh": "kWh11", "export_total_wh": "kWh11", "reactive_import_varh": "kvarh11",
    "reactive_export_varh": "kvarh11", "power_import_w": "kW7", "power_export_w": "kW7",
    "reactive_import_var": "kvar7", "reactive_export_var": "kvar7",
    "power_import_w_l": "kW7", "power_export_w_l": "kW7", "reactive_import_var_l": "kvar7",
    "reactive_export_var_l": "kvar7", "voltage_dv": "V4", "current_ma": "A4_1",
}
LT_FIELDS = dict(NL_FIELDS)
LT_FIELDS.update({"import_total_wh": "kWh9", "export_total_wh": "kWh9"})

# Lines as (OBIS, kind, argument); kind "f" = a value of the snapshot field named.
ID48 = "AB" * 48
MBUS48 = "EF" * 48
TEXT = "CD" * 1024


def phases(a, b, c, field):
    return [(a, "f", field), (b, "f", field), (c, "f", field)]


def tariffs(group, first, last, field):
    return [("1-0:%s.8.%d" % (group, t), "f", field) for t in range(first, last + 1)]


NL_HEAD = ([("1-3:0.2.8", "const", "50"), ("0-0:1.0.0", "tst", None),
            ("0-0:96.1.1", "hex", ID48)]
           + tariffs("1", 1, 2, "import_wh") + tariffs("2", 1, 2, "export_wh"))
NL_TAIL = ([("0-0:96.14.0", "f", "tariff"), ("1-0:1.7.0", "f", "power_import_w"),
            ("1-0:2.7.0", "f", "power_export_w"), ("0-0:96.7.21", "f", "power_failures"),
            ("0-0:96.7.9", "f", "long_power_failures"), ("1-0:99.97.0", "pflog", None)]
           + phases("1-0:32.32.0", "1-0:52.32.0", "1-0:72.32.0", "sag_count")
           + phases("1-0:32.36.0", "1-0:52.36.0", "1-0:72.36.0", "swell_count")
           + [("0-0:96.13.0", "hex", TEXT)])
NL_VOLTS = phases("1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0", "voltage_dv")
NL_AMPS_POWER = (phases("1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0", "current_ma")
                 + phases("1-0:21.7.0", "1-0:41.7.0", "1-0:61.7.0", "power_import_w_l")
                 + phases("1-0:22.7.0", "1-0:42.7.0", "1-0:62.7.0", "power_export_w_l"))
NL_GAS = [("0-1:24.1.0", "f", "mbus_device_type"), ("0-1:96.1.0", "hex", MBUS48),
          ("0-1:24.2.1", "mbus", "gas_litres")]
NL_LINES = (NL_HEAD + tariffs("1", 3, 16, "import_wh") + tariffs("2", 3, 16, "export_wh")
            + NL_TAIL + NL_VOLTS + NL_AMPS_POWER + NL_GAS)
NL4_LINES = ([("1-3:0.2.8", "const", "42")] + NL_HEAD[1:] + tariffs("1", 3, 16, "import_wh")
             + tariffs("2", 3, 16, "export_wh") + NL_TAIL + NL_AMPS_POWER + NL_GAS)
BE_LINES = ([("0-0:96.1.4", "const", "50217")] + NL_HEAD[1:]
            + [("1-0:1.4.0", "f", "demand_avg_w"), ("1-0:1.6.0", "peak", "peak_month_w"),
               ("0-0:98.1.0", "peaks", "peak_hist_w")]
            + tariffs("1", 3, 16, "import_wh") + tariffs("2", 3, 16, "export_wh")
            + [("0-0:96.14.0", "f", "tariff"), ("1-0:1.7.0", "f", "power_import_w"),
               ("1-0:2.7.0", "f", "power_export_w"), ("0-0:96.13.0", "hex", TEXT)]
            + NL_VOLTS + phases("1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0", "current_ma")
            + [("0-0:96.3.10", "f", "breaker_state"),
               ("0-0:17.0.0", "f", "limiter_threshold_va"),
               ("1-0:31.4.0", "f", "fuse_threshold_a")]
            + NL_AMPS_POWER[3:]
            + [("0-1:24.1.0", "f", "mbus_device_type"), ("0-1:96.1.1", "hex", MBUS48),
               ("0-1:24.4.0", "f", "mbus_valve"), ("0-1:24.2.3", "mbus", "gas_litres")])
LU_LINES = ([("1-3:0.2.8", "const", "42"), ("0-0:1.0.0", "tst", None),
             ("0-0:42.0.0", "hex", "AB" * 16),  # S32: 16 octets
             ("1-0:1.8.0", "f", "import_total_wh"), ("1-0:2.8.0", "f", "export_total_wh"),
             ("1-0:3.8.0", "f", "reactive_import_varh"),
             ("1-0:4.8.0", "f", "reactive_export_varh"),
             ("1-0:1.7.0", "f", "power_import_w"), ("1-0:2.7.0", "f", "power_export_w"),
             ("1-0:3.7.0", "f", "reactive_import_var"),
             ("1-0:4.7.0", "f", "reactive_export_var"),
             ("0-0:17.0.0", "f", "limiter_threshold_va"),
             ("1-0:9.7.0", "f", "apparent_import_va"), ("1-0:10.7.0", "f", "apparent_export_va"),
             ("0-0:96.3.10", "f", "breaker_state"), ("0-0:96.7.21", "f", "power_failures")]
            + NL_TAIL[6:] + NL_VOLTS + NL_AMPS_POWER
            + phases("1-0:23.7.0", "1-0:43.7.0", "1-0:63.7.0", "reactive_import_var_l")
            + phases("1-0:24.7.0", "1-0:44.7.0", "1-0:64.7.0", "reactive_export_var_l")
            + NL_GAS + [("0-1:24.4.0", "f", "mbus_valve")])
SE_LINES = ([("0-0:1.0.0", "tst", None),
             ("1-0:1.8.0", "f", "import_total_wh"), ("1-0:2.8.0", "f", "export_total_wh"),
             ("1-0:3.8.0", "f", "reactive_import_varh"),
             ("1-0:4.8.0", "f", "reactive_export_varh"),
             ("1-0:1.7.0", "f", "power_import_w"), ("1-0:2.7.0", "f", "power_export_w"),
             ("1-0:3.7.0", "f", "reactive_import_var"),
             ("1-0:4.7.0", "f", "reactive_export_var")]
            + NL_AMPS_POWER[3:]
            + phases("1-0:23.7.0", "1-0:43.7.0", "1-0:63.7.0", "reactive_import_var_l")
            + phases("1-0:24.7.0", "1-0:44.7.0", "1-0:64.7.0", "reactive_export_var_l")
            + NL_VOLTS + NL_AMPS_POWER[:3])
LT_LINES = ([("0-0:1.0.0", "tst", None), ("1-0:1.8.0", "f", "import_total_wh"),
             ("0-0:96.1.1", "hex", ID48)] + tariffs("1", 1, 2, "import_wh")
            + [("1-0:2.8.0", "f", "export_total_wh")] + tariffs("1", 3, 4, "import_wh")
            + [("1-0:1.7.0", "f", "power_import_w"), ("0-0:96.7.21", "f", "power_failures")]
            + NL_TAIL[6:] + NL_VOLTS + NL_AMPS_POWER[:6])

# name: (fields, lines, time of every TST: 2010-12-09 10:30:20 UTC in CET, or in EET for LT)
PROFILES = {
    "nl": (NL_FIELDS, NL_LINES, "101209113020W"),
    "nl4": (NL_FIELDS, NL4_LINES, "101209113020W"),
    "be": (BE_FIELDS, BE_LINES, "101209113020W"),
    "lu": (LU_FIELDS, LU_LINES, "101209113020W"),
    "se": (SE_FIELDS, SE_LINES, "101209113020W"),
    "lt": (LT_FIELDS, LT_LINES, "101209123020W"),
}
UTC = 1291890620

# Levels: (name, raw value from the format's largest unclamped value, full scale?)
LEVELS = (
    ("max", lambda top: top, True),
    ("max+1", lambda top: top + 1, True),
    ("huge", lambda top: HUGE, True),
    ("zero", lambda top: 0, False),
    ("negative", lambda top: -1, False),
    ("-huge", lambda top: -HUGE, False),
)


def set_field(s, name, value):
    current = getattr(s, name)
    if isinstance(current, list):
        for i in range(len(current)):
            current[i] = value
    else:
        setattr(s, name, value)


def extreme_snapshot(name, top_of):
    """Every optional line present at its longest, every value field at top_of(its max)."""
    fields = PROFILES[name][0]
    s = MeterSnapshot()
    s.utc = UTC
    s.utc_offset_s = profiles.by_name(name).std_offset_s
    s.dst = 0
    s.set_equipment_id(b"\xab" * 48)
    s.set_text(b"\xcd" * 1024)
    s.set_mbus_id(b"\xef" * 48)
    s.tariff_count = 16
    s.mbus_valid = 1
    s.pf_log_count = 10
    s.peak_hist_count = 13
    for i in range(10):
        s.pf_log_end_utc[i] = UTC
    s.peak_month_utc = UTC
    for i in range(13):
        s.peak_hist_month_utc[i] = UTC
        s.peak_hist_utc[i] = UTC
    s.gas_utc = UTC
    for field in fields:
        set_field(s, field, top_of(FORMATS[fields[field]][0]))
    return s


def expected_lines(name, full, valve_present=True):
    fields, lines, tst = PROFILES[name]

    def value(field):
        f = FORMATS[fields[field]]
        return f[1] if full else f[2]

    out = []
    for obis, kind, arg in lines:
        if kind == "f":
            if arg == "mbus_valve" and not valve_present:
                continue
            out.append("%s(%s)" % (obis, value(arg)))
        elif kind in ("const", "hex"):
            out.append("%s(%s)" % (obis, arg))
        elif kind == "tst":
            out.append("%s(%s)" % (obis, tst))
        elif kind in ("mbus", "peak"):
            out.append("%s(%s)(%s)" % (obis, tst, value(arg)))
        elif kind == "pflog":
            out.append(obis + "(10)(0-0:96.7.19)"
                       + "(%s)(%s)" % (tst, value("pf_log_duration_s")) * 10)
        elif kind == "peaks":
            out.append(obis + "(13)(1-0:1.6.0)(1-0:1.6.0)"
                       + "(%s)(%s)(%s)" % (tst, tst, value(arg)) * 13)
    return out


def check_telegram(builder, n, header):
    data = bytes(builder.buf[:n])
    assert data[n - 7:n - 6] == b"!" and data[n - 2:] == b"\r\n"
    assert data[n - 6:n - 2] == ("%04X" % crc16_reflected(data[:n - 6], 0xA001)).encode()
    text = data.decode()
    lines = text[:-2].split("\r\n")
    assert lines[0] == "/" + header and lines[1] == ""
    for line in lines[2:-1]:  # no sign anywhere in a value (OBIS codes in logs aside)
        values = line.split("(", 1)[1].replace("0-0:96.7.19", "").replace("1-0:1.6.0", "")
        assert "-" not in values, line
    return lines[2:-1]


def test_every_profile_at_every_extreme():
    for name in PROFILES:
        p = profiles.by_name(name)
        header = p.header.decode()
        for level, top_of, full in LEVELS:
            s = extreme_snapshot(name, top_of)
            builder = TelegramBuilder(p)
            n = builder.build(s)
            assert n <= len(builder.buf), (name, level)
            valve = s.mbus_valve >= 0  # -1 and below: no position known, no line
            assert check_telegram(builder, n, header) == expected_lines(name, full, valve), \
                (name, level)
            if level == "max":
                # The longest telegram of the profile fills its buffer exactly.
                assert n == len(builder.buf) == max_telegram_length(p, p.header), name


def test_extremes_build_without_allocation():
    for name in PROFILES:
        p = profiles.by_name(name)
        for level, top_of, full in LEVELS:
            s = extreme_snapshot(name, top_of)
            builder = TelegramBuilder(p)
            expected = builder.build(s)
            first = bytes(builder.buf[:expected])
            with NoAllocation():
                n = builder.build(s)
            assert n == expected and bytes(builder.buf[:n]) == first, (name, level)


def test_counts_and_lengths_out_of_range():
    # z of the power failure log is at most 10 (DSMR 5.0.2 6.11), the Fluvius history 13;
    # a negative count prints an empty log; a negative length an empty string.
    s = extreme_snapshot("nl", lambda top: 7)
    nl = TelegramBuilder(profiles.by_name("nl"))
    be = TelegramBuilder(profiles.by_name("be"))
    for count, z, zp in ((11, "10", "11"), (HUGE, "10", "13"), (-1, "0", "0"),
                         (-HUGE, "0", "0")):
        s.pf_log_count = count
        s.peak_hist_count = count
        with NoAllocation():
            n = nl.build(s)
        lines = check_telegram(nl, n, "MPY5\\2H1-NL")
        log = [x for x in lines if x.startswith("1-0:99.97.0(")][0]
        assert log.startswith("1-0:99.97.0(%s)(0-0:96.7.19)" % z), count
        assert log.count("*s)") == int(z)
        lines = check_telegram(be, be.build(s), "MPY5\\2H1-BE")
        peaks = [x for x in lines if x.startswith("0-0:98.1.0(")][0]
        assert peaks.startswith("0-0:98.1.0(%s)(1-0:1.6.0)(1-0:1.6.0)" % zp), count
        assert peaks.count("*kW)") == int(zp)
    s.text_len = -1
    s.tariff_count = -HUGE
    lines = check_telegram(nl, nl.build(s), "MPY5\\2H1-NL")
    assert "0-0:96.13.0()" in lines
    assert [x for x in lines if x.startswith("1-0:1.8.")] == \
        ["1-0:1.8.1(000000.007*kWh)", "1-0:1.8.2(000000.007*kWh)"]
    s.text_len = HUGE
    s.equipment_id_len = HUGE
    lines = check_telegram(nl, nl.build(s), "MPY5\\2H1-NL")
    assert "0-0:96.13.0(%s)" % TEXT in lines and "0-0:96.1.1(%s)" % ID48 in lines


def test_buffer_sizes_by_hand():
    # The longest telegram of each profile, counted from the lines above: header line
    # "/" + header + CR LF CR LF, every line + CR LF, "!" + 4 CRC digits + CR LF.
    def longest(name):
        p = profiles.by_name(name)
        lines = expected_lines(name, True)
        return 1 + len(p.header) + 4 + sum(len(x) + 2 for x in lines) + 7

    for name in PROFILES:
        p = profiles.by_name(name)
        assert max_telegram_length(p, p.header) == longest(name), name


def test_be_many_negatives_with_a_known_valve_fit():
    # The overflow: negative demand peaks (13 + 1) and gas with every optional line
    # present (valve position known: 0, closed) used to write past the buffer's end.
    p = profiles.by_name("be")
    s = extreme_snapshot("be", lambda top: -1000)
    s.mbus_valve = 0
    builder = TelegramBuilder(p)
    with NoAllocation():
        n = builder.build(s)
    assert n <= len(builder.buf)
    assert check_telegram(builder, n, "MPY5\\2H1-BE") == expected_lines("be", False)
