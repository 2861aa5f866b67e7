# The gas mailbox: the last reading of the gas meter that the HAN relays (ARCHITECTURE:
# interfaces meet only through main or a registers mailbox). Main hands it what the HAN
# received (put); P1 reads it through the registers' view and prints it on M-Bus channel 1
# with the reading's own capture time (DSMR 5.0.2 6.10 and 7.3: "P1 transfers every second
# the latest received 5-minute value & timestamp"), never the time of the telegram.
#
# Rules:
# - No reading yet: valid is False and P1 leaves its M-Bus lines out (DSMR 5.0.2 6.12:
#   "Only when a M-Bus device is installed, its data will be exported").
# - The reading is kept in the registers' record store, so P1 carries it again after a power
#   cut (two slots + CRC, registers/store.py). A reading is written at once unless one was
#   written less than min_save_s ago (default 60 s: DSMR 5's cadence is 5 min, so every
#   reading of a well-behaved meter is written at once; a device that reports every second
#   costs at most 1 440 writes a day, as a flooded event log does). A held-back reading is
#   written by flush_due() once allowed and by flush() at the power-fail warning.
# - Refused and counted (put returns False), the held reading unchanged:
#     a capture time more than FUTURE_SLACK_S ahead of the meter's clock (refused_future);
#     a capture time before the held one, or equal to it with another value (refused_time):
#       a late APS retry must not move P1 backwards;
#     a value below the held one from the same meter (refused_backwards): a gas register
#       only counts up, and readers (Home Assistant's total_increasing sensors) take any
#       decrease for a meter exchange. No tolerance: a small decrease is as wrong as a big
#       one, and P1 would print a register running backwards. A new equipment identifier
#       (or device type) is a new meter (DSMR 5.0.2 7.7, change of M-Bus device): its first
#       value may be anything.
#   An exact repeat of the held reading (an APS duplicate) is no change (duplicates).
# - ValueError: arguments that are no reading at all (negative or beyond F8(3,3), capture
#   time 0, identifier over 48 octets, a device type P1 cannot print in m3): a caller bug.
# - Silence: silent(now) is True while the held capture is more than silent_after_s old
#   (default 3 x the 5-minute cadence: two lost reports are weather, the third a silence).
#   P1 keeps printing the last value with its old time stamp; the alert is app/source.py's.
#   The operator sets the time through the configuration path (OP_SET_GAS_ALERT,
#   registers/config.py: SILENT_MIN_S .. SILENT_MAX_S, e.g. 3 h for an hourly DSMR 4
#   meter); set_silent_after() stores it (record "gasalert") before it applies, and load()
#   restores it at boot.
import struct

from micropython import const

ID_MAX = const(48)  # DSMR 5.0.2 6.12: 0-n:96.1.0 Sn (n=0..96) as hex: 48 octets
LITRES_MAX = const(99999999)  # DSMR 5.0.2 Table 6-3 note 2: F8(3,3) m3, 99999.999 m3
FUTURE_SLACK_S = const(60)  # a capture up to a minute ahead of our clock is clock skew
CADENCE_S = const(300)  # DSMR 5.0.2 7.3: the last 5-minute value (DSMR 4.2.2 6.3: hourly)
SILENT_AFTER_S = const(900)  # 3 x CADENCE_S
SILENT_MIN_S = const(60)
SILENT_MAX_S = const(2592000)  # 30 days
SILENT_RANGE = "gas alert outside 60 s .. 30 days"
MIN_SAVE_S = const(60)
GAS = const(3)  # EN 13757-3 device type: gas
# EN 13757-3 device types whose register is a volume, printed as m3 by P1's profiles:
# 0x03 gas, 0x06 warm water, 0x07 water.
_M3_MEDIA = (GAS, 0x06, 0x07)

_KIND = const(0xC0)  # record kind in the registers' record store
_HEADER = const(10)  # litres u32, capture utc u32, device type u8, identifier length u8
_RECORD = const(58)  # _HEADER + ID_MAX
_ALERT_KIND = const(0xC1)  # the configured silent_after_s, u32


def silent_after_ok(seconds):
    """A silence limit the operator may set (OP_SET_GAS_ALERT)."""
    return SILENT_MIN_S <= seconds <= SILENT_MAX_S


