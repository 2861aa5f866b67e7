# The registers subsystem as one object: energy registers with their tariff, the clock, the
# TOU calendar, demand, load profile, billing snapshots, event logs and supply-quality
# counters, persisted through the record store. Metrology calls add_energy() once per
# integration period (hot path, allocation-free); the application calls step(utc) about
# once a second (polled state machine); everything else reads through RegistersView.
import struct

from micropython import const

from registers import civil, tou
from registers.clock import DST_EU, MAX_UTC, MIN_UTC, MeterClock
from registers.demand import Demand
from registers.energy import (EnergyRegisters, TOTAL_EXPORT, TOTAL_IMPORT, TOTAL_R_MINUS,
                              TOTAL_R_PLUS)
from registers.logs import (EV_CALENDAR_ACTIVATED, EV_CLOCK_RESTORED, EV_CLOCK_SYNCED,
                            EV_POWER_UP, EV_STORAGE_FAULT, FAULT, STANDARD, EventLogs)
from registers.profile import (BILLING_DAILY, BILLING_MONTHLY, STATUS_CAD, STATUS_DST,
                               STATUS_PDN, BillingLog, LoadProfile)
from registers.quality import LONG_FAILURE_S, PowerQuality
from registers.gas import GasMailbox
from registers.store import RecordStore
from registers.text import TextMessage

PERSIST_MWH = const(10000)  # issue 3: energy persisted at least every 10 Wh ...
PERSIST_S = const(900)  # ... or 15 minutes
_KIND_ENERGY = const(0x10)
_FLAG_WARNING = const(0x01)  # the record was written on the power-fail early warning
_ENERGY_HEADER = const(6)  # utc u32, flags u8, reserved u8
_DAY = const(86400)
# A clock reading outside registers.clock's MIN_UTC .. MAX_UTC, or before the newest
# persisted time, or more than MAX_OUTAGE_S after it, is no time at all: the clock resumes
# from the persisted time, unsynchronised.
MAX_OUTAGE_S = const(400 * 86400)  # longer than any plausible storage or outage
UNKNOWN_DURATION = 0xFFFFFFFF  # EV_POWER_UP's b when the outage's length is unknown


