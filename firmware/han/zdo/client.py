# ZDO client: transaction sequence numbers (2.4.2.8), request building and the matching of
# responses to outstanding requests. The APS layer sends what the request methods build
# (endpoint 0, profile 0x0000, the returned cluster) and hands every ZDO response frame
# to match().
#
#   cl = ZdoClient(slots=4, timeout_us=3000000)
#   cluster, length, seq = cl.node_desc_req(out, now, nwk)
#   r = cl.match(rsp_cluster, payload, n)  # -> (seq, status, fields) or None
#   for seq, rsp_cluster in cl.expire(now): ...  # requests that got no answer in time
#
# fields is the response parser's tuple (addr.py, nodedesc.py, frames.py, bind.py), or
# None when the response carried only a failure status (the short NOT_SUPPORTED form a
# server gives for a request it does not serve). A response that matches no outstanding
# request (stale, duplicated, unsolicited) is counted and dropped, as is a malformed one.
# A request sent by broadcast (multi=True: NWK_addr_req, Match_Desc_req to 0xFFFD) keeps
# its slot until it expires, so that every device's answer matches it.
from micropython import const

from hal.ticks import ticks_diff
from han.zdo import addr as za
from han.zdo import bind as zb
from han.zdo import frames as zf
from han.zdo import nodedesc as zn

_PARSERS = {
    za.NWK_ADDR_RSP: za.parse_nwk_addr_rsp,
    za.IEEE_ADDR_RSP: za.parse_ieee_addr_rsp,
    zn.NODE_DESC_RSP: zn.parse_node_desc_rsp,
    zf.SIMPLE_DESC_RSP: zf.parse_simple_desc_rsp,
    zf.ACTIVE_EP_RSP: zf.parse_active_ep_rsp,
    zf.MATCH_DESC_RSP: zf.parse_match_desc_rsp,
    zb.BIND_RSP: zb.parse_status_rsp,
    zb.UNBIND_RSP: zb.parse_status_rsp,
    zb.MGMT_LEAVE_RSP: zb.parse_status_rsp,
    zb.MGMT_PERMIT_JOINING_RSP: zb.parse_status_rsp,
}

# Pending slot fields.
_SEQ = const(0)
_CLUSTER = const(1)
_T0 = const(2)
_MULTI = const(3)


