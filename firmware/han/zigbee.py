# A ZigBee PRO node of a star network: the 802.15.4 MAC (unsecured, as ZigBee runs it),
# the MAC role (association), the NWK and APS layers, the trust centre (coordinator) or the
# joining half (end device), the state kept across reboots (han/nwk/store.py), and the
# end device's recovery when it loses its parent.
#
#   coordinator:  start() scans and forms the network, or after a reboot comes back on the
#                 saved channel and PAN ID with its table, keys and counters: the devices
#                 see nothing (their frames keep being accepted, ours keep their order).
#   end device:   (its link to the parent: han/zlink.py)
#                 start() joins by active scan, association and the install-code key
#                 exchange (han/tc/joiner.py), or resumes the saved network. After
#                 PARENT_LOSS_FAILURES transmissions in a row without an ACK from the
#                 parent it rejoins (NWK Rejoin Request, secured; after
#                 SECURED_REJOIN_ATTEMPTS unanswered, a trust-centre rejoin, unsecured,
#                 answered with the network key under its TC link key), retrying with
#                 back-off up to REJOIN_MAX_US while the coordinator is away. A secured
#                 NWK Leave with rejoin from the parent also makes it rejoin (keys kept).
#   both:         end-device timeouts and aging (han/nwk/aging.py): the device asks for
#                 ed_timeout (Table 3-54) and keeps its parent alive by polling; the
#                 coordinator ages out children silent beyond their timeout.
#
# Application: send(dst, dst_ep, cluster, profile, src_ep, payload, n, now, ack=True,
# aps_secure=False) -> transaction id (aps_secure: APS-secured with the TC link key,
# han/aps/layer.py); on_app(src, src_ep, dst_ep, cluster, profile, buf, off, n, now,
# aps_secured); on_confirm(tid, status) from the APS layer (acknowledged or NO_ACK after
# the retries). A Mac.monitor set by the owner (the device inventory) is chained behind
# the node's own (self.monitor).
from micropython import const

from han.aps.layer import Aps
from han.mac import commands as cmd
from han.mac.mac import SUCCESS, Mac
from han.mac.roles import C_RUNNING, Coordinator, EndDevice
from han.nwk import commands as nc
from han.nwk.aging import ChildAging, Keepalive, MacWatch, Seconds
from han.nwk.devices import ED_TIMEOUT_DEFAULT, JOINING, VERIFIED, DeviceTable
from han.nwk.layer import Nwk
from han.nwk.store import NetState, NetStore
from han.nwk.security import KEY_TRANSPORT
from han.aps.frame import DM_UNICAST
from han.zdo import frames as zf
from han.zdo import nodedesc as zn
from han.zdo.server import ZdoServer
from han.zlink import (E_IDLE, E_JOINING, E_UP, JOIN_RETRY_US, REJOIN_WAIT_US,  # noqa: F401
                       ROLE_COORDINATOR, ROLE_END_DEVICE, EndDeviceLink)

ZDO_PROFILE = const(0x0000)
BROADCAST_RX_ON = const(0xFFFD)
# The largest APS payload of one unfragmented data frame: 116 octets of MAC payload less
# the NWK header without extended addresses (8), its auxiliary security header and MIC
# (14 + 4) and the APS data header (8): 82, the node descriptor's transfer sizes.
APS_MAX_PAYLOAD = const(82)
ZDO_OUT = const(96)
# ZDP status NOT_AUTHORIZED (2.4.5): joining is governed by the trust centre's
# registrations (install codes through the authenticated configuration path), and
# removals by the trust centre, not by other members of the network.
ZDP_NOT_AUTHORIZED = const(0x8D)


