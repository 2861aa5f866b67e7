# The ZigBee device table both roles keep: on the coordinator (trust centre) one entry per
# registered or joined device (ZigBee spec 05-3474-21, 3.6.1.5 neighbour table and 4.7.3
# the trust centre's apsDeviceKeyPairSet), on an end device one entry for its parent, the
# trust centre. Entry i of the coordinator's table is the device with network address
# first_short + i (han.mac.roles.Coordinator allocates addresses the same way).
#
# Per entry: extended address, MAC capability, state, the preconfigured link key (from
# the install code, 4.6.3.4), the trust-centre link key of the R21 exchange (4.6.3.5),
# the last accepted incoming NWK and APS frame counters (4.3.1.2, 4.4.1.2: replays are
# refused by comparing with them), the end-device timeout the child asked for (3.4.11,
# Table 3-54), whether it was aged out (3.6.10: silent beyond that timeout; it keeps its
# keys and counters and comes back by rejoining), and the second (now_s, the node's
# seconds counter: ticks wrap long before the longest timeout) of the last frame heard.
#
# Two records in the registers' record store (registers/store.py) keep it across power
# cuts: the table (keys, states: written when they change, rarely) and the counters (the
# incoming counters and the reservations of the outgoing ones; small, so littlefs keeps it
# inline in its metadata log, written at most every COUNTER_SAVE_US while traffic flows).
import struct

from micropython import const

from han.mac.security import same_ext

# counter_verdict() results.
FRESH = const(0)
DUPLICATE = const(1)  # the counter of the last accepted frame: a retransmission
REPLAY = const(2)

# Entry states.
EMPTY = const(0)
REGISTERED = const(1)  # install code known, never joined
JOINING = const(2)  # associated, network key sent, not heard secured yet
JOINED = const(3)  # holds the network key (a NWK-secured frame from it was accepted)
VERIFIED = const(4)  # its unique trust-centre link key is confirmed (Verify/Confirm Key)

NO_COUNTER = const(-1)  # nothing accepted yet under the current key
KEY_LEN = const(16)
# nwkEndDeviceTimeoutDefault (3.6.10, Table 3-58): index 8 of Table 3-54, 256 minutes.
ED_TIMEOUT_DEFAULT = const(8)
_MAX_TIMEOUT_INDEX = const(14)  # Table 3-54
# The persisted state octet: bits 0-2 the state, 3-6 the timeout index XOR the default
# (so that records written before the timeouts were kept, whose high bits are 0, load
# with the default and the record keeps its length and layout), 7 aged out.
_STATE_MASK = const(0x07)
_AGED = const(0x80)
_ENTRY = const(1 + 1 + 8 + 2 * KEY_LEN)  # state, capability, ext, link key, TC link key


