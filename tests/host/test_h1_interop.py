# Interoperability of the P1 telegrams with the readers people use (tier 1, CPython only):
# every telegram built here, in every profile, is parsed by dsmr_parser (PyPI dsmr-parser
# 1.11.2) under the matching specification with CRC checking on, and every parsed value is
# compared, to the last digit, with the snapshot field it came from. Expected values are
# formed here with Decimal and datetime from the physical units (Wh -> kWh ...), not with the
# builder's tables. Encrypted Smarty frames are opened with dsmr_parser (dlms-cosem inside),
# with dlms-cosem directly and with cryptography.
import copy
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from dlms_cosem.connection import XDlmsApduFactory
from dsmr_parser import telegram_specifications as specs
from dsmr_parser.parsers import TelegramParser
from hypothesis import given, settings, strategies as st

from h1 import profiles
from h1.builder import TelegramBuilder
from h1.crypt import FrameEncryptor
from h1.snapshot import MeterSnapshot
from p1_simsource import SimSource
from registers.counters import RamCounterStore

AMSTERDAM = ZoneInfo("Europe/Amsterdam")  # the zone dsmr_parser reads every TST in
KEY = bytes.fromhex("0123456789ABCDEF0123456789ABCDEF")
AK = bytes.fromhex("00112233445566778899AABBCCDDEEFF")  # Smarty 1.1.3 3.2.5
TITLE = b"MPYH1SIM"


def kwh(wh):
    return Decimal(wh).scaleb(-3)


def rounded(value, div, places):
    q = Decimal(1).scaleb(-places)
    return (Decimal(value) / div).quantize(q, rounding=ROUND_HALF_UP)


def ts(utc):
    return datetime.fromtimestamp(utc, timezone.utc)


def hexid(octets, n):
    return bytes(octets[:n]).hex().upper() or None


def dst_in_amsterdam(utc):
    return 1 if datetime.fromtimestamp(utc, AMSTERDAM).dst() else 0


def phases(names, values, convert):
    return {name: convert(values[i]) for i, name in enumerate(names)}


L = ("L1", "L2", "L3")


def expected_common(s, amps):
    e = {
        "P1_MESSAGE_TIMESTAMP": ts(s.utc),
        "CURRENT_ELECTRICITY_USAGE": kwh(s.power_import_w),
        "CURRENT_ELECTRICITY_DELIVERY": kwh(s.power_export_w),
    }
    e.update(phases(["INSTANTANEOUS_ACTIVE_POWER_%s_POSITIVE" % p for p in L],
                    s.power_import_w_l, kwh))
    e.update(phases(["INSTANTANEOUS_ACTIVE_POWER_%s_NEGATIVE" % p for p in L],
                    s.power_export_w_l, kwh))
    e.update(phases(["INSTANTANEOUS_VOLTAGE_%s" % p for p in L], s.voltage_dv,
                    lambda v: Decimal(v).scaleb(-1)))
    e.update(phases(["INSTANTANEOUS_CURRENT_%s" % p for p in L], s.current_ma, amps))
    return e


def expected_nl(s, version="50"):
    e = expected_common(s, lambda ma: rounded(ma, 1000, 0))
    e.update({
        "P1_MESSAGE_HEADER": version,
        "EQUIPMENT_IDENTIFIER": identity(s),
        "ELECTRICITY_USED_TARIFF_1": kwh(s.import_wh[0]),
        "ELECTRICITY_USED_TARIFF_2": kwh(s.import_wh[1]),
        "ELECTRICITY_DELIVERED_TARIFF_1": kwh(s.export_wh[0]),
        "ELECTRICITY_DELIVERED_TARIFF_2": kwh(s.export_wh[1]),
        "ELECTRICITY_ACTIVE_TARIFF": "%04d" % s.tariff,
        "SHORT_POWER_FAILURE_COUNT": s.power_failures,
        "LONG_POWER_FAILURE_COUNT": s.long_power_failures,
        "TEXT_MESSAGE": hexid(s.text, s.text_len),
    })
    e.update(phases(["VOLTAGE_SAG_%s_COUNT" % p for p in L], s.sag_count, int))
    e.update(phases(["VOLTAGE_SWELL_%s_COUNT" % p for p in L], s.swell_count, int))
    return e


