# ZDO client (firmware/han/zdo/client.py): sequence numbers, request octets (written by
# hand from ZigBee spec 05-3474 2.4.3), responses matched to requests by sequence number
# and cluster, broadcast requests answered by several devices, timeouts, slot reuse, and a
# client talking to our server. Tiers 1 and 2.
from han.zdo.client import ZdoClient
from han.zdo.server import ZdoServer

H = bytes.fromhex
OWN = bytes.fromhex("0004A30B00C0FFEE")   # on air EEFFC0000BA30400
PEER = bytes.fromhex("000D6F000A0B0C0D")  # on air 0D0C0B0A006F0D00
ND = (0, False, False, 0x08, 0x8F, 0x1234, 0x52, 0x52, 0x2C41, 0x52, 0)


def _req(client_method, *args):
    out = bytearray(64)
    cluster, n, seq = client_method(out, *args)
    return cluster, bytes(out[:n]), seq


def test_requests_and_sequence_numbers():
    c = ZdoClient(slots=16, seq=0x10)
    assert _req(c.nwk_addr_req, 0, PEER) == (0x0000, H("10" "0D0C0B0A006F0D00" "00" "00"),
                                             0x10)
    assert _req(c.ieee_addr_req, 0, 0x796F, 1, 2) == (0x0001, H("11" "6F79" "01" "02"), 0x11)
    assert _req(c.node_desc_req, 0, 0x796F) == (0x0002, H("12" "6F79"), 0x12)
    assert _req(c.simple_desc_req, 0, 0x796F, 1) == (0x0004, H("13" "6F79" "01"), 0x13)
    assert _req(c.active_ep_req, 0, 0x796F) == (0x0005, H("14" "6F79"), 0x14)
    assert _req(c.match_desc_req, 0, 0xFFFD, 0x0109, [0x0702], []) == (
        0x0006, H("15" "FDFF" "0901" "01" "0207" "00"), 0x15)
    assert _req(c.bind_req, 0, PEER, 1, 0x0702, 3, OWN, 2) == (
        0x0021, H("16" "0D0C0B0A006F0D00" "01" "0207" "03" "EEFFC0000BA30400" "02"), 0x16)
    assert _req(c.unbind_req, 0, PEER, 1, 0x0006, 1, 0x1234) == (
        0x0022, H("17" "0D0C0B0A006F0D00" "01" "0600" "01" "3412"), 0x17)
    assert _req(c.mgmt_leave_req, 0, PEER, False, True) == (
        0x0034, H("18" "0D0C0B0A006F0D00" "80"), 0x18)
    assert _req(c.mgmt_permit_joining_req, 0, 60) == (0x0036, H("19" "3C" "01"), 0x19)
    assert _req(c.device_annce, 0x0001, PEER, 0x80) == (
        0x0013, H("1A" "0100" "0D0C0B0A006F0D00" "80"), None)
    # 255 wraps to 0.
    w = ZdoClient(seq=0xFF)
    assert (w.next_seq(), w.next_seq()) == (0xFF, 0x00)


def test_match_by_sequence_and_cluster():
    c = ZdoClient(slots=4, seq=7)
    _req(c.node_desc_req, 100, 0x796F)  # seq 7
    _req(c.active_ep_req, 100, 0x796F)  # seq 8
    # Seq 8 on the Node_Desc_rsp cluster: no such request.
    assert c.match(0x8002, H("08" "00" "6F79") + bytes(13)) is None
    assert c.match(0x8005, H("09" "00" "6F79" "00")) is None
    assert c.unmatched == 2
    # The right pairs.
    assert c.match(0x8005, H("08" "00" "6F79" "02" "0102")) == (8, 0, (8, 0, 0x796F, [1, 2]))
    assert not c.pending(8) and c.pending(7)
    nd = c.match(0x8002, H("07" "00" "6F79" "00408F3412525200412C520000"))
    assert nd == (7, 0, (7, 0, 0x796F, ND))
    # A duplicate of an answered response: unmatched.
    assert c.match(0x8005, H("08" "00" "6F79" "02" "0102")) is None
    assert c.unmatched == 3


