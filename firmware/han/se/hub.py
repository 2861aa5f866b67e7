# The hub's Smart Energy endpoints (issue 12), built over the meter's registers:
#
#   endpoint 1, energy service interface (SE 1.4 device 0x0500): Basic, Identify, Time (the
#       hub is the HAN's time master, from the meter's clock and its market's zone and DST
#       rule), Metering (the electricity meter: P1's registers, units.electricity()),
#       Messaging (the meter's text message, as P1's 0-0:96.13.0 carries it), Price when
#       prices are configured; a Metering client that takes the devices' reports;
#   endpoint 2, the gas meter's mirror (metering device 0x0501, MeteringDeviceType 0x80):
#       Basic and Metering from the registers' gas mailbox, so that displays read gas
#       without waking the battery meter (SE 1.4 D.3.4.3, mirroring).
#
# Reports are answered as ZCL 2.5.12.2 asks (a Default Response when the sender wants
# one). A gas meter's reports (CurrentSummationDelivered with its ReadingSnapShotTime)
# go to on_gas(litres, capture_utc, equipment_id) through han/se/gasrelay.py, which reads
# each device's units and identifier once; main points on_gas at the registers' gas
# mailbox, which the mirror endpoint shows.
from micropython import const

from han.se import units
from han.se.basic import POWER_MAINS_1PH, BasicServer
from han.se.gasrelay import GasRelay
from han.se.identify import IdentifyServer
from han.se.messaging import MessagingServer
from han.se.metering import DEVICE_ELECTRIC, DEVICE_MIRRORED_GAS, MeteringServer
from han.se.router import SE_PROFILE, SeRouter
from han.se.sources import ElectricitySource, MirrorSource
from han.se.subscribers import PushSubscribers
from han.se.time import TimeServer
from han.zcl import frame as zf
from han.zcl import general as zg
from han.zcl.engine import ReportEngine

ESI_ENDPOINT = const(1)
MIRROR_ENDPOINT = const(2)
DEVICE_ESI = const(0x0500)  # SE 1.4 Table 5-13
DEVICE_METER = const(0x0501)
METERING = const(0x0702)
# 8 displays x 5 attributes (demand, summation, today; the mirror's summation and its
# capture time): a 4th display found 16 taken and got no reports. Record "hanrpt" packs
# 2 + 22 x 40 = 882 octets, within the store's 1024.
REPORT_SLOTS = const(40)
PRICE_ASKERS = const(8)  # as many as a Price server keeps subscribers
KIND_REPORTS = const(0xB2)  # record kinds (docs/registers.md)
KIND_DAY = const(0xB3)


