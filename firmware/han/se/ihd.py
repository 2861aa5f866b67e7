# The in-home display (issue 12): an always-on end device, SE 1.4 device In-Premise Display
# (0x0502, Table 5-13), that shows what the hub serves. Each time it joins, rejoins or
# resumes its network it:
#   1. finds the metering servers with ZDO Match_Desc (profile 0x0109, Metering 0x0702 as
#      input cluster) asked of the hub: in our star every server a display reads is the
#      hub's, the battery gas meter included, read through the hub's mirror (SE 1.4
#      D.3.4.3) so that it can sleep;
#   2. reads each endpoint once (Read Attributes, ihd_peer.READ_ATTRS): the formatting set,
#      MeteringDeviceType (0 electricity; 0x80, or 1, gas) and the values it shows; an
#      attribute answered UNSUPPORTED_ATTRIBUTE is one the server does not have;
#   3. subscribes (Configure Reporting) to InstantaneousDemand, CurrentSummationDelivered
#      and CurrentDayConsumptionDelivered where present, to the gas summation and its
#      ReadingSnapShotTime on the mirror;
#   4. reads the time (han.se.time.TimeClient: milliseconds of the display's own ticks,
#      the crystal's rate learnt, asked again before its error bound passes
#      TIME_MAX_ERROR_MS), asks Get Current Price and Get Last
#      Message of the electricity endpoint (with Rx On When Idle: the hub then pushes a
#      new tier, a new message), and confirms every message it shows, once per message id
#      (Message Confirmation, answered by the hub's Default Response).
# One request is in flight at a time (answered, or sent again after REQ_TIMEOUT_US; the
# display's own requests, their states and timeouts: han/se/ihd_req.py): the
# hub's APS layer holds four acknowledged frames for all its devices. Reports silent for
# twice an endpoint's shortest maximum interval (the hub rebooted and forgot its
# subscribers) make it read and subscribe again, and ask price and message again.
#
# Values are kept raw, as they arrived; view() renders them with units.display, the rule
# every reader applies, so the kWh shown is P1's string to the last digit. Taking a report
# allocates nothing (values below 2**30 on 32-bit ports, as han/zcl/types.py).
#
#   d = Display(ticks, identity=(manufacturer, model, sw_build_id))
#   HanNode(..., role="display", se=d): the node sets router.send and calls attach(zb)
#   d.step(now) -> microseconds until it wants the next call (-1: only frames)
#   d.version counts changes of what is shown; d.view() -> dict of texts (allocates);
#   d.up: on the network (joined and its key exchange done)
from micropython import const

from han.se import ihd_peer as ip
from han.se import messaging as sm
from han.se import metering as mt
from han.se import price as sp
from han.se import time as stime
from han.se import units
from han.se.basic import POWER_MAINS_1PH, BasicServer
from han.se.ihd_req import (Q_CONFIRM, Q_MESSAGE, Q_PRICE, Q_TIME, R_DONE,  # noqa: F401
                            R_NEED, R_WAIT, REFRESH_S, REQ_TIMEOUT_US, Requests)
from han.se.router import SeRouter
from han.tc.joiner import J_JOINED
from han.zcl import frame as zf
from han.zcl import general as zg
from han.zcl import reporting as zr
from han.zdo import frames as zdf
from han.zdo.client import ZdoClient
from han.zigbee import E_UP

ENDPOINT = const(1)
DEVICE_IPD = const(0x0502)   # SE 1.4 Table 5-13: In-Premise Display
SE_PROFILE = const(0x0109)
ZDO_PROFILE = const(0x0000)
HUB = const(0x0000)
MAX_PEERS = const(4)
DISCOVER_AGAIN_US = const(30000000)   # a hub without metering server: ask again
RETRY_US = const(50000)           # no room in the APS layer: try again soon
WAKE_MAX_US = const(60000000)     # seconds are counted from the ticks: see them often
TIME_MAX_ERROR_MS = const(900)    # within 1 s of the hub (issue 13), with a margin

_OUT = const(82)          # one unfragmented APS payload (han/zigbee.py APS_MAX_PAYLOAD)


