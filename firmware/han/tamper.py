# Tamper events from abnormal HAN traffic seen by the coordinator (issue 4; seed 003 10.7:
# "the comms hub shall monitor HAN traffic and in the case of abnormal activity, shall
# generate a tamper alert"; issue 13 extends it to the NWK and APS layers). Five kinds:
#
# - FLOOD: more than FLOOD_FRAMES_PER_S frames in one second from one source (a jammer
#   replaying valid frames, a device stuck transmitting). Counted on every MAC frame
#   (rx_frame), whatever its fate: in this star network every NWK frame is one MAC frame
#   from its sender (no routing), so a flood of NWK frames, valid ones included, is
#   counted there once per frame;
# - REPLAY: a secured frame whose frame counter is not above the last one accepted from
#   that device: at the MAC (SEC_ERR_REPLAY, 2006 7.5.8.2.3 step k), the NWK (network
#   key's counter, 4.3.1.2) or the APS layer (link key's counter, 4.4.1.2);
# - UNKNOWN_DEVICE: a data frame (or any secured frame) from a source that is not an
#   associated device. MAC commands are exempt: association requests, orphan
#   notifications and data requests for an association response legitimately come from
#   devices not yet in the table (unregistered joiners are UNKNOWN_JOINER);
# - MIC_FAILURES: MIC_FAILURES_THRESHOLD frames failing authentication from one source
#   within MIC_WINDOW_US (one may be a device with an old key; a series is a forgery
#   attempt; the FCS already removes frames corrupted on air): a wrong MIC or an unknown
#   key sequence number at the NWK, no link key of the sender opening an APS frame, or
#   an APS frame under a key of the sender that is not its current data key;
# - UNKNOWN_JOINER (5, issue 13): JOIN_DENIALS_THRESHOLD association requests refused by
#   the trust centre (han/tc/centre.py: the device is not registered) from one extended
#   address within JOIN_WINDOW_US. A device powered before the installer registers it is
#   refused once or twice (han/zlink.py retries after 5 s, then 10 s...): no event; one
#   that keeps asking is an episode. Its episode lasts while refusals come less than
#   JOIN_EPISODE_GAP_US apart, longer than the joiner's longest back-off
#   (JOIN_RETRY_MAX_US, 60 s), so a device retrying forever is one event, not one a
#   minute.
#
# Under ZigBee the MAC runs unsecured and security is the NWK and APS layers': their
# refusals (han/nwk/layer.py and han/aps/layer.py on_refused, reasons REFUSED_*) come in
# through nwk_refused() / aps_refused() and count as above, by the sender's extended
# address from the security header (the NWK-authenticated sender for an APS refusal) or
# its short address; the trust centre's refusals through join_denied().
#
# Each is raised once per episode through on_tamper(kind, address, now): an episode of a
# kind for a source lasts while its abnormal frames keep coming less than
# TAMPER_EPISODE_GAP_US apart (JOIN_EPISODE_GAP_US for UNKNOWN_JOINER); a new event is
# raised only after such a quiet gap. The address is the device's extended address (a
# bytearray owned by the inventory or this detector: copy it to keep it) or, for an
# unknown source heard only by its short address, that short address (int). What reaches
# the flash is bounded again by the tamper log's admission and write budget
# (registers/logs.py), whatever the rate of episodes.
#
# Sources are the inventory's entries plus UNKNOWN_SOURCES slots for unknown senders
# (reused oldest first); everything is preallocated and the per-frame path allocates
# nothing (the callback itself excepted).
from micropython import const

from han.mac import frame as fr
from han.mac.security import SEC_ERR_MIC, SEC_ERR_REPLAY, same_ext
from han.nwk.layer import (REFUSED_KEY_SEQ, REFUSED_MIC, REFUSED_REPLAY, REFUSED_UNKNOWN_SOURCE,
                           REFUSED_UNSECURED)

