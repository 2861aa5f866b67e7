# Registers, tariffs, clock and power-loss-safe storage (issue 3; docs/registers.md).
# Entry points: registers.meter.MeterRegisters (metrology calls add_energy(), the app calls
# step()), registers.view.RegistersView (read-only, for H1 and the HAN) and
# registers.config.ConfigSession (the authenticated configuration path).
