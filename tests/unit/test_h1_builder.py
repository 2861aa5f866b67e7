# H1 telegram builder and profiles (firmware/h1/builder.py, profiles.py) and the EU
# summer-time rule it uses (firmware/registers/civil.py).
# Portable: CPython (tier 1) and MicroPython (tier 2, where NoAllocation locks the heap).
# Expected texts come from the DSMR 5.0.2 P1 Companion Standard (6.13 example telegram),
# UTC constants from CPython's calendar.timegm, never from the code under test.
from h1 import profiles
from h1.builder import TelegramBuilder, put_fixed, put_tst
from h1.snapshot import MeterSnapshot
from native.crc16 import crc16_python
from registers import civil
from support import NoAllocation

# DSMR 5.0.2 6.13, the example telegram (lines as printed, header excluded; its CRC "EF2F"
# is known not to check, see shared/reference/P1.md).
DSMR5_EXAMPLE_BODY = (
    "1-3:0.2.8(50)",
    "0-0:1.0.0(101209113020W)",
    "0-0:96.1.1(4B384547303034303436333935353037)",
    "1-0:1.8.1(123456.789*kWh)",
    "1-0:1.8.2(123456.789*kWh)",
    "1-0:2.8.1(123456.789*kWh)",
    "1-0:2.8.2(123456.789*kWh)",
    "0-0:96.14.0(0002)",
    "1-0:1.7.0(01.193*kW)",
    "1-0:2.7.0(00.000*kW)",
    "0-0:96.7.21(00004)",
    "0-0:96.7.9(00002)",
    "1-0:99.97.0(2)(0-0:96.7.19)(101208152415W)(0000000240*s)(101208151004W)(0000000301*s)",
    "1-0:32.32.0(00002)",
    "1-0:52.32.0(00001)",
    "1-0:72.32.0(00000)",
    "1-0:32.36.0(00000)",
    "1-0:52.36.0(00003)",
    "1-0:72.36.0(00000)",
    "0-0:96.13.0(" + "303132333435363738393A3B3C3D3E3F" * 5 + ")",
    "1-0:32.7.0(220.1*V)",
    "1-0:52.7.0(220.2*V)",
    "1-0:72.7.0(220.3*V)",
    "1-0:31.7.0(001*A)",
    "1-0:51.7.0(002*A)",
    "1-0:71.7.0(003*A)",
    "1-0:21.7.0(01.111*kW)",
    "1-0:41.7.0(02.222*kW)",
    "1-0:61.7.0(03.333*kW)",
    "1-0:22.7.0(04.444*kW)",
    "1-0:42.7.0(05.555*kW)",
    "1-0:62.7.0(06.666*kW)",
    "0-1:24.1.0(003)",
    "0-1:96.1.0(3232323241424344313233343536373839)",
    "0-1:24.2.1(101209112500W)(12785.123*m3)",
)


def dsmr5_example_snapshot():
    s = MeterSnapshot()
    s.utc = 1291890620  # 2010-12-09 10:30:20 UTC = 11:30:20 CET
    s.utc_offset_s = 3600
    s.dst = 0
    s.set_equipment_id(b"K8EG004046395507")
    for t in range(2):
        s.import_wh[t] = 123456789
        s.export_wh[t] = 123456789
    s.tariff = 2
    s.power_import_w = 1193
    s.power_failures = 4
    s.long_power_failures = 2
    s.pf_log_count = 2
    s.pf_log_end_utc[0] = 1291818255  # 2010-12-08 14:24:15 UTC
    s.pf_log_duration_s[0] = 240
    s.pf_log_end_utc[1] = 1291817404  # 2010-12-08 14:10:04 UTC
    s.pf_log_duration_s[1] = 301
    s.sag_count[0] = 2
    s.sag_count[1] = 1
    s.swell_count[1] = 3
    s.set_text(b"0123456789:;<=>?" * 5)
    s.voltage_dv[0] = 2201
    s.voltage_dv[1] = 2202
    s.voltage_dv[2] = 2203
    s.current_ma[0] = 1000
    s.current_ma[1] = 2000
    s.current_ma[2] = 3000
    s.power_import_w_l[0] = 1111
    s.power_import_w_l[1] = 2222
    s.power_import_w_l[2] = 3333
    s.power_export_w_l[0] = 4444
    s.power_export_w_l[1] = 5555
    s.power_export_w_l[2] = 6666
    s.mbus_valid = 1
    s.mbus_device_type = 3
    s.set_mbus_id(b"2222ABCD123456789")
    s.gas_litres = 12785123
    s.gas_utc = 1291890300  # 2010-12-09 10:25:00 UTC
    return s


def lines_of(builder, n):
    text = bytes(builder.buf[:n]).decode()
    assert text.endswith("\r\n")
    return text[:-2].split("\r\n")


