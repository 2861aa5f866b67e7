# Gas into P1 (issue 12), the whole path after the HAN: a reading put into the registers'
# gas mailbox (registers/gas.py, as main's wiring does for the HAN) is read by MeterSource
# through the registers' view, built into telegrams and parsed by dsmr_parser (PyPI
# dsmr-parser, CRC checking on) under V5 (nl), BELGIUM_FLUVIUS (be) and LUXEMBOURG_SMARTY
# (lu): the gas value and its capture time are the ones put, the identifier is the hex of
# its ASCII octets. No reading: no M-Bus line at all. A silent gas meter: the old value and
# its old time stamp, and ALERT_GAS_SILENT. Expected values are written out here by hand.
from datetime import datetime, timezone
from decimal import Decimal

from dsmr_parser import telegram_specifications as specs
from dsmr_parser.parsers import TelegramParser

from app.source import MeterSource
from app.status import ALERT_GAS_SILENT, StatusIndicator
from h1 import profiles
from h1.builder import TelegramBuilder
from h1.snapshot import MeterSnapshot
from hal.clock import FakeClock
from registers.gas import GasMailbox
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from registers.view import RegistersView

T0 = 1795694400  # 2026-11-26 12:00:00 UTC = 13:00:00 CET
ID = b"G0032561281676215"
ID_HEX = "4730303332353631323831363736323135"  # G=47, 0=30, 3=33 ... by hand
SPECS = {"nl": specs.V5, "be": specs.BELGIUM_FLUVIUS, "lu": specs.LUXEMBOURG_SMARTY}
# The reading's line in each profile (be: e-MUCS H's not temperature-corrected 24.2.3).
READING_OBIS = {"nl": "0-1:24.2.1", "be": "0-1:24.2.3", "lu": "0-1:24.2.1"}


class Meter:
    """The registers on a flash that outlives the object (a reboot is a new Meter on the
    same fs), the gas mailbox on their store, the view, the status indicator, the source."""

    def __init__(self, utc, fs=None, silent_after_s=900):
        self.fs = fs if fs is not None else MemoryFs()
        self.clock = FakeClock(utc=utc)
        self.regs = MeterRegisters(self.clock, self.fs)
        self.regs.boot(utc)
        self.regs.gas = GasMailbox(self.regs.store, self.regs.clock, silent_after_s)
        self.regs.gas.load()
        self.indicator = StatusIndicator(None)
        self.source = MeterSource(self.clock, RegistersView(self.regs), identity=b"E0012345",
                                  indicator=self.indicator)

    def advance_to(self, utc):
        self.clock.advance_ms((utc - self.clock.time()) * 1000)

    def telegram(self, profile, utc):
        snap = MeterSnapshot()
        self.source.capture(snap, utc)
        builder = TelegramBuilder(profiles.by_name(profile))
        n = builder.build(snap)
        return bytes(builder.buf[:n]).decode("ascii")


def parse(profile, text):
    return TelegramParser(SPECS[profile], apply_checksum_validation=True).parse(text,
                                                                                throw_ex=True)


def utc_dt(utc):
    return datetime.fromtimestamp(utc, timezone.utc)


def check_gas(profile, text, m3, captured_utc, ident_hex=ID_HEX, device_type=3):
    t = parse(profile, text)
    reading = t.MBUS_METER_READING
    assert reading.value == Decimal(m3) and reading.unit == "m3", profile
    assert reading.datetime == utc_dt(captured_utc), profile
    assert t.MBUS_DEVICE_TYPE.value == device_type, profile
    assert t.MBUS_EQUIPMENT_IDENTIFIER.value == ident_hex, profile
    return t


