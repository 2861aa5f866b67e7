# The ZDO codec's second part and the ZDO server / client (firmware/han/zdo/addr.py,
# nodedesc.py, bind.py, server.py, client.py) against zigpy's ZDO schemas
# (zigpy.zdo.types.CLUSTERS, NodeDescriptor, MultiAddress) and scapy's ZDP layers:
# - requests serialized by zigpy (and scapy's Active_EP_req / Device_annce) are parsed and
#   answered by our server, and zigpy parses each answer with nothing left over;
# - responses serialized by zigpy are matched and parsed by our client.
# Tier 1 only.
import zigpy.types as t
from scapy.layers.zigbee import ZDPActiveEPReq, ZDPDeviceAnnce, ZigbeeDeviceProfile
from zigpy.zdo import types as zt

from han.zdo import addr as za
from han.zdo import bind as zb
from han.zdo import nodedesc as zn
from han.zdo.client import ZdoClient
from han.zdo.server import ZdoServer

OWN = bytes.fromhex("0004A30B00C0FFEE")
CHILD_A = bytes.fromhex("000D6F000A0B0C0D")
CHILD_B = bytes.fromhex("0004A30B00000002")
ND = (zn.LOGICAL_COORDINATOR, False, False, zn.BAND_2400,
      zn.CAP_ALLOCATE | zn.CAP_RX_ON_IDLE | zn.CAP_MAINS | zn.CAP_FFD | zn.CAP_ALT_PAN_COORD,
      0x1234, 0x52, 0x52, zn.server_mask(zn.SRV_PRIMARY_TC | zn.SRV_NETWORK_MANAGER),
      0x52, 0)
EP1 = (1, 0x0109, 0x0500, 1, [0x0000, 0x000A, 0x0700, 0x0702, 0x0703], [0x0702])
EP2 = (2, 0x0104, 0x0007, 0, [0x0000], [0x0006])


def _eui(ieee):
    return t.EUI64.convert(":".join("%02x" % b for b in ieee))


def _zigpy_frame(cmd, tsn, *args):
    _names, types = zt.CLUSTERS[cmd]
    return zt.ZDOHeader(cmd, tsn).serialize() + t.serialize(args, types)


def _zigpy_parse(cluster, frame):
    _names, types = zt.CLUSTERS[zt.ZDOCmd(cluster)]
    hdr, rest = zt.ZDOHeader.deserialize(cluster, frame)
    args, rest = t.deserialize(rest, types)
    assert rest == b""
    return hdr.tsn, args


class _Server:
    def __init__(self, **kw):
        kids = [(0x0001, CHILD_A), (0x0002, CHILD_B)]
        self.calls = []
        self.srv = ZdoServer(0x0000, OWN, ND, [EP1, EP2], children=lambda: kids,
                             on_permit_joining=lambda *a: self.calls.append(a),
                             on_leave=lambda *a: self.calls.append(a),
                             on_device_annce=lambda *a: self.calls.append(a), **kw)

    def ask(self, cmd, frame, broadcast=False):
        out = bytearray(128)
        r = self.srv.handle(int(cmd), frame, len(frame), out, broadcast)
        if r is None:
            return None
        assert r[0] == int(cmd) | 0x8000
        return _zigpy_parse(r[0], bytes(out[:r[1]]))


def test_addr_requests_from_zigpy():
    s = _Server()
    cmd = zt.ZDOCmd.NWK_addr_req
    tsn, (status, ieee, nwk, count, start, lst) = s.ask(
        cmd, _zigpy_frame(cmd, 9, _eui(OWN), zt.AddrRequestType.Extended, 0), True)
    assert (tsn, status, ieee, nwk) == (9, zt.Status.SUCCESS, _eui(OWN), 0)
    assert (count, start, list(lst)) == (2, 0, [1, 2])
    tsn, args = s.ask(cmd, _zigpy_frame(cmd, 10, _eui(CHILD_B), zt.AddrRequestType.Single,
                                        0), True)
    assert args[:3] == [zt.Status.SUCCESS, _eui(CHILD_B), 2]
    assert args[3:5] == [None, None] and not args[5]  # single: nothing after the NWK
    assert s.ask(cmd, _zigpy_frame(cmd, 11, _eui(b"\x01" * 8), 0, 0), True) is None
    cmd = zt.ZDOCmd.IEEE_addr_req
    tsn, args = s.ask(cmd, _zigpy_frame(cmd, 12, 0x0001, zt.AddrRequestType.Single, 0))
    assert (tsn, args[:3]) == (12, [zt.Status.SUCCESS, _eui(CHILD_A), 1])
    tsn, args = s.ask(cmd, _zigpy_frame(cmd, 13, 0x0000, zt.AddrRequestType.Extended, 1))
    assert args == [zt.Status.SUCCESS, _eui(OWN), 0, 1, 1, [2]]
    tsn, args = s.ask(cmd, _zigpy_frame(cmd, 14, 0x4444, 0, 0))
    assert args[0] == zt.Status.DEVICE_NOT_FOUND and args[2] == 0x4444


