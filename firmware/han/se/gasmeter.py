# The gas meter role (issue 12): a battery, sleepy ZigBee end device whose Smart Energy
# application is one endpoint (SE 1.4 metering device 0x0501):
#
#   endpoint 1: Basic (PowerSource battery), Identify, Metering server (MeteringDeviceType
#       1 gas; units.gas(3): the raw summation is in litres, Divisor 1000, F8(3,3) m3 as
#       P1 prints it; ReadingSnapShotTime 0x0007 the capture time of the summation; and
#       MeterSerialNumber 0x0308, octet string, the meter's equipment identifier), and a
#       Time client (cluster 0x000A out) that keeps the meter's clock from the hub.
#
# The equipment identifier is the provisioning record's p1_equipment_id (app/provision.py
# tag 0x02): the DSMR equipment identifier that P1 prints on 0-1:96.1.0 for this meter,
# not the record's serial (the device's own serial number, which P1 never shows). SE 1.4
# gives MeterSerialNumber at most 24 octets (zigpy: LimitedLVBytes(24)); a longer
# identifier is refused at construction.
#
# The volume comes from a simulated register (gasreg.py: a seeded daily consumption
# scenario, kept in the record store). The meter reports to the hub (short 0x0000,
# endpoint 1) a ZCL Report Attributes of CurrentSummationDelivered and ReadingSnapShotTime,
# both from one capture (the register read at the Time client's UTC), plus
# MeterSerialNumber in the first report after each (re)join or reboot (and again after a
# report carrying it was lost), APS-acknowledged, Default Response disabled:
#   - nothing is reported before the Time client has synced since the last boot: no
#     capture time is ever invented. Until then the meter only asks the hub for the time
#     (again after SYNC_RETRY_S while unanswered, doubling up to SYNC_RETRY_MAX_S), and
#     its Metering attributes read as "invalid" (no capture yet);
#   - the first report follows the first sync at once, then every report_s (default 300 s,
#     DSMR 5's 5-minute cadence) on the hub clock's multiples of report_s, so that P1
#     shows captures at hh:00, hh:05 ... as DSMR 5 meters do; a mark passed while the
#     meter was off the network (rejoining) is captured as soon as it is back on it;
#   - time is synced at every (re)join and reboot, then every SYNC_EVERY_S or sooner when
#     TimeClient.needs_sync says the drift bound or the hub's ValidUntilTime is reached.
#     The clock is kept in milliseconds of the meter's own ticks (han/se/time.py: the
#     server's whole second taken mid-second and mid-round-trip, the crystal's rate
#     learnt from the syncs), so captures fall on the hub's marks within the error bound.
# Sleepy: what the hub holds for it comes only by indirect transmission, when it polls.
# While joining or rejoining the node polls at its own pace (han/node.py, 500 ms: the key
# exchange's waits are 5 s); once joined the meter slows the MAC's polls to poll_ms, below
# macTransactionPersistenceTime (7.68 s) so that a frame the hub queued just after a poll
# is still held at the next one. While an answer is awaited (the APS ack of a frame of
# ours, the Time response) it polls every FAST_POLL_US, for at most FAST_MAX_US, then goes
# back to sleep.
#
#   g = GasMeter(ticks, store, equipment_id, report_s=300, poll_ms=7000, seed=1,
#                start_litres=0, identity=(b"", b"", b""), out=None)
#   HanNode(..., role "gas", se=g) calls g.attach(zb) and g.step(now) (han/node.py).
#   out(line), if given: one JSON line per report sent, {"device": "gas", "m3": 1234.567,
#   "captured": UTC s since 1970, "time_err_ms": the clock's error found at the last
#   resync, "drift_ppm": the crystal's rate as learnt, or null} (the host device's
#   console, issue 12).
from micropython import const

from han.se import units
from han.se.basic import POWER_BATTERY, BasicServer
from han.se.gasreg import PROFILE, GasRegister
from han.se.identify import IdentifyServer
from han.se.metering import (CURRENT_SUMMATION_DELIVERED, DEVICE_GAS, READING_SNAPSHOT_TIME,
                             MeteringServer)
from han.se.router import SE_PROFILE, SeRouter
from han.se.time import ZCL_EPOCH_UNIX, TimeClient
from han.tc.joiner import J_JOINED
from han.zcl import dispatch as zd
from han.zcl import frame as zf
from han.zcl import general as zg
from han.zcl import types as zt
from han.zigbee import E_UP

