# The gas mailbox (registers/gas.py) as issue 12 wants it: the gas meter's reading kept in the
# registers' record store across a reboot and a power cut mid-write, nonsense refused and
# counted, flash writes paced, and a silent gas meter kept in P1 with its old time stamp
# while app/source.py raises ALERT_GAS_SILENT. Portable: tier 1 and tier 2.
from app.source import MeterSource
from app.status import ALERT_GAS_SILENT, StatusIndicator
from h1.snapshot import MeterSnapshot
from hal.clock import FakeClock
from registers.clock import MeterClock
from registers.gas import GasMailbox
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from registers.store import RecordStore
from registers.view import RegistersView
from support import NoAllocation, raises

T0 = 1795694400  # 2026-11-26 12:00:00 UTC
ID = b"G0032561281676215"  # 17 ASCII octets, as a DSMR gas meter's 0-1:96.1.0 carries
RECORD = 12 + 10 + 17 + 4  # store header, litres/capture/type/length, identifier, CRC-32


def _mailbox(fs, utc=T0, **kw):
    hal = FakeClock(utc=utc)
    return GasMailbox(RecordStore(fs), MeterClock(hal), **kw), hal


def _reboot(fs, utc=T0):
    box, _ = _mailbox(fs, utc)
    box.load()
    return box


def _meter(utc=T0, **kw):
    hal = FakeClock(utc=utc)
    regs = MeterRegisters(hal, MemoryFs())
    regs.boot(utc)
    # The mailbox on the registers' store and clock (main's wiring; see the issue note).
    regs.gas = GasMailbox(regs.store, regs.clock, **kw)
    regs.gas.load()
    return hal, regs, RegistersView(regs)


def _capture(source, utc):
    snap = MeterSnapshot()
    source.capture(snap, utc)
    return snap


def test_no_reading_no_gas_lines_and_no_alert():
    box = _reboot(MemoryFs())
    assert not box.valid and box.read() is None and box.version == 0
    assert not box.silent(T0 + 10 ** 6) and box.age_s(T0) == -1
    hal, regs, view = _meter()
    indicator = StatusIndicator(None)
    source = MeterSource(hal, view, indicator=indicator)
    snap = _capture(source, T0 + 86400)
    assert snap.mbus_valid == 0 and snap.mbus_id_len == 0
    assert indicator.alerts == []  # no gas meter is no silent gas meter


def test_a_reading_survives_a_reboot():
    fs = MemoryFs()
    box, hal = _mailbox(fs)
    assert box.put(1234567, T0 - 300, ID)
    hal.advance_ms(300000)
    assert box.put(1234890, T0, ID, 7)  # a water meter (EN 13757-3 type 7), also in m3
    assert box.saves == 2
    again = _reboot(fs, T0 + 3600)
    assert again.valid and again.read() == (1234890, T0, 7, ID)
    assert again.version == 1 and again.readings == 0  # restored, not received


def test_a_record_this_firmware_did_not_write_is_no_reading():
    fs = MemoryFs()
    RecordStore(fs).slots("gas", 0xC0, 58).save(b"\x01\x02\x03\x04\x05", 5)
    box = _reboot(fs)
    assert not box.valid and box.read() is None


def test_a_power_cut_mid_write_leaves_the_previous_reading_or_the_new_one():
    for cut in range(RECORD + 1):
        fs = MemoryFs(atomic=False)  # a file system that tears writes
        box, hal = _mailbox(fs)
        assert box.put(1000, T0 - 600, ID)
        hal.advance_ms(300000)
        fs.cut_after_bytes = cut
        assert box.put(1500, T0 - 300, ID)  # held (P1 has it) whatever the flash did
        fs.cut_after_bytes = None
        got = _reboot(fs).read()
        if cut < RECORD:
            assert box.save_errors == 1 and got == (1000, T0 - 600, 3, ID), cut
        else:
            assert box.save_errors == 0 and got == (1500, T0 - 300, 3, ID), cut


def test_nonsense_is_refused_counted_and_changes_nothing():
    fs = MemoryFs()
    box, hal = _mailbox(fs)
    assert box.put(5000, T0 - 300, ID)
    assert not box.put(5100, T0 + 61, ID)  # more than a minute ahead of the meter's clock
    assert box.refused_future == 1
    assert not box.put(5100, T0 - 301, ID)  # captured before the held reading
    assert not box.put(5001, T0 - 300, ID)  # the same capture time with another value
    assert box.refused_time == 2
    assert not box.put(4999, T0, ID)  # a gas register never decreases, not by one litre
    assert box.refused_backwards == 1
    assert box.read() == (5000, T0 - 300, 3, ID)
    assert box.version == 1 and box.readings == 1 and box.saves == 1
    assert box.put(5000, T0 - 300, ID)  # an APS duplicate: held already, nothing written
    assert box.duplicates == 1 and box.version == 1 and box.saves == 1
    assert box.put(5100, T0 + 60, ID)  # a minute ahead: clock skew, accepted
    assert box.read() == (5100, T0 + 60, 3, ID) and box.version == 2
    # A new identifier is a new meter (DSMR 5.0.2 7.7): its register starts where it does.
    hal.advance_ms(600000)
    assert box.put(12, T0 + 500, b"G0099")
    assert box.read() == (12, T0 + 500, 3, b"G0099") and box.refused_backwards == 1
    assert _reboot(fs, T0 + 600).read() == (12, T0 + 500, 3, b"G0099")


