# Metering server (firmware/han/se/metering.py) fed by the registers' sources
# (sources.py), and the units every reader applies (units.py): SE 1.4 Metering attribute
# ids, types and the formatting attributes; the shown kWh equals P1's to its last digit.
# Expected octets and strings by hand. Tiers 1 and 2.
from h1 import builder
from han.se import metering as sm
from han.se import sources, units
from han.zcl import frame as zf
from support import NoAllocation, lcg_bytes

JUL_1_2025_NOON = 1751371200     # ZCL 804686400 = 0x2FF68A40


class _View:
    """The registers' view (registers/view.py) as far as the sources read it."""

    def __init__(self):
        self.tariff_count = 2
        self.imp = [1234567, 7654321]
        self.exp = [100000, 23456]
        self.t = JUL_1_2025_NOON
        self.offset = 3600
        self.gas = None          # (litres, capture utc)

    def import_wh(self, t):
        return self.imp[t - 1]

    def export_wh(self, t):
        return self.exp[t - 1]

    def total_import_wh(self):
        return sum(self.imp)

    def total_export_wh(self):
        return sum(self.exp)

    def utc(self):
        return self.t

    def utc_offset_s(self, utc=None):
        return self.offset

    def gas_valid(self):
        return self.gas is not None

    def gas_litres(self):
        return self.gas[0]

    def gas_capture_utc(self):
        return self.gas[1]


def _ask(server, frame, unicast=True):
    h = zf.ZclHeader()
    p = zf.parse(frame, 0, len(frame), h)
    out = bytearray(127)
    n = server.handle(h, frame, p, len(frame), out, unicast)
    return n if n <= 0 else bytes(out[:n])


_power = [-1500]


def _electricity(view=None):
    src = sources.ElectricitySource(view or _View(), power_w=lambda: _power[0])
    return sm.MeteringServer(src, units.electricity(), sm.DEVICE_ELECTRIC)


def test_electricity_summations_tiers_and_demand():
    s = _electricity()
    assert s.cluster_id == 0x0702
    req = bytes.fromhex("00" "50" "00" "0000" "0100" "0001" "0101" "0201" "0301" "0004")
    want = bytes.fromhex(
        "18" "50" "01"
        "0000" "00" "25" "38A287000000"   # delivered 8888888 Wh = 1-0:1.8.0
        "0100" "00" "25" "40E201000000"   # received 123456 Wh = 1-0:2.8.0
        "0001" "00" "25" "87D612000000"   # tier 1 delivered 1234567 = 1-0:1.8.1
        "0101" "00" "25" "A08601000000"   # tier 1 received 100000 = 1-0:2.8.1
        "0201" "00" "25" "B1CB74000000"   # tier 2 delivered 7654321
        "0301" "00" "25" "A05B00000000"   # tier 2 received 23456
        "0004" "00" "2A" "24FAFF")        # InstantaneousDemand -1500 W (exporting)
    assert _ask(s, req) == want
    # Tier 3 does not exist on a 2-tariff meter.
    assert _ask(s, bytes.fromhex("00" "51" "00" "0401")) == bytes.fromhex("185101" "0401" "86")


def test_electricity_units_and_status():
    s = _electricity()
    req = bytes.fromhex("00" "52" "00" "0002" "0003" "0103" "0203" "0303" "0403" "0503"
                        "0603")
    want = bytes.fromhex(
        "18" "52" "01"
        "0002" "00" "18" "00"            # Status bitmap8: no fault
        "0003" "00" "30" "00"            # UnitOfMeasure enum8: kWh
        "0103" "00" "22" "010000"        # Multiplier uint24 1
        "0203" "00" "22" "E80300"        # Divisor uint24 1000: Wh -> kWh
        "0303" "00" "18" "33"            # SummationFormatting: 6 left, 3 right (F9(3,3))
        "0403" "00" "18" "13"            # DemandFormatting: 2 left, 3 right (F5(3,3))
        "0503" "00" "18" "33"            # HistoricalConsumptionFormatting
        "0603" "00" "18" "00")           # MeteringDeviceType: electric
    assert _ask(s, req) == want
    # Everything is read only: Write Attributes of Divisor gives READ_ONLY (88).
    assert _ask(s, bytes.fromhex("00" "53" "02" "0203" "22" "010000")) == bytes.fromhex(
        "18" "53" "04" "88" "0203")
    # No cluster commands served: Get Profile (00) is UNSUP_CLUSTER_COMMAND (81).
    assert _ask(s, bytes.fromhex("01" "54" "00" "00" "00000000" "01")) == bytes.fromhex(
        "18" "54" "0B" "0081")