ENDPOINT = const(1)
DEVICE_METER = const(0x0501)  # SE 1.4 Table 5-13, metering device
METERING = const(0x0702)
TIME = const(0x000A)
HUB = const(0x0000)  # the coordinator, ESI endpoint 1 (han/se/hub.py)
HUB_ENDPOINT = const(1)
METER_SERIAL_NUMBER = const(0x0308)  # Metering, Formatting set: octet string
SERIAL_MAX = const(24)
REPORT_S = const(300)  # DSMR 5.0.2 7.3: the 5-minute value
POLL_MS = const(7000)  # < macTransactionPersistenceTime 7 680 ms (han/mac/indirect.py)
FAST_POLL_US = const(250000)
TIME_POLL_US = const(50000)  # the hub answers a Time read at once (a few ms on air)
TIME_QUICK_US = const(500000)
FAST_MAX_US = const(10000000)
SYNC_EVERY_S = const(3600)
TIME_MAX_ERROR_MS = const(900)  # resync before the error bound passes this (issue 13:
                                # every HAN device within 1 s of the hub)
SYNC_RETRY_S = const(10)  # a Time request unanswered this long is sent again,
SYNC_RETRY_MAX_S = const(600)  # doubling up to this while the hub stays silent
WAKE_MAX_US = const(60000000)  # the seconds count keeps up with the ticks' wrap
_S = const(1000000)
_TIDS = const(4)  # the APS layer's frames awaiting an ack (han/aps/layer.py _PENDING)


class _Capture:
    """The Metering server's source: the register as last captured (value and time of one
    reading), None before the first capture since boot."""
    directions = 1
    tier_count = 0

    def __init__(self):
        self.litres = None
        self.utc = None

    def summation(self, direction):
        return self.litres

    def tier(self, n, direction):
        return None

    def capture_utc(self):
        return self.utc


