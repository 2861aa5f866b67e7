# Average demand (block demand over fixed periods aligned to the clock, 15 min by default):
# the current value, the month's peak with its time, 13 months of peaks (Belgian capacity
# tariff, Fluvius e-MUCS H: 1-0:1.4.0, 1-0:1.6.0, 0-0:98.1.0) and maximum demand per tariff.
# Values in W; a period's demand = its import energy / its length.
import struct
from array import array

from micropython import const

HISTORY_MONTHS = const(13)  # e-MUCS H 0-0:98.1.0: 13 months of peaks
_KIND = const(0x50)


class Demand:
    def __init__(self, store, tariffs, period_s=900):
        self.period_s = period_s
        self.tariffs = tariffs
        self.period_mwh = 0  # import energy so far in the running period (hot path)
        self.period_start = 0
        self.last_w = 0  # the last completed period
        self.month_key = 0  # year * 12 + month - 1 of the running month (local time)
        self.peak_w = 0
        self.peak_utc = 0  # end of the period that set the peak
        self.tariff_max_w = array("l", [0] * tariffs)  # month maximum per tariff
        self.history_w = array("l", [0] * HISTORY_MONTHS)  # ring, newest at head - 1
        self.history_utc = array("L", [0] * HISTORY_MONTHS)
        self.history_head = 0
        self.history_count = 0
        size = 24 + 4 * tariffs + 8 * HISTORY_MONTHS
        self.buf = bytearray(size)
        self.slots = store.slots("demand", _KIND, size)

    def add(self, import_mwh):
        self.period_mwh += import_mwh

    def current_w(self, utc):
        """Average over the elapsed part of the running period (1-0:1.4.0)."""
        elapsed = utc - self.period_start
        if elapsed <= 0:
            return 0
        return self.period_mwh * 3600 // (elapsed * 1000)

    def period_end(self, utc):
        return self.period_start + self.period_s

    def start(self, utc):
        self.period_start = utc - utc % self.period_s
        self.period_mwh = 0

    def close_period(self, end_utc, tariff):
        """End the running period at end_utc (a period boundary); returns its demand."""
        length = end_utc - self.period_start
        if length <= 0:
            length = self.period_s
        watts = self.period_mwh * 3600 // (length * 1000)
        self.last_w = watts
        if watts > self.peak_w:
            self.peak_w = watts
            self.peak_utc = end_utc
        if watts > self.tariff_max_w[tariff - 1]:
            self.tariff_max_w[tariff - 1] = watts
        self.period_start = end_utc
        self.period_mwh = 0
        return watts

    def new_month(self, month_key):
        """Close the month: its peak enters the 13-month history."""
        if self.month_key:
            self.history_w[self.history_head] = self.peak_w
            self.history_utc[self.history_head] = self.peak_utc
            self.history_head = (self.history_head + 1) % HISTORY_MONTHS
            if self.history_count < HISTORY_MONTHS:
                self.history_count += 1
        self.month_key = month_key
        self.peak_w = 0
        self.peak_utc = 0
        for i in range(self.tariffs):
            self.tariff_max_w[i] = 0

    def history(self, age):
        """(peak W, UTC) of the month `age` back (0 = last closed month)."""
        if age < 0 or age >= self.history_count:
            raise IndexError("no such month")
        slot = (self.history_head - 1 - age) % HISTORY_MONTHS
        return self.history_w[slot], self.history_utc[slot]

    def save(self):
        buf = self.buf
        struct.pack_into("<IIIIHH", buf, 0, self.month_key, self.peak_w, self.peak_utc,
                         self.last_w, self.history_head, self.history_count)
        pos = 20
        struct.pack_into("<I", buf, pos, self.tariffs)
        pos += 4
        for i in range(self.tariffs):
            struct.pack_into("<I", buf, pos, self.tariff_max_w[i])
            pos += 4
        for i in range(HISTORY_MONTHS):
            struct.pack_into("<II", buf, pos, self.history_w[i], self.history_utc[i])
            pos += 8
        self.slots.save(buf, pos)

    def load(self):
        buf = self.buf
        n = self.slots.load(buf)
        if n < 24:
            return False
        (self.month_key, self.peak_w, self.peak_utc, self.last_w, head,
         count) = struct.unpack_from("<IIIIHH", buf, 0)
        stored_tariffs = struct.unpack_from("<I", buf, 20)[0]
        if n < 24 + 4 * stored_tariffs + 8 * HISTORY_MONTHS:
            return False
        pos = 24
        for i in range(stored_tariffs):
            if i < self.tariffs:
                self.tariff_max_w[i] = struct.unpack_from("<I", buf, pos)[0]
            pos += 4
        for i in range(HISTORY_MONTHS):
            self.history_w[i], self.history_utc[i] = struct.unpack_from("<II", buf, pos)
            pos += 8
        self.history_head = head % HISTORY_MONTHS
        self.history_count = min(count, HISTORY_MONTHS)
        return True
