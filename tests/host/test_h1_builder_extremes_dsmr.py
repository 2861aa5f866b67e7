# Peer check of the builder's extreme telegrams (issue 14, "Builder"), tier 1 (CPython):
# every profile, every field at each extreme of tests/unit/test_h1_builder_extremes.py
# (max, max+1, huge, 0, -1, -huge), parsed by dsmr_parser (PyPI dsmr-parser 1.11.2) under
# the specification matching the profile, CRC checked, throw_ex on. Every line of each
# telegram is either parsed by the specification's object for exactly its OBIS code, with
# every value and unit equal to the hand-written text the unit test expects, or is listed
# below as an object that specification does not know.
import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from dsmr_parser import telegram_specifications as specs
from dsmr_parser.objects import CosemObject, MBusObject, ProfileGenericObject
from dsmr_parser.parsers import TelegramParser

import test_h1_builder_extremes as ex
from h1 import profiles
from h1.builder import TelegramBuilder

AMSTERDAM = ZoneInfo("Europe/Amsterdam")  # the zone dsmr_parser reads every TST in


def tariffs(group, first, last):
    return ["1-0:%s.8.%d" % (group, t) for t in range(first, last + 1)]


# Lines the dsmr_parser specification has no object for (checked by hand in its tables).
NL_UNKNOWN = tariffs("1", 3, 16) + tariffs("2", 3, 16)  # its V4/V5 know tariffs 1 and 2
SPECS = {
    "nl": (specs.V5, NL_UNKNOWN),
    "nl4": (specs.V4, NL_UNKNOWN),
    "be": (specs.BELGIUM_FLUVIUS, NL_UNKNOWN),
    "lu": (specs.LUXEMBOURG_SMARTY,
           ["1-0:3.8.0", "1-0:4.8.0", "1-0:3.7.0", "1-0:4.7.0", "0-0:17.0.0", "1-0:9.7.0",
            "1-0:10.7.0", "0-0:96.3.10", "1-0:23.7.0", "1-0:43.7.0", "1-0:63.7.0",
            "1-0:24.7.0", "1-0:44.7.0", "1-0:64.7.0"]),  # in its MSN table, not here
    "se": (specs.SWEDEN, ["1-0:3.7.0", "1-0:4.7.0"]),
    "lt": (specs.V5, ["1-0:2.8.0", "1-0:1.8.3", "1-0:1.8.4"]),  # no Lithuanian table
}
SUFFIX = r".+?\r\n"  # every object pattern of these tables is "^" + OBIS + SUFFIX


def strict(obj):
    """The object's OBIS pattern followed by "(": dsmr_parser's own patterns also take
    1-0:1.8.10 .. 1.8.16 for 1-0:1.8.1, which this check does not count as knowing them."""
    pattern = obj["obis_reference"]
    assert pattern.startswith("^") and pattern.endswith(SUFFIX), pattern
    return re.compile(pattern[:-len(SUFFIX)] + r"\(")


def tst(text):
    assert len(text) == 13 and text[12] in "SW", text
    return datetime(2000 + int(text[0:2]), int(text[2:4]), int(text[4:6]), int(text[6:8]),
                    int(text[8:10]), int(text[10:12]), tzinfo=AMSTERDAM)


def same(value, unit, group):
    text, _, want_unit = group.partition("*")
    if isinstance(value, datetime):
        assert value == tst(text), (value, group)
    elif isinstance(value, str):
        assert value == text, (value, group)
    elif value is None:
        assert text == "", group
    else:
        assert Decimal(value) == Decimal(text), (value, group)
    if want_unit:
        assert unit == want_unit, (unit, group)