def fixed(value, n, d, div=1):
    buf = bytearray(24)
    end = put_fixed(buf, 0, value, n, d, div)
    return bytes(buf[:end]).decode()


def test_fixed_point_formats_of_table_6_3():
    assert fixed(123456789, 9, 3) == "123456.789"  # F9(3,3) kWh from Wh
    assert fixed(34, 9, 3) == "000000.034"
    assert fixed(1193, 5, 3) == "01.193"  # F5(3,3) kW from W
    assert fixed(2201, 4, 1) == "220.1"  # F4(1,1) V from dV
    assert fixed(4, 5, 0) == "00004"  # F5(0,0)
    assert fixed(240, 10, 0) == "0000000240"  # F10(0,0)
    assert fixed(2, 4, 0) == "0002"  # tariff indicator S4
    assert fixed(12785123, 8, 3) == "12785.123"  # F8(3,3) m3 from litres


def test_division_rounds_half_away_from_zero():
    assert fixed(1499, 3, 0, 1000) == "001"
    assert fixed(1500, 3, 0, 1000) == "002"
    assert fixed(270, 5, 2, 10) == "000.27"  # Fluvius current, mA -> A with 2 decimals
    assert fixed(275, 5, 2, 10) == "000.28"
    assert fixed(999900, 4, 1, 100) == "999.9"  # limiter, VA -> kW with 1 decimal
    assert fixed(-63, 3, 0) == "000"  # no sign in Fn/In: DSMR 5.0.2 6.4 Table 5-1
    assert fixed(-1500, 3, 0, 1000) == "000"


def test_values_wider_than_the_format_are_clamped():
    assert fixed(100000, 5, 3) == "99.999"
    assert fixed(1234, 3, 0) == "999"
    # 11-digit formats (Sweden "8.3") take any small int without clamping.
    assert fixed(999999999, 11, 3) == "00999999.999"


def tst(utc, offset, dst):
    buf = bytearray(13)
    put_tst(buf, 0, utc, offset, dst)
    return bytes(buf).decode()


def test_timestamps():
    assert tst(1291890620, 3600, 0) == "101209113020W"
    assert tst(1709251199, 0, 0) == "240229235959W"  # leap day
    assert tst(1709251199, 3600, 0) == "240301005959W"
    assert tst(4107542400, 0, 0) == "000301000000W"  # 2100 is not a leap year
    assert tst(1743296400, 3600, 1) == "250330030000S"
    assert tst(0, 0, 0) == "700101000000W"


def test_eu_summer_time_boundaries():
    start = 1743296400  # 2025-03-30 01:00:00 UTC
    end = 1761440400  # 2025-10-26 01:00:00 UTC
    assert not civil.eu_summer_time(start - 1)
    assert civil.eu_summer_time(start)
    assert civil.eu_summer_time(end - 1)
    assert not civil.eu_summer_time(end)
    assert not civil.eu_summer_time(1291890620)  # December


def test_dsmr5_example_telegram_line_for_line():
    builder = TelegramBuilder(profiles.by_name("nl"), b"ISk5\\2MT382-1000")
    n = builder.build(dsmr5_example_snapshot())
    lines = lines_of(builder, n)
    assert lines[0] == "/ISk5\\2MT382-1000"
    assert lines[1] == ""
    assert tuple(lines[2:-1]) == DSMR5_EXAMPLE_BODY
    assert lines[-1][0] == "!" and len(lines[-1]) == 5


def test_crc_covers_slash_to_bang_upper_case_hex():
    for p in profiles.PROFILES:
        builder = TelegramBuilder(p)
        n = builder.build(dsmr5_example_snapshot())
        data = bytes(builder.buf[:n])
        bang = data.rindex(b"!")
        assert data[0:1] == b"/" and bang == n - 7
        assert data[bang + 1:n - 2] == ("%04X" % crc16_python(data[:bang + 1])).encode()
        body = data[:bang]
        assert body.count(b"\n") == body.count(b"\r\n")  # CR LF everywhere
        assert b"\r\n\r\n" in body[:40]


def test_dsmr4_profile_derives_from_dsmr5():
    builder = TelegramBuilder(profiles.by_name("nl4"))
    lines = lines_of(builder, builder.build(dsmr5_example_snapshot()))
    assert "1-3:0.2.8(42)" in lines
    assert not [line for line in lines if line.startswith("1-0:32.7.0")]
    assert "1-0:21.7.0(01.111*kW)" in lines
    assert profiles.by_name("nl4").period_s == 10