ABSENT = object()  # a line the telegram must not carry (e.g. no identity when unprovisioned)


def identity(s, limit=48):
    """The expected equipment identifier, or ABSENT: an unprovisioned meter leaves it out."""
    return hexid(s.equipment_id, min(s.equipment_id_len, limit)) if s.equipment_id_len \
        else ABSENT


def check_valve(telegram, s):
    assert hasattr(telegram, "MBUS_VALVE_POSITION") == (s.mbus_valve >= 0)


def check_values(telegram, expected):
    for name, value in expected.items():
        if value is ABSENT:
            assert not hasattr(telegram, name), name
            continue
        assert hasattr(telegram, name), name
        got = getattr(telegram, name).value
        assert got == value, (name, got, value)


def check_pf_log(telegram, s):
    log = telegram.POWER_EVENT_FAILURE_LOG
    z = min(s.pf_log_count, 10)
    assert log.buffer_length == z and log.buffer_type == "0-0:96.7.19"
    for i, entry in enumerate(log.buffer):
        assert entry.datetime == ts(s.pf_log_end_utc[i])
        assert entry.value == s.pf_log_duration_s[i] and entry.unit == "s"


def check_gas(reading, s, unit="m3"):
    assert reading.value == kwh(s.gas_litres) and reading.unit == unit
    assert reading.datetime == ts(s.gas_utc)


def build(profile_name, snapshot, header=None):
    builder = TelegramBuilder(profiles.by_name(profile_name), header)
    n = builder.build(snapshot)
    return bytes(builder.buf[:n]).decode("ascii")


def parse(spec, text):
    return TelegramParser(spec, apply_checksum_validation=True).parse(text, throw_ex=True)


def sim_snapshots(start, seconds, step, tariff_count=2, utc_offset_s=3600):
    src = SimSource(start, utc_offset_s=utc_offset_s, tariff_count=tariff_count)
    out = []
    for t in range(1, seconds, step):
        snap = MeterSnapshot()
        src.capture(snap, start + t)
        out.append(snap)
    return out


WINTER = 1735682330  # 2024-12-31 22:58:50 CET: a tariff switch at 23:00
DST_START = 1743296280  # 2025-03-30 00:58:00 UTC: summer time begins at 01:00 UTC
DST_END = 1761440280  # 2025-10-26 00:58:00 UTC: and ends at 01:00 UTC
SCENARIOS = [(start, 400, 7) for start in (WINTER, DST_START, DST_END)]


def all_snapshots(**kw):
    snaps = []
    for start, seconds, step in SCENARIOS:
        snaps.extend(sim_snapshots(start, seconds, step, **kw))
    return snaps


def test_sim_scenarios_cover_tariffs_dst_and_gas():
    snaps = all_snapshots()
    assert {s.tariff for s in snaps} == {1, 2}
    assert {s.dst for s in snaps} == {0, 1}
    assert len({s.gas_utc for s in snaps}) >= 4


def test_nl_dsmr5_every_value():
    for s in all_snapshots():
        t = parse(specs.V5, build("nl", s))
        check_values(t, expected_nl(s))
        check_pf_log(t, s)
        assert t.MBUS_DEVICE_TYPE.value == 3
        assert t.MBUS_EQUIPMENT_IDENTIFIER.value == hexid(s.mbus_id, s.mbus_id_len)
        check_gas(t.MBUS_METER_READING, s)
        device = t.get_mbus_device_by_channel(1)
        assert device is not None and device.MBUS_METER_READING.value == kwh(s.gas_litres)


def test_nl_dsmr4_compatibility_every_value():
    for s in all_snapshots():
        t = parse(specs.V4, build("nl4", s))
        e = expected_nl(s, "42")
        for p in L:
            del e["INSTANTANEOUS_VOLTAGE_%s" % p]  # not in DSMR 4.2.2
        check_values(t, e)
        check_pf_log(t, s)
        assert t.DEVICE_TYPE.value == 3
        assert t.EQUIPMENT_IDENTIFIER_GAS.value == hexid(s.mbus_id, s.mbus_id_len)
        check_gas(t.HOURLY_GAS_METER_READING, s)


