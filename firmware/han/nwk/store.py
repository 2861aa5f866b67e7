# Persistence of a ZigBee node's network state in the registers' record store
# (registers/store.py: two slots per record, CRC, the newest valid one wins; a power cut
# leaves the previous record), so that a reboot is invisible to the network:
#
#   "hannet" (kind 0xB0, written when the network or its keys change): role, channel, PAN
#            ID, own and parent network addresses, the trust centre's (or the parent's)
#            extended address, the active network key with its sequence number, the
#            alternate (next) key during a key update, then the device table's keys and
#            states (han/nwk/devices.py).
#   "hanctr" (kind 0xB1, small, written at most every COUNTER_SAVE_US while frames are
#            accepted, and at once after a quiet spell): the outgoing NWK and APS frame
#            counter reservations and every entry's incoming counters.
#
# Outgoing counters are reserved in blocks of COUNTER_BLOCK: the reservation is saved
# before a counter of the new block is used, so after a reboot the node resumes past every
# counter it may have sent (a repeated counter would repeat a CCM* nonce, 4.3.1.1). Incoming
# counters are saved as accepted; after a reboot a frame at or below them is a replay.
# What is accepted between the last counter save and a power cut without warning (at most
# COUNTER_SAVE_US of traffic) could be replayed once: that is the price of not writing the
# flash for every frame, and it is bounded.
import struct

from micropython import const

from han.nwk.devices import JOINING, KEY_LEN, NO_COUNTER, DeviceTable

KIND_NET = const(0xB0)
KIND_COUNTERS = const(0xB1)
COUNTER_BLOCK = const(256)
COUNTER_SAVE_US = const(1000000)
_NET_HEAD = const(1 + 1 + 1 + 2 + 2 + 2 + 8 + 8 + 1 + 16 + 1 + 1 + 16)  # keys: KEY_LEN
_MAGIC = const(0x5A)


class NetState:
    """What a node must find again after a reboot, besides the device table."""

    def __init__(self):
        self.role = 0  # 0: none saved, 1: coordinator, 2: end device
        self.channel = 0
        self.pan_id = 0xFFFF
        self.short = 0xFFFF
        self.parent = 0xFFFF
        self.ext_pan = bytearray(8)
        self.tc_ext = bytearray(8)  # the trust centre (a device's parent in a star)
        self.key_seq = 0
        self.key = bytearray(KEY_LEN)
        self.has_key = False
        self.alt_seq = 0
        self.has_alt = False
        self.alt_key = bytearray(KEY_LEN)
        self.nwk_out = 0  # next outgoing NWK frame counter (RAM)
        self.aps_out = 0
        self.nwk_reserved = 0  # first counter not covered by the saved reservation
        self.aps_reserved = 0


