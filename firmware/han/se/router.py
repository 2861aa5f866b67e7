# The Smart Energy application of one node: its endpoints (simple descriptors for the ZDO
# server), the cluster servers and clients on them, the reporting engine, and the routing
# of every ZCL frame the APS layer delivers (ZCL revision 6, 07-5123, 2.4 and 2.5):
#
#   a frame to (endpoint, cluster)  ->  Configure Reporting / Read Reporting Configuration:
#                                       the reporting engine, for that server's table;
#                                       then the cluster's server (client -> server
#                                       frames); then a client handler registered there
#                                       (server -> client frames: responses, reports,
#                                       Publish Price, Display Message ...);
#                                       nobody: Default Response UNSUPPORTED_CLUSTER (0xC3)
#                                       to a unicast request (2.5.12.2), else dropped.
#   step(now)                       ->  reports that are due, and what the servers push
#                                       unsolicited (a new price tier, a new message) to
#                                       their subscribers.
#
# The APS layer holds a few frames awaiting acknowledgement for all devices (a gas reading
# mirrored to three displays at once fills it; a frame for the sleepy gas meter holds its
# slot until the meter polls). While it is full (room(): han.aps.layer has_room) nothing
# is built: reports stay due, a push stays owed to the subscribers it has not reached
# (server.owed, a bit per subscriber; server.repush rebuilds the frame), and step asks to
# be called again after RETRY_US. A send refused for lack of room all the same is undone
# (ReportEngine.undo) and retried; one refused with room to spare (no key for the
# destination, no route) would be refused again: it is dropped and counted.
#
# Answers and pushes leave through send(dst, dst_ep, cluster, profile, src_ep, payload, n,
# now, ack, aps_secure) (han.zigbee.ZigbeeNode.send); an answer is APS-secured when its
# request was. Frames are built into one preallocated buffer.
from micropython import const

from han.zcl import frame as zf
from han.zcl import general as zg
from han.zcl import reportcfg

SE_PROFILE = const(0x0109)
_OUT = const(82)  # one unfragmented APS payload (han/zigbee.py APS_MAX_PAYLOAD)
RETRY_US = const(50000)  # the APS layer was full: try again this soon


