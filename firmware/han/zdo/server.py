# ZDO server (ZigBee spec 05-3474, 2.4.3 "effect on receipt" of each request): answers the
# device and service discovery, bind and network management requests addressed to this
# node. The APS layer calls handle() with the payload of each frame for endpoint 0,
# profile 0x0000, and sends what it returns back to the requester (unicast, same APS
# security as the request; a Mgmt_Leave response goes out before the node leaves).
#
#   srv = ZdoServer(own_nwk, own_ieee, node_desc, endpoints, children=..., ...)
#   r = srv.handle(cluster, payload, n, out, broadcast)  # -> (rsp_cluster, length) or None
#
# node_desc: nodedesc.py's tuple; endpoints: simple descriptor tuples (endpoint, profile,
# device, version, in_clusters, out_clusters) as frames.py takes them; children: a
# callable returning (nwk, ieee) pairs of the end devices associated with this node (the
# neighbour table of a coordinator); on_permit_joining(duration, tc_significance) and
# on_leave(ieee or None for this node, remove_children, rejoin) return a status (None:
# SUCCESS); on_device_annce(nwk, ieee, capability). Malformed requests are dropped and
# counted (no ZDP status means "malformed"); requests of clusters not served are answered
# NOT_SUPPORTED when unicast (_UNSERVED). Not a hot path: discovery and binding happen
# when devices join, so lists and tuples are allocated here.
from micropython import const

from han.zdo import addr as za
from han.zdo import bind as zb
from han.zdo import frames as zf
from han.zdo import nodedesc as zn

# NLME-LEAVE.confirm status for a device that is not our child (NWK status, 3.2.2.17);
# Mgmt_Leave_rsp carries the NLME's status (2.4.4.4.5).
UNKNOWN_DEVICE = const(0xC8)

# NWK broadcast addresses (3.6.5, Table 3-69) a NWKAddrOfInterest may carry.
BCAST_ALL = const(0xFFFF)
BCAST_RX_ON = const(0xFFFD)
BCAST_ROUTERS = const(0xFFFC)

_WILDCARD_PROFILE = const(0xFFFF)  # 2.4.3.1.7: matches any profile

# NOT_SUPPORTED answers to requests not served here, shaped as each response's layout
# (2.4.4) so that a client (and Wireshark's packet-zbee-zdp, which reads these fields
# whatever the status) can parse them: request cluster -> (octets copied from the
# request after seq: NWKAddrOfInterest [and endpoint], zero octets after them: counts
# and indexes 0). None: no response at all; clusters not listed: seq and status only.
_UNSERVED = {
    0x0003: (2, 0),  # Power_Desc_rsp: NWKAddrOfInterest
    0x0010: (2, 1),  # Complex_Desc_rsp: NWKAddrOfInterest, Length 0
    0x0011: (2, 1),  # User_Desc_rsp: NWKAddrOfInterest, Length 0
    0x0014: (2, 0),  # User_Desc_conf: NWKAddrOfInterest
    0x0015: (0, 2),  # System_Server_Discovery_rsp: ServerMask 0
    0x001C: None,    # Find_node_cache_req: only a cache holding the device answers
    0x001D: (3, 3),  # Extended_Simple_Desc_rsp: NWKAddr, Endpoint, counts, StartIndex
    0x001E: (2, 2),  # Extended_Active_EP_rsp: NWKAddrOfInterest, count, StartIndex
    0x001F: (0, 1),  # Parent_annce_rsp: NumberOfChildren 0
    0x0023: (0, 4),  # Bind_Register_rsp: entries, list count (2 each)
    0x0030: (0, 3),  # Mgmt_NWK_Disc_rsp: count, StartIndex, list count
    0x0031: (0, 3),  # Mgmt_Lqi_rsp: entries, StartIndex, list count
    0x0032: (0, 3),  # Mgmt_Rtg_rsp: same
    0x0033: (0, 3),  # Mgmt_Bind_rsp: same
    0x0037: (0, 3),  # Mgmt_Cache_rsp: same
    0x0038: (0, 9),  # Mgmt_NWK_Update_notify: channels (4), totals (2, 2), count
    0x0039: (0, 9),  # Mgmt_NWK_Enhanced_Update_notify: same
}
_NONE_EXT = b"\xff" * 8  # IEEE field of a response about an address we do not know


