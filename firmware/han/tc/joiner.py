# The joining device's half of the trust-centre exchange (ZigBee spec 05-3474-21, 4.6.3;
# ZigBee 3.0 / R21 with an install code):
#
#   J_WAIT_NWK_KEY   after the MAC association: Transport Key (network key) must come
#                    APS-secured with the key-transport key of our link key and name us
#                    as destination; then Device_annce (ZDO, broadcast) and Request Key
#   J_WAIT_TCLK      Transport Key (trust-centre link key) under the key-load key
#   J_WAIT_CONFIRM   Verify Key sent (NWK-secured, hash = HMAC-MMO(key, 0x03)); Confirm
#                    Key SUCCESS APS-secured with the new key installs it (saved)
#   J_JOINED         later: Transport Key of the next network key (under the TC link
#                    key) and Switch Key (APS-secured with it) from the trust centre only
#
# No key arrives in a frame that is not APS-secured with a key derived from our own link
# key: an unsecured Transport Key is ignored (counted), as Smart Energy requires.
from micropython import const

from han.aps import commands as ac
from han.aps.frame import CMD_CONFIRM_KEY, CMD_SWITCH_KEY, CMD_TRANSPORT_KEY
from han.aps.layer import USED_LINK_KEY, USED_TCLK
from han.mac.frame import read_ext
from han.mac.security import same_ext
from han.nwk.devices import JOINED, KEY_LEN, VERIFIED
from han.nwk.security import KEY_DATA, KEY_LOAD, KEY_TRANSPORT
from han.tc.keys import verify_key_hash

J_IDLE = const(0)
J_WAIT_NWK_KEY = const(1)
J_WAIT_TCLK = const(2)
J_WAIT_CONFIRM = const(3)
J_JOINED = const(4)

KEY_WAIT_US = const(5000000)  # apsSecurityTimeOutPeriod, generous for a sleepy device
TCLK_ATTEMPTS = const(3)
_TC = const(0)  # the trust centre's entry in an end device's table