class Display:
    def __init__(self, ticks, identity=(b"", b"", b"")):
        self.ticks = ticks
        self.router = r = SeRouter(None)
        manufacturer, model, build = identity
        r.endpoint(ENDPOINT, DEVICE_IPD)
        r.add_server(ENDPOINT, BasicServer(manufacturer=manufacturer, model=model,
                                           sw_build_id=build, power_source=POWER_MAINS_1PH))
        r.add_client(ENDPOINT, mt.CLUSTER, self._metering)
        r.add_client(ENDPOINT, sp.CLUSTER, self._price)
        r.add_client(ENDPOINT, sm.CLUSTER, self._messaging)
        r.add_client(ENDPOINT, stime.CLUSTER, self._time)
        self.zb = None
        self.zdo = ZdoClient(slots=2, timeout_us=REQ_TIMEOUT_US)
        self.peers = [ip.Peer() for _ in range(MAX_PEERS)]
        self.time = stime.TimeClient(max_error_ms=TIME_MAX_ERROR_MS)
        self._time_asked_ms = -1
        self.pp = sp.PublishPrice()
        self.msg = sm.MessagingClient(sm.MAX_TEXT)
        self._tx = bytearray(_OUT)
        self._h = zf.ZclHeader()
        self._rec = zg.AttrRecord()
        self._seq = 0
        self.req = Requests(ticks)
        self._t = None       # ticks of the last step
        self._us = 0
        self.secs = 0        # seconds since start, from the ticks (outlasts their wrap)
        self.up = False
        self.version = 0     # counts changes of what is shown
        self.malformed = 0
        self.confirmations = 0
        self.resubscribed = 0
        self.tier = None
        self.price = None        # as Publish Price gives it (its trailing digit: pp)
        self.cost = ip.DayCost()
        self.confirmed_id = -1   # the message id last confirmed
        self.ota = None  # han.ota.client.OtaClient, once add_ota() gives one
        self._reset()

    def add_ota(self, client):
        """The OTA Upgrade client on our endpoint (before the node is built: the simple
        descriptor lists it); it steps while the display is up."""
        self.ota = client
        client.attach(self.router, ENDPOINT, lambda *a: self.router.send(*a))

    def attach(self, zb):
        """The ZigbeeNode under the display (han/node.py): ZDO responses come here."""
        self.zb = zb
        zb.on_zdo = self._zdo

    def _reset(self):
        # What is shown stays on screen; the exchanges with the hub start again.
        self.n_peers = 0
        self.elec = None
        self.gas = None
        self._disc = R_NEED
        self._disc_seq = -1
        self._disc_sent = 0
        self.req.reset()
        self._msg_ep = ENDPOINT
        self._asked_s = self.secs

    def _send(self, ep, cluster, n, now):
        """Send _tx[0:n] to the hub's ep, acknowledged; 0 when the APS layer has no room."""
        return self.router.send(HUB, ep, cluster, SE_PROFILE, ENDPOINT, self._tx, n, now,
                                True, False)

    def ms(self, now):
        """Milliseconds since start at ticks now (now at or after the last step's)."""
        if self._t is None:
            return self.secs * 1000
        return self.secs * 1000 + (self._us + self.ticks.ticks_diff(now, self._t)) // 1000

    def utc_ms(self, now):
        """The hub's UTC in milliseconds as the display keeps it, None before a sync."""
        return self.time.utc_ms(self.ms(now)) if self.time.synced else None

    def _left(self, sent, now):
        return REQ_TIMEOUT_US - self.ticks.ticks_diff(now, sent)

    # --- the polled machine --------------------------------------------------------------
    def step(self, now):
        wait = self._step(now)
        if self.ota is not None and self.up:
            w = self.ota.step(now)
            if w >= 0 and (wait < 0 or w < wait):
                wait = w
        return wait

    def _step(self, now):
        if self._t is None:
            self._t = now
        d = self.ticks.ticks_diff(now, self._t)
        if d > 0:
            self._t = now
            self._us += d
            if self._us >= 1000000:
                self.secs += self._us // 1000000
                self._us %= 1000000
        zb = self.zb
        if zb is None or zb.state != E_UP or zb.joiner.state != J_JOINED:
            self.up = False
            return -1
        if not self.up:
            self.up = True
            self._reset()
        if self._disc != R_DONE:
            return self._discover(now)
        wait = WAKE_MAX_US
        busy = False
        for i in range(self.n_peers):
            p = self.peers[i]
            if p.state == ip.P_READING or p.state == ip.P_CONFIGURING:
                left = self._left(p.sent, now)
                if left > 0:
                    busy = True
                    wait = left if left < wait else wait
                else:
                    p.state -= 1         # unanswered: ask again
            elif p.state == ip.P_SUBSCRIBED:
                late = p.heard_s + p.watch_s - self.secs
                if late < 0:
                    self._resubscribe(p)
                elif late < 60:
                    wait = min(wait, (late + 1) * 1000000)
        req = self.req
        left = req.expire(now)
        if left > 0:
            busy = True
            wait = left if left < wait else wait
        if busy:
            return wait
        for i in range(self.n_peers):
            p = self.peers[i]
            if p.state == ip.P_READ or p.state == ip.P_CONFIG:
                return self._ask_peer(p, now)
        e = self.elec
        if e is None:
            return wait
        req.refresh(self.secs, self._asked_s, self.time)
        q = req.next()
        return wait if q < 0 else self._ask(q, e.ep, now)

    def _resubscribe(self, p):
        # Silent for twice its shortest maximum interval: the hub lost our subscriptions
        # (it rebooted: all of them, every endpoint's, price and message) or the reports
        # are lost. Read and subscribe again.
        self.resubscribed += 1
        for i in range(self.n_peers):
            if self.peers[i].state == ip.P_SUBSCRIBED:
                self.peers[i].state = ip.P_READ
        self.req.again()

    def _discover(self, now):
        if self._disc == R_WAIT:
            left = (DISCOVER_AGAIN_US if self._disc_seq < 0 else REQ_TIMEOUT_US) \
                - self.ticks.ticks_diff(now, self._disc_sent)
            if left > 0:
                return left
            self.zdo.expire(now)
        cl, n, seq = self.zdo.match_desc_req(self._tx, now, HUB, SE_PROFILE, (mt.CLUSTER,), ())
        if not self.zb.send(HUB, 0, cl, ZDO_PROFILE, 0, self._tx, n, now, False):
            self.zdo.cancel(seq)
            return RETRY_US
        self._disc = R_WAIT
        self._disc_seq = seq
        self._disc_sent = now
        return REQ_TIMEOUT_US

    def _zdo(self, src, cluster, buf, off, n, now):
        if cluster != zdf.MATCH_DESC_RSP or src != HUB or self._disc != R_WAIT:
            return
        r = self.zdo.match(cluster, memoryview(buf)[off:off + n], n)
        if r is None or r[0] != self._disc_seq or r[1] != zdf.SUCCESS or r[2] is None:
            return
        eps = r[2][3]
        if not eps:
            self._disc_seq = -1     # no metering server (yet): ask again later
            self._disc_sent = now
            return
        k = 0
        for ep in eps:
            if k < MAX_PEERS:
                self.peers[k].clear(ep)
                k += 1
        self.n_peers = k
        self._disc = R_DONE

    def _ask_peer(self, p, now):
        seq = (self._seq + 1) & 0xFF
        out = self._tx
        zf.set_header(self._h, zf.FT_GLOBAL, zf.TO_SERVER, seq,
                      zg.READ_ATTRIBUTES if p.state == ip.P_READ else zg.CONFIGURE_REPORTING)
        q = zf.build(self._h, out, 0)
        if p.state == ip.P_READ:
            n = zg.build_read_attributes(out, q, ip.READ_ATTRS)
        else:
            n = ip.build_configure(p, out, q)
            if n == q:
                p.state = ip.P_IDLE     # nothing of it to show
                return 0
        if not self._send(p.ep, mt.CLUSTER, n, now):
            return RETRY_US
        self._seq = p.seq = seq
        p.sent = now
        p.state += 1
        return 0

    def _ask(self, q, ep, now):
        seq = (self._seq + 1) & 0xFF
        out = self._tx
        cluster = sm.CLUSTER
        if q == Q_TIME:
            n = self.time.build_read(out, seq)
            cluster = stime.CLUSTER
            self._time_asked_ms = self.ms(now)
        elif q == Q_PRICE:
            n = sp.build_get_current_price(out, seq, True, self._h)
            cluster = sp.CLUSTER
        elif q == Q_MESSAGE:
            n = self.msg.build_get_last_message(out, seq)
            self._asked_s = self.secs
        else:
            t = self.time
            utc = t.utc_now(self.ms(now)) - stime.ZCL_EPOCH_UNIX if t.synced else 0
            n = self.msg.build_confirmation(out, seq, utc)
            ep = self._msg_ep
        if not self._send(ep, cluster, n, now):
            return RETRY_US
        self._seq = seq
        self.req.asked(q, seq, now)
        return 0

    # --- frames from the hub ----------------------------------------------------------
    def _peer(self, src, ep):
        if src != HUB:
            return None
        for i in range(self.n_peers):
            p = self.peers[i]
            if p.ep == ep:
                return p
        return None

    def _metering(self, src, src_ep, h, buf, off, end, out, now):
        p = self._peer(src, src_ep)
        if p is None or h.frame_type != zf.FT_GLOBAL or h.direction != zf.TO_CLIENT:
            return -1
        rec = self._rec
        cmd = h.command
        try:
            if cmd == zg.REPORT_ATTRIBUTES:
                changed = False
                q = off
                while q < end:
                    q = zr.next_report_record(buf, q, end, rec)
                    if p.take(rec.attr_id, rec.value):
                        changed = True
                p.heard_s = self.secs
                if changed:
                    self._shown(p)
                if h.disable_default_rsp:
                    return 0
                zf.set_header(self._h, zf.FT_GLOBAL, zf.TO_SERVER, h.seq, zg.DEFAULT_RSP, True)
                return zg.build_default_response(out, zf.build(self._h, out, 0), cmd,
                                                 zg.SUCCESS)
            if h.seq != p.seq:
                return 0
            if cmd == zg.READ_ATTRIBUTES_RSP and p.state == ip.P_READING:
                q = off
                while q < end:
                    q = zg.next_read_record(buf, q, end, rec)
                    if rec.status == zg.SUCCESS:
                        p.take(rec.attr_id, rec.value)
                p.state = ip.P_CONFIG
                if p.kind == ip.KIND_ELECTRIC and self.elec is None:
                    self.elec = p
                elif p.kind == ip.KIND_GAS and self.gas is None:
                    self.gas = p
                self._shown(p)
            elif cmd == zg.CONFIGURE_REPORTING_RSP and p.state == ip.P_CONFIGURING:
                p.state = ip.P_SUBSCRIBED
            elif cmd == zg.DEFAULT_RSP and (p.state == ip.P_READING
                                            or p.state == ip.P_CONFIGURING):
                p.state = ip.P_IDLE     # refused (UNSUPPORTED_CLUSTER ...): not ours to show
            p.heard_s = self.secs
        except ValueError:
            self.malformed += 1
        return 0

    def _shown(self, p):
        if p is self.elec and p.day is not None:
            self.cost.add(p.day)
        self.version += 1

    def _price(self, src, src_ep, h, buf, off, end, out, now):
        if src != HUB or h.direction != zf.TO_CLIENT:
            return -1
        try:
            if h.frame_type == zf.FT_CLUSTER and h.command == sp.PUBLISH_PRICE:
                pp = self.pp
                sp.parse_publish_price(buf, off, end, pp)
                self.req.answered(Q_PRICE, h)
                self.tier = pp.tier
                self.price = pp.price
                self.cost.price(pp.price, pp.trailing_digit,
                                None if self.elec is None else self.elec.day)
                self.version += 1
            elif h.frame_type == zf.FT_GLOBAL and h.command == zg.DEFAULT_RSP:
                self.req.answered(Q_PRICE, h)  # no price for this tariff, or no Price server
        except ValueError:
            self.malformed += 1
        return 0

    def _messaging(self, src, src_ep, h, buf, off, end, out, now):
        if src != HUB or h.direction != zf.TO_CLIENT:
            return -1
        try:
            if h.frame_type == zf.FT_GLOBAL:
                if h.command == zg.DEFAULT_RSP:
                    # NOT_FOUND to Get Last Message; SUCCESS to our confirmation.
                    if not self.req.answered(Q_MESSAGE, h) and self.req.answered(Q_CONFIRM, h):
                        self.confirmed_id = self.msg.message.message_id
                        self.confirmations += 1
                return 0
            r = self.msg.receive(h, buf, off, end)
        except ValueError:
            self.malformed += 1
            return 0
        if r == sm.DISPLAYED:
            self.req.answered(Q_MESSAGE, h)
            self._msg_ep = src_ep
            if self.msg.message.message_id != self.confirmed_id:
                self.req.st[Q_CONFIRM] = R_NEED
            self.version += 1
        elif r == sm.CANCELLED:
            self.req.st[Q_CONFIRM] = R_DONE
            self.version += 1
        return 0

    def _time(self, src, src_ep, h, buf, off, end, out, now):
        if src != HUB:
            return -1
        if self.time.take_ms(h, buf, off, end, self.ms(now), self._time_asked_ms) or (
                h.frame_type == zf.FT_GLOBAL and h.command == zg.DEFAULT_RSP):
            self.req.answered(Q_TIME, h)   # set, or no time server: confirmations say 0
        return 0

    def view(self):
        """What the display shows, as texts with the meter's digits (None: unknown)."""
        return ip.view(self)
