# Firmware identification, shown in the console banner (and later in P1's header line).
FIRMWARE_NAME = "meter-fw"
FIRMWARE_VERSION = "0.1.0"
