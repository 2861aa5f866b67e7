# The trust centre on the coordinator (ZigBee spec 05-3474-21, 4.6.3 and 4.7; ZigBee 3.0 /
# R21 install-code join; Smart Energy: no join with the well-known default link key).
#
#   register(ext, link_key)     a device may join: its link key from its install code
#                               (han/tc/keys.install_code_link_key), set through the
#                               authenticated configuration path by the caller
#   association (MAC)           admitted only for a registered device (ACCESS_DENIED
#                               otherwise, reported to on_join_denied(ext, now) for the
#                               tamper detector; PAN_AT_CAPACITY when the table is full);
#                               then Transport Key (network key) APS-secured with the
#                               key-transport key of its link key, NWK unsecured (4.6.3.2)
#   Request Key (TC link key)   APS-secured with the device's link key: a fresh random
#                               trust-centre link key goes back in Transport Key under
#                               the key-load key (4.6.3.5, R21)
#   Verify Key                  NWK-secured; hash = HMAC-MMO(new key, 0x03): the key is
#                               installed and Confirm Key SUCCESS goes back APS-secured
#                               with it; a wrong hash gets SECURITY_FAIL, nothing changes
#   update_network_key(key)     Transport Key of the next key to every joined device
#                               (under its own link key), then Switch Key to each, then
#                               the coordinator switches (4.6.3.4)
#   remove(ext)                 NWK Leave to the device, its entry and keys forgotten; a
#                               Leave the transmit queue cannot take now is owed and
#                               retried each step for LEAVE_OWED_US
#
# Every table change is written to the flash at once (han/nwk/store.py NetStore.save_net).
from micropython import const

from han.aps import commands as ac
from han.aps.frame import CMD_REQUEST_KEY, CMD_VERIFY_KEY
from han.aps.layer import USED_TCLK
from han.mac.frame import read_ext
from han.mac.security import same_ext
from han.nwk import commands as nc
from han.nwk.devices import JOINED, JOINING, KEY_LEN, VERIFIED
from han.nwk.security import KEY_DATA, KEY_LOAD, KEY_TRANSPORT
from han.tc.keygen import PURPOSE_TC_LINK_KEY
from han.tc.keys import verify_key_hash

# "ZigBeeAlliance09", the well-known default trust-centre link key (ZigBee 3.0 4.6.3.2):
# used only when allow_default_key is set (tests, other profiles); never in Smart Energy.
DEFAULT_LINK_KEY = b"ZigBeeAlliance09"
SWITCH_DELAY_US = const(15000000)  # Transport Key reaches sleepy devices before the switch

_CMD_BUF = const(40)
_OWED = const(4)  # removals whose Leave waits for room in the transmit queue
_NO_SHORT = const(0xFFFF)
_LEAVE_RETRY_US = const(50000)
LEAVE_OWED_US = const(60000000)