class GasMailbox:
    """store: the registers' RecordStore (None: kept in RAM only). clock: anything with
    utc() (registers.clock.MeterClock; None: no future check and no save pacing)."""

    def __init__(self, store=None, clock=None, silent_after_s=SILENT_AFTER_S,
                 min_save_s=MIN_SAVE_S):
        if silent_after_s <= 0 or min_save_s < 0:
            raise ValueError("gas mailbox: silent_after_s > 0, min_save_s >= 0")
        self.clock = clock
        self.silent_after_s = silent_after_s
        self.min_save_s = min_save_s
        self._slots = store.slots("gas", _KIND, _RECORD) if store is not None else None
        self._alert_slots = store.slots("gasalert", _ALERT_KIND, 4) if store is not None \
            else None
        self._alert_buf = bytearray(4)
        self._buf = bytearray(_RECORD)
        self.valid = False
        self.litres = 0  # reading in 0.001 m3
        self.capture_utc = 0  # when the gas meter took the reading (its own time stamp)
        self.device_type = GAS
        self.device_id = bytearray(ID_MAX)  # equipment identifier, octets as provisioned
        self.device_id_len = 0
        self.version = 0  # +1 each time the held reading changes (put or load)
        self.readings = 0  # readings accepted since start-up
        self.duplicates = 0
        self.refused_future = 0
        self.refused_time = 0
        self.refused_backwards = 0
        self.save_errors = 0  # flash writes that failed (the reading stays held, retried)
        self.saves = 0
        self._dirty = False
        self._save_allowed = 0

    # ---- the HAN's side (through main) ------------------------------------------------
    def put(self, value_litres, capture_utc, equipment_id, device_type=GAS):
        """A reading of the gas meter: its register in litres (0.001 m3), the UTC second it
        was captured, its equipment identifier (octets, <= 48) and its EN 13757-3 device
        type. Returns True when the mailbox holds it (new, or a repeat of the held one),
        False when refused (counted; the held reading stays)."""
        if not 0 <= value_litres <= LITRES_MAX:
            raise ValueError("gas reading out of range (0 .. 99999.999 m3)")
        if capture_utc <= 0:
            raise ValueError("gas reading without a capture time")
        n = len(equipment_id)
        if n > ID_MAX:
            raise ValueError("gas meter identifier longer than %d octets" % ID_MAX)
        if device_type not in _M3_MEDIA:
            raise ValueError("M-Bus device type %d is not a volume meter" % device_type)
        now = self.clock.utc() if self.clock is not None else None
        if now is not None and capture_utc > now + FUTURE_SLACK_S:
            self.refused_future += 1
            return False
        if self.valid:
            same_meter = self._same_id(equipment_id, n) and device_type == self.device_type
            if capture_utc < self.capture_utc:
                self.refused_time += 1
                return False
            if capture_utc == self.capture_utc:
                if same_meter and value_litres == self.litres:
                    self.duplicates += 1
                    return True
                self.refused_time += 1
                return False
            if same_meter and value_litres < self.litres:
                self.refused_backwards += 1
                return False
        self.litres = value_litres
        self.capture_utc = capture_utc
        self.device_type = device_type
        ident = self.device_id
        for i in range(n):
            ident[i] = equipment_id[i]
        self.device_id_len = n
        self.valid = True
        self.version += 1
        self.readings += 1
        self._dirty = True
        self.flush_due(now)
        return True

    def _same_id(self, octets, n):
        if n != self.device_id_len:
            return False
        ident = self.device_id
        for i in range(n):
            if ident[i] != octets[i]:
                return False
        return True

    # ---- P1's side (through the view) -------------------------------------------------
    def read(self):
        """(litres, capture_utc, device_type, identifier bytes), or None before the first
        reading. Allocates: P1's once-a-second path reads the attributes instead."""
        if not self.valid:
            return None
        return (self.litres, self.capture_utc, self.device_type,
                bytes(self.device_id[:self.device_id_len]))

    def age_s(self, now):
        """Seconds since the held reading was captured (-1: no reading)."""
        return now - self.capture_utc if self.valid else -1

    def silent(self, now):
        """True while the held reading is older than silent_after_s (never without one:
        a hub with no gas meter is not waiting for one)."""
        return self.valid and now - self.capture_utc > self.silent_after_s

    def set_silent_after(self, seconds):
        """The operator's silence limit (OP_SET_GAS_ALERT): ValueError outside SILENT_MIN_S
        .. SILENT_MAX_S; stored before it applies (OSError: nothing changed)."""
        if not silent_after_ok(seconds):
            raise ValueError(SILENT_RANGE)
        if self._alert_slots is not None:
            struct.pack_into("<I", self._alert_buf, 0, seconds)
            self._alert_slots.save(self._alert_buf, 4)
        self.silent_after_s = seconds

    # ---- persistence --------------------------------------------------------------------
    def load(self):
        """Restore the reading kept in the store (at boot), and the configured silence
        limit. Returns True if there was a reading."""
        if self._slots is None:
            return False
        if self._alert_slots.load(self._alert_buf) == 4:
            seconds = struct.unpack_from("<I", self._alert_buf, 0)[0]
            if silent_after_ok(seconds):
                self.silent_after_s = seconds
        buf = self._buf
        n = self._slots.load(buf)
        if n < _HEADER:
            return False
        litres, capture, dtype, id_len = struct.unpack_from("<IIBB", buf, 0)
        if (n != _HEADER + id_len or id_len > ID_MAX or litres > LITRES_MAX or capture == 0
                or dtype not in _M3_MEDIA):
            return False  # a record this firmware did not write: no reading, none invented
        self.litres = litres
        self.capture_utc = capture
        self.device_type = dtype
        ident = self.device_id
        for i in range(id_len):
            ident[i] = buf[_HEADER + i]
        self.device_id_len = id_len
        self.valid = True
        self.version += 1
        self._dirty = False
        return True

    def flush_due(self, now=None):
        """Write a held-back reading once min_save_s have passed since the last write (call
        from the registers' step)."""
        if self._dirty and (now is None or now >= self._save_allowed):
            self._save(now)

    def flush(self):
        """Write a held-back reading now (the power-fail warning)."""
        if self._dirty:
            self._save(self.clock.utc() if self.clock is not None else None)

    def _save(self, now):
        if self._slots is None:
            self._dirty = False
            return
        buf = self._buf
        n = self.device_id_len
        struct.pack_into("<IIBB", buf, 0, self.litres, self.capture_utc, self.device_type, n)
        ident = self.device_id
        for i in range(n):
            buf[_HEADER + i] = ident[i]
        try:
            self._slots.save(buf, _HEADER + n)
        except OSError:
            # Flash failure with power still there: the reading stays held (P1 has it) and
            # is written at the next chance. (A real power cut never returns here.)
            self.save_errors += 1
            return
        self._dirty = False
        self.saves += 1
        if now is not None:
            self._save_allowed = now + self.min_save_s