def expected_be(s):
    e = expected_common(s, lambda ma: rounded(ma, 1000, 2))
    e.update({
        "BELGIUM_VERSION_INFORMATION": "50217",
        "BELGIUM_EQUIPMENT_IDENTIFIER": identity(s),
        "ELECTRICITY_USED_TARIFF_1": kwh(s.import_wh[0]),
        "ELECTRICITY_USED_TARIFF_2": kwh(s.import_wh[1]),
        "ELECTRICITY_DELIVERED_TARIFF_1": kwh(s.export_wh[0]),
        "ELECTRICITY_DELIVERED_TARIFF_2": kwh(s.export_wh[1]),
        "ELECTRICITY_ACTIVE_TARIFF": "%04d" % s.tariff,
        "BELGIUM_CURRENT_AVERAGE_DEMAND": kwh(s.demand_avg_w),
        "ACTUAL_SWITCH_POSITION": s.breaker_state,
        "ACTUAL_TRESHOLD_ELECTRICITY": rounded(s.limiter_threshold_va, 1000, 1),
        "FUSE_THRESHOLD_L1": Decimal(s.fuse_threshold_a),
        "TEXT_MESSAGE": hexid(s.text, s.text_len),
        "MBUS_DEVICE_TYPE": 3,
        "MBUS_EQUIPMENT_IDENTIFIER": hexid(s.mbus_id, s.mbus_id_len),
    })
    if s.mbus_valve >= 0:  # only a position the gas meter reported (-1: none, no line)
        e["MBUS_VALVE_POSITION"] = s.mbus_valve
    return e


def check_be(t, s):
    check_values(t, expected_be(s))
    peak = t.BELGIUM_MAXIMUM_DEMAND_MONTH
    assert peak.value == kwh(s.peak_month_w) and peak.datetime == ts(s.peak_month_utc)
    history = t.BELGIUM_MAXIMUM_DEMAND_13_MONTHS
    assert len(history) == s.peak_hist_count
    for i, h in enumerate(history):
        assert h.datetime == ts(s.peak_hist_month_utc[i])
        assert h.occurred == ts(s.peak_hist_utc[i])
        assert h.value == kwh(s.peak_hist_w[i])
    check_gas(t.MBUS_METER_READING, s)
    check_valve(t, s)


def test_be_fluvius_every_value():
    snaps = all_snapshots()
    assert len({s.peak_month_w for s in snaps}) > 1  # the month peak moves in the sim
    for s in snaps:
        check_be(parse(specs.BELGIUM_FLUVIUS, build("be", s)), s)


def expected_lu(s):
    e = expected_common(s, lambda ma: rounded(ma, 1000, 0))
    e.update({
        "P1_MESSAGE_HEADER": "42",
        "LUXEMBOURG_EQUIPMENT_IDENTIFIER": identity(s, 16),
        "ELECTRICITY_IMPORTED_TOTAL": kwh(s.import_total_wh),
        "ELECTRICITY_EXPORTED_TOTAL": kwh(s.export_total_wh),
        "SHORT_POWER_FAILURE_COUNT": s.power_failures,
        "TEXT_MESSAGE": hexid(s.text, s.text_len),
        "MBUS_DEVICE_TYPE": 3,
        "MBUS_EQUIPMENT_IDENTIFIER": hexid(s.mbus_id, s.mbus_id_len),
    })
    if s.mbus_valve >= 0:  # only a position the gas meter reported (-1: none, no line)
        e["MBUS_VALVE_POSITION"] = s.mbus_valve
    e.update(phases(["VOLTAGE_SAG_%s_COUNT" % p for p in L], s.sag_count, int))
    e.update(phases(["VOLTAGE_SWELL_%s_COUNT" % p for p in L], s.swell_count, int))
    return e