def test_belgian_profile_objects():
    s = dsmr5_example_snapshot()
    s.demand_avg_w = 2351
    s.peak_month_w = 2589
    s.peak_month_utc = 1589024758  # 2020-05-09 11:45:58 UTC = 13:45:58 CEST
    s.peak_hist_count = 1
    s.peak_hist_month_utc[0] = 1588284000  # 2020-04-30 22:00:00 UTC = 05-01 00:00 CEST
    s.peak_hist_utc[0] = 1587662738  # 2020-04-23 17:25:38 UTC = 19:25:38 CEST
    s.peak_hist_w[0] = 3695
    s.current_ma[0] = 270
    builder = TelegramBuilder(profiles.by_name("be"))
    lines = lines_of(builder, builder.build(s))
    assert lines[2] == "0-0:96.1.4(50217)"
    assert "1-0:1.4.0(02.351*kW)" in lines
    assert "1-0:1.6.0(200509134558S)(02.589*kW)" in lines  # as in telegram_fluvius_v171
    assert ("0-0:98.1.0(1)(1-0:1.6.0)(1-0:1.6.0)(200501000000S)(200423192538S)(03.695*kW)"
            in lines)
    assert "1-0:31.7.0(000.27*A)" in lines
    assert "0-1:96.1.1(3232323241424344313233343536373839)" in lines
    assert "0-1:24.2.3(101209112500W)(12785.123*m3)" in lines
    assert "0-0:17.0.0(999.9*kW)" in lines


def test_mbus_lines_only_with_a_gas_meter():
    s = dsmr5_example_snapshot()
    s.mbus_valid = 0
    for name in ("nl", "be", "lu"):
        builder = TelegramBuilder(profiles.by_name(name))
        text = bytes(builder.buf[:builder.build(s)])
        assert b"0-1:" not in text, name


def test_power_failure_log_limits():
    s = dsmr5_example_snapshot()
    s.pf_log_count = 0
    builder = TelegramBuilder(profiles.by_name("nl"))
    assert "1-0:99.97.0(0)(0-0:96.7.19)" in lines_of(builder, builder.build(s))
    s.pf_log_count = 12  # more than the log holds: z max 10 (6.11)
    line = [x for x in lines_of(builder, builder.build(s)) if x.startswith("1-0:99.97.0")][0]
    assert line.startswith("1-0:99.97.0(10)(0-0:96.7.19)(")
    assert line.count("*s)") == 10


def test_text_and_identifiers_are_length_limited_hex():
    s = dsmr5_example_snapshot()
    s.set_text(bytes(range(256)) * 4)  # 1024 octets, every value
    s.set_equipment_id(b"ABCDEFGHIJKLMNOPQRST")  # 20 octets; Smarty's 42.0.0 is S32
    builder = TelegramBuilder(profiles.by_name("lu"))
    lines = lines_of(builder, builder.build(s))
    text = [x for x in lines if x.startswith("0-0:96.13.0(")][0]
    assert text[12:-1] == "".join("%02X" % b for b in range(256)) * 4
    assert "0-0:42.0.0(4142434445464748494A4B4C4D4E4F50)" in lines
    s.text_len = 0
    lines = lines_of(builder, builder.build(s))
    assert "0-0:96.13.0()" in lines


def test_sixteen_tariffs():
    s = dsmr5_example_snapshot()
    s.tariff_count = 16
    for t in range(16):
        s.import_wh[t] = 1000 * (t + 1) + t
    builder = TelegramBuilder(profiles.by_name("nl"))
    lines = lines_of(builder, builder.build(s))
    assert "1-0:1.8.16(000016.015*kWh)" in lines
    assert "1-0:1.8.3(000003.002*kWh)" in lines
    s.tariff_count = 2
    lines = lines_of(builder, builder.build(s))
    assert not [x for x in lines if x.startswith("1-0:1.8.3(")]


def test_sweden_is_standard_time_all_year():
    s = dsmr5_example_snapshot()
    s.utc = 1743296400  # 2025-03-30 01:00 UTC: summer time in the EU
    s.dst = 1
    builder = TelegramBuilder(profiles.by_name("se"))
    lines = lines_of(builder, builder.build(s))
    assert "0-0:1.0.0(250330020000W)" in lines  # Swedish normal time, X = W
    assert "1-0:31.7.0(001.0*A)" in lines  # format 3.1
    assert "1-0:21.7.0(0001.111*kW)" in lines  # format 4.3


def test_every_profile_fits_its_buffer_at_full_size():
    s = dsmr5_example_snapshot()
    s.tariff_count = 16
    s.set_text(b"x" * 1024)
    s.set_equipment_id(b"y" * 48)
    s.set_mbus_id(b"z" * 48)
    s.pf_log_count = 10
    s.peak_hist_count = 13
    for p in profiles.PROFILES:
        builder = TelegramBuilder(p)
        n = builder.build(s)
        assert 0 < n <= len(builder.buf), p.name


def test_build_allocates_nothing_after_warm_up():
    s = dsmr5_example_snapshot()
    s.peak_hist_count = 2
    for p in profiles.PROFILES:
        builder = TelegramBuilder(p)
        expected = builder.build(s)
        first = bytes(builder.buf[:expected])
        with NoAllocation():
            n = builder.build(s)
        assert n == expected and bytes(builder.buf[:n]) == first, p.name