def test_a_reading_put_is_what_dsmr_parser_reads_in_nl_be_and_lu():
    meter = Meter(T0)
    assert meter.regs.gas.put(1278512, T0 - 120, ID)  # captured 12:58:00 CET
    for profile in ("nl", "be", "lu"):
        text = meter.telegram(profile, T0)
        check_gas(profile, text, "1278.512", T0 - 120)
        assert "\r\n%s(261126125800W)(01278.512*m3)\r\n" % READING_OBIS[profile] in text
        assert "0-1:24.1.0(003)\r\n" in text  # device type first (DSMR 5.0.2 6.12 note)
        assert text.index("0-1:24.1.0") < text.index(READING_OBIS[profile])
    device = parse("nl", meter.telegram("nl", T0)).get_mbus_device_by_channel(1)
    assert device.MBUS_METER_READING.value == Decimal("1278.512")


def test_summer_time_capture_and_a_water_meter():
    summer = 1783072800  # 2026-07-03 10:00:00 UTC = 12:00:00 CEST
    meter = Meter(summer)
    assert meter.regs.gas.put(5, summer - 299, b"W1", 7)
    for profile in ("nl", "be", "lu"):
        text = meter.telegram(profile, summer)
        check_gas(profile, text, "0.005", summer - 299, "5731", 7)
        assert "%s(260703115501S)(00000.005*m3)" % READING_OBIS[profile] in text


def test_no_reading_no_gas_lines():
    meter = Meter(T0)
    for profile in ("nl", "be", "lu"):
        text = meter.telegram(profile, T0 + 86400)
        assert "0-1:" not in text, profile
        t = parse(profile, text)
        assert not hasattr(t, "MBUS_METER_READING") and not hasattr(t, "MBUS_DEVICE_TYPE")
    assert meter.indicator.alerts == []


def test_a_silent_gas_meter_keeps_its_value_and_time_stamp_and_raises_the_alert():
    meter = Meter(T0)
    assert meter.regs.gas.put(1000000, T0, ID)
    for profile in ("nl", "be", "lu"):
        check_gas(profile, meter.telegram(profile, T0 + 900), "1000.000", T0)
    assert meter.indicator.alerts == []
    for profile in ("nl", "be", "lu"):  # 15 min and 1 s after the capture
        check_gas(profile, meter.telegram(profile, T0 + 901), "1000.000", T0)
    assert meter.indicator.alerts == [ALERT_GAS_SILENT]
    meter.advance_to(T0 + 3600)
    assert meter.regs.gas.put(1000250, T0 + 3590, ID)  # back
    for profile in ("nl", "be", "lu"):
        check_gas(profile, meter.telegram(profile, T0 + 3600), "1000.250", T0 + 3590)
    assert meter.indicator.alerts == []


def test_refused_readings_never_reach_p1():
    meter = Meter(T0)
    assert meter.regs.gas.put(2000, T0 - 300, ID)
    assert not meter.regs.gas.put(1999, T0, ID)  # backwards
    assert not meter.regs.gas.put(2100, T0 - 600, ID)  # older
    assert not meter.regs.gas.put(2100, T0 + 3600, ID)  # an hour in the future
    for profile in ("nl", "be", "lu"):
        check_gas(profile, meter.telegram(profile, T0), "2.000", T0 - 300)


def test_the_reading_is_in_p1_again_after_a_power_cut():
    meter = Meter(T0)
    assert meter.regs.gas.put(4321000, T0 - 60, ID)
    meter.regs.power_fail_warning(T0)
    rebooted = Meter(T0 + 600, fs=meter.fs)  # ten minutes without supply
    for profile in ("nl", "be", "lu"):
        check_gas(profile, rebooted.telegram(profile, T0 + 601), "4321.000", T0 - 60)
    assert rebooted.indicator.alerts == []
    rebooted = Meter(T0 + 7200, fs=meter.fs)  # two hours: the gas meter has been silent
    check_gas("nl", rebooted.telegram("nl", T0 + 7200), "4321.000", T0 - 60)
    assert rebooted.indicator.alerts == [ALERT_GAS_SILENT]