class GasMeter:
    def __init__(self, ticks, store, equipment_id, report_s=REPORT_S, poll_ms=POLL_MS,
                 seed=1, start_litres=0, identity=(b"", b"", b""), profile=PROFILE,
                 out=None):
        eid = bytes(equipment_id)
        if not 1 <= len(eid) <= SERIAL_MAX:
            raise ValueError("gas meter equipment identifier: 1..24 octets")
        if not 10 <= report_s <= 86400:
            raise ValueError("gas report interval: 10 .. 86 400 s")
        if not 250 <= poll_ms < 7680:
            raise ValueError("gas meter poll interval: 250 .. 7 679 ms")
        self.ticks = ticks
        self.equipment_id = eid
        self.report_s = report_s
        self.poll_ms = poll_ms
        self.out = out
        self.register = GasRegister(store, start_litres, seed, profile)
        self.restored = self.register.load()
        self.time = TimeClient(max_error_ms=TIME_MAX_ERROR_MS)
        self.reading = _Capture()
        self.router = r = SeRouter(None)
        manufacturer, model, build = identity
        r.endpoint(ENDPOINT, DEVICE_METER)
        r.add_server(ENDPOINT, BasicServer(manufacturer=manufacturer, model=model,
                                           sw_build_id=build, power_source=POWER_BATTERY))
        r.add_server(ENDPOINT, IdentifyServer(self.local_s))
        m = MeteringServer(self.reading, units.gas(3), DEVICE_GAS)
        m.table = zd.AttrTable(m.table.attrs + [
            zd.Attr(METER_SERIAL_NUMBER, zt.OCTET_STR, zd.READ, value=eid)])
        self.metering = m
        r.add_server(ENDPOINT, m)
        r.add_client(ENDPOINT, TIME, self._time_frame)
        self._buf = bytearray(64)
        self._h = zf.ZclHeader()
        self._seq = 0
        self._zb = None
        self._zb_send = None
        self.local = 0  # whole seconds since boot, from the ticks
        self._at = ticks.ticks_us()
        self._up = False
        self._serial_due = False
        self._sync_now = False
        self._asked = -1  # local second of the unanswered Time request (-1: none)
        self._asked_ms = -1  # ... its local millisecond (the round trip of the answer)
        self._asked_t = 0  # ... its ticks
        self._retry_s = SYNC_RETRY_S
        self._refused = False  # the hub answered the Time request with a failure
        self._next_capture = 0  # hub-clock UTC of the next capture (0: at the first sync)
        self._tids = [0] * _TIDS  # our frames awaiting their APS ack
        self._report_tid = 0
        self._report_serial = False
        self._fast = False
        self._fast_from = 0
        self._fast_next = 0
        self.reports_sent = 0
        self.reports_acked = 0
        self.reports_lost = 0
        self.send_failures = 0
        self.sync_requests = 0
        self.syncs = 0
        self.fast_polls = 0
        self.ota = None  # han.ota.client.OtaClient, once add_ota() gives one

    # --- the node ------------------------------------------------------------------------
    def add_ota(self, client):
        """The OTA Upgrade client on endpoint 1 (before the node is built: the simple
        descriptor lists it); it steps while joined, fast polls while it is busy."""
        self.ota = client
        client.attach(self.router, ENDPOINT, self.send)

    def attach(self, zb):
        """The ZigBee node (han.zigbee.ZigbeeNode) this application runs on."""
        self._zb = zb
        self._zb_send = zb.send
        self.router.send = self.send
        zb.aps.on_confirm = self._confirm

    def local_s(self):
        return self.local

    def utc(self, now):
        """The meter's UTC at ticks now (the hub's clock as last synced), None before the
        first sync."""
        return self.time.utc_now(self._ms(now)) if self.time.synced else None

    def utc_ms(self, now):
        """The same in milliseconds, the best estimate (may step back at a sync)."""
        return self.time.utc_ms(self._ms(now)) if self.time.synced else None

    def send(self, dst, dst_ep, cluster, profile, src_ep, payload, n, now, ack=True,
             aps_secure=False):
        """The node's send, remembering what awaits an APS ack (fast polls meanwhile)."""
        tid = self._zb_send(dst, dst_ep, cluster, profile, src_ep, payload, n, now, ack,
                            aps_secure)
        if tid and ack:
            for i in range(_TIDS):
                if not self._tids[i]:
                    self._tids[i] = tid
                    break
            self._fast_from = now
            self._fast = False  # fast polls (again) from this frame on
        return tid

    def _confirm(self, tid, status):
        for i in range(_TIDS):
            if self._tids[i] == tid:
                self._tids[i] = 0
        if tid == self._report_tid:
            self._report_tid = 0
            if status == 0:
                self.reports_acked += 1
            else:
                self.reports_lost += 1  # the next capture supersedes it (P1 shows the last)
                if self._report_serial:
                    self._serial_due = True

    # --- time ----------------------------------------------------------------------------
    def _tick(self, now):
        c = self.ticks
        d = c.ticks_diff(now, self._at)
        if d < 0:
            self._at = now
        elif d >= _S:
            k = d // _S
            self.local += k
            self._at = c.ticks_add(self._at, k * _S)

    def _ms(self, now):
        # Local milliseconds since boot at ticks now (the seconds count plus the ticks
        # since its last whole second).
        self._tick(now)
        return self.local * 1000 + self.ticks.ticks_diff(now, self._at) // 1000

    def _until(self, now, local_s):
        left = (local_s - self.local) * _S - self.ticks.ticks_diff(now, self._at)
        return left if left > 0 else 0

    def _time_frame(self, src, src_ep, h, buf, off, end, out, now):
        if h.direction != zf.TO_CLIENT:
            return -1  # a request to a cluster we only use as client
        if src != HUB:
            return 0
        if self.time.take_ms(h, buf, off, end, self._ms(now), self._asked_ms):
            self.syncs += 1
            self._asked = -1
            self._retry_s = SYNC_RETRY_S
        elif h.frame_type == zf.FT_GLOBAL and h.command == zg.DEFAULT_RSP \
                and h.seq == self.time.seq:
            self._refused = True  # no time from the hub: asked again later, asleep meanwhile
        return 0  # responses are never answered

    def _next_seq(self):
        self._seq = (self._seq + 1) & 0xFF
        return self._seq

    def _ask_time(self, now):
        self._refused = False
        n = self.time.build_read(self._buf, self._next_seq())
        # No APS ack asked: the response acknowledges the read (asked again after
        # SYNC_RETRY_S), so the hub queues only the response, fetched by polls every
        # TIME_POLL_US for TIME_QUICK_US: half the round trip is the sync's uncertainty.
        if self.send(HUB, HUB_ENDPOINT, TIME, SE_PROFILE, ENDPOINT, self._buf, n, now, False):
            self._asked = self.local
            self._asked_ms = self._ms(now)
            self._asked_t = now
            self._fast_from = now
            self._fast = True
            self._fast_next = self.ticks.ticks_add(now, TIME_POLL_US)
            self._sync_now = False
            self.sync_requests += 1
        else:
            self.send_failures += 1

    # --- reports -------------------------------------------------------------------------
    def build_report(self, out, serial):
        """Report Attributes of the last capture into out; its length."""
        rd = self.reading
        zf.set_header(self._h, zf.FT_GLOBAL, zf.TO_CLIENT, self._next_seq(),
                      zg.REPORT_ATTRIBUTES, True)
        p = zf.build(self._h, out, 0)
        p = zg.put_attr_value(out, p, CURRENT_SUMMATION_DELIVERED, zt.UINT48, rd.litres)
        p = zg.put_attr_value(out, p, READING_SNAPSHOT_TIME, zt.UTC, rd.utc - ZCL_EPOCH_UNIX)
        if serial:
            p = zg.put_attr_str(out, p, METER_SERIAL_NUMBER, zt.OCTET_STR, self.equipment_id)
        return p

    def _report(self, now):
        t = self.time
        utc = t.utc_now(self._ms(now))
        rd = self.reading
        rd.litres = self.register.advance(utc, t.local)
        rd.utc = utc
        serial = self._serial_due
        n = self.build_report(self._buf, serial)
        tid = self.send(HUB, HUB_ENDPOINT, METERING, SE_PROFILE, ENDPOINT, self._buf, n, now)
        if not tid:
            self.send_failures += 1
            self._next_capture = utc + 1  # no APS slot free: capture again in a second
            return
        self._report_tid = tid
        self._report_serial = serial
        self._serial_due = False
        self.reports_sent += 1
        self._next_capture = (utc // self.report_s + 1) * self.report_s
        if self.out is not None:
            d = t.drift_ppb
            a = -d if d < 0 else d
            drift = "%s%d.%03d" % ("-" if d < 0 else "", a // 1000, a % 1000) \
                if t.drift_known else "null"
            self.out('{"device": "gas", "m3": %d.%03d, "captured": %d, "time_err_ms": %d, '
                     '"drift_ppm": %s}' % (rd.litres // 1000, rd.litres % 1000, utc,
                                           t.last_error_ms, drift))

    # --- the polled machine --------------------------------------------------------------
    def _fast_polls(self, now):
        awaiting = self._asked >= 0 and not self._refused
        if self.ota is not None and self.ota.busy():
            awaiting = True
        for i in range(_TIDS):
            if self._tids[i]:
                awaiting = True
        c = self.ticks
        if not awaiting:
            self._fast = False
            return -1
        if not self._fast:
            self._fast = True
            # The peer needs a moment to queue its answer: the first fast poll waits too.
            self._fast_next = c.ticks_add(now, FAST_POLL_US)
        if c.ticks_diff(now, self._fast_from) >= FAST_MAX_US:
            return -1  # no answer: back to the slow polls
        left = c.ticks_diff(self._fast_next, now)
        if left <= 0:
            self._zb.mac.poll(now)
            self.fast_polls += 1
            left = FAST_POLL_US
            if self._asked >= 0 and c.ticks_diff(now, self._asked_t) < TIME_QUICK_US:
                left = TIME_POLL_US
            self._fast_next = c.ticks_add(now, left)
        return left

    def step(self, now):
        """One pass (the node calls it once the network key is in); the microseconds until
        it wants the next (-1: only a frame can make it do something)."""
        self._tick(now)
        zb = self._zb
        if zb is None:
            return -1
        if zb.state != E_UP or zb.joiner is None or zb.joiner.state != J_JOINED:
            self._up = False
            return -1
        if not self._up:  # joined, rejoined or resumed after a reboot
            self._up = True
            zb.mac.poll_interval_us = self.poll_ms * 1000
            self._serial_due = True
            self._sync_now = True
        local = self.local
        t = self.time
        if self._asked >= 0 and local - self._asked >= self._retry_s:
            # Unanswered: ask again, less often while the hub stays silent.
            self._asked = -1
            self._sync_now = True
            self._retry_s = min(self._retry_s * 2, SYNC_RETRY_MAX_S)
        if self._asked < 0 and (self._sync_now or (t.synced and (
                local - t.synced_at >= SYNC_EVERY_S or t.needs_sync(local)))):
            self._ask_time(now)
        wait = WAKE_MAX_US
        if t.synced:
            ms = self._ms(now)
            if self._next_capture == 0 or t.utc_ms(ms) >= self._next_capture * 1000:
                self._report(now)
            w = t.wait_ms(self._next_capture, ms) * 1000
            if w < wait:
                wait = w
            if self._asked < 0:
                w = self._until(now, t.synced_at + SYNC_EVERY_S)
                if w < wait:
                    wait = w
        if self._asked >= 0:
            w = self._until(now, self._asked + self._retry_s)
            if w < wait:
                wait = w
        elif self._sync_now:
            wait = _S  # could not send: try again in a second
        if self.ota is not None:
            w = self.ota.step(now)
            if 0 <= w < wait:
                wait = w
        f = self._fast_polls(now)
        return f if 0 <= f < wait else wait