class Joiner:
    def __init__(self, node):
        self.node = node
        self.aps = node.aps
        self.table = node.table
        self.st = node.st
        self.state = J_IDLE
        self.attempts = 0
        self._deadline = 0
        self._buf = bytearray(40)
        self._ext = bytearray(8)
        self._pending = bytearray(KEY_LEN)
        self._saved_tclk = bytearray(KEY_LEN)
        self.refused_commands = 0
        self.on_failed = None  # (now): the trust centre did not give us a network key
        self.on_joined = None  # (now): network key held (and TC link key verified or not)

    def start(self, now):
        """Associated: wait for the network key."""
        self.state = J_WAIT_NWK_KEY
        self._deadline = self.node.clock.ticks_add(now, KEY_WAIT_US)

    def resume(self):
        self.state = J_JOINED

    def _for_us(self, buf, off):
        read_ext(buf, off, self._ext)
        return same_ext(self._ext, self.node.mac.ext_addr)

    def command(self, c, src, index, buf, off, n, key_id, nwk_secured, now):
        t = self.table
        if index != _TC or src != 0x0000:
            self.refused_commands += 1
            return
        if c == CMD_TRANSPORT_KEY:
            kt = buf[off + 1]
            if kt == ac.KEY_NETWORK and key_id == KEY_TRANSPORT and \
                    self._for_us(buf, off + ac.TK_NWK_DST):
                if self.aps.which == USED_LINK_KEY and t.state[_TC] == VERIFIED and \
                        self.state != J_WAIT_NWK_KEY:
                    # Once a TC link key is verified the trust centre sends keys under it
                    # (rejoins, updates); under the install-code key only the answer to a
                    # new association. Anything else is the join's Transport Key replayed
                    # (its APS counter guard is in RAM only: it would pass after a reboot).
                    self.refused_commands += 1
                    return
                self._network_key(buf, off, now)
                return
            if kt == ac.KEY_TC_LINK and key_id == KEY_LOAD and \
                    self.state == J_WAIT_TCLK and self._for_us(buf, off + ac.TK_TCLK_DST):
                for j in range(KEY_LEN):
                    self._pending[j] = buf[off + ac.TK_KEY + j]
                self._verify(now)
                return
        elif c == CMD_CONFIRM_KEY and self.state == J_WAIT_CONFIRM and key_id == KEY_DATA \
                and self.aps.which == USED_TCLK and self._for_us(buf, off + ac.CK_DST):
            if buf[off + 1] == ac.CONFIRM_SUCCESS:
                t.state[_TC] = VERIFIED
                self.aps.forget_counters(_TC)
                self.state = J_JOINED
                self.node.save()
                if self.on_joined is not None:
                    self.on_joined(now)
            else:
                self._restore_tclk()
                self._retry_tclk(now)
            return
        elif c == CMD_SWITCH_KEY and self.state == J_JOINED and key_id == KEY_DATA:
            if self.node.nwk.switch_key(buf[off + 1]):
                self.node.save()
                return
        self.refused_commands += 1

    def _network_key(self, buf, off, now):
        st = self.st
        seq = buf[off + ac.TK_NWK_SEQ]
        read_ext(buf, off + ac.TK_NWK_SRC, self._ext)
        if self.state == J_JOINED and st.has_key and seq != st.key_seq:
            # The next network key of a key update: held until Switch Key (4.6.3.4).
            for j in range(KEY_LEN):
                st.alt_key[j] = buf[off + ac.TK_KEY + j]
            st.alt_seq = seq
            st.has_alt = True
            self.node.nwk.keys_changed()
            self.node.save()
            return
        for j in range(KEY_LEN):
            st.key[j] = buf[off + ac.TK_KEY + j]
        st.key_seq = seq
        st.has_key = True
        st.has_alt = False
        st.tc_ext[:] = self._ext
        self.node.nwk.keys_changed()
        if self.table.state[_TC] < JOINED:
            self.table.state[_TC] = JOINED
        self.node.save()
        if self.state != J_WAIT_NWK_KEY:
            return  # a trust-centre rejoin: the key again, nothing more to do
        self.node.announce(now)
        if self.table.state[_TC] == VERIFIED:
            self.state = J_JOINED  # a TC link key from an earlier join is still good
            if self.on_joined is not None:
                self.on_joined(now)
            return
        self.attempts = 0
        self._request_tclk(now)

    def _request_tclk(self, now):
        self.attempts += 1
        n = ac.build_request_tclk(self._buf, 0)
        self.aps.send_command(0x0000, self._buf, n, now, KEY_DATA, self.table.link_key[_TC])
        self.state = J_WAIT_TCLK
        self._deadline = self.node.clock.ticks_add(now, KEY_WAIT_US)

    def _verify(self, now):
        t = self.table
        # Tentatively in the table so that the APS layer can open Confirm Key with it.
        self._saved_tclk[:] = t.tclk[_TC]
        t.tclk[_TC][:] = self._pending
        n = ac.build_verify_key(self._buf, 0, self.node.mac.ext_addr,
                                verify_key_hash(self._pending))
        self.aps.send_command(0x0000, self._buf, n, now)
        self.state = J_WAIT_CONFIRM
        self._deadline = self.node.clock.ticks_add(now, KEY_WAIT_US)

    def _restore_tclk(self):
        self.table.tclk[_TC][:] = self._saved_tclk

    def _retry_tclk(self, now):
        if self.attempts < TCLK_ATTEMPTS:
            self._request_tclk(now)
            return
        # No unique key: keep working with the install-code link key (R20 behaviour).
        self.state = J_JOINED
        if self.on_joined is not None:
            self.on_joined(now)

    def step(self, now):
        if self.state in (J_IDLE, J_JOINED):
            return -1
        left = self.node.clock.ticks_diff(self._deadline, now)
        if left > 0:
            return left
        if self.state == J_WAIT_NWK_KEY:
            self.state = J_IDLE
            if self.on_failed is not None:
                self.on_failed(now)
        else:
            if self.state == J_WAIT_CONFIRM:
                self._restore_tclk()
            self._retry_tclk(now)
        return 0