class SeRouter:
    def __init__(self, send, engine=None):
        self.send = send
        self.room = None  # callable: the APS layer can take an acknowledged frame now
        self.engine = engine  # han.zcl.engine.ReportEngine, or None: no reporting
        self.endpoints = {}  # endpoint -> [device id, in clusters, out clusters]
        self._order = []
        self.servers = {}  # (endpoint, cluster) -> server (han.se.server.ClusterServer)
        self.clients = {}  # (endpoint, cluster) -> handler(src, src_ep, h, buf, off, end,
        #                                                 out, now) -> answer length or -1
        self.pushers = []  # (endpoint, server): servers with unsolicited frames
        self.peer_ep = {}  # short address -> the endpoint it last spoke from
        self.out = bytearray(_OUT)
        self._h = zf.ZclHeader()
        self._rh = zf.ZclHeader()
        self.malformed = 0
        self.unsupported = 0
        self.answers = 0
        self.reports = 0
        self.send_failed = 0  # frames refused with room in the APS layer (dropped)
        # han.hub.deliver.Deliveries: pushes stored and forwarded until each subscriber's
        # APS ack (the hub with a record store); None: pushed once, as owed bits.
        self.deliver = None
        self.utc = None  # () -> UTC seconds, for the stored items
        # (src, cluster, h, buf, p, end): told of each request to a cluster no endpoint
        # serves, before it is refused (the hub keeps who asked for a price too early).
        self.unserved = None

    # --- what the node offers ------------------------------------------------------------
    def endpoint(self, ep, device_id):
        self.endpoints[ep] = [device_id, [], []]
        self._order.append(ep)  # MicroPython's dicts keep no insertion order

    def add_server(self, ep, server):
        self.servers[(ep, server.cluster_id)] = server
        self.endpoints[ep][1].append(server.cluster_id)
        if hasattr(server, "tier_changed") or hasattr(server, "message_changed"):
            self.pushers.append((ep, server))

    def _full(self):
        return self.room is not None and not self.room()

    def forget(self, short):
        """A device was removed: no more reports or pushes to its short address (the next
        device given that address subscribes for itself)."""
        if self.engine is not None:
            self.engine.drop(short)
        for _, server in self.pushers:
            server.unsubscribe(short)
        self.peer_ep.pop(short, None)

    def add_client(self, ep, cluster, handler):
        self.clients[(ep, cluster)] = handler
        self.endpoints[ep][2].append(cluster)

    def simple_descriptors(self):
        """(endpoint, profile, device, version, in clusters, out clusters) for ZdoServer."""
        return [(ep, SE_PROFILE, self.endpoints[ep][0], 1, self.endpoints[ep][1],
                 self.endpoints[ep][2]) for ep in self._order]

    def table(self, ep, cluster):
        s = self.servers.get((ep, cluster))
        return None if s is None else s.table

    # --- frames in -----------------------------------------------------------------------
    def receive(self, src, src_ep, dst_ep, cluster, profile, buf, off, n, now, aps_secured,
                unicast=True):
        """One APS data frame for this node; True when it was a ZCL frame of ours."""
        if self.deliver is not None:
            self.deliver.heard(src)  # a device back: what waits for it goes now
        if profile != SE_PROFILE or dst_ep not in self.endpoints:
            return False
        h = self._h
        end = off + n
        try:
            p = zf.parse(buf, off, end, h)
        except ValueError:
            self.malformed += 1
            return True
        self.peer_ep[src] = src_ep
        out = self.out
        r = -1
        server = self.servers.get((dst_ep, cluster))
        if server is not None:
            if self.engine is not None:
                r = reportcfg.answer(self.engine, server.table, cluster, src, src_ep, dst_ep,
                                     h, buf, p, end, out, unicast, self._rh, now)
            if r < 0:
                r = server.handle(h, buf, p, end, out, unicast, src)
        if r < 0:
            client = self.clients.get((dst_ep, cluster))
            if client is not None:
                r = client(src, src_ep, h, buf, p, end, out, now)
        if r < 0:
            self.unsupported += 1
            if self.unserved is not None and server is None:
                self.unserved(src, cluster, h, buf, p, end)
            r = self._unsupported(h, out, unicast)
        if r > 0:
            self.answers += 1
            self.send(src, src_ep, cluster, SE_PROFILE, dst_ep, out, r, now, True, aps_secured)
        return True

    def _unsupported(self, h, out, unicast):
        # A request to a cluster nobody here serves: UNSUPPORTED_CLUSTER (2.5.12.2, 2.6.3);
        # responses and reports nobody wanted are dropped.
        if h.frame_type == zf.FT_GLOBAL and h.command in (zg.DEFAULT_RSP, zg.REPORT_ATTRIBUTES):
            return 0
        if not zg.default_response_needed(h.disable_default_rsp, unicast, False,
                                          zg.UNSUPPORTED_CLUSTER, False):
            return 0
        zf.set_header(self._rh, zf.FT_GLOBAL, zf.TO_CLIENT if h.direction == zf.TO_SERVER
                      else zf.TO_SERVER, h.seq, zg.DEFAULT_RSP, True,
                      h.manuf_code if h.manuf_specific else -1)
        p = zf.build(self._rh, out, 0)
        return zg.build_default_response(out, p, h.command, zg.UNSUPPORTED_CLUSTER)

    # --- frames out ----------------------------------------------------------------------
    def _store_push(self, server, out, n):
        """Queue the push for each subscriber (han/hub/deliver.py); the bits of those it
        could not queue (the flash refused), which get it once, directly."""
        owed = 0
        utc = self.utc()
        for i in range(server.n_subscribers):
            try:
                self.deliver.push(server.subscribers[i], server.cluster_id, out, n, utc)
            except OSError:
                owed |= 1 << i
        return owed

    def step(self, now):
        """Send what is due; microseconds until the reporting engine wants a call (-1:
        only frames wake it)."""
        out = self.out
        retry = False
        for ep, server in self.pushers:
            push = getattr(server, "tier_changed", None) or server.message_changed
            n = push(out)
            if n > 0:
                server.owed = (1 << server.n_subscribers) - 1
                if self.deliver is not None:  # queued per subscriber: owed what failed
                    server.owed = self._store_push(server, out, n)
            if server.owed and self._full():
                retry = True
                continue
            if n <= 0 and server.owed:
                n = server.repush(out)
            for i in range(server.n_subscribers if n > 0 else 0):
                if server.owed >> i & 1:
                    dst = server.subscribers[i]
                    if self.send(dst, self.peer_ep.get(dst, ep), server.cluster_id,
                                 SE_PROFILE, ep, out, n, now, True, False):
                        server.owed &= ~(1 << i)
                    elif not self._full():
                        server.owed &= ~(1 << i)  # refused for good: see above
                        self.send_failed += 1
            if server.owed:
                retry = True
        e = self.engine
        wait = -1
        if e is not None:
            while e.due(now):
                if self._full():
                    retry = True
                    break
                r = e.build_next(now, out)
                if r is None:
                    break
                if not self.send(r[0], r[1], r[3], SE_PROFILE, r[2], out, r[4], now, True,
                                 False):
                    if self._full():
                        e.undo()
                        retry = True
                        break
                    self.send_failed += 1  # refused for good: see above
                    continue
                self.reports += 1
            wait = e.wake_in(now)
        if retry:  # blocked: whatever the engine says is due cannot go sooner
            wait = RETRY_US
        return wait