def test_node_desc_from_zigpy():
    s = _Server()
    cmd = zt.ZDOCmd.Node_Desc_req
    tsn, (status, nwk, nd) = s.ask(cmd, _zigpy_frame(cmd, 20, 0x0000))
    assert (tsn, status, nwk) == (20, zt.Status.SUCCESS, 0)
    assert nd.logical_type == zt.LogicalType.Coordinator
    assert nd.frequency_band == zt.FrequencyBand.Freq2400MHz
    assert not nd.complex_descriptor_available and not nd.user_descriptor_available
    assert nd.is_full_function_device and nd.is_mains_powered
    assert nd.is_receiver_on_when_idle and nd.allocate_address
    assert nd.is_alternate_pan_coordinator and not nd.is_security_capable
    assert (nd.manufacturer_code, nd.maximum_buffer_size) == (0x1234, 0x52)
    assert (nd.maximum_incoming_transfer_size, nd.maximum_outgoing_transfer_size) == (
        0x52, 0x52)
    assert nd.server_mask == 0x2C41 and nd.server_mask >> 9 == 22
    assert nd.descriptor_capability_field == 0
    tsn, (status, nwk, nd) = s.ask(cmd, _zigpy_frame(cmd, 21, 0x0001))
    assert (status, nwk, nd) == (zt.Status.NO_DESCRIPTOR, 1, None)


def test_discovery_requests_from_zigpy_and_scapy():
    s = _Server()
    cmd = zt.ZDOCmd.Simple_Desc_req
    _tsn, (status, nwk, sd) = s.ask(cmd, _zigpy_frame(cmd, 30, 0x0000, 1))
    assert (status, sd.endpoint, sd.profile, sd.device_type) == (0, 1, 0x0109, 0x0500)
    assert list(sd.input_clusters) == EP1[4] and list(sd.output_clusters) == EP1[5]
    _tsn, (status, nwk, sd) = s.ask(cmd, _zigpy_frame(cmd, 31, 0x0000, 9))
    assert (status, sd) == (zt.Status.NOT_ACTIVE, None)
    cmd = zt.ZDOCmd.Match_Desc_req
    _tsn, (status, nwk, lst) = s.ask(
        cmd, _zigpy_frame(cmd, 32, 0xFFFD, 0x0109, [0x0702], []), True)
    assert (status, nwk, list(lst)) == (zt.Status.SUCCESS, 0, [1])
    assert s.ask(cmd, _zigpy_frame(cmd, 33, 0xFFFD, 0x0104, [0x0702], []), True) is None
    # scapy: Active_EP_req and Device_annce.
    req = bytes(ZigbeeDeviceProfile(trans_seqnum=34) / ZDPActiveEPReq(nwk_addr=0x0000))
    tsn, (status, nwk, eps) = s.ask(zt.ZDOCmd.Active_EP_req, req)
    assert (tsn, status, nwk, list(eps)) == (34, 0, 0, [1, 2])
    annce = bytes(ZigbeeDeviceProfile(trans_seqnum=35) / ZDPDeviceAnnce(
        nwk_addr=0x0003, ieee_addr=0x000D6F000A0B0C0D, allocate_address=1))
    assert s.ask(zt.ZDOCmd.Device_annce, annce, True) is None
    assert s.calls == [(3, CHILD_A, 0x80)]