def expected_msn(s):
    e = expected_lu(s)
    e.update({
        "ELECTRICITY_REACTIVE_IMPORTED_TOTAL": kwh(s.reactive_import_varh),
        "ELECTRICITY_REACTIVE_EXPORTED_TOTAL": kwh(s.reactive_export_varh),
        "CURRENT_REACTIVE_IMPORTED": kwh(s.reactive_import_var),
        "CURRENT_REACTIVE_EXPORTED": kwh(s.reactive_export_var),
        "ACTUAL_TRESHOLD_ELECTRICITY": rounded(s.limiter_threshold_va, 1000, 1),
        "MSN_INSTANTANEOUS_APPARENT_POWER_POSITIVE": kwh(s.apparent_import_va),
        "MSN_INSTANTANEOUS_APPARENT_POWER_NEGATIVE": kwh(s.apparent_export_va),
        "ACTUAL_SWITCH_POSITION": s.breaker_state,
    })
    e.update(phases(["INSTANTANEOUS_REACTIVE_POWER_%s_POSITIVE" % p for p in L],
                    s.reactive_import_var_l, kwh))
    e.update(phases(["INSTANTANEOUS_REACTIVE_POWER_%s_NEGATIVE" % p for p in L],
                    s.reactive_export_var_l, kwh))
    return e


def test_lu_smarty_plaintext_every_value():
    for s in all_snapshots():
        text = build("lu", s)
        t = parse(specs.LUXEMBOURG_SMARTY, text)
        check_values(t, expected_lu(s))
        check_gas(t.MBUS_METER_READING, s)
        check_valve(t, s)


def encrypt(text, encryptor):
    plain = text.encode("ascii")
    n = encryptor.encrypt(plain, len(plain))
    return bytes(encryptor.frame[:n])


def test_lu_smarty_encrypted_frames_open_with_dsmr_parser_dlms_cosem_and_cryptography():
    store = RamCounterStore()
    snaps = sim_snapshots(WINTER, 120, 10)
    encryptor = FrameEncryptor(KEY, TITLE, store, 4000)
    msn = TelegramParser(specs.MSN, apply_checksum_validation=True)
    for i, s in enumerate(snaps):
        text = build("lu", s)
        frame = encrypt(text, encryptor)
        # dsmr_parser with its Smarty/MSN specification: dlms-cosem checks the GCM tag.
        t = msn.parse(frame.hex(), encryption_key=KEY.hex(), authentication_key=AK.hex(),
                      throw_ex=True)
        check_values(t, expected_msn(s))
        # dlms-cosem directly.
        apdu = XDlmsApduFactory.apdu_from_bytes(apdu_bytes=frame)
        assert apdu.system_title == TITLE and apdu.invocation_counter == i
        assert apdu.to_plain_apdu(KEY, AK).decode("ascii") == text
        # cryptography, with the frame cut by hand (Smarty 1.1.3 3.2.5).
        assert frame[:2] == b"\xdb\x08" and frame[10] == 0x82 and frame[13] == 0x30
        iv = frame[2:10] + frame[14:18]
        decryptor = Cipher(algorithms.AES(KEY),
                           modes.GCM(iv, frame[-12:], min_tag_length=12)).decryptor()
        decryptor.authenticate_additional_data(b"\x30" + AK)
        assert decryptor.update(frame[18:-12]) + decryptor.finalize() == text.encode()


def test_lu_smarty_plaintext_with_luxembourg_spec_and_cipher_flag():
    spec = copy.deepcopy(specs.LUXEMBOURG_SMARTY)
    spec["general_global_cipher"] = True
    encryptor = FrameEncryptor(KEY, TITLE, RamCounterStore(), 4000)
    for s in sim_snapshots(DST_START, 200, 20):
        frame = encrypt(build("lu", s), encryptor)
        t = TelegramParser(spec).parse(frame.hex(), encryption_key=KEY.hex(),
                                       authentication_key=AK.hex(), throw_ex=True)
        check_values(t, expected_lu(s))


def test_smarty_vector_with_dsmr_parser():
    with open("tests/vectors/p1/smarty_encrypted_packet.bin", "rb") as f:
        frame = f.read()
    t = TelegramParser(specs.MSN).parse(frame.hex(), encryption_key="AA" * 16,
                                        authentication_key=AK.hex(), throw_ex=True)
    assert t.P1_MESSAGE_HEADER.value == "50"