class NetStore:
    def __init__(self, record_store, table, clock):
        if not isinstance(table, DeviceTable):
            raise ValueError("a DeviceTable is needed")
        self.table = table
        self.clock = clock
        self._net = record_store.slots("hannet", KIND_NET,
                                       _NET_HEAD + DeviceTable.table_bytes(table.size))
        self._ctr = record_store.slots("hanctr", KIND_COUNTERS, 8 + 8 * table.size)
        self._nbuf = bytearray(_NET_HEAD + DeviceTable.table_bytes(table.size))
        self._cbuf = bytearray(8 + 8 * table.size)
        self._last_save = None
        self.net_saves = 0
        self.counter_saves = 0

    def load(self, st):
        """Fill st and the table from the records; True when a network was saved."""
        b = self._nbuf
        if self._net.load(b) != len(b) or b[0] != _MAGIC:
            return False
        st.role = b[1]
        st.channel = b[2]
        p = 3
        st.pan_id = b[p] | (b[p + 1] << 8)
        st.short = b[p + 2] | (b[p + 3] << 8)
        st.parent = b[p + 4] | (b[p + 5] << 8)
        p += 6
        st.ext_pan[:] = b[p:p + 8]
        st.tc_ext[:] = b[p + 8:p + 16]
        p += 16
        st.key_seq = b[p]
        st.key[:] = b[p + 1:p + 1 + KEY_LEN]
        p += 1 + KEY_LEN
        st.has_key = bool(b[p] & 1)
        st.has_alt = bool(b[p] & 2)
        st.alt_seq = b[p + 1]
        st.alt_key[:] = b[p + 2:p + 2 + KEY_LEN]
        p += 2 + KEY_LEN
        self.table.unpack_table(b, p)
        c = self._cbuf
        if self._ctr.load(c) == len(c):
            st.nwk_out, st.aps_out = struct.unpack_from("<II", c, 0)
            st.nwk_reserved, st.aps_reserved = st.nwk_out, st.aps_out
            self.table.unpack_counters(c, 8)
        t = self.table
        for i in range(t.size):
            if t.state[i] < JOINING:
                # Counters of an entry that never joined are not its own: the cut fell
                # between its network record and the counter record (save_net), and
                # the counter record still holds the entry's previous device.
                t.nwk_in[i] = NO_COUNTER
                t.aps_in[i] = NO_COUNTER
        return True

    def save_net(self, st):
        """Write the network record now (keys or membership changed)."""
        b = self._nbuf
        b[0] = _MAGIC
        b[1] = st.role
        b[2] = st.channel
        p = 3
        for v in (st.pan_id, st.short, st.parent):
            b[p] = v & 0xFF
            b[p + 1] = (v >> 8) & 0xFF
            p += 2
        b[p:p + 8] = st.ext_pan
        b[p + 8:p + 16] = st.tc_ext
        p += 16
        b[p] = st.key_seq
        b[p + 1:p + 1 + KEY_LEN] = st.key
        p += 1 + KEY_LEN
        b[p] = (1 if st.has_key else 0) | (2 if st.has_alt else 0)
        b[p + 1] = st.alt_seq
        b[p + 2:p + 2 + KEY_LEN] = st.alt_key
        p += 2 + KEY_LEN
        self.table.pack_table(b, p)
        self._net.save(b, len(b))
        self.net_saves += 1
        if self.table.counters_dirty:
            # An entry was freed or given to another device: its counters follow at once,
            # not up to COUNTER_SAVE_US later, or a cut in between brings the previous
            # device's counters back for the new one (its frames refused as replays).
            self.save_counters(st)

    def reserve(self, st, nwk):
        """Make sure the next outgoing counter (nwk: NWK, else APS) is covered by a saved
        reservation; returns the counter to use and advances it. Raises OSError when the
        flash refuses the save (the frame is then not sent)."""
        if nwk:
            c = st.nwk_out
            if c >= st.nwk_reserved:
                self._reserve(st, c + COUNTER_BLOCK, st.aps_reserved)
            st.nwk_out = c + 1
        else:
            c = st.aps_out
            if c >= st.aps_reserved:
                self._reserve(st, st.nwk_reserved, c + COUNTER_BLOCK)
            st.aps_out = c + 1
        return c

    def _reserve(self, st, nwk, aps):
        old_nwk = st.nwk_reserved
        old_aps = st.aps_reserved
        st.nwk_reserved = nwk
        st.aps_reserved = aps
        try:
            self.save_counters(st)
        except OSError:
            # Not saved: the next counter must try again. Keeping the new block in RAM
            # would hand out counters no saved reservation covers (reused after a reboot).
            st.nwk_reserved = old_nwk
            st.aps_reserved = old_aps
            raise

    def save_counters(self, st):
        c = self._cbuf
        struct.pack_into("<II", c, 0, st.nwk_reserved, st.aps_reserved)
        self.table.pack_counters(c, 8)
        self._ctr.save(c, len(c))
        self.table.counters_dirty = False
        self._last_save = self.clock.ticks_us()
        self.counter_saves += 1

    def counters_due(self, st, now):
        """Save the incoming counters when they changed and the last save is
        COUNTER_SAVE_US old (or there was none); call after accepting frames and from the
        node's step. Returns the microseconds until a save could be due (-1: nothing)."""
        if not self.table.counters_dirty:
            return -1
        last = self._last_save
        if last is not None:
            age = self.clock.ticks_diff(now, last)
            if age < COUNTER_SAVE_US:
                return COUNTER_SAVE_US - age
        self.save_counters(st)
        return -1