def test_bind_and_management_from_zigpy():
    s = _Server(binding_size=1)
    cmd = zt.ZDOCmd.Bind_req
    ext = zt.MultiAddress(addrmode=3, ieee=_eui(CHILD_B), endpoint=0x0A)
    group = zt.MultiAddress(addrmode=1, nwk=0x1234)
    assert s.ask(cmd, _zigpy_frame(cmd, 40, _eui(OWN), 1, 0x0702, ext)) == (40, [0])
    assert s.srv.destinations(1, 0x0702) == [(zb.ADDR_EXT, CHILD_B, 0x0A)]
    assert s.ask(cmd, _zigpy_frame(cmd, 41, _eui(OWN), 2, 6, group)) == (
        41, [zt.Status.TABLE_FULL])
    assert s.ask(cmd, _zigpy_frame(cmd, 42, _eui(CHILD_A), 1, 6, group)) == (
        42, [zt.Status.NOT_SUPPORTED])
    cmd = zt.ZDOCmd.Unbind_req
    assert s.ask(cmd, _zigpy_frame(cmd, 43, _eui(OWN), 1, 0x0702, ext)) == (43, [0])
    assert s.ask(cmd, _zigpy_frame(cmd, 44, _eui(OWN), 1, 0x0702, ext)) == (
        44, [zt.Status.NO_ENTRY])
    cmd = zt.ZDOCmd.Mgmt_Permit_Joining_req
    assert s.ask(cmd, _zigpy_frame(cmd, 45, 180, t.Bool.true)) == (45, [0])
    cmd = zt.ZDOCmd.Mgmt_Leave_req
    assert s.ask(cmd, _zigpy_frame(cmd, 46, _eui(CHILD_A), 0x80)) == (46, [0])
    assert s.calls == [(180, True), (CHILD_A, False, True)]


def test_client_reads_zigpy_responses():
    c = ZdoClient(seq=0x50)
    out = bytearray(64)
    c.nwk_addr_req(out, 0, CHILD_A, za.REQ_EXTENDED)
    f = _zigpy_frame(zt.ZDOCmd.NWK_addr_rsp, 0x50, zt.Status.SUCCESS, _eui(CHILD_A), 0x0007,
                     3, 1, [0x0010, 0x0011, 0x0012])
    assert c.match(0x8000, f) == (0x50, 0, (0x50, 0, CHILD_A, 7, 1, [0x10, 0x11, 0x12]))
    c.node_desc_req(out, 0, 0x0007)
    nd = zt.NodeDescriptor(
        logical_type=zt.LogicalType.EndDevice, complex_descriptor_available=0,
        user_descriptor_available=1, reserved=0, aps_flags=0,
        frequency_band=zt.FrequencyBand.Freq2400MHz,
        mac_capability_flags=zt.MACCapabilityFlags.AllocateAddress, manufacturer_code=0x10DC,
        maximum_buffer_size=0x50, maximum_incoming_transfer_size=0xA0,
        server_mask=21 << 9, maximum_outgoing_transfer_size=0x80,
        descriptor_capability_field=3)
    f = _zigpy_frame(zt.ZDOCmd.Node_Desc_rsp, 0x51, zt.Status.SUCCESS, 0x0007, nd)
    assert c.match(0x8002, f) == (0x51, 0, (0x51, 0, 7, (
        zn.LOGICAL_END_DEVICE, False, True, zn.BAND_2400, 0x80, 0x10DC, 0x50, 0xA0,
        0x2A00, 0x80, 3)))
    c.bind_req(out, 0, CHILD_A, 1, 6, zb.ADDR_GROUP, 0x1234)
    f = _zigpy_frame(zt.ZDOCmd.Bind_rsp, 0x52, zt.Status.TABLE_FULL)
    assert c.match(0x8021, f) == (0x52, 0x8C, (0x52, 0x8C))
    c.ieee_addr_req(out, 0, 0x0007)
    f = _zigpy_frame(zt.ZDOCmd.IEEE_addr_rsp, 0x53, zt.Status.SUCCESS, _eui(CHILD_A), 0x0007)
    assert c.match(0x8001, f) == (0x53, 0, (0x53, 0, CHILD_A, 7, 0, None))
