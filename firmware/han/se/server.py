# What every cluster server shares: the attribute table answers Read, Write and Discover
# Attributes (han.zcl.dispatch), the cluster's own commands go to command(), and the
# Default Response rules of ZCL revision 6 (07-5123) 2.5.12.2 apply to both.
#
#   n = server.handle(h, buf, off, end, out, unicast, src=-1)
#       h: the ZclHeader han.zcl.frame.parse filled, the payload at buf[off:end]; the
#       response frame (header included) is written at out[0:n]. n == 0: nothing to send;
#       n == -1: the frame is not this server's to answer (a frame travelling server ->
#       client is for a client on the same endpoint; Report Attributes, Default Response,
#       Configure Reporting belong to the reporting engine or the node). src: the
#       requester's short address, for servers that keep subscribers (Price, Messaging).
#
# A server only takes frames sent client -> server (2.4.1.1.3): a server -> client frame on
# the same cluster is a response or a client-side command, never a request to us.
from han.zcl import dispatch as zd
from han.zcl import frame as zf
from han.zcl import general as zg


class ClusterServer:
    """Base of the servers: subclasses set the table and override command()."""

    def __init__(self, cluster_id, table):
        self.cluster_id = cluster_id
        self.table = table
        self.rh = zf.ZclHeader()   # the response header, reused for every answer
        self.owed = 0   # pushing servers: bit i, subscribers[i] still owed the last push

    def subscribe(self, addr):
        """Keep addr among the subscribers of a server that pushes unsolicited frames
        (Price, Messaging: subscribers[:n_subscribers], preallocated by the subclass);
        False when the table is full."""
        for i in range(self.n_subscribers):
            if self.subscribers[i] == addr:
                return True
        if self.n_subscribers == len(self.subscribers):
            return False
        self.subscribers[self.n_subscribers] = addr
        self.n_subscribers += 1
        return True

    def unsubscribe(self, addr):
        """Forget addr (the device was removed from the network)."""
        j = 0
        owed = 0
        for i in range(self.n_subscribers):
            if self.subscribers[i] != addr:
                self.subscribers[j] = self.subscribers[i]
                owed |= (self.owed >> i & 1) << j
                j += 1
        self.n_subscribers = j
        self.owed = owed

    def attr(self, attr_id):
        return self.table.find(attr_id)

    def handle(self, h, buf, off, end, out, unicast, src=-1):
        if h.direction != zf.TO_SERVER:
            return -1
        if h.frame_type == zf.FT_GLOBAL:
            return zd.respond(self.table, h, buf, off, end, out, unicast, self.rh)
        if h.manuf_specific:
            return self.default_response(h, out, zg.UNSUP_MANUF_CLUSTER_COMMAND, unicast)
        return self.command(h, buf, off, end, out, unicast)

    def command(self, h, buf, off, end, out, unicast):
        """A cluster-specific command (client -> server, no manufacturer code): return the
        response length as handle() does. A cluster without commands refuses it."""
        return self.default_response(h, out, zg.UNSUP_CLUSTER_COMMAND, unicast)

    def response_header(self, h, out, frame_type, command):
        """Header of an answer to h (same sequence number, server -> client, default
        response disabled: a response is never answered, h's manufacturer code echoed);
        return the payload offset."""
        zf.set_header(self.rh, frame_type, zf.TO_CLIENT, h.seq, command, True,
                      h.manuf_code if h.manuf_specific else -1)
        return zf.build(self.rh, out, 0)

    def default_response(self, h, out, status, unicast):
        """The Default Response to command h with status when 2.5.12.2 asks for one (never
        to a broadcast or group frame; on success only when the sender did not disable
        it); return its length or 0."""
        if not zg.default_response_needed(h.disable_default_rsp, unicast, False, status,
                                          False):
            return 0
        n = self.response_header(h, out, zf.FT_GLOBAL, zg.DEFAULT_RSP)
        return zg.build_default_response(out, n, h.command, status)
