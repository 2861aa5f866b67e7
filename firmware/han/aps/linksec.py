# APS security of han/aps/layer.py with link keys (ZigBee spec 05-3474-21, 4.4.1 and
# 4.5.3; SE 1.4 5.4.6): which key of a peer's table entry seals a frame and which opened
# one, the keys derived from them for key transport and key load, and the APS frame
# counters of each entry (4.4.1.2: a counter above the last one accepted).
#
#   s = LinkSecurity(nwk, frame_size)      frame_size: the longest frame opened
#   s.peer(dst) -> the entry we share link keys with at network address dst, or -1
#   s.data_key(i) -> entry i's data key: its verified TC link key, else its install-code key
#   s.seal(buf, hl, payload, n, key_id, key) -> frame length (0: no frame counter left)
#   s.open(buf, n, hl) -> plaintext length, or REFUSED / WRONG_KEY (who: s.who);
#       on success s.index is the sender's entry, s.which the key that opened it
#       (USED_LINK_KEY / USED_TCLK), s.rx_aux the auxiliary header
#   s.data_key_ok(i, key_id);  s.forget_counters(i) when a key of entry i changed
#
# Nothing is recorded before the entry, its counter and the MIC all pass. open and seal
# allocate nothing.
from micropython import const

from han.aps.security import ApsSecurity, AuxHeader, parse_aux
from han.nwk.devices import FRESH, JOINING, KEY_LEN, NO_COUNTER, VERIFIED, counter_verdict
from han.nwk.security import KEY_DATA, KEY_LOAD, KEY_TRANSPORT
from han.tc.keys import key_load_key, key_transport_key

USED_LINK_KEY = const(1)
USED_TCLK = const(2)
REFUSED = const(-1)
WRONG_KEY = const(-2)  # from a known entry, but no key of it opens the frame


class LinkSecurity:
    def __init__(self, nwk, frame_size):
        self.nwk = nwk
        self.table = nwk.table
        self._sec = ApsSecurity()
        self.rx_aux = self._sec.aux
        self._aux = AuxHeader()
        self._keep = bytearray(frame_size)
        self._derived = bytearray(KEY_LEN)
        # Per entry: the last APS counter accepted under the install-code link key once
        # a TC link key replaced it (forget_counters, open).
        self._lk_in = [NO_COUNTER] * self.table.size
        self.which = 0
        self.index = -1
        self.who = -1

    def peer(self, dst):
        """The table entry of the node we share link keys with at network address dst
        (the coordinator: a child; an end device: the trust centre), or -1."""
        t = self.table
        if self.nwk.coordinator:
            return t.find_short(dst)
        return 0 if dst == 0x0000 and t.state[0] >= JOINING else -1

    def data_key(self, i):
        # The data key of entry i (4.4.1.1, SE 1.4 5.4.6): its verified TC link key, else
        # its install-code link key.
        t = self.table
        return t.tclk[i] if t.state[i] == VERIFIED else t.link_key[i]

    def key_for(self, key_id, link_key):
        if key_id == KEY_TRANSPORT:
            self._derived[:] = key_transport_key(link_key)
            return self._derived
        if key_id == KEY_LOAD:
            self._derived[:] = key_load_key(link_key)
            return self._derived
        return link_key

    def seal(self, buf, hl, payload, n, key_id, key):
        """Secure buf in place (APS header buf[0:hl], security bit set): the auxiliary
        header with our extended address and a fresh frame counter, then payload[0:n]
        (None: already after the auxiliary header), under key_id's key from the link key
        `key`. The frame length, or 0 when the frame counters ran out."""
        aux = self._aux
        aux.clear()
        aux.key_id = key_id
        aux.ext_nonce = True
        aux.src64[:] = self.nwk.mac.ext_addr
        try:
            aux.frame_counter = self.nwk.store.reserve(self.nwk.st, False)
        except OSError:
            return 0
        return self._sec.encrypt(buf, hl, payload, n, self.key_for(key_id, key), aux)

    def open(self, buf, n, hl):
        aux = self._sec.aux
        self.who = -1
        try:
            parse_aux(buf, hl, n, aux)
        except ValueError:
            return REFUSED
        t = self.table
        i = t.find_ext(aux.src64) if aux.ext_nonce else -1
        if i < 0:
            if aux.ext_nonce:
                self.who = aux.src64
            return REFUSED
        self.who = aux.src64
        c = aux.frame_counter
        if counter_verdict(t.aps_in[i], c) != FRESH:
            return REFUSED
        # Which key: the data key is the TC link key once one is set, else the link key;
        # key-transport / key-load keys derive from either (a device that lost its TC
        # link key comes back with its install code).
        r = -1
        two = _any(t.tclk[i])  # else only the link key can open it: nothing to restore
        keep = self._keep
        if two:
            for j in range(n):
                keep[j] = buf[j]
        for which in (USED_TCLK, USED_LINK_KEY):
            base = t.tclk[i] if which == USED_TCLK else t.link_key[i]
            if which == USED_TCLK and not two:
                continue
            try:
                r = self._sec.decrypt(buf, n, self.key_for(aux.key_id, base), hl)
                self.which = which
                break
            except ValueError:
                # MIC failed: CCM* decrypted in place before checking; restore the frame
                # for the next key.
                if which == USED_TCLK:
                    for j in range(n):
                        buf[j] = keep[j]
        if r < 0:
            return WRONG_KEY
        if self.which == USED_LINK_KEY and two:
            # Under the install-code key while a TC link key is held: its counter space
            # was not forgotten with the key change (forget_counters), so it must still
            # rise. Without this, the join's Transport Key (APS counter 0) replayed after
            # the Verify/Confirm Key exchange was accepted again and dropped a pending key
            # update (found by the fuzz). RAM only: see forget_counters.
            if counter_verdict(self._lk_in[i], c) != FRESH:
                return REFUSED
            self._lk_in[i] = c
        t.aps_in[i] = c
        t.counters_dirty = True
        self.index = i
        return r

    def data_key_ok(self, i, key_id):
        # APS-secured data or ack: only under entry i's current data key (data_key).
        if key_id != KEY_DATA:
            return False
        return self.which == (USED_TCLK if self.table.state[i] == VERIFIED else USED_LINK_KEY)

    def forget_counters(self, i):
        """A key of entry i changed: its sender may start a new counter space (for the
        new key; frames under the install-code key keep theirs, in _lk_in, which is not
        persisted: after a reboot only aps_in guards them)."""
        t = self.table
        if t.aps_in[i] > self._lk_in[i]:
            self._lk_in[i] = t.aps_in[i]
        t.aps_in[i] = NO_COUNTER


def _any(b):
    for x in b:
        if x:
            return True
    return False