def test_demand_clamped_to_int24():
    s = _electricity()
    req = bytes.fromhex("00" "55" "00" "0004")
    _power[0] = 9000000                  # beyond int24: the largest value, 7FFFFF
    assert _ask(s, req) == bytes.fromhex("185501" "0004" "00" "2A" "FFFF7F")
    _power[0] = -9000000                 # 800000 is the invalid value: 800001
    assert _ask(s, req) == bytes.fromhex("185501" "0004" "00" "2A" "010080")
    _power[0] = -1500


def test_day_week_month_consumption():
    v = _View()
    v.offset = 3600                      # CET, January
    src = sources.ElectricitySource(v)
    s = sm.MeteringServer(src, units.electricity())
    req = bytes.fromhex("00" "60" "00" "0104" "0304" "3004" "4004")
    # Wed 2025-01-15 08:00 UTC: just booted, no base known: the invalid values.
    v.t = 1736928000
    assert _ask(s, req) == bytes.fromhex("18" "60" "01" "0104" "00" "22" "FFFFFF"
                                         "0304" "00" "22" "FFFFFF"
                                         "3004" "00" "22" "FFFFFF"
                                         "4004" "00" "23" "FFFFFFFF")
    # Local midnight (23:00 UTC): today's base is the total then; 500 Wh later.
    v.t = 1736982000
    src.step(v.t)
    v.imp[0] += 500
    v.t += 3600
    got = _ask(s, req)
    assert got[3:10] == bytes.fromhex("0104" "00" "22" "F40100")     # 500 Wh today
    assert got[10:17] == bytes.fromhex("0304" "00" "22" "FFFFFF")    # yesterday unknown
    # Next local midnight: yesterday = 500 + 250; today starts at 0.
    v.imp[1] += 250
    v.t = 1736982000 + 86400
    src.step(v.t)
    v.imp[0] += 40
    got = _ask(s, req)
    assert got[3:17] == bytes.fromhex("0104" "00" "22" "280000" "0304" "00" "22" "EE0200")
    # Monday 2025-01-20 00:00 local = 2025-01-19 23:00 UTC: the week starts (step every
    # day so the days stay known).
    for day in range(2, 6):
        src.step(1736982000 + 86400 * day)
    v.imp[0] += 1000
    v.t = 1736982000 + 86400 * 5 + 60
    got = _ask(s, req)
    assert got[17:24] == bytes.fromhex("3004" "00" "22" "E80300")    # 1000 Wh this week
    # February: the month starts at 2025-01-31 23:00 UTC.
    for day in range(6, 17):
        src.step(1736982000 + 86400 * day)
    v.imp[0] += 70000
    v.t = 1738364400 + 60
    got = _ask(s, req)
    assert got[24:32] == bytes.fromhex("4004" "00" "23" "70110100")  # 70000 Wh


def test_mirror_of_the_gas_meter():
    v = _View()
    s = sm.MeteringServer(sources.MirrorSource(v), units.gas(3), sm.DEVICE_MIRRORED_GAS)
    req = bytes.fromhex("00" "70" "00" "0000" "0700" "0003" "0203" "0303" "0603" "0100"
                        "0004")
    # No reading yet: the invalid values, never an invented volume. No received
    # summation, no tiers, no demand on the mirror: UNSUPPORTED_ATTRIBUTE (86).
    assert _ask(s, req) == bytes.fromhex(
        "18" "70" "01" "0000" "00" "25" "FFFFFFFFFFFF" "0700" "00" "E2" "FFFFFFFF"
        "0003" "00" "30" "01" "0203" "00" "22" "E80300" "0303" "00" "18" "2B"
        "0603" "00" "18" "80" "0100" "86" "0004" "86")
    v.gas = (12345678, JUL_1_2025_NOON)   # 12345.678 m3 read at 2025-07-01 12:00 UTC
    got = _ask(s, req)
    assert got[3:21] == bytes.fromhex("0000" "00" "25" "4E61BC000000"
                                      "0700" "00" "E2" "408AF62F")


