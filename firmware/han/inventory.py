# Device inventory of the PAN coordinator: per associated device its extended and short
# address, the link quality of its last frame (LQI and RSSI), frames in and out, failures
# (transmissions to it that got no ACK after the retries, or found no clear channel, or
# expired unpolled; secured frames from it that failed the incoming security procedure) and
# when it was last heard. GBCS CHTS (seed 003) 12.3.5: "the connectivity status including
# link quality of components associated with the HAN shall be ... available upon request".
#
# Fed by the MAC's monitor hooks (Mac.monitor: rx_frame / tx_done) and the coordinator's
# association hooks (Coordinator.on_associated / on_disassociated); attach() wires both.
# The table is preallocated; the receive and transmit hooks only look up an entry and
# update integers, so they allocate nothing. A TamperDetector (tamper.py) may be chained:
# it sees every frame with the entry index already looked up (-1: not in the table).
from micropython import const

from han.mac import frame as fr
from han.mac.mac import RX_DUPLICATE, RX_OK, RX_UNSECURED, SUCCESS
from han.mac.security import same_ext

NO_SHORT = const(0xFFFE)  # no short address (uses its extended one, 2006 7.2.1.1)
DEFAULT_SIZE = const(16)  # as Coordinator(max_devices=16)


class DeviceRecord:
    """A copy of one inventory entry (filled by DeviceInventory.read(); allocated once by
    the caller and reused)."""

    def __init__(self):
        self.ext = bytearray(8)
        self.short = NO_SHORT
        self.associated = False
        self.lqi = 0
        self.rssi = 0
        self.frames_in = 0
        self.frames_out = 0
        self.tx_failures = 0
        self.security_errors = 0
        self.duplicates = 0
        self.last_seen_us = 0
        self.heard = False

    @property
    def failures(self):
        return self.tx_failures + self.security_errors


class DeviceInventory:
    def __init__(self, clock, size=DEFAULT_SIZE):
        self.clock = clock
        self.tamper = None  # TamperDetector or None
        self._ext = [bytearray(8) for _ in range(size)]
        self._short = [NO_SHORT] * size
        self._used = bytearray(size)  # 1: entry in use
        self._assoc = bytearray(size)  # 1: currently associated
        self._heard = bytearray(size)  # 1: at least one frame received from it
        self._lqi = bytearray(size)
        self._rssi = [0] * size  # dBm, integer
        self._in = [0] * size
        self._out = [0] * size
        self._tx_fail = [0] * size
        self._sec_err = [0] * size
        self._dup = [0] * size
        self._seen = [0] * size  # clock ticks_us of the last frame received
        self.overflows = 0  # associations the full table could not record

    # --- wiring ------------------------------------------------------------------------
    def attach(self, coordinator):
        """Observe a Coordinator and its MAC."""
        coordinator.on_associated = self.associated
        coordinator.on_disassociated = self.disassociated
        coordinator.mac.monitor = self

    # --- membership --------------------------------------------------------------------
    def associated(self, ext, short, now=0):
        """A device joined (or is pre-installed): enter or refresh its entry. Returns the
        index, or -1 when the table is full of associated devices."""
        i = self.find_ext(ext)
        if i < 0:
            i = self._free_entry()
            if i < 0:
                self.overflows += 1
                return -1
            e = self._ext[i]
            for j in range(8):
                e[j] = ext[j]
            self._clear(i)
            self._used[i] = 1
        # Another entry that held this short address (a departed device) gives it up.
        if short < NO_SHORT:
            k = self.find_short(short)
            if k >= 0 and k != i:
                self._short[k] = NO_SHORT
        self._short[i] = short
        self._assoc[i] = 1
        return i

    def disassociated(self, ext, now=0):
        """A device left: kept (its history stays readable), no longer associated."""
        i = self.find_ext(ext)
        if i >= 0:
            self._assoc[i] = 0
            self._short[i] = NO_SHORT

    def _clear(self, i):
        self._heard[i] = 0
        self._lqi[i] = 0
        self._rssi[i] = 0
        self._in[i] = 0
        self._out[i] = 0
        self._tx_fail[i] = 0
        self._sec_err[i] = 0
        self._dup[i] = 0
        self._seen[i] = 0

    def _free_entry(self):
        # An unused entry, else the departed device heard longest ago.
        best = -1
        for i in range(len(self._used)):
            if not self._used[i]:
                return i
            if not self._assoc[i] and (best < 0 or self.clock.ticks_diff(
                    self._seen[i], self._seen[best]) < 0):
                best = i
        return best

    # --- lookups -----------------------------------------------------------------------
    def find_ext(self, ext):
        for i in range(len(self._used)):
            if self._used[i] and same_ext(self._ext[i], ext):
                return i
        return -1

    def find_short(self, short):
        if short >= NO_SHORT:
            return -1
        for i in range(len(self._used)):
            if self._used[i] and self._short[i] == short:
                return i
        return -1

    def index_of(self, f):
        """The entry of a received frame's source, or -1."""
        if f.src_mode == fr.ADDR_EXT:
            return self.find_ext(f.src_ext)
        if f.src_mode == fr.ADDR_SHORT:
            return self.find_short(f.src_addr)
        return -1

    def is_associated(self, i):
        return i >= 0 and self._assoc[i] == 1

    def ext_of(self, i):
        """The entry's extended address (the table's own buffer: copy it to keep it)."""
        return self._ext[i]

    # --- MAC hooks (Mac.monitor) -------------------------------------------------------
    def rx_frame(self, f, outcome, lqi, rssi, now):
        i = self.index_of(f)
        if i >= 0:
            if outcome == RX_OK:
                self._in[i] += 1
                self._heard[i] = 1
                self._seen[i] = now
                self._lqi[i] = lqi
                self._rssi[i] = int(rssi)
            elif outcome == RX_DUPLICATE:
                self._dup[i] += 1
            elif outcome != RX_UNSECURED:
                self._sec_err[i] += 1
        t = self.tamper
        if t is not None:
            t.rx_frame(f, outcome, i, now)

    def tx_done(self, dst_short, dst_ext, status, now):
        if dst_ext is not None:
            i = self.find_ext(dst_ext)
        else:
            i = self.find_short(dst_short)
        if i < 0:
            return
        if status == SUCCESS:
            self._out[i] += 1
        else:
            self._tx_fail[i] += 1

    # --- read-only accessor ------------------------------------------------------------
    def __len__(self):
        return len(self._used)

    def count(self):
        """Entries in use (associated or departed)."""
        n = 0
        for i in range(len(self._used)):
            n += self._used[i]
        return n

    def read(self, i, rec):
        """Copy entry i into the DeviceRecord rec; False when the entry is unused."""
        if not 0 <= i < len(self._used) or not self._used[i]:
            return False
        e = self._ext[i]
        for j in range(8):
            rec.ext[j] = e[j]
        rec.short = self._short[i]
        rec.associated = self._assoc[i] == 1
        rec.lqi = self._lqi[i]
        rec.rssi = self._rssi[i]
        rec.frames_in = self._in[i]
        rec.frames_out = self._out[i]
        rec.tx_failures = self._tx_fail[i]
        rec.security_errors = self._sec_err[i]
        rec.duplicates = self._dup[i]
        rec.last_seen_us = self._seen[i]
        rec.heard = self._heard[i] == 1
        return True
