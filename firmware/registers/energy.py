# Energy registers: +A and -A per tariff and in total, +R/-R and the four reactive quadrants
# (IEC 62053-23 quadrant convention: Q1 import inductive, Q2 export capacitive, Q3 export
# inductive, Q4 import capacitive; +R = Q1 + Q2, -R = Q3 + Q4), integer Wh/varh as the P1
# telegram shows them (DSMR 5.0.2 Table 6-3: F9(3,3) kWh = Wh resolution) plus a remainder
# in milli-units, so nothing metrology hands over is ever rounded away.
#
# Each register keeps its own remainder (a total is not the sum of rounded tariff values).
# Registers roll over at 10**9 Wh like the 9-digit display (F9(3,3): 999999.999 kWh), which
# keeps every value a small int on 32-bit ports (2**30 > 10**9).
import struct
from array import array

from micropython import const

TOTAL_IMPORT = const(0)  # 1-0:1.8.0
TOTAL_EXPORT = const(1)  # 1-0:2.8.0
TOTAL_R_PLUS = const(2)  # 1-0:3.8.0
TOTAL_R_MINUS = const(3)  # 1-0:4.8.0
Q1 = const(4)  # 1-0:5.8.0
Q2 = const(5)  # 1-0:6.8.0
Q3 = const(6)  # 1-0:7.8.0
Q4 = const(7)  # 1-0:8.8.0
FIRST_TARIFF = const(8)  # then import, export of tariff 1, import, export of tariff 2, ...
MIN_TARIFFS = const(4)
MAX_TARIFFS = const(16)  # DSMR 5.0.2 Table 6-3: "support for up to sixteen tariffs"
_ROLLOVER_WH = const(1000000000)
_MILLI = const(1000)
_RECORD_ITEM = const(6)  # u32 Wh + u16 remainder


def tariff_import_index(tariff):
    """Register index of +A for tariff 1..n."""
    return FIRST_TARIFF + 2 * (tariff - 1)


def tariff_export_index(tariff):
    return FIRST_TARIFF + 2 * (tariff - 1) + 1


class EnergyRegisters:
    def __init__(self, tariffs=MIN_TARIFFS):
        if tariffs < MIN_TARIFFS or tariffs > MAX_TARIFFS:
            raise ValueError("4..16 tariffs")
        self.tariffs = tariffs
        self.count = FIRST_TARIFF + 2 * tariffs
        self.wh = array("l", [0] * self.count)
        self.milli = array("H", [0] * self.count)  # 0..999 mWh / mvarh
        self.tariff = 1  # current tariff 1..n: the P1 tariff indicator 0-0:96.14.0
        # Milli-units not yet persisted, per total (+A, -A, +R, -R): every other register is
        # a part of one of these, so none has more unsaved than its total.
        self.unsaved_import = 0
        self.unsaved_export = 0
        self.unsaved_r_plus = 0
        self.unsaved_r_minus = 0

    def _add(self, index, amount):
        rem = self.milli[index] + amount
        if rem >= _MILLI:
            whole = rem // _MILLI
            rem -= whole * _MILLI
            wh = self.wh[index] + whole
            if wh >= _ROLLOVER_WH:
                wh -= _ROLLOVER_WH
            self.wh[index] = wh
        self.milli[index] = rem

    def add_energy(self, import_mwh, export_mwh, q1_mvarh, q2_mvarh, q3_mvarh, q4_mvarh):
        """Add one integration period's energy (non-negative integer milli-units). Hot path:
        allocates nothing for amounts below 2**30."""
        if (import_mwh < 0 or export_mwh < 0 or q1_mvarh < 0 or q2_mvarh < 0
                or q3_mvarh < 0 or q4_mvarh < 0):
            raise ValueError("energy is non-negative")
        base = FIRST_TARIFF + 2 * (self.tariff - 1)
        if import_mwh:
            self._add(TOTAL_IMPORT, import_mwh)
            self._add(base, import_mwh)
            self.unsaved_import += import_mwh
        if export_mwh:
            self._add(TOTAL_EXPORT, export_mwh)
            self._add(base + 1, export_mwh)
            self.unsaved_export += export_mwh
        if q1_mvarh or q2_mvarh:
            self._add(TOTAL_R_PLUS, q1_mvarh + q2_mvarh)
            self._add(Q1, q1_mvarh)
            self._add(Q2, q2_mvarh)
            self.unsaved_r_plus += q1_mvarh + q2_mvarh
        if q3_mvarh or q4_mvarh:
            self._add(TOTAL_R_MINUS, q3_mvarh + q4_mvarh)
            self._add(Q3, q3_mvarh)
            self._add(Q4, q4_mvarh)
            self.unsaved_r_minus += q3_mvarh + q4_mvarh

    def unsaved_at_least(self, milli):
        """True when some register has gained `milli` or more since the last save."""
        return (self.unsaved_import >= milli or self.unsaved_export >= milli
                or self.unsaved_r_plus >= milli or self.unsaved_r_minus >= milli)

    def mark_saved(self):
        self.unsaved_import = 0
        self.unsaved_export = 0
        self.unsaved_r_plus = 0
        self.unsaved_r_minus = 0

    def set_tariff(self, tariff):
        if tariff < 1 or tariff > self.tariffs:
            raise ValueError("tariff out of range")
        self.tariff = tariff

    def milli_value(self, index):
        """Register value in milli-units (Wh * 1000 + remainder; a long int above 2**30)."""
        return self.wh[index] * _MILLI + self.milli[index]

    # Record codec: tariff count u8, current tariff u8, then per register u32 Wh, u16 mWh.
    def record_size(self):
        return 2 + _RECORD_ITEM * self.count

    def encode(self, buf, offset):
        buf[offset] = self.tariffs
        buf[offset + 1] = self.tariff
        pos = offset + 2
        for i in range(self.count):
            struct.pack_into("<IH", buf, pos, self.wh[i], self.milli[i])
            pos += _RECORD_ITEM
        return pos

    def decode(self, buf, offset, length):
        """Restore from a record; tariffs beyond the stored count start at zero."""
        stored_tariffs = buf[offset]
        if stored_tariffs < MIN_TARIFFS or stored_tariffs > MAX_TARIFFS:
            raise ValueError("bad energy record")
        stored_count = FIRST_TARIFF + 2 * stored_tariffs
        if length < 2 + _RECORD_ITEM * stored_count:
            raise ValueError("short energy record")
        tariff = buf[offset + 1]
        self.tariff = tariff if 1 <= tariff <= self.tariffs else 1
        pos = offset + 2
        for i in range(stored_count):
            wh, milli = struct.unpack_from("<IH", buf, pos)
            pos += _RECORD_ITEM
            if i < self.count:
                self.wh[i] = wh
                self.milli[i] = milli
        self.mark_saved()
        return pos