def test_failure_forms():
    c = ZdoClient(seq=1)
    _req(c.node_desc_req, 0, 0x796F)
    _req(c.bind_req, 0, PEER, 1, 6, 1, 0x1234)
    _req(c.simple_desc_req, 0, 0x796F, 9)
    # Only seq and a status: a server that does not serve the request.
    assert c.match(0x8002, H("01" "84")) == (1, 0x84, None)
    assert c.match(0x8021, H("02" "8C")) == (2, 0x8C, (2, 0x8C))
    # A malformed response is dropped, counted, and its request stays open.
    assert c.match(0x8004, H("03" "00" "6F79" "05" "01")) is None
    assert c.malformed == 1 and c.pending(3)
    assert c.match(0x8004, H("03" "83" "6F79" "00")) == (3, 0x83, (3, 0x83, 0x796F, None))
    # A response cluster the client never asks for.
    assert c.match(0x8038, H("03" "00")) is None and c.unmatched == 1
    assert c.match(0x8004, b"\x03", 2) is None and c.malformed == 2  # n beyond the buffer


def test_broadcast_requests_collect_answers_until_expiry():
    c = ZdoClient(timeout_us=1000000)
    _req(c.match_desc_req, 0, 0xFFFD, 0x0109, [0x0702], [])  # seq 0
    assert c.match(0x8006, H("00" "00" "0100" "01" "01")) == (0, 0, (0, 0, 1, [1]))
    assert c.match(0x8006, H("00" "00" "0200" "01" "03")) == (0, 0, (0, 0, 2, [3]))
    _req(c.node_desc_req, 500000, 0x0001)  # seq 1
    assert c.expire(999999) == []
    assert c.expire(1000000) == [(0, 0x8006)]
    assert c.timeouts == 0  # the end of a broadcast request is no timeout
    assert c.expire(1500000) == [(1, 0x8002)] and c.timeouts == 1
    assert c.match(0x8006, H("00" "00" "0300" "01" "01")) is None
    # A broadcast Mgmt_Permit_Joining_req keeps no slot.
    _req(c.mgmt_permit_joining_req, 0, 254, True, True)
    assert not c.pending(2)


def test_full_table_reuses_the_oldest_slot():
    c = ZdoClient(slots=2)
    _req(c.active_ep_req, 30, 1)  # seq 0
    _req(c.active_ep_req, 10, 2)  # seq 1, the oldest
    _req(c.active_ep_req, 20, 3)  # seq 2 takes seq 1's slot
    assert c.evicted == 1 and c.pending(0) and not c.pending(1) and c.pending(2)
    c.cancel(0)
    assert not c.pending(0)


def test_client_and_server_together():
    kids = [(0x0001, PEER)]
    srv = ZdoServer(0x0000, OWN, ND, [(1, 0x0109, 0x0500, 1, [0x0702], [])],
                    children=lambda: kids)
    cl = ZdoClient(seq=0x40)
    out = bytearray(96)
    rsp = bytearray(96)

    def exchange(cluster, n, broadcast=False):
        r = srv.handle(cluster, out, n, rsp, broadcast)
        return None if r is None else cl.match(r[0], rsp, r[1])

    cluster, n, _ = cl.nwk_addr_req(out, 0, OWN, 1)
    assert exchange(cluster, n, True) == (0x40, 0, (0x40, 0, OWN, 0, 0, [1]))
    cluster, n, _ = cl.ieee_addr_req(out, 0, 0x0001)
    assert exchange(cluster, n) == (0x41, 0, (0x41, 0, PEER, 1, 0, None))
    cluster, n, _ = cl.node_desc_req(out, 0, 0)
    assert exchange(cluster, n)[2][3] == ND
    cluster, n, _ = cl.match_desc_req(out, 0, 0xFFFD, 0x0109, [0x0702], [])
    assert exchange(cluster, n, True) == (0x43, 0, (0x43, 0, 0, [1]))
    cluster, n, _ = cl.bind_req(out, 0, OWN, 1, 0x0702, 3, PEER, 1)
    assert exchange(cluster, n) == (0x44, 0, (0x44, 0))
    cluster, n, _ = cl.unbind_req(out, 0, OWN, 1, 0x0702, 3, PEER, 2)
    assert exchange(cluster, n) == (0x45, 0x88, (0x45, 0x88))
    cluster, n, _ = cl.mgmt_leave_req(out, 0, PEER)
    assert exchange(cluster, n) == (0x46, 0x84, (0x46, 0x84))  # no on_leave callback
    cluster, n, _ = cl.simple_desc_req(out, 0, 0, 1)
    assert exchange(cluster, n)[2][3] == (1, 0x0109, 0x0500, 1, [0x0702], [])