class TrustCentre:
    def __init__(self, node, allow_default_key=False):
        # node: han.zigbee.ZigbeeNode (its aps, nwk, table, st, store, coordinator role)
        self.node = node
        self.aps = node.aps
        self.table = node.table
        self.st = node.st
        self.allow_default_key = allow_default_key
        self._buf = bytearray(_CMD_BUF)
        self._ext = bytearray(8)
        self._pending = [bytearray(KEY_LEN) for _ in range(self.table.size)]
        self._has_pending = bytearray(self.table.size)
        self._switch_at = None
        # Leaves owed to removed devices: their short address, whether they sleep (their
        # entry is gone, so the NWK layer can no longer tell) and until when to try.
        self._owed_short = [_NO_SHORT] * _OWED
        self._owed_sleepy = bytearray(_OWED)
        self._owed_until = [0] * _OWED
        self._owing = 0
        self.leaves_lost = 0  # owed Leaves given up (queue full for LEAVE_OWED_US)
        self.joins = 0
        self.denied = 0
        self.keys_verified = 0
        self.verify_failures = 0
        self.refused_commands = 0
        role = node.role_sm
        role.admit = self._admit
        role.accept_unsecured_leave = False
        # on_associated(ext, short, now): a registered device associated (the device
        # inventory's hook, han/inventory.py; the role's own hook is the trust centre's).
        self.on_associated = None
        # on_removed(short): a device was removed; its short address goes to the next
        # device registered in its entry (han/nwk/devices.py), so whatever the application
        # kept for that address (reporting, subscribers) must be forgotten now.
        self.on_removed = None
        # on_join_denied(ext, now): an unregistered device asked to join and was refused
        # (han/tamper.py: repeated refusals are an UNKNOWN_JOINER episode).
        self.on_join_denied = None
        role.on_associated = self._associated
        role.on_response_sent = self._response_sent

    # --- configuration -------------------------------------------------------------------
    def register(self, ext, link_key):
        """Allow ext to join with link_key; returns the entry index or -1 (table full)."""
        i = self.table.register(ext, link_key)
        if i >= 0:
            self.node.save()
        return i

    def _admit(self, ext, capability):
        t = self.table
        i = t.find_ext(ext)
        if i < 0 and self.allow_default_key:
            i = t.register(ext, DEFAULT_LINK_KEY)
            if i < 0:
                return -2
        if i < 0:
            self.denied += 1
            if self.on_join_denied is not None:
                self.on_join_denied(ext, self.node.clock.ticks_us())
            return -1
        return i

    def _associated(self, ext, short, now):
        t = self.table
        i = t.find_ext(ext)
        if i < 0:
            return
        t.cap[i] = self.node.role_sm.dev_cap[i]
        if t.state[i] < JOINING:
            t.state[i] = JOINING
        self.node.aging.present(i)  # associated again after it was aged out (3.6.10)
        self.joins += 1
        self.node.save()
        if self.on_associated is not None:
            self.on_associated(ext, short, now)

    def _response_sent(self, ext, short, now):
        # The device has its address: the network key follows (4.6.3.2). A new join is
        # keyed by the install code's link key, also for a device that had a trust-centre
        # link key (it may have been reset).
        i = self.table.find_ext(ext)
        if i >= 0:
            self.send_network_key(i, now, KEY_TRANSPORT, self.table.link_key[i],
                                  nwk_secure=False)

    def send_network_key(self, i, now, key_id, base_key, nwk_secure=True, alternate=False):
        st = self.st
        key = st.alt_key if alternate else st.key
        seq = st.alt_seq if alternate else st.key_seq
        n = ac.build_transport_nwk_key(self._buf, 0, key, seq, self.table.ext[i],
                                       self.node.mac.ext_addr)
        return self.aps.send_command(self.table.short_of(i), self._buf, n, now, key_id,
                                     base_key, nwk_secure)

    # --- commands from devices -----------------------------------------------------------
    def command(self, c, src, index, buf, off, n, key_id, nwk_secured, now):
        t = self.table
        if index < 0 or not nwk_secured or t.short_of(index) != src:
            self.refused_commands += 1
            return
        if c == CMD_REQUEST_KEY:
            # 4.4.11.4: only a TC link key request, APS-secured with the device's key.
            if key_id != KEY_DATA or buf[off + 1] != ac.KEY_TC_LINK:
                self.refused_commands += 1
                return
            k = self._pending[index]
            self.node.keys.fill(k, PURPOSE_TC_LINK_KEY, t.ext[index], self.st)
            self._has_pending[index] = 1
            base = t.tclk[index] if self.aps.which == USED_TCLK else t.link_key[index]
            m = ac.build_transport_tclk(self._buf, 0, k, t.ext[index], self.node.mac.ext_addr)
            self.aps.send_command(src, self._buf, m, now, KEY_LOAD, base)
        elif c == CMD_VERIFY_KEY:
            ok = self._has_pending[index] and buf[off + 1] == ac.KEY_TC_LINK
            if ok:
                read_ext(buf, off + ac.VK_SRC, self._ext)
                ok = same_ext(self._ext, t.ext[index])
            if ok:
                h = verify_key_hash(self._pending[index])
                diff = 0
                for j in range(KEY_LEN):
                    diff |= h[j] ^ buf[off + ac.VK_HASH + j]
                ok = diff == 0
            if not ok:
                self.verify_failures += 1
                m = ac.build_confirm_key(self._buf, 0, ac.CONFIRM_SECURITY_FAIL, t.ext[index])
                self.aps.send_command(src, self._buf, m, now)
                return
            t.tclk[index][:] = self._pending[index]
            self._has_pending[index] = 0
            t.state[index] = VERIFIED
            self.aps.forget_counters(index)
            self.keys_verified += 1
            self.node.save()
            m = ac.build_confirm_key(self._buf, 0, ac.CONFIRM_SUCCESS, t.ext[index])
            self.aps.send_command(src, self._buf, m, now, KEY_DATA, t.tclk[index])
        else:
            self.refused_commands += 1

    def heard_secured(self, index):
        """A NWK-secured frame from a joining device: it holds the network key."""
        t = self.table
        if t.state[index] == JOINING:
            t.state[index] = JOINED
            self.node.save()

    # --- network key update, removal -----------------------------------------------------
    def update_network_key(self, key, now):
        """Distribute key as the next network key, switch SWITCH_DELAY_US later."""
        st = self.st
        if len(key) != KEY_LEN:
            raise ValueError("the network key is 16 bytes")
        st.alt_key[:] = key
        st.alt_seq = (st.key_seq + 1) & 0xFF
        st.has_alt = True
        self.node.nwk.keys_changed()
        self.node.save()
        t = self.table
        for i in range(t.size):
            if t.state[i] >= JOINED:
                self.send_network_key(i, now, KEY_TRANSPORT, self._data_key(i),
                                      alternate=True)
        self._switch_at = self.node.clock.ticks_add(now, SWITCH_DELAY_US)

    def _data_key(self, i):
        t = self.table
        return t.tclk[i] if t.state[i] == VERIFIED else t.link_key[i]

    def remove(self, ext, now):
        """Tell the device to leave (NWK Leave, secured) and forget it; False if unknown."""
        t = self.table
        i = t.find_ext(ext)
        if i < 0:
            return False
        if t.state[i] >= JOINING:
            short = t.short_of(i)
            sleepy = self.node.nwk.sleepy(short)
            if not self._send_leave(short, sleepy, now):
                self._owe_leave(short, sleepy, now)
        t.remove(i)
        self._has_pending[i] = 0
        self.node.role_sm.release(i, now)
        self.node.save()
        if self.on_removed is not None:
            self.on_removed(t.short_of(i))
        return True

    def _send_leave(self, short, sleepy, now):
        # NWK Leave (3.4.4), secured with the network key; True when the MAC queued it.
        n = nc.build_leave(self._buf, 0, nc.LEAVE_REQUEST)
        return self.node.nwk.send(short, self._buf, n, now, command=True,
                                  indirect=bool(sleepy)) > 0

    def _owe_leave(self, short, sleepy, now):
        for k in range(_OWED):
            if self._owed_short[k] == _NO_SHORT:
                self._owed_short[k] = short
                self._owed_sleepy[k] = sleepy
                self._owed_until[k] = self.node.clock.ticks_add(now, LEAVE_OWED_US)
                self._owing += 1
                return
        self.leaves_lost += 1

    def _retry_leaves(self, now):
        clock = self.node.clock
        for k in range(_OWED):
            short = self._owed_short[k]
            if short == _NO_SHORT:
                continue
            # The address given to a newly registered device, the Leave queued at last,
            # or the time up: the debt ends.
            done = self.table.find_short(short) >= 0 or \
                self._send_leave(short, self._owed_sleepy[k], now)
            if not done and clock.ticks_diff(self._owed_until[k], now) <= 0:
                self.leaves_lost += 1
                done = True
            if done:
                self._owed_short[k] = _NO_SHORT
                self._owing -= 1
        return _LEAVE_RETRY_US if self._owing else -1

    def step(self, now):
        w = self._retry_leaves(now) if self._owing else -1
        s = self._step_switch(now)
        return s if w < 0 else (w if s < 0 else min(w, s))

    def _step_switch(self, now):
        if self._switch_at is None:
            return -1
        left = self.node.clock.ticks_diff(self._switch_at, now)
        if left > 0:
            return left
        self._switch_at = None
        t = self.table
        seq = self.st.alt_seq
        for i in range(t.size):
            if t.state[i] >= JOINED:
                n = ac.build_switch_key(self._buf, 0, seq)
                self.aps.send_command(t.short_of(i), self._buf, n, now, KEY_DATA,
                                      self._data_key(i))
        self.node.nwk.switch_key(seq)
        self.node.save()
        return -1

