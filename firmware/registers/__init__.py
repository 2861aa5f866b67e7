# Registers, tariffs, clock and power-loss-safe storage (built by the registers issue).
