# Time at boot on boards without a battery-backed clock (registers/meter.py boot and
# set_clock): the clock resumes from the persisted time, unsynchronised, and nothing is
# filed by it; a reading at 1970, before the persisted time or far in the future is no time.
from hal.clock import FakeClock
from registers import logs
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters, UNKNOWN_DURATION

T0 = 1795694400  # 2026-11-26 10:00:00 UTC (a Thursday), inside a demand period boundary


def _run(regs, clock, seconds, watts=3600):
    mwh = watts * 1000 // 3600
    for _ in range(seconds):
        regs.add_energy(mwh, 0, 0, 0, 0, 0)
        clock.advance_ms(1000)
        regs.step(clock.time())


def _meter_with_history():
    """A meter that ran synced for an hour (4 demand periods, 4 profile entries) and then
    lost its supply after the power-fail warning saved its energy at T0 + 3600."""
    fs = MemoryFs()
    clock = FakeClock(utc=T0)
    regs = MeterRegisters(clock, fs)
    regs.boot(T0)
    _run(regs, clock, 3600)
    regs.power_fail_warning(clock.time())
    regs.flush()
    return fs


def _standard_codes(regs):
    log = regs.logs.log(logs.STANDARD)
    return [log.entry(age)[2:] for age in range(log.count)]  # newest first


def _reboot(fs, utc_at_boot, trusted):
    clock = FakeClock(utc=utc_at_boot)
    regs = MeterRegisters(clock, fs)
    return clock, regs, regs.boot(clock.time(), clock_trusted=trusted)


def _check_resumed(fs, utc_at_boot, trusted):
    clock, regs, outage = _reboot(fs, utc_at_boot, trusted)
    saved = T0 + 3600
    assert outage == -2
    assert clock.time() == saved  # resumed from the persisted time
    assert not regs.clock.synced
    # counted as a failure, but of unknown length: no long-failure entry, no history
    assert regs.quality.failures == 1 and regs.quality.long_count == 0
    assert regs.demand.history_count == 0
    codes = _standard_codes(regs)
    assert (logs.EV_POWER_UP, 0, saved, UNKNOWN_DURATION) in codes
    assert (logs.EV_CLOCK_RESTORED, 0, saved, 0) in codes
    energy_before = regs.energy.wh[0]
    profile_before = regs.profile.count()
    peak_before = regs.demand.peak_w
    tariff_before = regs.energy.tariff
    _run(regs, clock, 1900, watts=7200)  # 31 min: two demand and profile boundaries pass
    assert regs.profile.count() == profile_before  # nothing filed on an unsynced clock
    assert regs.demand.peak_w == peak_before
    assert regs.energy.tariff == tariff_before
    assert regs.energy.wh[0] > energy_before  # but it meters
    assert regs.saved_utc >= saved  # persisted time only moves forward
    # The sync: 3 days later in real time. The jump is no outage and files no history.
    real = T0 + 3 * 86400
    regs.set_clock(real)
    assert regs.clock.synced
    assert regs.quality.long_count == 0 and regs.quality.failures == 1
    assert regs.demand.history_count == 0
    assert _standard_codes(regs)[0] == (logs.EV_CLOCK_SYNCED, 0, saved + 1900, real)
    _run(regs, clock, 900)
    assert regs.profile.count() == profile_before + 1  # filing resumes once synced


def test_reboot_at_1970_resumes_from_the_persisted_time():
    _check_resumed(_meter_with_history(), 0, trusted=False)


def test_an_untrusted_clock_is_not_believed_even_when_plausible():
    _check_resumed(_meter_with_history(), T0 + 7200, trusted=False)


def test_a_trusted_clock_before_the_persisted_time_is_no_time():
    _check_resumed(_meter_with_history(), T0 - 86400, trusted=True)


def test_a_trusted_clock_far_in_the_future_is_no_time():
    _check_resumed(_meter_with_history(), 3786825600, trusted=True)  # 2090-01-01


def test_a_plausible_trusted_clock_logs_the_outage_as_before():
    fs = _meter_with_history()
    clock, regs, outage = _reboot(fs, T0 + 3600 + 600, trusted=True)
    assert outage == 600
    assert regs.clock.synced
    assert regs.quality.long_count == 1 and regs.quality.long_duration[0] == 600
    assert (logs.EV_POWER_UP, 0, T0 + 3600, 600) in _standard_codes(regs)


def test_a_new_meter_at_1970_starts_at_2000_unsynced():
    clock, regs, outage = _reboot(MemoryFs(), 0, trusted=False)
    assert outage == -1
    assert clock.time() == 946684800
    assert not regs.clock.synced


def test_a_clock_set_backwards_files_no_month():
    fs = _meter_with_history()
    clock, regs, _ = _reboot(fs, T0 + 3700, trusted=True)
    regs.set_clock(T0 + 10 * 86400)  # 2026-12-06: November closes into the history
    assert regs.demand.history_count == 1
    regs.set_clock(T0)  # back into November: no second filing
    _run(regs, clock, 120)
    assert regs.demand.history_count == 1


def test_set_clock_refuses_times_outside_2000_to_2099():
    fs = _meter_with_history()
    clock, regs, _ = _reboot(fs, T0 + 3700, trusted=True)
    for bad in (0, 946684799, 4102444800, 0xFFFFFFFF):
        try:
            regs.set_clock(bad)
        except ValueError:
            continue
        raise AssertionError("set_clock accepted %d" % bad)
    assert clock.time() == T0 + 3700
