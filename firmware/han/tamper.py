# Tamper events from abnormal HAN traffic seen by the coordinator (issue 4; GBCS CHTS,
# seed 003, asks for the HAN's status to be available to the head end). Four kinds:
#
# - FLOOD: more than FLOOD_FRAMES_PER_S frames in one second from one source (a jammer
#   replaying valid frames, a device stuck transmitting);
# - REPLAY: a secured frame whose frame counter is not above the last one accepted from
#   that device (the security layer rejects it: SEC_ERR_REPLAY, 2006 7.5.8.2.3 step k);
# - UNKNOWN_DEVICE: a data frame (or any secured frame) from a source that is not an
#   associated device. MAC commands are exempt: association requests, orphan
#   notifications and data requests for an association response legitimately come from
#   devices not yet in the table;
# - MIC_FAILURES: MIC_FAILURES_THRESHOLD frames failing authentication from one source
#   within MIC_WINDOW_US (one may be a device with an old key; a series is a forgery
#   attempt; the FCS already removes frames corrupted on air).
#
# Each is raised once per episode through on_tamper(kind, address, now): an episode of a
# kind for a source lasts while its abnormal frames keep coming less than
# TAMPER_EPISODE_GAP_US apart; a new event is raised only after such a quiet gap. The
# address is the device's extended address (a bytearray owned by the inventory or this
# detector: copy it to keep it) or, for an unknown source heard only by its short address,
# that short address (int).
#
# Sources are the inventory's entries plus UNKNOWN_SOURCES slots for unknown senders
# (reused oldest first); everything is preallocated and the per-frame path allocates
# nothing (the callback itself excepted).
from micropython import const

from han.mac import frame as fr
from han.mac.security import SEC_ERR_MIC, SEC_ERR_REPLAY, same_ext

TAMPER_FLOOD = const(1)
TAMPER_REPLAY = const(2)
TAMPER_UNKNOWN_DEVICE = const(3)
TAMPER_MIC_FAILURES = const(4)
_KINDS = const(5)  # index 0 unused

# A device of this PAN sends a few frames per second (reports, data requests of sleepy
# devices; docs/han.md's traffic level is 5 per device); one source alone on the channel
# can send about 150 short frames per second (frame + ACK + backoffs). 50 is ten times
# the expected rate, a third of the channel.
FLOOD_FRAMES_PER_S = const(50)
FLOOD_WINDOW_US = const(1000000)
MIC_FAILURES_THRESHOLD = const(3)
MIC_WINDOW_US = const(60000000)
TAMPER_EPISODE_GAP_US = const(10000000)
UNKNOWN_SOURCES = const(4)


class TamperDetector:
    def __init__(self, inventory, on_tamper=None):
        self.inventory = inventory
        self.on_tamper = on_tamper  # callable(kind, ext bytearray or short int, now)
        self.clock = inventory.clock
        known = len(inventory)
        n = known + UNKNOWN_SOURCES
        self._known = known
        # Unknown senders: extended address, or short address (ext unused then).
        self._u_ext = [bytearray(8) for _ in range(UNKNOWN_SOURCES)]
        self._u_short = [-1] * UNKNOWN_SOURCES  # -1: free; 0x10000: keyed by ext
        self._u_next = 0
        self._flood_start = [0] * n
        self._flood_count = [0] * n
        self._mic_start = [0] * n
        self._mic_count = [0] * n
        self._ep_active = bytearray(n * _KINDS)
        self._ep_last = [0] * (n * _KINDS)
        self.events = [0] * _KINDS  # events raised per kind
        inventory.tamper = self

    # --- sources -----------------------------------------------------------------------
    def _unknown_slot(self, f, now):
        ext_mode = f.src_mode == fr.ADDR_EXT
        for k in range(UNKNOWN_SOURCES):
            s = self._u_short[k]
            if ext_mode:
                if s == 0x10000 and same_ext(self._u_ext[k], f.src_ext):
                    return k
            elif s == f.src_addr:
                return k
        k = self._u_next  # a new unknown source takes the oldest slot
        self._u_next = (k + 1) % UNKNOWN_SOURCES
        if ext_mode:
            self._u_short[k] = 0x10000
            e = self._u_ext[k]
            for j in range(8):
                e[j] = f.src_ext[j]
        else:
            self._u_short[k] = f.src_addr
        slot = self._known + k
        self._flood_count[slot] = 0
        self._flood_start[slot] = now
        self._mic_count[slot] = 0
        self._mic_start[slot] = now
        for kind in range(_KINDS):
            self._ep_active[slot * _KINDS + kind] = 0
        return k

    def _address(self, slot):
        if slot < self._known:
            return self.inventory.ext_of(slot)
        k = slot - self._known
        s = self._u_short[k]
        return self._u_ext[k] if s == 0x10000 else s

    # --- per frame (called by DeviceInventory.rx_frame) --------------------------------
    def rx_frame(self, f, outcome, index, now):
        if f.src_mode != fr.ADDR_SHORT and f.src_mode != fr.ADDR_EXT:
            return  # no source to blame
        known = self.inventory.is_associated(index)
        if known:
            slot = index
        else:
            slot = self._known + self._unknown_slot(f, now)
        clock = self.clock  # (a bound method kept in a local would be an allocation)
        # Floods: every frame counts, whatever its fate.
        if clock.ticks_diff(now, self._flood_start[slot]) >= FLOOD_WINDOW_US:
            self._flood_start[slot] = now
            self._flood_count[slot] = 0
        self._flood_count[slot] += 1
        if self._flood_count[slot] > FLOOD_FRAMES_PER_S:
            self._episode(TAMPER_FLOOD, slot, now)
        if outcome == SEC_ERR_REPLAY:
            self._episode(TAMPER_REPLAY, slot, now)
        elif outcome == SEC_ERR_MIC:
            if self._mic_count[slot] == 0 or \
                    clock.ticks_diff(now, self._mic_start[slot]) >= MIC_WINDOW_US:
                self._mic_start[slot] = now
                self._mic_count[slot] = 0
            self._mic_count[slot] += 1
            if self._mic_count[slot] >= MIC_FAILURES_THRESHOLD:
                self._episode(TAMPER_MIC_FAILURES, slot, now)
        if not known and (f.frame_type == fr.FT_DATA or f.security) \
                and f.frame_type != fr.FT_BEACON:
            self._episode(TAMPER_UNKNOWN_DEVICE, slot, now)

    def _episode(self, kind, slot, now):
        j = slot * _KINDS + kind
        if self._ep_active[j] and \
                self.clock.ticks_diff(now, self._ep_last[j]) < TAMPER_EPISODE_GAP_US:
            self._ep_last[j] = now  # the same episode goes on
            return
        self._ep_active[j] = 1
        self._ep_last[j] = now
        self.events[kind] += 1
        cb = self.on_tamper
        if cb is not None:
            cb(kind, self._address(slot), now)
