# Watchdog: the board's hardware watchdog and the cause of the last reset.
#
# Interface (hal.Hal.watchdog; None on a board without one):
#   feed()          restart the countdown; the first feed starts the watchdog, so building
#                   the board's Hal (tests, tools at the REPL) never arms it
#   reset_cause()   RESET_* of the reset that started this boot (the same value for the
#                   whole interpreter session)
#   timeout_ms      time without a feed after which the board is lost
#   stop()          only where the hardware can stop it (the emulated board); machine.WDT
#                   on ESP32 and STM32 cannot be stopped once started
#
# The RESET_* numbers are logged (registers.logs EV_RESET_CAUSE, a = cause): never renumber.
from micropython import const

RESET_UNKNOWN = const(0)
RESET_POWER_ON = const(1)
RESET_HARD = const(2)  # reset pin, software system reset, panic
RESET_WATCHDOG = const(3)
RESET_SOFT = const(4)  # MicroPython soft reboot (Ctrl-D, machine.soft_reset)

# STM32 IWDG: LSI ~32 kHz, prescaler at most /256, 12-bit reload: MicroPython 1.25's
# ports/stm32/machine_wdt.c refuses timeouts past 32767 ms ("WDT timeout too long").
STM32_MAX_TIMEOUT_MS = const(32767)


class MachineWatchdog:
    """machine.WDT (ESP32: the ESP-IDF task watchdog, which panics and resets; STM32: the
    IWDG) and machine.reset_cause(), whose numbers differ per port (stm32 SOFT_RESET is 0,
    esp32's is 5): they are mapped by name. The WDT is created at the first feed."""

    def __init__(self, timeout_ms, max_timeout_ms=None, machine_module=None):
        if timeout_ms <= 0 or (max_timeout_ms is not None and timeout_ms > max_timeout_ms):
            raise ValueError("watchdog timeout out of range")
        if machine_module is None:
            import machine as machine_module
        self._machine = machine_module
        self.timeout_ms = timeout_ms
        self._wdt = None
        self._cause = None

    def feed(self):
        if self._wdt is None:
            self._wdt = self._machine.WDT(timeout=self.timeout_ms)
        self._wdt.feed()

    def reset_cause(self):
        if self._cause is None:
            m = self._machine
            raw = m.reset_cause()
            self._cause = RESET_UNKNOWN
            for name, cause in (("PWRON_RESET", RESET_POWER_ON), ("HARD_RESET", RESET_HARD),
                                ("WDT_RESET", RESET_WATCHDOG), ("SOFT_RESET", RESET_SOFT),
                                ("DEEPSLEEP_RESET", RESET_HARD)):
                if getattr(m, name, None) == raw:
                    self._cause = cause
                    break
        return self._cause


class SimWatchdog:
    """A watchdog for tests: records the feeds on a hal.clock clock; expired(now_ms) says
    whether a real one would have reset the board by then."""

    def __init__(self, clock, timeout_ms, cause=RESET_POWER_ON):
        self.clock = clock
        self.timeout_ms = timeout_ms
        self.feeds = 0
        self.last_feed_ms = None  # ticks_ms of the newest feed; None: never started
        self.stopped = False
        self._cause = cause

    def feed(self):
        self.feeds += 1
        self.last_feed_ms = self.clock.ticks_ms()

    def stop(self):
        self.stopped = True

    def expired(self, now_ms):
        if self.last_feed_ms is None or self.stopped:
            return False
        return self.clock.ticks_diff(now_ms, self.last_feed_ms) >= self.timeout_ms

    def reset_cause(self):
        return self._cause