def test_metering_read_allocates_nothing():
    s = _electricity()
    req = bytes.fromhex("00" "71" "00" "0000" "0100" "0001" "0201" "0004" "0002" "0203"
                        "0303")
    h = zf.ZclHeader()
    out = bytearray(127)
    res = [0, 0]
    p = zf.parse(req, 0, len(req), h)
    s.handle(h, req, p, len(req), out, True)
    with NoAllocation():
        res[0] = zf.parse(req, 0, len(req), h)
        res[1] = s.handle(h, req, res[0], len(req), out, True)
    assert bytes(out[:13]) == bytes.fromhex("18" "71" "01" "0000" "00" "25" "38A287000000")
    assert res[1] == 3 + 4 * 10 + 7 + 5 + 7 + 5


def test_display_equals_p1_by_hand():
    e = units.electricity()
    # F9(3,3) kWh as P1 prints 1-0:1.8.x from Wh (DSMR 5.0.2 Table 6-3).
    for wh, p1 in ((0, "000000.000"), (1, "000000.001"), (999, "000000.999"),
                   (1000, "000001.000"), (123456, "000123.456"), (8888888, "008888.888"),
                   (100000000, "100000.000"), (999999999, "999999.999")):
        assert units.display(wh, e.multiplier, e.divisor, e.summation_fmt) == p1, wh
    # F5(3,3) kW from W (1-0:1.7.0), and the signed demand.
    for w, p1 in ((0, "00.000"), (1193, "01.193"), (99999, "99.999"), (-1500, "-01.500")):
        assert units.display(w, e.multiplier, e.divisor, e.demand_fmt) == p1, w
    # Gas F8(3,3) m3 from litres (0-1:24.2.1), F8(2,2) from 10 L steps.
    g = units.gas(3)
    assert units.display(12345678, g.multiplier, g.divisor, g.summation_fmt) == "12345.678"
    assert units.display(5, g.multiplier, g.divisor, g.summation_fmt) == "00000.005"
    g2 = units.gas(2)
    assert units.display(1234567, g2.multiplier, g2.divisor, g2.summation_fmt) == "012345.67"
    # Rounding half away from zero to the shown decimals; suppressed leading zeros;
    # a Multiplier; a value wider than its left digits keeps them all.
    two = units.formatting(2, 2)
    assert units.display(1235, 1, 1000, two) == "01.24"
    assert units.display(1234, 1, 1000, two) == "01.23"
    assert units.display(-1235, 1, 1000, two) == "-01.24"
    assert units.display(123456, 1, 1000, units.formatting(6, 3, True)) == "123.456"
    assert units.display(5, 1, 1000, units.formatting(6, 3, True)) == "0.005"
    assert units.display(7, 10, 1, units.formatting(3, 0)) == "070"
    assert units.display(123456, 1, 1, units.formatting(2, 0)) == "123456"


def test_display_equals_p1_builder_over_a_range():
    """The same strings as P1's own formatter (h1.builder.put_fixed, F9(3,3) from Wh) for
    pseudo-random registers up to the 9-digit rollover."""
    e = units.electricity()
    raw = lcg_bytes(400, seed=7)
    buf = bytearray(16)
    for i in range(100):
        wh = (raw[4 * i] | raw[4 * i + 1] << 8 | raw[4 * i + 2] << 16
              | (raw[4 * i + 3] & 0x3F) << 24) % 1000000000
        n = builder.put_fixed(buf, 0, wh, 9, 3)
        assert units.display(wh, e.multiplier, e.divisor, e.summation_fmt) == \
            bytes(buf[:n]).decode(), wh
