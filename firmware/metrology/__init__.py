# Metrology: ADC samples to RMS, powers, frequency and energy (built by the metrology issue).