class DeviceTable:
    def __init__(self, size=16, first_short=0x0001):
        self.size = size
        self.first_short = first_short
        self.state = bytearray(size)
        self.cap = bytearray(size)
        self.ext = [bytearray(8) for _ in range(size)]
        self.link_key = [bytearray(KEY_LEN) for _ in range(size)]
        self.tclk = [bytearray(KEY_LEN) for _ in range(size)]
        self.nwk_in = [NO_COUNTER] * size
        self.aps_in = [NO_COUNTER] * size
        self.timeout = bytearray([ED_TIMEOUT_DEFAULT] * size)  # Table 3-54 index
        self.aged = bytearray(size)  # 1: aged out (3.6.10), must rejoin
        self.last_seen = [0] * size  # now_s of the last frame heard from it
        self.now_s = 0  # the owner's seconds counter (han/zigbee.py advances it)
        self.counters_dirty = False

    # --- lookups -------------------------------------------------------------------------
    def find_ext(self, ext):
        for i in range(self.size):
            if self.state[i] != EMPTY and same_ext(self.ext[i], ext):
                return i
        return -1

    def find_short(self, short):
        i = short - self.first_short
        if 0 <= i < self.size and self.state[i] >= JOINING:
            return i
        return -1

    def short_of(self, i):
        return self.first_short + i

    def count(self, state=JOINING):
        """Entries at this state or beyond."""
        n = 0
        for i in range(self.size):
            if self.state[i] >= state:
                n += 1
        return n

    # --- changes -------------------------------------------------------------------------
    def register(self, ext, link_key):
        """Add (or re-key) a device's preconfigured link key; the entry index, or -1 when
        the table is full. A device already joined keeps its state and counters."""
        if len(ext) != 8 or len(link_key) != KEY_LEN:
            raise ValueError("extended address 8 bytes, link key 16")
        i = self.find_ext(ext)
        if i < 0:
            for j in range(self.size):
                if self.state[j] == EMPTY:
                    i = j
                    break
            if i < 0:
                return -1
            self.ext[i][:] = ext
            self.state[i] = REGISTERED
            self.cap[i] = 0
            self.nwk_in[i] = NO_COUNTER
            self.aps_in[i] = NO_COUNTER
            self.timeout[i] = ED_TIMEOUT_DEFAULT
            self.aged[i] = 0
            self.counters_dirty = True  # the entry's previous counters must not come back
            for j in range(KEY_LEN):
                self.tclk[i][j] = 0
        self.link_key[i][:] = link_key
        return i

    def remove(self, i):
        self.state[i] = EMPTY
        self.cap[i] = 0
        self.timeout[i] = ED_TIMEOUT_DEFAULT
        self.aged[i] = 0
        self.nwk_in[i] = NO_COUNTER
        self.aps_in[i] = NO_COUNTER
        for j in range(KEY_LEN):
            self.link_key[i][j] = 0
            self.tclk[i][j] = 0
        self.counters_dirty = True

    # --- persistence (packing; han/nwk/store.py writes the records) ----------------------
    @staticmethod
    def table_bytes(size):
        return size * _ENTRY

    def pack_table(self, out, off):
        p = off
        for i in range(self.size):
            out[p] = self.state[i] | ((self.timeout[i] ^ ED_TIMEOUT_DEFAULT) << 3) | (
                _AGED if self.aged[i] else 0)
            out[p + 1] = self.cap[i]
            out[p + 2:p + 10] = self.ext[i]
            out[p + 10:p + 26] = self.link_key[i]
            out[p + 26:p + 42] = self.tclk[i]
            p += _ENTRY
        return p - off

    def unpack_table(self, buf, off):
        p = off
        for i in range(self.size):
            b = buf[p]
            s = b & _STATE_MASK
            self.state[i] = s if s <= VERIFIED else EMPTY
            self.cap[i] = buf[p + 1]
            self.ext[i][:] = buf[p + 2:p + 10]
            self.link_key[i][:] = buf[p + 10:p + 26]
            self.tclk[i][:] = buf[p + 26:p + 42]
            idx = ((b >> 3) & 0x0F) ^ ED_TIMEOUT_DEFAULT
            self.timeout[i] = idx if idx <= _MAX_TIMEOUT_INDEX else ED_TIMEOUT_DEFAULT
            self.aged[i] = 1 if b & _AGED else 0
            self.last_seen[i] = self.now_s  # a reboot starts every child's timeout again
            p += _ENTRY
        return p - off

    def pack_counters(self, out, off):
        p = off
        # NO_COUNTER (-1) is stored as 0xFFFFFFFF, a counter counter_verdict never accepts.
        for i in range(self.size):
            struct.pack_into("<II", out, p, self.nwk_in[i] & 0xFFFFFFFF,
                             self.aps_in[i] & 0xFFFFFFFF)
            p += 8
        return p - off

    def unpack_counters(self, buf, off):
        p = off
        for i in range(self.size):
            nwk, aps = struct.unpack_from("<II", buf, p)
            self.nwk_in[i] = NO_COUNTER if nwk == 0xFFFFFFFF else nwk
            self.aps_in[i] = NO_COUNTER if aps == 0xFFFFFFFF else aps
            p += 8
        return p - off


def counter_verdict(last, counter):
    """The replay check of 4.3.1.2 step 6 / 4.4.1.2 against the last accepted counter
    (NO_COUNTER: none yet): FRESH above it, DUPLICATE equal, REPLAY below it or
    0xFFFFFFFF (a counter that could not be followed). Record it only once the frame has
    passed its MIC check."""
    if counter == 0xFFFFFFFF or counter < last:
        return REPLAY
    return DUPLICATE if counter == last else FRESH