def test_arguments_that_are_no_reading_raise():
    box, _ = _mailbox(MemoryFs())
    raises(ValueError, box.put, -1, T0, ID)
    raises(ValueError, box.put, 100000000, T0, ID)  # beyond F8(3,3): 99999.999 m3
    raises(ValueError, box.put, 1, 0, ID)
    raises(ValueError, box.put, 1, T0, b"G" * 49)  # Sn, n <= 96 hex digits: 48 octets
    raises(ValueError, box.put, 1, T0, ID, 4)  # heat: not a volume P1 prints in m3
    raises(ValueError, box.put, 1, T0, ID, 2)  # electricity
    raises(ValueError, GasMailbox, None, None, 0)
    assert not box.valid and box.version == 0
    assert box.put(99999999, T0, b"G" * 48)  # the largest reading and identifier fit
    assert box.put(99999999, T0 + 1, b"")  # Sn with n = 0


def test_writes_are_paced_and_a_held_back_reading_is_written_later():
    fs = MemoryFs()
    box, hal = _mailbox(fs, min_save_s=60)
    assert box.put(100, T0 - 10, ID) and box.saves == 1
    hal.advance_ms(30000)
    assert box.put(101, T0 + 20, ID)
    assert box.saves == 1 and box.read()[0] == 101  # P1 has it; the flash gets it later
    box.flush_due(T0 + 59)
    assert box.saves == 1
    box.flush_due(T0 + 60)
    assert box.saves == 2 and _reboot(fs).read()[:2] == (101, T0 + 20)
    hal.advance_ms(1000)
    assert box.put(102, T0 + 31, ID) and box.saves == 2
    box.flush()  # the power-fail warning writes whatever is held back
    assert box.saves == 3 and _reboot(fs).read()[:2] == (102, T0 + 31)
    box.flush()
    assert box.saves == 3  # nothing held back: nothing written


def test_a_reading_every_second_for_an_hour_costs_sixty_writes():
    fs = MemoryFs()
    box, hal = _mailbox(fs)
    for i in range(1, 3601):
        hal.advance_ms(1000)
        assert box.put(1000 + i, T0 + i, ID)
    assert box.readings == 3600 and box.saves == 60  # at T0 + 1, 61, ..., 3541
    box.flush()
    assert _reboot(fs).read()[:2] == (4600, T0 + 3600)


def test_the_view_gives_p1_the_reading_with_its_own_capture_time():
    hal, regs, view = _meter()
    source = MeterSource(hal, view)
    assert regs.gas.put(1278512, T0 - 120, ID)
    snap = _capture(source, T0)
    assert snap.mbus_valid == 1 and snap.mbus_device_type == 3
    assert snap.gas_litres == 1278512 and snap.gas_utc == T0 - 120
    assert bytes(snap.mbus_id[:snap.mbus_id_len]) == ID
    assert view.gas_reading() == (1278512, T0 - 120, 3, ID) and view.gas_version() == 1
    hal.advance_ms(300000)
    assert regs.gas.put(1278600, T0 + 180, b"G1", 7)
    snap = _capture(source, T0 + 300)
    assert (snap.gas_litres, snap.gas_utc, snap.mbus_device_type) == (1278600, T0 + 180, 7)
    assert bytes(snap.mbus_id[:snap.mbus_id_len]) == b"G1"


def test_a_silent_gas_meter_keeps_its_last_reading_and_raises_the_alert():
    hal, regs, view = _meter()
    indicator = StatusIndicator(None)
    source = MeterSource(hal, view, indicator=indicator)
    assert regs.gas.silent_after_s == 900  # 3 x DSMR 5's 5-minute cadence
    assert regs.gas.put(2000, T0, ID)
    snap = _capture(source, T0 + 900)
    assert indicator.alerts == [] and snap.gas_litres == 2000
    snap = _capture(source, T0 + 901)  # one second past the limit
    assert indicator.alerts == [ALERT_GAS_SILENT]
    assert snap.mbus_valid == 1 and snap.gas_litres == 2000 and snap.gas_utc == T0
    hal.advance_ms(1200000)
    assert regs.gas.put(2100, T0 + 1200, ID)  # the meter is back
    snap = _capture(source, T0 + 1201)
    assert indicator.alerts == [] and (snap.gas_litres, snap.gas_utc) == (2100, T0 + 1200)
    # Without P1 captures (Data Request low) main's status tick checks it each second.
    assert not source.check_gas(T0 + 2100)
    assert source.check_gas(T0 + 2101) and indicator.alerts == [ALERT_GAS_SILENT]