class ZdoClient:
    def __init__(self, slots=4, timeout_us=3000000, seq=0, diff=ticks_diff):
        self._seq = seq & 0xFF
        self._pending = [None] * slots
        self.timeout_us = timeout_us
        self._diff = diff
        self.unmatched = 0
        self.malformed = 0
        self.timeouts = 0
        self.evicted = 0

    def next_seq(self):
        s = self._seq
        self._seq = (s + 1) & 0xFF
        return s

    def _open(self, cluster, now, multi):
        # The reply cluster is the request's | 0x8000 (2.4.4). A full table gives its
        # oldest slot to the new request (counted): a lost answer must not block ZDO.
        seq = self.next_seq()
        free = -1
        oldest = -1
        for i, p in enumerate(self._pending):
            if p is None:
                if free < 0:
                    free = i
            elif p[_SEQ] == seq:
                free = i  # a wrapped-around sequence number replaces its old request
                break
            elif oldest < 0 or self._diff(p[_T0], self._pending[oldest][_T0]) < 0:
                oldest = i
        if free < 0:
            free = oldest
            self.evicted += 1
        self._pending[free] = [seq, cluster | zf.RSP, now, multi]
        return seq

    def pending(self, seq):
        for p in self._pending:
            if p is not None and p[_SEQ] == seq:
                return True
        return False

    def cancel(self, seq):
        for i, p in enumerate(self._pending):
            if p is not None and p[_SEQ] == seq:
                self._pending[i] = None

    def expire(self, now):
        """-> [(seq, response cluster), ...] of the requests older than timeout_us (their
        slots freed; a broadcast request's end is not counted as a timeout)."""
        done = []
        for i, p in enumerate(self._pending):
            if p is not None and self._diff(now, p[_T0]) >= self.timeout_us:
                self._pending[i] = None
                if not p[_MULTI]:
                    self.timeouts += 1
                done.append((p[_SEQ], p[_CLUSTER]))
        return done

    def match(self, cluster, payload, n=-1):
        """A ZDO response frame -> (seq, status, fields or None), or None when it answers
        nothing we asked or is malformed."""
        if n < 0:
            n = len(payload)
        parse = _PARSERS.get(cluster)
        if parse is None:
            self.unmatched += 1  # a response to nothing this client can ask
            return None
        if n < 2 or n > len(payload):
            self.malformed += 1
            return None
        seq = payload[0]
        slot = -1
        for i, p in enumerate(self._pending):
            if p is not None and p[_SEQ] == seq and p[_CLUSTER] == cluster:
                slot = i
                break
        if slot < 0:
            self.unmatched += 1
            return None
        status = payload[1]
        try:
            fields = parse(payload, n)
        except ValueError:
            if status == zf.SUCCESS or n != 2:
                self.malformed += 1
                return None
            fields = None  # seq, status only: a request the server does not serve
        if not self._pending[slot][_MULTI]:
            self._pending[slot] = None
        return seq, status, fields

    # --- requests: each -> (cluster, length in out, seq) ------------------------------

    def nwk_addr_req(self, out, now, ieee, request_type=za.REQ_SINGLE, start=0):
        seq = self._open(zf.NWK_ADDR, now, True)  # broadcast (2.4.3.1.1)
        return zf.NWK_ADDR, za.build_nwk_addr_req(out, seq, ieee, request_type, start), seq

    def ieee_addr_req(self, out, now, nwk, request_type=za.REQ_SINGLE, start=0):
        seq = self._open(zf.IEEE_ADDR, now, False)
        return zf.IEEE_ADDR, za.build_ieee_addr_req(out, seq, nwk, request_type, start), seq

    def node_desc_req(self, out, now, nwk):
        seq = self._open(zf.NODE_DESC, now, False)
        return zf.NODE_DESC, zn.build_node_desc_req(out, seq, nwk), seq

    def simple_desc_req(self, out, now, nwk, endpoint):
        seq = self._open(zf.SIMPLE_DESC, now, False)
        return zf.SIMPLE_DESC, zf.build_simple_desc_req(out, seq, nwk, endpoint), seq

    def active_ep_req(self, out, now, nwk):
        seq = self._open(zf.ACTIVE_EP, now, False)
        return zf.ACTIVE_EP, zf.build_active_ep_req(out, seq, nwk), seq

    def match_desc_req(self, out, now, nwk, profile, in_clusters, out_clusters):
        seq = self._open(zf.MATCH_DESC, now, nwk >= 0xFFF8)
        return zf.MATCH_DESC, zf.build_match_desc_req(out, seq, nwk, profile, in_clusters,
                                                      out_clusters), seq

    def bind_req(self, out, now, src, src_ep, cluster, mode, dst, dst_ep=None):
        seq = self._open(zf.BIND, now, False)
        return zf.BIND, zb.build_bind_req(out, seq, src, src_ep, cluster, mode, dst,
                                          dst_ep), seq

    def unbind_req(self, out, now, src, src_ep, cluster, mode, dst, dst_ep=None):
        seq = self._open(zf.UNBIND, now, False)
        return zf.UNBIND, zb.build_unbind_req(out, seq, src, src_ep, cluster, mode, dst,
                                              dst_ep), seq

    def mgmt_leave_req(self, out, now, ieee, remove_children=False, rejoin=False):
        seq = self._open(zf.MGMT_LEAVE, now, False)
        return zf.MGMT_LEAVE, zf.build_mgmt_leave_req(out, seq, ieee, remove_children,
                                                      rejoin), seq

    def mgmt_permit_joining_req(self, out, now, duration, tc_significance=True,
                                broadcast=False):
        """Broadcast (to 0xFFFC, 2.4.3.3.7) opens joining network-wide and gets no answer:
        no slot is kept for it."""
        if broadcast:
            seq = self.next_seq()
        else:
            seq = self._open(zf.MGMT_PERMIT_JOINING, now, False)
        return zf.MGMT_PERMIT_JOINING, zf.build_mgmt_permit_joining_req(
            out, seq, duration, tc_significance), seq

    def device_annce(self, out, nwk, ieee, capability):
        """Device_annce (2.4.3.1.11) is broadcast and never answered: no slot."""
        return zf.DEVICE_ANNCE, zf.build_device_annce(out, self.next_seq(), nwk, ieee,
                                                      capability), None
