# The meter's own asyncio tasks that belong to no subsystem (main starts them under the
# supervisor): the registers' once-a-second step, the supply monitor, the status line, and
# the bridge that turns metrology events into log entries.
from app.status import status_line
from hal.aio import sleep_ms

# Supply monitor: the warning input must stay high this long before it counts (a bouncing
# comparator must not cost a record write per bounce: each warning writes energy, logs and
# counters), and low this long before a new warning can count.
WARNING_DEBOUNCE_MS = 40
WARNING_RELEASE_MS = 1000


async def registers_task(registers, clock, seconds=None):
    """The registers' polled state machine, once a second (tariff switches, demand, load
    profile, billing, persistence)."""
    done = 0
    while seconds is None or done < seconds:
        registers.step(clock.time())
        done += 1
        await sleep_ms(1000 - clock.time_ms() % 1000)


async def supply_monitor_task(pin, registers, out=print, poll_ms=20, also=()):
    """On the supply monitor's early warning, persist the registers at once (the hold-up
    time of the supply is short): once per warning, after WARNING_DEBOUNCE_MS of it. also:
    more callables to run then (the HAN's frame counters)."""
    high_ms = 0
    low_ms = WARNING_RELEASE_MS
    warned = False
    while True:
        if pin.value():
            high_ms += poll_ms
            low_ms = 0
            if not warned and high_ms >= WARNING_DEBOUNCE_MS:
                registers.power_fail_warning()
                for save in also:
                    save()
                out("power-fail warning: registers saved")
                warned = True
        else:
            high_ms = 0
            low_ms += poll_ms
            if low_ms >= WARNING_RELEASE_MS:
                warned = False
        await sleep_ms(poll_ms)


def metering_line(metrology):
    """Per-phase Vrms, Irms, P, PF and the frequency of the last period."""
    parts = []
    for k, r in enumerate(metrology.results):
        parts.append("L{} {:.1f}V {:.3f}A {:.0f}W PF{:+.3f}".format(
            k + 1, r.vrms, r.irms, r.p_w, r.pf))
    return "meter {} f={:.2f}Hz".format(" | ".join(parts), metrology.results[0].freq_hz)


async def status_task(hal, indicator, seconds=None, out=print, metrology=None, state=None):
    """Once a second: advance the LED pattern and print the status (and metering) line.
    state: a function returning the extra status fields (clock sync, identity)."""
    clock = hal.clock
    next_at = clock.ticks_ms()
    uptime = 0
    while seconds is None or uptime < seconds:
        # One second on from the last boundary (never start + uptime seconds: after 6.2
        # days that delta passes half the ticks period, which ticks_add refuses).
        next_at = clock.ticks_add(next_at, 1000)
        delay = clock.ticks_diff(next_at, clock.ticks_ms())
        if delay > 0:
            await sleep_ms(delay)
        uptime += 1
        indicator.tick()
        line = status_line(uptime, clock, hal.data_request, indicator)
        out(line + " " + state() if state is not None else line)
        if metrology is not None and metrology.periods:
            out(metering_line(metrology))


class MetrologyEventLog:
    """on_event(kind, phase, utc, active) for the metrology (metrology/events.py): each event
    that is not already a counter of the registers' (sags, swells and power failures reach
    them through the sink) becomes a log entry: voltage loss in the standard log, reverse
    flow in the tamper log, ADC faults and an out-of-range frequency in the fault log (with
    the measured frequency from `detector`, the metrology's EventDetector, once set)."""

    def __init__(self, registers):
        from metrology import events as mev
        from registers import logs

        self.registers = registers
        self.detector = None
        self._freq = mev.FREQ_OUT_OF_RANGE
        self._freq_entry = (logs.FAULT, logs.EV_FREQ_OUT_OF_RANGE)
        self._table = {
            mev.VOLTAGE_LOSS: (logs.STANDARD, logs.EV_VOLTAGE_LOSS),
            mev.REVERSE_FLOW: (logs.TAMPER, logs.EV_REVERSE_FLOW),
            mev.ADC_STUCK: (logs.FAULT, logs.EV_ADC_STUCK),
            mev.ADC_SATURATED: (logs.FAULT, logs.EV_ADC_SATURATED),
        }

    def on_event(self, kind, phase, utc, active):
        if kind == self._freq:
            if active:  # one entry per excursion, with what was measured (0: nothing)
                d = self.detector
                mhz = d.last_bad_freq_mhz[phase - 1] if d is not None else 0
                log_id, code = self._freq_entry
                self.registers.record_event(log_id, utc, code, phase, mhz)
            return
        entry = self._table.get(kind)
        if entry is not None:
            self.registers.record_event(entry[0], utc, entry[1], phase, 1 if active else 0)


def han_tamper_logger(registers):
    """on_tamper(utc, kind, device) for the HAN node (han/node.py): each tamper episode
    becomes one EV_TAMPER entry in the meter's tamper log (a = kind, b = device)."""
    from registers.logs import EV_TAMPER, TAMPER

    def on_tamper(utc, kind, device):
        registers.record_event(TAMPER, utc, EV_TAMPER, kind, device)

    return on_tamper
