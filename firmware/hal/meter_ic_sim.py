# A metering IC's fake (hal/atm90e32_sim.py, hal/ade7953_sim.py) on a board that runs in real
# time (the emulated board, the host simulation): the fake integrates energy only when told
# how much time passed (advance), so its chip select is wrapped: at the start of each SPI
# transaction the fake first catches up with the board's clock. The driver then reads
# registers that hold exactly the energy of the time that really passed, as a chip would.


class SelectPin:
    """A fake chip's chip-select input as the driver's machine.Pin (active low): each change
    of level tells the chip, chip.select(True) when a transaction starts and
    chip.select(False) when it ends."""

    def __init__(self, chip):
        self._chip = chip
        self._level = 1

    def value(self, v=None):
        if v is None:
            return self._level
        v = 1 if v else 0
        if v != self._level:
            self._level = v
            self._chip.select(v == 0)
        return None

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


class ClockedSelect:
    """machine.Pin-like chip select for the driver: `sim.cs`, with `sim.advance` brought up to
    `clock`'s time whenever the driver selects the chip."""

    def __init__(self, sim, clock):
        self._sim = sim
        self._cs = sim.cs
        self._clock = clock
        self._last_ms = clock.ticks_ms()

    def value(self, v=None):
        if v is not None and not v:
            now = self._clock.ticks_ms()
            elapsed = self._clock.ticks_diff(now, self._last_ms)
            if elapsed > 0:
                self._last_ms = now
                self._sim.advance(elapsed / 1000)
        return self._cs.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


def meter_ic(kind, clock, phases, **chip_settings):
    """A metering-IC driver over its fake, on `clock`: kind "atm90e32" (3 phases) or
    "ade7953" (1 phase). phases: one hal.adc_sim.PhaseScenario per phase the IC measures.
    The driver is not started (the metrology's ICMetrology calls begin())."""
    if kind == "atm90e32":
        from hal.atm90e32 import ATM90E32
        from hal.atm90e32_sim import ATM90E32Sim

        sim = ATM90E32Sim()
        driver = ATM90E32(sim.spi, ClockedSelect(sim, clock), **chip_settings)
    elif kind == "ade7953":
        from hal.ade7953 import ADE7953
        from hal.ade7953_sim import ADE7953Sim

        sim = ADE7953Sim()
        driver = ADE7953(sim.spi, ClockedSelect(sim, clock), **chip_settings)
    else:
        raise ValueError("metering ICs: atm90e32, ade7953")
    if len(phases) != driver.PHASES:
        raise ValueError("the %s measures %d phase(s)" % (kind, driver.PHASES))
    for k, ph in enumerate(phases):
        sim.set_load(k, ph, 50.0)
    return driver
