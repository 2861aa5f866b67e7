# Hub status indication (seed 003 section 9: "a means of displaying hub status": power on,
# alert state, ...) on the board's LEDs, and the console status line.
import gc

_BLINK_PERIOD_TICKS = 2  # the alert LED toggles every status tick (1 s), a 0.5 Hz blink

# The gas meter the HAN relays into P1 has sent no reading for longer than the gas
# mailbox's limit (registers/gas.py); raised and cleared by app/source.py (check_gas).
ALERT_GAS_SILENT = "gas-silent"


class StatusIndicator:
    """LED 0 steady while powered; LED 1 blinks while any alert is raised (9.2 a, c).
    A board with one LED blinks that one for an alert (steady = powered, no alert)."""

    def __init__(self, leds, power_led=0, alert_led=1):
        self._leds = leds
        self._power = power_led
        if leds and alert_led >= leds.count:
            alert_led = power_led
        self._alert = alert_led
        self._alerts = set()
        self._phase = 0
        if leds:
            leds.set(power_led, True)
            leds.set(alert_led, False)

    def raise_alert(self, reason):
        self._alerts.add(reason)

    def clear_alert(self, reason):
        self._alerts.discard(reason)

    @property
    def alerts(self):
        return sorted(self._alerts)

    def tick(self):
        """Advance the blink pattern; call once a second."""
        self._phase = (self._phase + 1) % _BLINK_PERIOD_TICKS
        if self._leds:
            if self._alert == self._power:
                self._leds.set(self._power, not self._alerts or self._phase == 0)
            else:
                self._leds.set(self._alert, bool(self._alerts) and self._phase == 0)


def heap_free(collect=False):
    """Free heap in bytes where the runtime reports it (MicroPython), else -1. collect:
    collect garbage first, so the figure is what live data leaves free."""
    mem_free = getattr(gc, "mem_free", None)
    if mem_free is None:
        return -1
    if collect:
        gc.collect()
    return mem_free()


def status_line(uptime_s, clock, data_request, indicator):
    return "status uptime={}s utc={} heap_free={} data_request={} alerts={}".format(
        uptime_s, clock.time(), heap_free(collect=True),
        data_request.value() if data_request else "-",
        ",".join(indicator.alerts) or "none")
