# The gas mailbox: the last reading of the gas meter that the HAN relays (ARCHITECTURE:
# interfaces meet only through main or a registers mailbox). Main writes what the HAN
# received; P1 reads it through the registers' view and prints it on M-Bus channel 1 with the
# reading's own capture time (DSMR 5.0.2 7.3, 0-1:24.2.1), never the time of the telegram.
# Until a reading exists there is none: P1 leaves its M-Bus lines out (issue 10).
from micropython import const

ID_MAX = const(48)  # DSMR 5.0.2 6.12: 0-1:96.1.0 equipment identifier, up to 96 hex digits


class GasMailbox:
    def __init__(self):
        self.valid = False
        self.litres = 0  # reading in 0.001 m3
        self.capture_utc = 0  # when the gas meter took the reading
        self.device_id = bytearray(ID_MAX)
        self.device_id_len = 0
        self.readings = 0

    def put(self, litres, capture_utc, device_id):
        """A reading from the gas meter: litres (0.001 m3, >= 0), its capture time (UTC s)
        and the meter's equipment identifier (octets). A reading older than the one held is
        ignored (a late retry must not move the register backwards)."""
        if litres < 0 or capture_utc <= 0:
            raise ValueError("gas reading out of range")
        if len(device_id) > ID_MAX:
            raise ValueError("gas meter identifier longer than %d octets" % ID_MAX)
        if self.valid and capture_utc < self.capture_utc:
            return False
        self.litres = litres
        self.capture_utc = capture_utc
        for i in range(len(device_id)):
            self.device_id[i] = device_id[i]
        self.device_id_len = len(device_id)
        self.valid = True
        self.readings += 1
        return True
