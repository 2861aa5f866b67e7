# Every ZDO frame our client builds and every answer of our server (error forms included)
# dissects in tshark 4.0 (packet-zbee-zdp) with no Malformed: the frames are wrapped in
# unsecured APS data (endpoint 0, profile 0x0000) / NWK data / MAC data frames from our
# own codecs and written to a pcap. tshark's sequence numbers, statuses and the node
# descriptor / address list fields must be ours. Tier 1 only.
import io
import subprocess

from han.pcap import PcapWriter
from tests.host.zb_frames import unsecured_data_frame
from han.zdo import addr as za
from han.zdo import bind as zb
from han.zdo import nodedesc as zn
from han.zdo.client import ZdoClient
from han.zdo.server import ZdoServer

OWN = bytes.fromhex("0004A30B00C0FFEE")
CHILD_A = bytes.fromhex("000D6F000A0B0C0D")
CHILD_B = bytes.fromhex("0004A30B00000002")
ND = (zn.LOGICAL_COORDINATOR, False, False, zn.BAND_2400, 0x8F, 0x1234, 0x52, 0x52,
      zn.server_mask(zn.SRV_PRIMARY_TC | zn.SRV_NETWORK_MANAGER), 0x52, 0)
EP1 = (1, 0x0109, 0x0500, 1, [0x0000, 0x0702], [0x0702])

FIELDS = ["zbee_aps.zdp_cluster", "zbee_zdp.seqno", "zbee_zdp.status",
          "zbee_zdp.assoc_device_count", "zbee_zdp.assoc_device", "zbee_zdp.node.type",
          "zbee_zdp.node.freq.2400mhz", "zbee_zdp.node.manufacturer",
          "zbee_zdp.server.stack_compliance_revision", "_ws.malformed"]


def _mac(cluster, zdo, seq):
    return unsecured_data_frame(0x0000, 0, cluster, zdo, seq)


def _frames():
    """(cluster, ZDO payload) of client requests, then the server's answers to them and to
    a few requests that fail."""
    c = ZdoClient(slots=32)
    o = bytearray(96)
    reqs = []
    for m, args in ((c.nwk_addr_req, (OWN, za.REQ_EXTENDED)),
                    (c.nwk_addr_req, (CHILD_A, za.REQ_SINGLE)),
                    (c.ieee_addr_req, (0x0000, za.REQ_EXTENDED, 1)),
                    (c.ieee_addr_req, (0x4444,)),
                    (c.ieee_addr_req, (0x0000, 7)),
                    (c.node_desc_req, (0x0000,)), (c.node_desc_req, (0x0001,)),
                    (c.simple_desc_req, (0x0000, 1)), (c.simple_desc_req, (0x0000, 0)),
                    (c.active_ep_req, (0x0000,)),
                    (c.match_desc_req, (0x0000, 0x0109, [0x0702], [])),
                    (c.bind_req, (OWN, 1, 0x0702, zb.ADDR_EXT, CHILD_B, 2)),
                    (c.bind_req, (CHILD_A, 1, 0x0006, zb.ADDR_GROUP, 0x1234)),
                    (c.unbind_req, (OWN, 1, 0x0006, zb.ADDR_GROUP, 0x1234)),
                    (c.mgmt_permit_joining_req, (180,)),
                    (c.mgmt_leave_req, (CHILD_B, False, True))):
        cluster, n, _seq = m(o, 0, *args)
        reqs.append((cluster, bytes(o[:n])))
    ours = len(reqs)
    # Requests the server does not serve: NOT_SUPPORTED in each response's layout.
    for cluster, req in ((0x0003, "300000"), (0x0010, "310000"), (0x0011, "320000"),
                         (0x001D, "3300000100"), (0x001E, "34000000"), (0x001F, "3500"),
                         (0x0030, "3600F8FF070300"), (0x0031, "3700"),
                         (0x0032, "3800"), (0x0033, "3900"), (0x0037, "3A00"),
                         (0x0038, "3B00080000FE01"), (0x0039, "3C0008000005")):
        reqs.append((cluster, bytes.fromhex(req)))
    kids = [(0x0001, CHILD_A), (0x0002, CHILD_B)]
    srv = ZdoServer(0x0000, OWN, ND, [EP1], children=lambda: kids,
                    on_permit_joining=lambda d, t: None, on_leave=lambda *a: None)
    rsps = []
    for cluster, req in reqs:
        out = bytearray(96)
        r = srv.handle(cluster, req, len(req), out)
        rsps.append((r[0], bytes(out[:r[1]])))
    return reqs[:ours] + rsps


def test_tshark_dissects_our_zdo_frames(tmp_path):
    frames = _frames()
    stream = io.BytesIO()
    w = PcapWriter(stream)
    for i, (cluster, zdo) in enumerate(frames):
        buf, n = _mac(cluster, zdo, i)
        w.write(1000000 * i, buf, n)
    path = tmp_path / "zdo.pcap"
    path.write_bytes(stream.getvalue())
    cmd = ["tshark", "-r", str(path), "-T", "fields", "-E", "separator=|",
           "-E", "occurrence=a", "-E", "aggregator=,"]
    for name in FIELDS:
        cmd += ["-e", name]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = [dict(zip(FIELDS, line.split("|"))) for line in out.splitlines()]
    assert len(rows) == len(frames)
    for (cluster, zdo), r in zip(frames, rows):
        assert r["_ws.malformed"] == "", (hex(cluster), zdo.hex())
        assert int(r["zbee_aps.zdp_cluster"], 0) == cluster
        assert int(r["zbee_zdp.seqno"]) == zdo[0]
        if cluster & 0x8000:
            assert int(r["zbee_zdp.status"]) == zdo[1]
    by = {}
    for (cluster, zdo), r in zip(frames, rows):
        by.setdefault(cluster, []).append(r)
    # NWK_addr_rsp extended: two associated devices; IEEE_addr_rsp from index 1: one.
    assert by[0x8000][0]["zbee_zdp.assoc_device_count"] == "2"
    assert by[0x8000][0]["zbee_zdp.assoc_device"] == "0x0001,0x0002"
    assert by[0x8001][0]["zbee_zdp.assoc_device"] == "0x0002"
    # Statuses of the failures: DEVICE_NOT_FOUND, INV_REQUESTTYPE, NO_DESCRIPTOR,
    # INVALID_EP, NOT_SUPPORTED, NO_ENTRY.
    assert [r["zbee_zdp.status"] for r in by[0x8001]] == ["0", "129", "128"]
    assert [r["zbee_zdp.status"] for r in by[0x8002]] == ["0", "137"]
    assert [r["zbee_zdp.status"] for r in by[0x8004]] == ["0", "130"]
    assert [r["zbee_zdp.status"] for r in by[0x8021]] == ["0", "132"]
    assert [r["zbee_zdp.status"] for r in by[0x8022]] == ["136"]
    for cluster in (0x8003, 0x8010, 0x8011, 0x801D, 0x801E, 0x801F, 0x8030, 0x8031,
                    0x8032, 0x8033, 0x8037, 0x8038, 0x8039):
        assert [r["zbee_zdp.status"] for r in by[cluster]] == ["132"], hex(cluster)
    nd = by[0x8002][0]
    assert (nd["zbee_zdp.node.type"], nd["zbee_zdp.node.freq.2400mhz"]) == ("0", "1")
    assert nd["zbee_zdp.node.manufacturer"] == "0x1234"
    assert nd["zbee_zdp.server.stack_compliance_revision"] == "22"