TAMPER_FLOOD = const(1)
TAMPER_REPLAY = const(2)
TAMPER_UNKNOWN_DEVICE = const(3)
TAMPER_MIC_FAILURES = const(4)
TAMPER_UNKNOWN_JOINER = const(5)  # issue 13: repeated joins of an unregistered device
_KINDS = const(6)  # index 0 unused

# A device of this PAN sends a few frames per second (reports, data requests of sleepy
# devices; docs/han.md's traffic level is 5 per device); one source alone on the channel
# can send about 150 short frames per second (frame + ACK + backoffs). 50 is ten times
# the expected rate, a third of the channel.
FLOOD_FRAMES_PER_S = const(50)
FLOOD_WINDOW_US = const(1000000)
MIC_FAILURES_THRESHOLD = const(3)
MIC_WINDOW_US = const(60000000)
TAMPER_EPISODE_GAP_US = const(10000000)
# Unknown joiners: 3 refusals take an unregistered device 15 s (han/zlink.py: 5 s, then
# 10 s); the episode outlives its longest back-off (60 s) five times over.
JOIN_DENIALS_THRESHOLD = const(3)
JOIN_WINDOW_US = const(300000000)
JOIN_EPISODE_GAP_US = const(300000000)
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
        self._join_start = [0] * n
        self._join_count = [0] * n
        self._ep_active = bytearray(n * _KINDS)
        self._ep_last = [0] * (n * _KINDS)
        self.events = [0] * _KINDS  # events raised per kind
        inventory.tamper = self

    # --- sources -----------------------------------------------------------------------
    def _unknown_slot(self, ext, short, now):
        # ext: an extended address (bytes-like), or None and the short address.
        for k in range(UNKNOWN_SOURCES):
            s = self._u_short[k]
            if ext is not None:
                if s == 0x10000 and same_ext(self._u_ext[k], ext):
                    return k
            elif s == short:
                return k
        k = self._u_next  # a new unknown source takes the oldest slot
        self._u_next = (k + 1) % UNKNOWN_SOURCES
        if ext is not None:
            self._u_short[k] = 0x10000
            e = self._u_ext[k]
            for j in range(8):
                e[j] = ext[j]
        else:
            self._u_short[k] = short
        slot = self._known + k
        self._flood_count[slot] = 0
        self._flood_start[slot] = now
        self._mic_count[slot] = 0
        self._mic_start[slot] = now
        self._join_count[slot] = 0
        self._join_start[slot] = now
        for kind in range(_KINDS):
            self._ep_active[slot * _KINDS + kind] = 0
        return k

    def _slot(self, index, ext, short, now):
        if self.inventory.is_associated(index):
            return index
        return self._known + self._unknown_slot(ext, short, now)

    def _address(self, slot):
        if slot < self._known:
            return self.inventory.ext_of(slot)
        k = slot - self._known
        s = self._u_short[k]
        return self._u_ext[k] if s == 0x10000 else s

    # --- per MAC frame (called by DeviceInventory.rx_frame) ----------------------------
    def rx_frame(self, f, outcome, index, now):
        if f.src_mode == fr.ADDR_EXT:
            slot = self._slot(index, f.src_ext, 0, now)
        elif f.src_mode == fr.ADDR_SHORT:
            slot = self._slot(index, None, f.src_addr, now)
        else:
            return  # no source to blame
        clock = self.clock  # (a bound method kept in a local would be an allocation)
        # Floods: every frame counts, whatever its fate.
        d = clock.ticks_diff(now, self._flood_start[slot])
        # d < 0: the window's start lies more than half the tick period back (a slot
        # never used since boot starts at 0), not in the future: start a new window.
        if d >= FLOOD_WINDOW_US or d < 0:
            self._flood_start[slot] = now
            self._flood_count[slot] = 0
        self._flood_count[slot] += 1
        if self._flood_count[slot] > FLOOD_FRAMES_PER_S:
            self._episode(TAMPER_FLOOD, slot, now)
        if outcome == SEC_ERR_REPLAY:
            self._episode(TAMPER_REPLAY, slot, now)
        elif outcome == SEC_ERR_MIC:
            self._mic_failure(slot, now)
        if slot >= self._known and (f.frame_type == fr.FT_DATA or f.security) \
                and f.frame_type != fr.FT_BEACON:
            self._episode(TAMPER_UNKNOWN_DEVICE, slot, now)

    # --- per refused NWK or APS frame (han/nwk/layer.py, han/aps/layer.py on_refused) --
    def nwk_refused(self, reason, who, now):
        """A ZigBee network- or APS-layer refusal: who is the sender's extended address
        (from the security header) or its short address. Replays and frames failing
        authentication (a wrong MIC, a key sequence number we never issued, an APS frame
        no link key of the sender opens or under one that is not its data key) count as
        at the MAC; a secured frame from a source the trust centre never admitted, or an
        unsecured one where only secured frames are accepted, is an unknown device.
        Malformed frames, duplicates (retransmissions) and frames for others are not
        attacks."""
        if reason == REFUSED_REPLAY:
            kind = TAMPER_REPLAY
        elif reason == REFUSED_MIC or reason == REFUSED_KEY_SEQ:
            kind = TAMPER_MIC_FAILURES
        elif reason == REFUSED_UNKNOWN_SOURCE or reason == REFUSED_UNSECURED:
            kind = TAMPER_UNKNOWN_DEVICE
        else:
            return
        slot = self._slot_of(who, now)
        if kind == TAMPER_MIC_FAILURES:
            self._mic_failure(slot, now)
        else:
            self._episode(kind, slot, now)

    # The APS layer reports with the same reasons (han/aps/layer.py).
    aps_refused = nwk_refused

    def _slot_of(self, who, now):
        inv = self.inventory
        if isinstance(who, int):
            return self._slot(inv.find_short(who), None, who, now)
        return self._slot(inv.find_ext(who), who, 0, now)

    # --- per association the trust centre refused (han/tc/centre.py on_join_denied) ----
    def join_denied(self, ext, now):
        """ext (not registered) asked to join and was refused (ACCESS_DENIED)."""
        slot = self._slot_of(ext, now)
        d = self.clock.ticks_diff(now, self._join_start[slot])
        if self._join_count[slot] == 0 or d >= JOIN_WINDOW_US or d < 0:  # (as _mic_failure)
            self._join_start[slot] = now
            self._join_count[slot] = 0
        self._join_count[slot] += 1
        if self._join_count[slot] >= JOIN_DENIALS_THRESHOLD:
            self._episode(TAMPER_UNKNOWN_JOINER, slot, now)

    def _mic_failure(self, slot, now):
        d = self.clock.ticks_diff(now, self._mic_start[slot])
        # d < 0: the start lies more than half the tick period back (2**30 us on the
        # boards), not in the future: the window is long over.
        if self._mic_count[slot] == 0 or d >= MIC_WINDOW_US or d < 0:
            self._mic_start[slot] = now
            self._mic_count[slot] = 0
        self._mic_count[slot] += 1
        if self._mic_count[slot] >= MIC_FAILURES_THRESHOLD:
            self._episode(TAMPER_MIC_FAILURES, slot, now)

    def _episode(self, kind, slot, now):
        j = slot * _KINDS + kind
        gap = JOIN_EPISODE_GAP_US if kind == TAMPER_UNKNOWN_JOINER else TAMPER_EPISODE_GAP_US
        d = self.clock.ticks_diff(now, self._ep_last[j])
        # d < 0: the last abnormal frame lies more than half the tick period back (about
        # 9 min on the boards' 2**30 us ticks): a quiet gap, not the same episode.
        if self._ep_active[j] and 0 <= d < gap:
            self._ep_last[j] = now  # the same episode goes on
            return
        self._ep_active[j] = 1
        self._ep_last[j] = now
        self.events[kind] += 1
        cb = self.on_tamper
        if cb is not None:
            cb(kind, self._address(slot), now)