class MeterRegisters:
    def __init__(self, hal_clock, fs, tariffs=4, std_offset_s=3600, dst_rule=DST_EU,
                 calendar=None, profile_period_s=900, profile_days=40, demand_period_s=900,
                 long_failure_s=LONG_FAILURE_S, persist_mwh=PERSIST_MWH,
                 persist_s=PERSIST_S, min_save_interval_s=0, billing_minute=0, billing_day=1,
                 log_capacity=40,
                 daily_keep=40, monthly_keep=13):
        self.clock = MeterClock(hal_clock, std_offset_s, dst_rule)
        self.fs = fs
        self.store = RecordStore(fs, max_payload=1024)
        self.energy = EnergyRegisters(tariffs)
        self.persist_milli = persist_mwh
        self.persist_s = persist_s
        # Optional cap on energy saves for flash wear at sustained high load (docs/registers.md
        # "Write budget"); 0 keeps the strict 10 Wh bound.
        self.min_save_interval_s = min_save_interval_s
        self._save_allowed = 0
        self.energy_buf = bytearray(_ENERGY_HEADER + self.energy.record_size())
        self.energy_slots = self.store.slots("energy", _KIND_ENERGY, len(self.energy_buf))
        self.logs = EventLogs(self.store, log_capacity)
        # The HAN's gas reading, relayed into P1 (main writes it), kept through power cuts.
        self.gas = GasMailbox(self.store, self.clock)
        self.text = TextMessage(self.store)  # P1's text message (configuration path)
        self.quality = PowerQuality(self.store, long_failure_s)
        self.tariffs = tou.TariffSchedule(self.store, calendar or tou.single_tariff(1),
                                          tariffs)
        self.demand = Demand(self.store, tariffs, demand_period_s)
        self.profile = LoadProfile(fs, profile_period_s, profile_days)
        self.daily = BillingLog(fs, self.energy.count, daily_keep, "bd")
        self.monthly = BillingLog(fs, self.energy.count, monthly_keep, "bm")
        self.billing_minute = billing_minute
        self.billing_day = billing_day
        self.saved_utc = 0  # UTC of the newest energy record
        self.energy_saves = 0
        self._next_minute = 0
        self._next_profile = 0
        self._next_demand = 0
        self._energy_due = 0
        self._next_billing_local = 0

    # ---- boot ---------------------------------------------------------------------------
    def boot(self, utc=None, clock_trusted=True):
        """Restore every record (newest valid slot) and count the outage since the last
        energy record as a power failure. Returns the outage duration, -1 on first boot, or
        -2 when the clock had no usable time and resumed from the persisted one.

        clock_trusted: the board's clock keeps time through power cuts (a battery-backed
        RTC, or a time sync before boot). Otherwise, or when its reading is implausible (out
        of range, before the persisted time, or more than MAX_OUTAGE_S after it), the clock
        resumes from the newest persisted time and is unsynchronised until set_clock():
        no tariff switch, demand close, load-profile entry or billing snapshot until then."""
        if utc is None:
            utc = self.clock.utc()
        self.logs.load()
        self.text.load()
        self.gas.load()
        self.quality.load()
        self.tariffs.load()
        self.demand.load()
        self.profile.recover()
        self.daily.recover()
        self.monthly.recover()
        outage = -1
        n = self.energy_slots.load(self.energy_buf)
        plausible = clock_trusted and MIN_UTC <= utc <= MAX_UTC
        if n >= _ENERGY_HEADER:
            self.saved_utc, flags = struct.unpack_from("<IB", self.energy_buf, 0)
            self.energy.decode(self.energy_buf, _ENERGY_HEADER, n - _ENERGY_HEADER)
            if plausible and self.saved_utc <= utc <= self.saved_utc + MAX_OUTAGE_S:
                outage = utc - self.saved_utc
                self.record_power_failure(utc, outage)
                self.logs.add(STANDARD, utc, EV_POWER_UP, self.saved_utc, outage)
            else:
                # No time to trust: resume from the persisted one. The interruption is
                # counted, but its length is unknown, so it enters no outage log.
                utc = self._resume_clock(self.saved_utc)
                self.quality.power_failure(utc, 0)
                self.logs.add(STANDARD, utc, EV_POWER_UP, self.saved_utc, UNKNOWN_DURATION)
                outage = -2
        elif not plausible:
            utc = self._resume_clock(utc if MIN_UTC <= utc <= MAX_UTC else MIN_UTC)
        self._schedule(utc)
        self._minute(utc)
        self._start_demand(utc)
        if self.demand.month_key == 0:
            self.demand.month_key = self._month_key(utc)
        self.save_energy(utc)
        self.flush()
        return outage

    def _resume_clock(self, utc):
        self.clock.hal_clock.set_time(utc)
        self.clock.synced = False
        self.logs.add(STANDARD, utc, EV_CLOCK_RESTORED, utc, 0)
        return utc

    def _schedule(self, utc):
        self._next_minute = utc - utc % 60
        period = self.profile.period_s
        self._next_profile = utc - utc % period + period
        local = self.clock.local(utc)
        day_start = local - local % _DAY
        due = day_start + 60 * self.billing_minute
        self._next_billing_local = due if due > local else due + _DAY

    def _month_key(self, utc):
        date = civil.civil_from_days(self.clock.local(utc) // _DAY)
        return civil.year_of(date) * 12 + civil.month_of(date) - 1

    # ---- inputs -------------------------------------------------------------------------
    def add_energy(self, import_mwh, export_mwh, q1_mvarh, q2_mvarh, q3_mvarh, q4_mvarh):
        """One integration period of energy from metrology, non-negative integer milli-units
        (mWh, mvarh). Hot path: allocates nothing."""
        self.energy.add_energy(import_mwh, export_mwh, q1_mvarh, q2_mvarh, q3_mvarh,
                               q4_mvarh)
        self.demand.period_mwh += import_mwh

    def record_sag(self, phase):
        self.quality.sag(phase)

    def record_swell(self, phase):
        self.quality.swell(phase)

    def record_power_failure(self, end_utc, duration_s):
        """A supply interruption that ended at end_utc (boot calls it; metrology may call it
        for an interruption the processor rode through)."""
        self.quality.power_failure(end_utc, duration_s)
        self.profile.mark(STATUS_PDN)

    def record_event(self, log_id, utc, code, a=0, b=0):
        """Fault, tamper, transaction or firmware events from other subsystems."""
        self.logs.add(log_id, utc, code, a, b)

    def power_fail_warning(self, utc=None):
        """Early warning from the supply monitor: persist energy now (one small record),
        marked so the next boot knows when the outage began."""
        if utc is None:
            utc = self.clock.utc()
        self.save_energy(utc, _FLAG_WARNING)
        # Then whatever the logs' and counters' rate limits still hold back (repeats,
        # suppressed counts, entries): the supply is going, so no limit applies.
        self.flush(force=True, utc=utc)
        self.gas.flush()  # a reading held back by the write pacing

    # ---- polled work --------------------------------------------------------------------
    def step(self, utc):
        """Call about once a second. Allocation-free when nothing is due."""
        if utc >= self._next_minute:
            self._minute(utc)
        if utc >= self._next_demand:
            self._close_demand(utc)
        if utc >= self._next_profile:
            self._close_profile(utc)
        if ((self.energy.unsaved_at_least(self.persist_milli) and utc >= self._save_allowed)
                or utc >= self._energy_due):
            self.save_energy(utc)
        self.logs.flush_due(utc)  # rate-limited: no event rate wears the flash
        self.quality.flush_due(utc)
        self.gas.flush_due(utc)

    def _minute(self, utc):
        self._next_minute = utc - utc % 60 + 60
        if not self.clock.synced:
            return  # keep the tariff in force at the persisted time; close nothing
        if self.tariffs.due(utc):
            activated_at = self.tariffs.activation_utc
            calendar_id = self.tariffs.activate()
            self.logs.add(STANDARD, utc, EV_CALENDAR_ACTIVATED, activated_at, calendar_id)
        local = self.clock.local(utc)
        tariff = self.tariffs.active.tariff_at(local)
        if tariff > self.energy.tariffs:
            tariff = self.energy.tariffs
        self.energy.set_tariff(tariff)
        if local >= self._next_billing_local:
            self._billing(utc, local)
        key = self._month_key(utc)
        if key > self.demand.month_key:  # a clock set backwards files no month
            self.demand.new_month(key)
            self.demand.save()

    def _billing(self, utc, local):
        self._next_billing_local += _DAY
        if self._next_billing_local <= local:  # clock moved far forward
            self._schedule(utc)
        self.daily.append(utc, BILLING_DAILY, self.energy)
        date = civil.civil_from_days(local // _DAY)
        if civil.day_of(date) == self.billing_day:
            self.monthly.append(utc, BILLING_MONTHLY, self.energy)

    def _start_demand(self, utc):
        self.demand.start(utc)
        self._next_demand = self.demand.period_start + self.demand.period_s

    def _close_demand(self, utc):
        period = self.demand.period_s
        end = utc - utc % period
        if not self.clock.synced:  # the period's time is not known: nothing to file
            self._next_demand = end + period
            return
        self.demand.close_period(end, self.energy.tariff)
        self._next_demand = end + period
        self.demand.save()

    def _close_profile(self, utc):
        period = self.profile.period_s
        end = utc - utc % period
        self._next_profile = end + period
        if not self.clock.synced:
            return
        wh = self.energy.wh
        status = STATUS_DST if self.clock.is_dst(end) else 0
        self.profile.append(end, status, self.energy.tariff, wh[TOTAL_IMPORT],
                            wh[TOTAL_EXPORT], wh[TOTAL_R_PLUS], wh[TOTAL_R_MINUS])

    # ---- persistence --------------------------------------------------------------------
    def save_energy(self, utc, flags=0):
        buf = self.energy_buf
        struct.pack_into("<IBB", buf, 0, utc, flags, 0)
        n = self.energy.encode(buf, _ENERGY_HEADER)
        try:
            self.energy_slots.save(buf, n)
        except OSError as e:
            # Flash failure with power still present: log it, retry at the next step.
            # (A real power cut never returns here.)
            self.logs.add(FAULT, utc, EV_STORAGE_FAULT, e.args[0] if e.args else 0,
                          _KIND_ENERGY)
            raise
        self.energy.mark_saved()
        self.saved_utc = utc
        self._energy_due = utc + self.persist_s
        self._save_allowed = utc + self.min_save_interval_s
        self.energy_saves += 1

    def flush(self, force=False, utc=None):
        """Write changed logs and quality counters. force=True (power-fail warning,
        authorised configuration) writes at once; otherwise the flash write budget's rate
        limits apply (docs/registers.md), so a caller driven by unauthenticated input (a
        rejected command) cannot wear the flash."""
        if utc is None:
            utc = self.clock.utc()
        if force:
            self.logs.flush(utc)
            if self.quality.dirty:
                self.quality.save(utc)
        else:
            self.logs.flush_due(utc)
            self.quality.flush_due(utc)

    # ---- authorised changes (called by registers.config only) ---------------------------
    def set_clock(self, new_utc):
        """Set the clock (configuration path, or a time sync). On an unsynchronised clock
        this is its first sync: logged as EV_CLOCK_SYNCED, and the jump is neither an
        outage nor a closed period: demand and profile restart from the new time."""
        if not MIN_UTC <= new_utc <= MAX_UTC:
            raise ValueError("clock out of range (2000-01-01 .. 2099-12-31)")
        if not self.clock.synced:
            old = self.clock.utc()
            self.clock.hal_clock.set_time(new_utc)
            self.clock.synced = True
            self.logs.add(STANDARD, new_utc, EV_CLOCK_SYNCED, old, new_utc)
        else:
            old = self.clock.set_utc(new_utc, self.logs)
        self.profile.mark(STATUS_CAD)
        self._schedule(new_utc)
        self._minute(new_utc)
        self._start_demand(new_utc)
        self.save_energy(new_utc)
        self.flush(force=True)  # an authorised change is on flash before it returns
        return old

    def reset_log(self, log_id, utc):
        self.logs.reset(log_id, utc)
        self.flush(force=True)