class Hub:
    """The hub's router and what its servers need. clock: the meter's clock (utc(),
    synced: registers.clock.MeterClock); view: registers.view.RegistersView; std_offset_s
    and dst_rule: the market's zone (h1.profiles); ticks: the board's clock (the
    reporting engine's intervals); identity: (manufacturer, model, sw_build_id) octet
    strings; prices: han.se.price.PriceConfig or None; power_w: callable giving the
    instantaneous demand; on_confirmed(message_id, utc, src): display src confirmed a message;
    on_gas(litres, capture_utc, equipment_id) -> bool: a gas meter's reading (True when
    it was taken; gasrelay.py). store: the registers' record store (subscriptions,
    consumption bases, the store-and-forward queue); on_overwritten(ext, kind, item_id): the
    store-and-forward queue was full and overwrote an item for the device ext (EUI-64)."""

    def __init__(self, clock, view, std_offset_s, dst_rule, ticks, identity=(b"", b"", b""),
                 prices=None, power_w=None, on_confirmed=None, on_gas=None, store=None,
                 on_overwritten=None):
        self.engine = ReportEngine(REPORT_SLOTS, ticks)
        self.ota = None  # han.ota.server.OtaServer, once add_ota() gives one
        self.deliver = None  # han.hub.deliver.Deliveries, once attach() gives the network
        self._store = store
        self._clock = clock
        self._ticks = ticks
        self._on_overwritten = on_overwritten
        self.router = r = SeRouter(None, self.engine)
        manufacturer, model, build = identity
        basic = dict(manufacturer=manufacturer, model=model, sw_build_id=build,
                     power_source=POWER_MAINS_1PH)
        r.endpoint(ESI_ENDPOINT, DEVICE_ESI)
        r.add_server(ESI_ENDPOINT, BasicServer(**basic))
        r.add_server(ESI_ENDPOINT, IdentifyServer(clock.utc))
        r.add_server(ESI_ENDPOINT, TimeServer(clock, std_offset_s, dst_rule))
        self.electricity = ElectricitySource(view, power_w)
        r.add_server(ESI_ENDPOINT, MeteringServer(self.electricity, units.electricity(),
                                                  DEVICE_ELECTRIC))
        self.messaging = MessagingServer(view.text_message, clock, on_confirmed)
        r.add_server(ESI_ENDPOINT, self.messaging)
        self.price = None  # the Price server, once prices are configured
        self._price_args = (view.tariff_indicator, clock)
        # Displays that asked Get Current Price (Rx On When Idle) before there was a price:
        # they become the first Price server's subscribers, so the prices reach them when
        # configured ([SE] D.4.2.4.1: Publish Price "when an update to the pricing
        # information is available"); they would otherwise never ask again.
        self._price_askers = [0] * PRICE_ASKERS
        self._n_price_askers = 0
        r.unserved = self._unserved
        if prices is not None:
            self.set_prices(prices)
        r.add_client(ESI_ENDPOINT, METERING, self._metering_report)
        r.endpoint(MIRROR_ENDPOINT, DEVICE_METER)
        r.add_server(MIRROR_ENDPOINT, BasicServer(**basic))
        r.add_server(MIRROR_ENDPOINT, MeteringServer(MirrorSource(view), units.gas(3),
                                                     DEVICE_MIRRORED_GAS))
        self._rh = zf.ZclHeader()
        self.reports_in = 0
        self.view = view
        self.gas = GasRelay(on_gas, self._read_metering)
        # The displays' subscriptions survive a hub reboot (they never learn of it, so
        # would not subscribe again): record "hanrpt" in the registers' store.
        self._rpt = None
        self._rpt_buf = bytearray(ReportEngine.packed_size(REPORT_SLOTS))
        if store is not None:
            self._rpt = store.slots("hanrpt", KIND_REPORTS, len(self._rpt_buf))
            n = self._rpt.load(self._rpt_buf)
            if n > 0:
                try:
                    self.engine.unpack(self._rpt_buf, n, self._find_table, ticks.ticks_us())
                except ValueError:
                    pass  # not a reporting record: start without subscriptions

        # Who gets the pushes of prices and messages, kept through a reboot (subscribers.py).
        self._subs = PushSubscribers(store)
        if self._subs.load():
            for short in self._subs.messaging():
                self.messaging.subscribe(short)
            for short in self._subs.price():
                if self.price is not None:
                    self.price.subscribe(short)
                elif self._n_price_askers < PRICE_ASKERS:
                    self._price_askers[self._n_price_askers] = short
                    self._n_price_askers += 1
            active, message_id, _, tier = self._subs.pushed()
            self.messaging.resume(active, message_id, self._subs.same_text)
            if self.price is not None:
                self.price.pushed_tier = tier

        # Today's, this week's and this month's consumption survive a reboot within the
        # period (record "handay", written when a local day begins).
        self._day = None
        self._day_buf = bytearray(28)
        self._saved_day = None
        if store is not None:
            self._day = store.slots("handay", KIND_DAY, 28)
            n = self._day.load(self._day_buf)
            if n > 0:
                self.electricity.unpack(self._day_buf, n, view.utc())
                self._saved_day = self.electricity.day

    def _save_day(self):
        e = self.electricity
        if self._day is not None and e.day != self._saved_day and e.day >= 0:
            self._day.save(self._day_buf, e.pack(self._day_buf))
            self._saved_day = e.day

    def _find_table(self, ep, cluster, to_client):
        return self.router.table(ep, cluster)

    def add_ota(self, server):
        """The OTA Upgrade server (han.ota.server.OtaServer) on the ESI endpoint (before
        the node is built: the simple descriptor lists it)."""
        self.router.add_server(ESI_ENDPOINT, server)
        server.attach(self.router, ESI_ENDPOINT)
        self.ota = server

    def attach(self, zb):
        """The ZigBee node (han.zigbee.ZigbeeNode) the hub runs on: with a record store,
        the pushes (prices, messages) are stored and forwarded to each device until its APS
        ack (han/hub/deliver.py), across power cuts."""
        if self._store is None:
            return
        from han.hub.deliver import Deliveries

        table = zb.table

        def overwritten(dev, kind, item_id):
            if self._on_overwritten is not None:
                self._on_overwritten(table.ext[dev], kind, item_id)

        d = Deliveries(self._store, table, self._ticks, ESI_ENDPOINT, overwritten)
        d.send = zb.send
        d.room = zb.aps.has_room
        d.peer_ep = self.router.peer_ep
        d.attach(zb.aps)
        self.deliver = d
        self.router.deliver = d
        self.router.utc = self._clock.utc

    def device_resumed(self, short, now):
        """A device of the network the hub resumed after its reboot (han/node.py start):
        the OTA server announces its stored images to it, which it would otherwise learn
        of only at its daily query."""
        if self.ota is not None:
            self.ota.announce(short, 1, now)

    def device_removed(self, short):
        """The trust centre removed the device at short (han.tc.centre on_removed):
        its subscriptions and what the gas relay knew of it are dropped, at once in the
        flash too."""
        self.router.forget(short)
        self.gas.forget(short)
        askers = self._price_askers
        for i in range(self._n_price_askers):
            if askers[i] == short:
                self._n_price_askers -= 1
                askers[i] = askers[self._n_price_askers]
                break
        if self.deliver is not None:
            self.deliver.forget(short)
        self.save_reporting()

    def _unserved(self, src, cluster, h, buf, p, end):
        from han.se.price import CLUSTER, GET_CURRENT_PRICE, OPT_RX_ON_IDLE

        if cluster != CLUSTER or h.frame_type != zf.FT_CLUSTER or \
                h.command != GET_CURRENT_PRICE or end - p != 1 or not buf[p] & OPT_RX_ON_IDLE:
            return
        askers = self._price_askers
        for i in range(self._n_price_askers):
            if askers[i] == src:
                return
        if self._n_price_askers < len(askers):
            askers[self._n_price_askers] = src
            self._n_price_askers += 1

    def save_reporting(self):
        """Write the reporting configurations and the push subscribers if they changed
        (after each frame)."""
        if self._rpt is not None and self.engine.dirty:
            n = self.engine.pack(self._rpt_buf)
            self._rpt.save(self._rpt_buf, n)
        m = self.messaging
        p = self.price
        if p is not None:
            self._subs.save(m.subscribers, m.n_subscribers, p.subscribers, p.n_subscribers,
                            m, p.pushed_tier)
        else:
            self._subs.save(m.subscribers, m.n_subscribers, self._price_askers,
                            self._n_price_askers, m, 0)

    def set_prices(self, config):
        """Publish config (han.se.price.PriceConfig) from now on (the configuration path's
        OP_SET_PRICES). A new Price server takes the old one's place and its subscribers,
        sequence and event ids, so each subscriber gets the new price at the next step.
        The first one joins the endpoint's cluster list (Match_Desc finds it at once).
        Its label attributes are not reportable, so no reporting refers to the old one."""
        from han.se.price import CLUSTER, PriceServer

        new = PriceServer(config, self._price_args[0], self._price_args[1])
        old = self.price
        r = self.router
        if old is None:
            r.add_server(ESI_ENDPOINT, new)
            for i in range(self._n_price_askers):
                new.subscribe(self._price_askers[i])
            self._n_price_askers = 0
        else:
            new.subscribers = old.subscribers
            new.n_subscribers = old.n_subscribers
            new.owed = old.owed
            new.seq = old.seq
            new.pp.issuer_event_id = old.pp.issuer_event_id  # the next event id is larger
            r.servers[(ESI_ENDPOINT, CLUSTER)] = new
            r.pushers[r.pushers.index((ESI_ENDPOINT, old))] = (ESI_ENDPOINT, new)
        self.price = new

    def step(self, now):
        """The node's periodic call: the consumption periods follow the meter's local
        midnight; then reports and pushes. Microseconds until the next is due, or -1."""
        self.electricity.step(self.view.utc())
        self._save_day()  # a local day began: its bases are kept
        self.save_reporting()  # a Configure Reporting answered since the last step
        # First: a gas reading for P1 goes before the displays' reports.
        wait = _sooner(self.gas.step(now), self.router.step(now))
        if self.ota is not None:
            wait = _sooner(wait, self.ota.step(now))
        if self.deliver is not None:
            wait = _sooner(wait, self.deliver.step(now))
        return wait

    def _metering_report(self, src, src_ep, h, buf, off, end, out, now):
        # A device's Metering server reporting to us (server -> client Report Attributes),
        # or answering the hub's read of its units (gasrelay.py).
        if h.frame_type != zf.FT_GLOBAL or h.direction != zf.TO_CLIENT:
            return -1
        if h.command == zg.READ_ATTRIBUTES_RSP:
            return 0 if self.gas.read_response(src, h.seq, buf, off, end, now) else -1
        if h.command != zg.REPORT_ATTRIBUTES:
            return -1
        self.reports_in += 1
        self.gas.report(src, src_ep, buf, off, end, now)
        if h.disable_default_rsp:
            return 0
        zf.set_header(self._rh, zf.FT_GLOBAL, zf.TO_SERVER, h.seq, zg.DEFAULT_RSP, True,
                      h.manuf_code if h.manuf_specific else -1)
        p = zf.build(self._rh, out, 0)
        return zg.build_default_response(out, p, h.command, zg.SUCCESS)

    def _read_metering(self, dst, dst_ep, payload, n, now):
        # The gas relay's Read Attributes to a device's Metering server (held by the
        # coordinator for a sleepy device until it polls).
        return self.router.send(dst, dst_ep, METERING, SE_PROFILE, ESI_ENDPOINT, payload, n,
                                now, True, False)


def _sooner(a, b):
    """The earlier of two waits in microseconds, -1 meaning none."""
    return b if a < 0 or 0 <= b < a else a