def expected_se(s):
    e = {
        "P1_MESSAGE_TIMESTAMP": ts(s.utc),
        "ELECTRICITY_IMPORTED_TOTAL": kwh(s.import_total_wh),
        "ELECTRICITY_EXPORTED_TOTAL": kwh(s.export_total_wh),
        "ELECTRICITY_REACTIVE_IMPORTED_TOTAL": kwh(s.reactive_import_varh),
        "ELECTRICITY_REACTIVE_EXPORTED_TOTAL": kwh(s.reactive_export_varh),
        "CURRENT_ELECTRICITY_USAGE": kwh(s.power_import_w),
        "CURRENT_ELECTRICITY_DELIVERY": kwh(s.power_export_w),
    }
    e.update(expected_common(s, lambda ma: rounded(ma, 1000, 1)))
    e.update(phases(["INSTANTANEOUS_REACTIVE_POWER_%s_POSITIVE" % p for p in L],
                    s.reactive_import_var_l, kwh))
    e.update(phases(["INSTANTANEOUS_REACTIVE_POWER_%s_NEGATIVE" % p for p in L],
                    s.reactive_export_var_l, kwh))
    return e


def test_se_every_value():
    for s in all_snapshots():
        t = parse(specs.SWEDEN, build("se", s))
        e = expected_se(s)
        if s.dst:
            # Sweden prints normal time all year (X = W); dsmr_parser reads every TST in
            # Europe/Amsterdam, an hour ahead in summer, so check the printed text instead.
            local = datetime.fromtimestamp(s.utc + 3600, timezone.utc)
            assert "0-0:1.0.0(%sW)" % local.strftime("%y%m%d%H%M%S") in build("se", s)
            del e["P1_MESSAGE_TIMESTAMP"]
        check_values(t, e)


def test_lt_every_value_under_the_v5_specification():
    # No Lithuanian specification in dsmr_parser: V5 reads the objects they share. ESO
    # prints Lithuanian local time (EET/EEST), compared here as local time.
    for s in all_snapshots(tariff_count=4, utc_offset_s=7200):
        t = parse(specs.V5, build("lt", s))
        e = expected_common(s, lambda ma: rounded(ma, 1000, 0))
        del e["P1_MESSAGE_TIMESTAMP"]
        del e["CURRENT_ELECTRICITY_DELIVERY"]
        for p in L:
            del e["INSTANTANEOUS_ACTIVE_POWER_%s_NEGATIVE" % p]
        e.update({
            "ELECTRICITY_IMPORTED_TOTAL": kwh(s.import_total_wh),
            "ELECTRICITY_USED_TARIFF_1": kwh(s.import_wh[0]),
            "ELECTRICITY_USED_TARIFF_2": kwh(s.import_wh[1]),
            "EQUIPMENT_IDENTIFIER": identity(s),
            "SHORT_POWER_FAILURE_COUNT": s.power_failures,
            "TEXT_MESSAGE": hexid(s.text, s.text_len),
        })
        check_values(t, e)
        local = datetime.fromtimestamp(s.utc + 7200 + 3600 * s.dst, timezone.utc)
        text = build("lt", s)
        assert "0-0:1.0.0(%s%s)" % (local.strftime("%y%m%d%H%M%S"), "S" if s.dst else "W") \
            in text
        for rate in (3, 4):
            line = "1-0:1.8.%d(%s*kWh)" % (rate, "%010.3f" % kwh(s.import_wh[rate - 1]))
            assert line in text