def check_object(parsed, line):
    groups = re.findall(r"\(([^()]*)\)", line)
    if isinstance(parsed, list):  # Fluvius 0-0:98.1.0: (z)(id)(id) then (TST)(TST)(v*kW)...
        assert len(parsed) == int(groups[0]) and len(groups) == 3 + 3 * len(parsed)
        for i, peak in enumerate(parsed):
            assert peak.datetime == tst(groups[3 + 3 * i])
            assert peak.occurred == tst(groups[4 + 3 * i])
            same(peak.value, peak.unit, groups[5 + 3 * i])
    elif isinstance(parsed, ProfileGenericObject):  # 1-0:99.97.0: (z)(id) then (TST)(v*s)
        assert parsed.buffer_length == int(groups[0]) and parsed.buffer_type == groups[1]
        assert len(groups) == 2 + 2 * parsed.buffer_length
        for i, entry in enumerate(parsed.buffer):
            assert entry.datetime == tst(groups[2 + 2 * i])
            same(entry.value, entry.unit, groups[3 + 2 * i])
    elif isinstance(parsed, MBusObject):  # (TST)(v*unit)
        assert len(groups) == 2
        assert parsed.datetime == tst(groups[0])
        same(parsed.value, parsed.unit, groups[1])
    else:
        assert isinstance(parsed, CosemObject) and len(groups) == 1, line
        same(parsed.value, parsed.unit, groups[0])


def extreme_text(name, top_of):
    builder = TelegramBuilder(profiles.by_name(name))
    s = ex.extreme_snapshot(name, top_of)
    n = builder.build(s)
    return bytes(builder.buf[:n]).decode("ascii"), s


def test_every_extreme_telegram_parses_line_for_line():
    for name, (spec, unknown) in SPECS.items():
        objects = [(strict(o), o) for o in spec["objects"]]
        parser = TelegramParser(spec, apply_checksum_validation=True)
        for level, top_of, full in ex.LEVELS:
            text, s = extreme_text(name, top_of)
            lines = text.split("\r\n")[2:-2]
            assert lines == ex.expected_lines(name, full, s.mbus_valve >= 0), (name, level)
            telegram = parser.parse(text, throw_ex=True)  # CRC checked
            missing = []
            for line in lines:
                known = [o for pattern, o in objects if pattern.match(line)]
                if not known:
                    missing.append(line.split("(", 1)[0])
                for o in known:
                    check_object(o["value_parser"].parse(line + "\r\n"), line)
                    assert hasattr(telegram, o["value_name"]), (name, level, o["value_name"])
            assert missing == unknown, (name, level, missing)


def test_the_largest_values_as_dsmr_parser_reads_them():
    # A few values stated as numbers, not texts: what a Home Assistant user would see.
    text, _ = extreme_text("nl", lambda top: ex.HUGE)
    t = TelegramParser(specs.V5).parse(text, throw_ex=True)
    assert t.ELECTRICITY_USED_TARIFF_2.value == Decimal("999999.999")
    assert t.CURRENT_ELECTRICITY_USAGE.value == Decimal("99.999")
    assert t.INSTANTANEOUS_CURRENT_L1.value == Decimal(999)
    assert t.INSTANTANEOUS_VOLTAGE_L3.value == Decimal("999.9")
    assert t.SHORT_POWER_FAILURE_COUNT.value == 99999
    assert [e.value for e in t.POWER_EVENT_FAILURE_LOG.buffer] == [9999999999] * 10
    assert t.MBUS_METER_READING.value == Decimal("99999.999")
    text, _ = extreme_text("se", lambda top: ex.NEG_HUGE)
    t = TelegramParser(specs.SWEDEN).parse(text, throw_ex=True)
    assert t.ELECTRICITY_IMPORTED_TOTAL.value == Decimal(0)
    assert t.INSTANTANEOUS_ACTIVE_POWER_L1_NEGATIVE.value == Decimal(0)
    text, _ = extreme_text("be", lambda top: top + 1)
    t = TelegramParser(specs.BELGIUM_FLUVIUS).parse(text, throw_ex=True)
    assert t.BELGIUM_MAXIMUM_DEMAND_MONTH.value == Decimal("99.999")
    assert [p.value for p in t.BELGIUM_MAXIMUM_DEMAND_13_MONTHS] == [Decimal("99.999")] * 13
    assert t.INSTANTANEOUS_CURRENT_L2.value == Decimal("999.99")
    assert t.ACTUAL_TRESHOLD_ELECTRICITY.value == Decimal("999.9")