def test_the_silence_limit_is_set_at_construction():
    hal, regs, view = _meter(silent_after_s=3600)  # DSMR 4.2.2's hourly values
    indicator = StatusIndicator(None)
    source = MeterSource(hal, view, indicator=indicator)
    regs.gas.put(10, T0, ID)
    assert not source.check_gas(T0 + 3600) and indicator.alerts == []
    assert source.check_gas(T0 + 3601) and indicator.alerts == [ALERT_GAS_SILENT]


def test_a_reading_restored_after_a_long_outage_is_silent_at_once():
    fs = MemoryFs()
    box, _ = _mailbox(fs)
    box.put(777, T0, ID)
    again = _reboot(fs, T0 + 7200)
    assert again.silent(T0 + 7200) and again.age_s(T0 + 7200) == 7200
    assert again.read() == (777, T0, 3, ID)  # P1 shows it, with its old time stamp


def test_the_once_a_second_capture_and_gas_check_allocate_nothing():
    hal, regs, view = _meter()
    indicator = StatusIndicator(None)
    source = MeterSource(hal, view, indicator=indicator)
    snap = MeterSnapshot()
    regs.gas.put(2000, T0, ID)
    source.capture(snap, T0 + 10)  # copies the new reading (the identifier: allocates)
    source.capture(snap, T0 + 1000)  # the alert's first raise
    utc = T0 + 1001
    with NoAllocation():
        source.capture(snap, utc)  # steady state: the same reading, still silent
        silent = source.check_gas(utc)
    assert silent and snap.gas_litres == 2000 and snap.gas_utc == T0
    assert indicator.alerts == [ALERT_GAS_SILENT]


def test_the_operator_sets_the_silence_limit_through_the_configuration_path():
    # OP_SET_GAS_ALERT (registers/config.py): seconds u32, 60 s .. 30 days; kept in the
    # store through a reboot; out of range or malformed: refused whole, nothing changed.
    from registers import config, logs

    key = bytes(range(16))
    fs = MemoryFs()
    hal = FakeClock(utc=T0)
    regs = MeterRegisters(hal, fs)
    regs.boot(T0)
    session = config.ConfigSession(regs, key)

    def send(counter, payload):
        cmd = config.command(config.OP_SET_GAS_ALERT, counter, payload)
        return session.execute(cmd, config.hmac_sha256(key, cmd), T0)

    assert send(1, (3 * 3600).to_bytes(4, "little")) == config.OP_SET_GAS_ALERT
    assert regs.gas.silent_after_s == 10800  # an hourly DSMR 4 meter: three values
    regs.gas.put(10, T0, ID)
    assert not regs.gas.silent(T0 + 10800) and regs.gas.silent(T0 + 10801)
    for counter, payload, reason in ((2, (59).to_bytes(4, "little"), config.REJECT_RANGE),
                                     (3, (2592001).to_bytes(4, "little"), config.REJECT_RANGE),
                                     (4, b"\x10\x0e", config.REJECT_MALFORMED)):
        e = raises(config.Rejected, send, counter, payload)
        assert e.reason == reason
    assert regs.gas.silent_after_s == 10800
    standard = regs.logs.log(logs.STANDARD)
    events = [standard.entry(a)[2:] for a in range(standard.count)]
    assert (logs.EV_CONFIG, 0, config.OP_SET_GAS_ALERT, 1) in events
    assert (logs.EV_CONFIG_REJECTED, 0, config.OP_SET_GAS_ALERT, config.REJECT_RANGE) in events
    # After a reboot the configured limit holds; the limits themselves are accepted.
    again = MeterRegisters(FakeClock(utc=T0 + 60), fs)
    again.boot(T0 + 60)
    assert again.gas.silent_after_s == 10800
    s2 = config.ConfigSession(again, key)
    for counter, seconds in ((5, 60), (6, 2592000)):
        cmd = config.command(config.OP_SET_GAS_ALERT, counter, seconds.to_bytes(4, "little"))
        s2.execute(cmd, config.hmac_sha256(key, cmd), T0 + 60)
        assert again.gas.silent_after_s == seconds
    # Called directly, the mailbox refuses what the op refuses.
    raises(ValueError, again.gas.set_silent_after, 59)