# --- property test: any snapshot within the formats' ranges ---------------------------------
def snapshot_strategy():
    wh = st.integers(0, 999999999)
    w = st.integers(0, 99999)
    utc = st.integers(946684800, 2840140799)  # 2000 .. 2059 (YY: strptime maps 69-99 to 19xx)

    @st.composite
    def make(draw):
        s = MeterSnapshot()
        s.utc = draw(utc)
        s.dst = dst_in_amsterdam(s.utc)
        s.set_equipment_id(draw(st.binary(min_size=0, max_size=48)))
        for t in range(2):
            s.import_wh[t] = draw(wh)
            s.export_wh[t] = draw(wh)
        s.tariff = draw(st.integers(1, 2))
        s.power_import_w = draw(w)
        s.power_export_w = draw(w)
        for p in range(3):
            s.power_import_w_l[p] = draw(w)
            s.power_export_w_l[p] = draw(w)
            s.voltage_dv[p] = draw(st.integers(0, 9999))
            s.current_ma[p] = draw(st.integers(0, 998499))
            s.sag_count[p] = draw(st.integers(0, 99999))
            s.swell_count[p] = draw(st.integers(0, 99999))
        s.power_failures = draw(st.integers(0, 99999))
        s.long_power_failures = draw(st.integers(0, 99999))
        s.pf_log_count = draw(st.integers(0, 10))
        for i in range(s.pf_log_count):
            s.pf_log_end_utc[i] = draw(utc)
            s.pf_log_duration_s[i] = draw(st.integers(0, 2**30 - 1))
        s.set_text(draw(st.binary(min_size=0, max_size=1024)))
        s.mbus_valid = 1
        s.set_mbus_id(draw(st.binary(min_size=0, max_size=48)))
        s.gas_litres = draw(st.integers(0, 99999999))
        s.gas_utc = draw(utc)
        s.demand_avg_w = draw(w)
        s.peak_month_w = draw(w)
        s.peak_month_utc = draw(utc)
        s.peak_hist_count = draw(st.integers(0, 13))
        for i in range(s.peak_hist_count):
            s.peak_hist_month_utc[i] = draw(utc)
            s.peak_hist_utc[i] = draw(utc)
            s.peak_hist_w[i] = draw(w)
        s.breaker_state = draw(st.integers(0, 2))
        s.mbus_valve = draw(st.integers(-1, 2))  # -1: no position reported, no line
        s.limiter_threshold_va = draw(st.integers(0, 999949))
        s.fuse_threshold_a = draw(st.integers(0, 999))
        return s

    return make()


def _not_in_the_dst_fold(s):
    # In the hour that repeats when summer time ends, dsmr_parser resolves W/S by fold; the
    # other timestamps of a telegram (log, gas, peaks) carry no fold of their own, so they
    # are only comparable outside that hour.
    for utc in ([s.utc, s.gas_utc, s.peak_month_utc] + s.pf_log_end_utc[:s.pf_log_count]
                + s.peak_hist_month_utc[:s.peak_hist_count]
                + s.peak_hist_utc[:s.peak_hist_count]):
        local = datetime.fromtimestamp(utc, AMSTERDAM).replace(tzinfo=None)
        if local.replace(tzinfo=AMSTERDAM, fold=1) != local.replace(tzinfo=AMSTERDAM, fold=0):
            return False
    return True


@settings(max_examples=150, deadline=None)
@given(snapshot_strategy())
def test_any_snapshot_nl_and_be(s):
    if not _not_in_the_dst_fold(s):
        return
    t = parse(specs.V5, build("nl", s))
    check_values(t, expected_nl(s))
    check_pf_log(t, s)
    check_gas(t.MBUS_METER_READING, s)
    check_be(parse(specs.BELGIUM_FLUVIUS, build("be", s)), s)


def test_header_ident_is_configurable():
    s = sim_snapshots(WINTER, 3, 1)[0]
    text = build("nl", s, b"KFM5KAIFA-METER")
    assert text.startswith("/KFM5KAIFA-METER\r\n\r\n")
    parse(specs.V5, text)


@pytest.mark.parametrize("name", [p.name for p in profiles.PROFILES])
def test_no_telegram_line_is_ignored_by_the_value_regex(name):
    # dsmr_parser takes values made of [0-9a-zA-Z.*-:]; anything else would be dropped.
    import re
    s = sim_snapshots(WINTER, 3, 1)[0]
    for line in build(name, s).split("\r\n")[2:-2]:
        assert re.fullmatch(r"[0-9]-[0-9]:[0-9.]+(\([0-9A-Za-z.*:\-]*\))+", line), line