class ZdoServer:
    def __init__(self, own_nwk, own_ieee, node_desc, endpoints, children=None,
                 on_permit_joining=None, on_leave=None, on_device_annce=None,
                 binding_size=8):
        self.nwk = own_nwk  # assignable: an address conflict or rejoin may change it
        self.ieee = bytes(own_ieee)
        self.node_desc = node_desc
        self.endpoints = list(endpoints)
        self.children = children
        self.on_permit_joining = on_permit_joining
        self.on_leave = on_leave
        self.on_device_annce = on_device_annce
        self.binding_size = binding_size
        # Binding table (2.2.4.3.1.1: source is always this node): entries
        # (src_ep, cluster, mode, dst, dst_ep).
        self.bindings = []
        self.requests = 0
        self.malformed = 0
        self.unsupported = 0
        self._table = {
            zf.NWK_ADDR: (za.parse_nwk_addr_req, self._nwk_addr),
            zf.IEEE_ADDR: (za.parse_ieee_addr_req, self._ieee_addr),
            zf.NODE_DESC: (zn.parse_node_desc_req, self._node_desc),
            zf.SIMPLE_DESC: (zf.parse_simple_desc_req, self._simple_desc),
            zf.ACTIVE_EP: (zf.parse_active_ep_req, self._active_ep),
            zf.MATCH_DESC: (zf.parse_match_desc_req, self._match_desc),
            zf.DEVICE_ANNCE: (zf.parse_device_annce, self._device_annce),
            zf.BIND: (zb.parse_bind_req, self._bind),
            zf.UNBIND: (zb.parse_unbind_req, self._unbind),
            zf.MGMT_LEAVE: (zf.parse_mgmt_leave_req, self._leave),
            zf.MGMT_PERMIT_JOINING: (zf.parse_mgmt_permit_joining_req, self._permit),
        }

    def handle(self, cluster, payload, n, out, broadcast=False):
        """One ZDO frame received: -> (response cluster, length in out) or None."""
        if cluster & zf.RSP:
            return None  # responses are the client's (client.py)
        self.requests += 1
        entry = self._table.get(cluster)
        if n < 0:
            n = len(payload)
        elif n > len(payload):
            self.malformed += 1  # a length beyond the buffer: the parsers would refuse it
            return None
        if entry is None:
            if n < 1:
                self.malformed += 1
                return None
            return self._unserved(cluster, payload, n, out, broadcast)
        try:
            req = entry[0](payload, n)
        except ValueError:
            self.malformed += 1
            return None
        return entry[1](req, out, broadcast)

    def _unserved(self, cluster, payload, n, out, broadcast):
        shape = _UNSERVED.get(cluster, (0, 0))
        if shape is not None and n < 1 + shape[0]:
            # Too short for the octets a response copies: malformed, and only that (it
            # was counted unsupported as well: found by tests/host/test_han_zb_fuzz.py).
            self.malformed += 1
            return None
        self.unsupported += 1
        if broadcast or shape is None:
            return None
        copy, zeros = shape
        if len(out) < 2 + copy + zeros:
            raise ValueError("ZDO output buffer too small")
        zb.build_status_rsp(out, payload[0], zb.NOT_SUPPORTED)
        for i in range(copy):
            out[2 + i] = payload[1 + i]
        for i in range(zeros):
            out[2 + copy + i] = 0
        return cluster | zf.RSP, 2 + copy + zeros

    # --- helpers ---------------------------------------------------------------------

    def _is_end_device(self):
        return self.node_desc[0] == zn.LOGICAL_END_DEVICE

    def _child(self, nwk=None, ieee=None):
        if self.children is None:
            return None
        for c in self.children():
            if c[0] == nwk or (ieee is not None and c[1] == ieee):
                return c
        return None

    def _foreign_status(self, nwk):
        # 2.4.3.1.3.2 and the other descriptor requests: an end device asked about
        # another address answers INV_REQUESTTYPE; a coordinator or router answers
        # NO_DESCRIPTOR for one of its children (no descriptor cache here) and
        # DEVICE_NOT_FOUND otherwise.
        if self._is_end_device():
            return zf.INV_REQUESTTYPE
        if self._child(nwk=nwk) is not None:
            return zn.NO_DESCRIPTOR
        return zf.DEVICE_NOT_FOUND

    def _find_ep(self, ep):
        for d in self.endpoints:
            if d[0] == ep:
                return d
        return None

    # --- device and service discovery (2.4.3.1) ---------------------------------------

    def _addr_rsp(self, out, seq, rtype, start, ieee, nwk, is_self):
        if rtype != za.REQ_SINGLE and rtype != za.REQ_EXTENDED:
            return za.build_addr_rsp(out, seq, zf.INV_REQUESTTYPE, ieee, nwk)
        if rtype == za.REQ_SINGLE:
            return za.build_addr_rsp(out, seq, zf.SUCCESS, ieee, nwk)
        assoc = []
        if is_self and not self._is_end_device() and self.children is not None:
            assoc = [c[0] for c in self.children()][start:start + za.MAX_ASSOC_IN_RSP]
        return za.build_addr_rsp(out, seq, zf.SUCCESS, ieee, nwk, assoc, start)

    def _nwk_addr(self, req, out, broadcast):
        # 2.4.3.1.1.2: our own IEEE address or one in our neighbour table; any other
        # request is discarded without a response.
        seq, ieee, rtype, start = req
        if ieee == self.ieee:
            length = self._addr_rsp(out, seq, rtype, start, self.ieee, self.nwk, True)
        else:
            c = self._child(ieee=ieee)
            if c is None:
                return None
            length = self._addr_rsp(out, seq, rtype, start, c[1], c[0], False)
        return za.NWK_ADDR_RSP, length

    def _ieee_addr(self, req, out, broadcast):
        # 2.4.3.1.2.2: our own NWK address or a child's; an unknown address gets
        # DEVICE_NOT_FOUND when asked by unicast, nothing when broadcast.
        seq, nwk, rtype, start = req
        if nwk == self.nwk:
            length = self._addr_rsp(out, seq, rtype, start, self.ieee, self.nwk, True)
        else:
            c = self._child(nwk=nwk)
            if c is not None:
                length = self._addr_rsp(out, seq, rtype, start, c[1], c[0], False)
            elif broadcast:
                return None
            else:
                length = za.build_addr_rsp(out, seq, zf.DEVICE_NOT_FOUND, _NONE_EXT, nwk)
        return za.IEEE_ADDR_RSP, length

    def _node_desc(self, req, out, broadcast):
        seq, nwk = req
        if nwk == self.nwk:
            return zn.NODE_DESC_RSP, zn.build_node_desc_rsp(out, seq, zf.SUCCESS, nwk,
                                                            self.node_desc)
        if broadcast:
            return None
        status = self._foreign_status(nwk)
        return zn.NODE_DESC_RSP, zn.build_node_desc_rsp(out, seq, status, nwk, None)

    def _simple_desc(self, req, out, broadcast):
        # 2.4.3.1.5.2: endpoint 0x00 or 0xFF INVALID_EP (Table 2-138); an endpoint
        # without a simple descriptor NOT_ACTIVE.
        seq, nwk, ep = req
        if nwk == self.nwk:
            if ep == 0 or ep == 0xFF:
                status, desc = zf.INVALID_EP, None
            else:
                desc = self._find_ep(ep)
                status = zf.SUCCESS if desc is not None else zf.NOT_ACTIVE
        elif broadcast:
            return None
        else:
            status, desc = self._foreign_status(nwk), None
        return zf.SIMPLE_DESC_RSP, zf.build_simple_desc_rsp(out, seq, status, nwk, desc)

    def _active_ep(self, req, out, broadcast):
        seq, nwk = req
        if nwk == self.nwk:
            eps = [d[0] for d in self.endpoints]
            return zf.ACTIVE_EP_RSP, zf.build_active_ep_rsp(out, seq, zf.SUCCESS, nwk, eps)
        if broadcast:
            return None
        status = self._foreign_status(nwk)
        return zf.ACTIVE_EP_RSP, zf.build_active_ep_rsp(out, seq, status, nwk, [])

    def _addressed_to_us(self, nwk):
        if nwk == self.nwk or nwk == BCAST_ALL:
            return True
        if nwk == BCAST_RX_ON:
            return bool(self.node_desc[4] & zn.CAP_RX_ON_IDLE)
        return nwk == BCAST_ROUTERS and not self._is_end_device()

    def _match_desc(self, req, out, broadcast):
        # 2.4.3.1.7.2: an endpoint matches when the profiles are equal or either is the
        # wildcard 0xFFFF, and one requested input cluster is among its input clusters
        # or one requested output cluster among its output clusters. No match: a
        # response with an empty list to a unicast request, none to a broadcast one.
        seq, nwk, profile, ins, outs = req
        if not self._addressed_to_us(nwk):
            if broadcast or nwk >= 0xFFF8:
                return None
            return zf.MATCH_DESC_RSP, zf.build_match_desc_rsp(
                out, seq, self._foreign_status(nwk), nwk, [])
        matched = []
        for d in self.endpoints:
            if not (profile == d[1] or profile == _WILDCARD_PROFILE
                    or d[1] == _WILDCARD_PROFILE):
                continue
            if _common(ins, d[4]) or _common(outs, d[5]):
                matched.append(d[0])
        if not matched and (broadcast or nwk != self.nwk):
            return None
        return zf.MATCH_DESC_RSP, zf.build_match_desc_rsp(out, seq, zf.SUCCESS, self.nwk,
                                                          matched)

    def _device_annce(self, req, out, broadcast):
        if self.on_device_annce is not None:
            self.on_device_annce(req[1], req[2], req[3])
        return None  # 2.4.3.1.11: no response

    # --- binding (2.4.3.2.2-3) ---------------------------------------------------------

    def _bind_check(self, req):
        # Status that refuses the request before the table is looked at, or None. This
        # node keeps no binding cache for others: a SrcAddress not ours is NOT_SUPPORTED,
        # as is any request when the table has no room at all.
        _seq, src, src_ep, _cluster, mode, _dst, dst_ep = req
        if self.binding_size == 0 or src != self.ieee:
            return zb.NOT_SUPPORTED
        if src_ep == 0 or src_ep == 0xFF or self._find_ep(src_ep) is None:
            return zf.INVALID_EP
        if mode == zb.ADDR_EXT and (dst_ep == 0 or dst_ep == 0xFF):
            return zf.INVALID_EP
        return None

    def _bind(self, req, out, broadcast):
        status = self._bind_check(req)
        if status is None:
            entry = req[2:]
            if entry in self.bindings:
                status = zf.SUCCESS  # already bound: nothing to add
            elif len(self.bindings) >= self.binding_size:
                status = zb.TABLE_FULL
            else:
                self.bindings.append(entry)
                status = zf.SUCCESS
        return zb.BIND_RSP, zb.build_status_rsp(out, req[0], status)

    def _unbind(self, req, out, broadcast):
        status = self._bind_check(req)
        if status is None:
            entry = req[2:]
            if entry in self.bindings:
                self.bindings.remove(entry)
                status = zf.SUCCESS
            else:
                status = zb.NO_ENTRY
        return zb.UNBIND_RSP, zb.build_status_rsp(out, req[0], status)

    def destinations(self, src_ep, cluster):
        """Bound destinations of (src_ep, cluster) for indirect APS delivery:
        [(mode, dst, dst_ep), ...]."""
        return [b[2:] for b in self.bindings if b[0] == src_ep and b[1] == cluster]

    # --- network management (2.4.3.3.5, 2.4.3.3.7) -----------------------------------

    def _permit(self, req, out, broadcast):
        seq, duration, tc_significance = req
        if self.on_permit_joining is None:
            status = zb.NOT_SUPPORTED
        else:
            status = self.on_permit_joining(duration, tc_significance)
            if status is None:
                status = zf.SUCCESS
        if broadcast:
            return None  # 2.4.3.3.7.2: only a unicast request is answered
        return zb.MGMT_PERMIT_JOINING_RSP, zb.build_status_rsp(out, seq, status)

    def _leave(self, req, out, broadcast):
        # DeviceAddress all zeros or ours: this node leaves; a child's: the child is asked
        # to leave; anything else: NLME-LEAVE.confirm's UNKNOWN_DEVICE.
        seq, ieee, remove_children, rejoin = req
        if self.on_leave is None:
            status = zb.NOT_SUPPORTED
        else:
            if ieee == self.ieee or ieee == b"\x00" * 8:
                target = None
            elif self._child(ieee=ieee) is not None:
                target = ieee
            else:
                target = False
            if target is False:
                status = UNKNOWN_DEVICE
            else:
                status = self.on_leave(target, remove_children, rejoin)
                if status is None:
                    status = zf.SUCCESS
        return zb.MGMT_LEAVE_RSP, zb.build_status_rsp(out, seq, status)


def _common(a, b):
    for c in a:
        if c in b:
            return True
    return False
