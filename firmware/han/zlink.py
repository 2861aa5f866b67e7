# The end device's side of a ZigBee node (han/zigbee.py ZigbeeNode inherits it): its
# link to the parent. It joins (association, then the key exchange of han/tc/joiner.py),
# asks again with back-off when the association is refused, watches its parent (after
# PARENT_LOSS_FAILURES transmissions in a row without an ACK it rejoins: NWK Rejoin
# Request, secured; after SECURED_REJOIN_ATTEMPTS unanswered, alternately a trust-centre
# rejoin, unsecured), backs off up to REJOIN_MAX_US while the coordinator is away, and
# obeys the parent's secured NWK commands (Rejoin Response, Leave, End Device Timeout
# Response). The state lives on the node (state, _watch, joiner, keepalive ...).
from micropython import const

from han.mac.roles import D_IDLE
from han.mac.security import same_ext
from han.nwk import commands as nc
from han.nwk.devices import EMPTY, JOINING, VERIFIED

ROLE_COORDINATOR = const(1)  # han/zigbee.py's roles (it takes them from here)
ROLE_END_DEVICE = const(2)
PARENT_LOSS_FAILURES = const(3)
SECURED_REJOIN_ATTEMPTS = const(3)
REJOIN_WAIT_US = const(1000000)  # for the rejoin response (polled quickly meanwhile)
REJOIN_MAX_US = const(30000000)
REJOIN_POLL_US = const(250000)
# Association refused (ACCESS_DENIED: not registered yet, BDB 8.3 network steering): ask
# again after JOIN_RETRY_US, doubling up to JOIN_RETRY_MAX_US, so that a device powered
# before the hub knows its install code joins once it does, without flooding the channel.
JOIN_RETRY_US = const(5000000)
JOIN_RETRY_MAX_US = const(60000000)

# End-device states (the joiner keeps the key exchange's own).
E_IDLE = const(0)
E_JOINING = const(1)  # MAC association, then the key exchange
E_UP = const(2)
E_REJOIN_WAIT = const(3)  # rejoin request sent, waiting for the response
E_REJOIN_BACKOFF = const(4)


class EndDeviceLink:
    def _device_command(self, c, h, buf, off, secured, index, now):
        if c == nc.REJOIN_RESPONSE and h.src == 0x0000 and (
                self.state == E_REJOIN_WAIT or self.state == E_REJOIN_BACKOFF):
            # Also while backing off: the request may have left late (behind frames that
            # waited for the lost parent in the MAC's queue).
            if not secured and not (h.dst64_present and same_ext(h.dst64, self.mac.ext_addr)):
                return
            if buf[off + 3] != nc.REJOIN_SUCCESS:
                return
            short = nc.u16(buf, off + 1)
            if short != self.mac.short_addr and not secured:
                return  # an unsecured answer may not move us
            self.mac.short_addr = short
            self.mac.radio.set_addresses(self.mac.pan_id, short, self.mac.ext_addr)
            self._rejoined(now)
        elif c == nc.LEAVE and secured and index == 0:
            if buf[off + 1] & nc.LEAVE_REJOIN:
                # Leave and rejoin (3.4.4.3.1): the parent no longer counts us as its child
                # (aged out, 3.6.10); we keep our keys and rejoin.
                self._say("zigbee leave with rejoin requested")
                if self.state == E_UP:
                    self._rejoins = 0
                    self._send_rejoin(now)
                return
            self._say("zigbee leave requested")
            self._forget_network()
            self.state = E_IDLE
        elif c == nc.ED_TIMEOUT_RESPONSE and secured and index == 0:
            self.keepalive.response(buf, off)

    def _forget_network(self):
        st = self.st
        st.has_key = False
        st.has_alt = False
        self.table.state[0] = EMPTY
        self.save()

    # --- end-device recovery -------------------------------------------------------------
    def _joined(self, now):
        self.state = E_UP
        self._join_backoff = JOIN_RETRY_US
        self._watch.failures = 0
        st = self.st
        st.short = self.mac.short_addr
        st.channel = self.role_sm.channel
        self.save()
        self._say("zigbee joined short 0x%04x tclk %s" % (
            self.mac.short_addr, "verified" if self.table.state[0] == VERIFIED else "none"))

    def _join_failed(self, now):
        self._say("zigbee no network key: joining again")
        self._join(now)

    def _rejoined(self, now):
        self.state = E_UP
        self._watch.failures = 0
        self._rejoins = 0
        self._backoff = REJOIN_WAIT_US
        self.mac.poll_interval_us = self._poll_interval
        self.rejoins_done += 1
        self.keepalive.request(now)
        self._say("zigbee rejoined short 0x%04x" % self.mac.short_addr)

    def _send_rejoin(self, now):
        self._rejoins += 1
        secured = self._rejoins <= SECURED_REJOIN_ATTEMPTS or self._rejoins % 2 == 1
        m = nc.build_rejoin_request(self._buf, 0, self.capability)
        self.nwk.send(0x0000, self._buf, m, now, secure=secured, command=True, src64=True)
        if self._poll_interval:
            self.mac.poll_interval_us = REJOIN_POLL_US  # the response waits for a poll
        self.state = E_REJOIN_WAIT
        self._rejoin_at = self.clock.ticks_add(now, REJOIN_WAIT_US)

    def _device_step(self, now):
        if self.state == E_JOINING and self.role_sm.state == D_IDLE and \
                self.joiner.state == 0:
            if self._join_at is None:
                self.joins_refused += 1
                self._say("zigbee association refused (status %d): again in %d s" % (
                    self.role_sm.status, self._join_backoff // 1000000))
                self._join_at = self.clock.ticks_add(now, self._join_backoff)
                self._join_backoff = min(self._join_backoff * 2, JOIN_RETRY_MAX_US)
            left = self.clock.ticks_diff(self._join_at, now)
            if left > 0:
                return left
            self._join_at = None
            self.role_sm.join(now)
            return 0
        if self.state == E_JOINING:
            if self.role_sm.associated and self.joiner.state == 0:
                t = self.table
                t.ext[0][:] = self.role_sm.coord_ext
                t.link_key[0][:] = self._link_key
                if t.state[0] < JOINING:
                    t.state[0] = JOINING
                self.st.role = ROLE_END_DEVICE
                self.st.channel = self.role_sm.channel
                self.st.tc_ext[:] = self.role_sm.coord_ext
                self.joiner.start(now)
            return self.joiner.step(now)
        if self.state == E_UP:
            if self._watch.failures >= PARENT_LOSS_FAILURES:
                self._say("zigbee parent lost")
                self._rejoins = 0
                self._send_rejoin(now)
                return -1
            return self.keepalive.step(now)
        if self.state in (E_REJOIN_WAIT, E_REJOIN_BACKOFF):
            left = self.clock.ticks_diff(self._rejoin_at, now)
            if left > 0:
                return left
            if self.state == E_REJOIN_WAIT:
                # No answer: wait, doubling up to REJOIN_MAX_US, then ask again.
                self.state = E_REJOIN_BACKOFF
                self._backoff = min(self._backoff * 2, REJOIN_MAX_US)
                # A sleepy device polls at its usual pace meanwhile: the answer to a
                # request that left late is held for it by the parent.
                self.mac.poll_interval_us = self._poll_interval
                self._rejoin_at = self.clock.ticks_add(now, self._backoff)
                return self._backoff
            self._send_rejoin(now)
            return REJOIN_WAIT_US
        return -1