class ZigbeeNode(EndDeviceLink):
    def __init__(self, radio, clock, role, ext, record_store, rand_bits, channel_mask,
                 pan_id=None, link_key=None, network_key=None, capability=None,
                 poll_interval_us=0, table_size=16, allow_default_key=False, out=None,
                 endpoints=(), manufacturer=0x0000, keys=None,
                 ed_timeout=ED_TIMEOUT_DEFAULT):
        if role not in (ROLE_COORDINATOR, ROLE_END_DEVICE):
            raise ValueError("role: ROLE_COORDINATOR or ROLE_END_DEVICE")
        self.clock = clock
        self.role = role
        self.out = out
        coordinator = role == ROLE_COORDINATOR
        self.mac = Mac(radio, clock, ext, 0xFFFF, 0xFFFF, rand_bits, security=None,
                       max_payload=116, extra_wait_us=getattr(radio, "latency_us", 0),
                       rx_on_when_idle=coordinator or capability is None
                       or bool(capability & cmd.CAP_RX_ON_IDLE),
                       poll_interval_us=poll_interval_us)
        self.table = DeviceTable(table_size if coordinator else 1,
                                 0x0001 if coordinator else 0x0000)
        self.st = NetState()
        self.store = NetStore(record_store, self.table, clock)
        self.nwk = Nwk(self.mac, self.st, self.table, self.store, coordinator)
        self.aps = Aps(self.nwk, clock)
        # The APS counter starts anywhere (as macDSN does): from 0 at every boot, the first
        # frames after a reboot fell into the peer's duplicate window of the last ones.
        self.aps.seed_counter(rand_bits(8))
        self.nwk.on_command = self._nwk_command
        self.nwk.on_key_switched = self._key_switched
        self.seconds = Seconds(clock, self.table)
        self._watch = MacWatch()
        self.mac.monitor = self._watch
        # The owner's Mac.monitor (han/node.py's device inventory), called after ours
        # (the aging and the parent watch need every frame): set node.monitor, not
        # mac.monitor.
        self.monitor = None
        self.aps.on_data = self._aps_data
        self.aps.on_command = self._aps_command
        self.on_app = None
        self.on_zdo = None  # (src, cluster, buf, off, n, now): responses for a ZDO client
        self.on_event = None  # (text) one line per network event (joins, rejoins, keys)
        self._buf = bytearray(40)
        self._zdo_seq = 0
        self.resumed = self.store.load(self.st) and self.st.role == role
        if coordinator:
            self.role_sm = Coordinator(self.mac, channel_mask, rand_bits, pan_id=pan_id,
                                       max_devices=table_size)
            from han.tc.centre import TrustCentre

            if keys is None:
                from han.tc.keygen import PrngKeys

                keys = PrngKeys(rand_bits)
            self.keys = keys  # han/tc/keygen.py: where secret keys come from
            self.tc = TrustCentre(self, allow_default_key)
            self.joiner = None
            self.aging = ChildAging(self, self.seconds)
            self.aging.on_aged = self._aged
            self._watch.on_poll = self.aging.heard_poll
            self.nwk.on_stale = self.aging.stale
            if not self.resumed:
                self.st.role = role
                # The extended PAN ID (3.2.2.3): the coordinator's own EUI-64, unique.
                self.st.ext_pan[:] = ext
                if network_key is None:
                    from han.tc.keygen import PURPOSE_NETWORK_KEY

                    keys.fill(self.st.key, PURPOSE_NETWORK_KEY, ext, self.st)
                else:
                    self.st.key[:] = network_key
                self.st.has_key = True
        else:
            cap = capability if capability is not None else cmd.CAP_RX_ON_IDLE
            self.role_sm = EndDevice(self.mac, channel_mask, cap | cmd.CAP_SECURITY)
            self.role_sm.accept_unsecured_leave = False
            self.capability = self.role_sm.capability
            from han.tc.joiner import Joiner

            self.joiner = Joiner(self)
            self.joiner.on_failed = self._join_failed
            self.joiner.on_joined = self._joined
            self.tc = None
            if link_key is None or len(link_key) != 16:
                raise ValueError("an end device needs its 16-byte install-code link key")
            self._link_key = bytes(link_key)
            self.aging = None
            self.keepalive = Keepalive(self, self.seconds, ed_timeout, poll_interval_us)
            self.state = E_IDLE
            self._rejoins = 0
            self._rejoin_at = 0
            self._backoff = REJOIN_WAIT_US
            self._poll_interval = poll_interval_us
            self.rejoins_done = 0
            self._join_at = None
            self._join_backoff = JOIN_RETRY_US
            self.joins_refused = 0
        self.nwk.keys_changed()
        self._running = False
        self.zdo = self._zdo_server(endpoints, manufacturer)
        self._zdo_out = bytearray(ZDO_OUT)

    def _zdo_server(self, endpoints, manufacturer):
        # The node descriptor (ZigBee 2.3.2.3): the coordinator is the primary trust centre
        # and network manager; transfer sizes are what one unfragmented APS frame holds.
        if self.role == ROLE_COORDINATOR:
            desc = (zn.LOGICAL_COORDINATOR, False, False, zn.BAND_2400,
                    zn.CAP_ALT_PAN_COORD | zn.CAP_FFD | zn.CAP_MAINS | zn.CAP_RX_ON_IDLE
                    | zn.CAP_ALLOCATE, manufacturer, APS_MAX_PAYLOAD, APS_MAX_PAYLOAD,
                    zn.server_mask(zn.SRV_PRIMARY_TC | zn.SRV_NETWORK_MANAGER),
                    APS_MAX_PAYLOAD, 0)
            children = self._children
        else:
            desc = (zn.LOGICAL_END_DEVICE, False, False, zn.BAND_2400, self.capability,
                    manufacturer, APS_MAX_PAYLOAD, APS_MAX_PAYLOAD, zn.server_mask(0),
                    APS_MAX_PAYLOAD, 0)
            children = None
        return ZdoServer(self.mac.short_addr, self.mac.ext_addr, desc, endpoints,
                         children=children, on_permit_joining=_not_authorized,
                         on_leave=_not_authorized_leave,
                         on_device_annce=self._device_annce)

    def _beacon_payload(self):
        # ZigBee beacon payload (05-3474 3.6.7, Table 3-62): protocol ID 0; stack profile
        # 2 (ZigBee PRO) and protocol version 2; no router capacity (a star of end
        # devices), depth 0, end-device capacity; the extended PAN ID (sent least
        # significant octet first); TxOffset 0xFFFFFF (no beacon scheduling); update ID 0.
        p = bytearray(15)
        p[1] = 0x22
        p[2] = 0x80
        ep = self.st.ext_pan
        for i in range(8):
            p[3 + i] = ep[7 - i]
        p[11] = p[12] = p[13] = 0xFF
        return p

    def _children(self):
        t = self.table
        return [(t.short_of(i), bytes(t.ext[i])) for i in range(t.size)
                if t.state[i] >= JOINING and not t.aged[i]]

    def _device_annce(self, short, ext, capability):
        self._say("zigbee device_annce 0x%04x" % short)

    # --- persistence ---------------------------------------------------------------------
    def save(self):
        st = self.st
        st.short = self.mac.short_addr
        st.pan_id = self.mac.pan_id
        self.store.save_net(st)

    def power_fail_warning(self):
        """Save the frame counters at once (the registers' early warning)."""
        self.store.save_counters(self.st)

    def _key_switched(self, now):
        # A frame under the alternate key made it active (the Switch Key was missed):
        # saved, or a reboot would bring the old key back.
        self.save()
        self._say("zigbee network key %d active" % self.st.key_seq)

    def _aged(self, i, now):
        self._say("zigbee child 0x%04x aged out" % self.table.short_of(i))

    def _say(self, text):
        if self.on_event is not None:
            self.on_event(text)

    # --- start ---------------------------------------------------------------------------
    def start(self):
        now = self.clock.ticks_us()
        st = self.st
        if self.role == ROLE_COORDINATOR:
            if self.resumed:
                t = self.table
                for i in range(t.size):
                    if t.state[i] >= JOINING:
                        self.role_sm.restore(i, t.ext[i], t.cap[i])
                self.role_sm.start_at(st.channel, st.pan_id, now)
            else:
                self.role_sm.start(now)
            return
        if self.resumed and st.has_key and self.table.state[0] >= JOINING:
            self.role_sm.resume(st.short, st.pan_id, 0x0000, st.channel, st.tc_ext)
            self.joiner.resume()
            self.state = E_UP
            self._say("zigbee resumed short 0x%04x" % st.short)
            return
        self._join(now)

    def _join(self, now):
        self.state = E_JOINING
        self.role_sm.join(now)

    # --- application ---------------------------------------------------------------------
    def send(self, dst, dst_ep, cluster, profile, src_ep, payload, n, now, ack=True,
             aps_secure=False):
        if self.role == ROLE_END_DEVICE and self.state != E_UP:
            return 0
        return self.aps.send_data(dst, dst_ep, cluster, profile, src_ep, payload, n, now,
                                  ack, aps_secure)

    def announce(self, now):
        """Device_annce (ZDO 2.4.3.1.11), broadcast to the devices whose receiver is on;
        then the End Device Timeout Request to the parent."""
        self._zdo_seq = (self._zdo_seq + 1) & 0xFF
        n = zf.build_device_annce(self._buf, self._zdo_seq, self.mac.short_addr,
                                  self.mac.ext_addr, self.capability)
        self.aps.send_data(BROADCAST_RX_ON, 0, zf.DEVICE_ANNCE, ZDO_PROFILE, 0, self._buf, n,
                           now, ack=False)
        # With the network key, before the TC link key exchange: End Device Timeout
        # Request (R21, 3.4.11), so that the parent ages us by our timeout.
        self.keepalive.request(now)

    def _aps_data(self, src, index, h, buf, off, n, aps_secured, now):
        if self.tc is not None and index >= 0:
            self.tc.heard_secured(index)
        if h.dst_ep == 0 and h.profile == ZDO_PROFILE:
            # ZDO (2.4.3): answered unicast to the requester by the ZDO server.
            zdo = self.zdo
            zdo.nwk = self.mac.short_addr  # a rejoin may have changed it
            r = zdo.handle(h.cluster, memoryview(buf)[off:off + n], n, self._zdo_out,
                           h.delivery != DM_UNICAST)
            if r is not None:
                self.aps.send_data(src, 0, r[0], ZDO_PROFILE, 0, self._zdo_out, r[1], now,
                                   ack=False)
            if self.on_zdo is not None:
                self.on_zdo(src, h.cluster, buf, off, n, now)
            return
        if self.on_app is not None:
            self.on_app(src, h.src_ep, h.dst_ep, h.cluster, h.profile, buf, off, n, now,
                        aps_secured)

    def _aps_command(self, c, src, index, buf, off, n, key_id, nwk_secured, now):
        if self.tc is not None:
            if index >= 0 and nwk_secured:
                self.tc.heard_secured(index)
            self.tc.command(c, src, index, buf, off, n, key_id, nwk_secured, now)
        else:
            self.joiner.command(c, src, index, buf, off, n, key_id, nwk_secured, now)

    # --- NWK commands --------------------------------------------------------------------
    def _nwk_command(self, c, h, buf, off, n, secured, index, now):
        if self.role == ROLE_COORDINATOR:
            self._coordinator_command(c, h, buf, off, secured, index, now)
        else:
            self._device_command(c, h, buf, off, secured, index, now)

    def _coordinator_command(self, c, h, buf, off, secured, index, now):
        t = self.table
        if c == nc.REJOIN_REQUEST:
            if index < 0 or t.state[index] < JOINING:
                return  # not one of ours: a rejoin is no way in (join by association)
            short = t.short_of(index)
            if secured:
                self.aging.present(index)  # an aged-out child is back
                m = nc.build_rejoin_response(self._buf, 0, short, nc.REJOIN_SUCCESS)
                self.nwk.send(short, self._buf, m, now, command=True, src64=True,
                              dst64=t.ext[index])
                self._say("zigbee rejoin 0x%04x secured" % short)
                return
            # Trust-centre rejoin (4.6.3.3): the answer changes nothing here; the network
            # key goes under the key the genuine device holds, so a forger learns nothing.
            m = nc.build_rejoin_response(self._buf, 0, short, nc.REJOIN_SUCCESS)
            self.nwk.send(short, self._buf, m, now, secure=False, command=True, src64=True,
                          dst64=t.ext[index])
            key = t.tclk[index] if t.state[index] == VERIFIED else t.link_key[index]
            self.tc.send_network_key(index, now, KEY_TRANSPORT, key, nwk_secure=False)
            self._say("zigbee rejoin 0x%04x trust centre" % short)
        elif c == nc.ED_TIMEOUT_REQUEST and secured and index >= 0:
            ok = buf[off + 1] <= nc.ED_TIMEOUT_MAX_INDEX
            if ok:
                self.aging.set_timeout(index, buf[off + 1])
            m = nc.build_ed_timeout_response(
                self._buf, 0, nc.ED_TIMEOUT_SUCCESS if ok else nc.ED_TIMEOUT_INCORRECT_VALUE,
                nc.PARENT_MAC_POLL_KEEPALIVE)
            self.nwk.send(t.short_of(index), self._buf, m, now, command=True)

    # --- the polled machine --------------------------------------------------------------
    def step(self, now):
        """One pass; the microseconds until the next is due (-1: a frame wakes it)."""
        self.seconds.tick(now)
        self._watch.chained = self.monitor  # the owner's (han/node.py's inventory)
        w = self.role_sm.step(now)
        w = _min(w, self.mac.step(now))
        w = _min(w, self.role_sm.step(now))
        w = _min(w, self.aps.step(now))
        if self.role == ROLE_COORDINATOR:
            if self.role_sm.state == C_RUNNING and not self._running:
                self._running = True
                st = self.st
                if not any(st.ext_pan):  # saved before the extended PAN ID was kept
                    st.ext_pan[:] = self.mac.ext_addr
                self.role_sm.beacon_payload = self._beacon_payload()
                st.channel = self.role_sm.channel
                st.short = 0x0000
                self.save()
                self._say("zigbee pan 0x%04x channel %d %s" % (
                    self.mac.pan_id, st.channel, "resumed" if self.resumed else "formed"))
                if self.resumed and st.has_alt:
                    # A key update a reboot interrupted (its switch time was in RAM):
                    # the next key goes out again and the switch follows (4.6.3.4).
                    self.tc.update_network_key(bytes(st.alt_key), now)
                    self._say("zigbee key update %d resumed" % st.alt_seq)
            w = _min(w, self.tc.step(now))
            w = _min(w, self.aging.step(now))
        else:
            w = _min(w, self._device_step(now))
        # What the layers above queued in this pass goes out now: its wait was not in the
        # MAC's answer above (the aging's long waits would otherwise hold it back).
        w = _min(w, self.mac.step(now))
        return _min(w, self.store.counters_due(self.st, now))


def _not_authorized(duration, tc_significance):
    return ZDP_NOT_AUTHORIZED


def _not_authorized_leave(target, remove_children, rejoin):
    return ZDP_NOT_AUTHORIZED


def _min(a, b):
    if b < 0:
        return a
    return b if a < 0 or b < a else a
