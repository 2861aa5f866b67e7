# The NWK codec and NWK security (firmware/han/nwk) against independent decoders: frames
# we build are read field by field identically by scapy's ZigbeeNWK, and tshark, given
# only the network key, dissects and decrypts a pcap of them (MAC data frames from
# han.mac.frame around our NWK frames). Tier 1 only.
import io
import subprocess

import pytest
from scapy.layers.zigbee import ZigbeeNWK, ZigbeeNWKStub, ZigbeeSecurityHeader

from han.mac import frame as mf
from han.mac.fcs import append_fcs
from han.nwk import frame as nf
from han.nwk import security as ns
from han.pcap import PcapWriter

KEY = bytes.fromhex("52F0FE8052EBB35907DAA243C95A2FF4")  # zbtk network key
APS = bytes.fromhex("40020102040101EF0C2112100A014029A806")  # zbtk APS/ZCL payload
SRC64 = bytes.fromhex("28DBA7FFFE23B10D")


def _header(ft, discover, mcast, secure, relays, dst64, src64, edi, seq):
    h = nf.NwkHeader()
    h.frame_type = ft
    h.discover_route = discover
    h.multicast = mcast
    h.security = secure
    h.source_route = relays is not None
    h.dst64_present = dst64
    h.src64_present = src64
    h.end_device_initiator = edi
    h.dst, h.src, h.radius, h.seq = 0x1234 + seq, 0x7F77 - seq, 30 - seq, seq
    h.dst64[:] = bytes.fromhex("00124B0001020304")
    h.src64[:] = SRC64
    h.mcast_mode, h.nonmember_radius, h.max_nonmember_radius = 1, 3, 5
    if relays:
        h.relay_count, h.relay_index = len(relays), len(relays) - 1
        h.relays[:len(relays)] = relays
    return h


# (frame type, discover route, multicast, secured, relays, dst64, src64, ED initiator)
CASES = [
    (nf.FT_DATA, 1, False, False, None, False, False, False),
    (nf.FT_DATA, 0, False, True, None, False, False, True),
    (nf.FT_CMD, 2, False, False, [0x1111, 0xABCD], True, True, False),
    (nf.FT_DATA, 1, False, True, [0x0001], False, True, True),
    (nf.FT_CMD, 0, False, True, None, True, False, False),
    (nf.FT_DATA, 1, True, False, None, True, True, False),
    (nf.FT_DATA, 1, True, True, [0x0002, 0x0003, 0x0004], False, False, False),
]


def _nwk_frame(case, seq):
    h = _header(*case, seq=seq)
    out = bytearray(127)
    hl = nf.build_header(h, out)
    payload = APS if case[0] == nf.FT_DATA else b"\x04\x40"  # Leave command
    if not h.security:
        return h, bytes(out[:nf.build(h, payload, out)])
    aux = ns.AuxHeader()
    aux.frame_counter = 0x00078A14 + seq
    aux.src64[:] = SRC64
    n = ns.NwkSecurity().encrypt(out, hl, payload, len(payload), KEY, aux)
    return h, bytes(out[:n])


# scapy's ZigbeeNWK has no multicast control field: the multicast cases are tshark's only.
@pytest.mark.parametrize("i", [k for k, case in enumerate(CASES) if not case[2]])
def test_scapy_reads_our_frames(i):
    case = CASES[i]
    h, frame = _nwk_frame(case, i)
    p = ZigbeeNWK(frame)
    assert p.frametype == h.frame_type and p.proto_version == 2
    assert p.discover_route == h.discover_route
    flags = int(p.flags)
    assert bool(flags & 1) == h.multicast and bool(flags & 2) == h.security
    assert bool(flags & 4) == h.source_route and bool(flags & 8) == h.dst64_present
    assert bool(flags & 16) == h.src64_present
    assert bool(flags & 32) == h.end_device_initiator  # scapy names it reserved1
    assert (p.destination, p.source, p.radius, p.seqnum) == (h.dst, h.src, h.radius, h.seq)
    if h.dst64_present:
        assert p.ext_dst == int.from_bytes(h.dst64, "big")
    if h.src64_present:
        assert p.ext_src == int.from_bytes(h.src64, "big")
    if h.source_route:
        assert (p.relay_count, p.relay_index) == (h.relay_count, h.relay_index)
        assert list(p.relays) == h.relays[:h.relay_count]
    if h.security:
        s = p[ZigbeeSecurityHeader]
        assert (s.nwk_seclevel, s.key_type, s.extended_nonce) == (0, 1, 1)
        assert s.fc == 0x00078A14 + i and s.source == int.from_bytes(SRC64, "big")
        assert s.key_seqnum == 0
    else:
        assert bytes(p.payload) == frame[h.header_len:]


def test_scapy_reads_inter_pan_stub():
    h = nf.NwkHeader()
    h.frame_type = nf.FT_INTERPAN
    out = bytearray(16)
    n = nf.build(h, b"\x03", out)
    p = ZigbeeNWK(bytes(out[:n]))
    assert isinstance(p, ZigbeeNWKStub)
    assert (p.frametype, p.proto_version, p.res1, p.res2) == (3, 2, 0, 0)


def _mac_frame(nwk, seq):
    f = mf.FrameFields()
    f.frame_type = mf.FT_DATA
    f.version = mf.VERSION_2006
    f.pan_id_compression = True
    f.dst_mode = f.src_mode = mf.ADDR_SHORT
    f.dst_pan = 0x1A62
    f.dst_addr, f.src_addr, f.seq = 0x0000, 0x7F77, seq
    buf = bytearray(127)
    n = mf.encode(f, nwk, len(nwk), buf)
    return buf, append_fcs(buf, n)


FIELDS = ["zbee_nwk.frame_type", "zbee_nwk.proto_version", "zbee_nwk.discovery",
          "zbee_nwk.multicast", "zbee_nwk.security", "zbee_nwk.src_route",
          "zbee_nwk.ext_dst", "zbee_nwk.ext_src", "zbee_nwk.end_device_initiator",
          "zbee_nwk.dst", "zbee_nwk.src", "zbee_nwk.radius", "zbee_nwk.seqno",
          "zbee_nwk.dst64", "zbee_nwk.src64", "zbee_nwk.multicast.mode",
          "zbee_nwk.multicast.radius", "zbee_nwk.multicast.max_radius",
          "zbee_nwk.relay.count", "zbee_nwk.relay.index", "zbee_nwk.relay",
          "zbee_nwk.cmd.id", "zbee_aps.cluster", "zbee_aps.profile", "zbee_aps.counter",
          "zbee_sec.encrypted_payload", "_ws.malformed"]


def _eui(b):
    return ":".join("%02x" % x for x in b)


def test_tshark_decodes_and_decrypts_our_frames(tmp_path):
    stream = io.BytesIO()
    w = PcapWriter(stream)
    headers = []
    for i, case in enumerate(CASES):
        h, nwk = _nwk_frame(case, i)
        headers.append(h)
        buf, n = _mac_frame(nwk, i)
        w.write(1000000 * i, buf, n)
    path = tmp_path / "nwk.pcap"
    path.write_bytes(stream.getvalue())
    cmd = ["tshark", "-r", str(path), "-o",
           'uat:zigbee_pc_keys:"%s","Normal","zbtk"' % KEY.hex(), "-T", "fields",
           "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,"]
    for name in FIELDS:
        cmd += ["-e", name]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = [dict(zip(FIELDS, line.split("|"))) for line in out.splitlines()]
    assert len(rows) == len(CASES)
    for h, r in zip(headers, rows):
        assert int(r["zbee_nwk.frame_type"], 0) == h.frame_type
        assert int(r["zbee_nwk.proto_version"]) == 2
        assert int(r["zbee_nwk.discovery"], 0) == h.discover_route
        for name, want in (("multicast", h.multicast), ("security", h.security),
                           ("src_route", h.source_route), ("ext_dst", h.dst64_present),
                           ("ext_src", h.src64_present),
                           ("end_device_initiator", h.end_device_initiator)):
            assert r["zbee_nwk." + name] == ("1" if want else "0"), name
        assert int(r["zbee_nwk.dst"], 0) == h.dst and int(r["zbee_nwk.src"], 0) == h.src
        assert int(r["zbee_nwk.radius"]) == h.radius and int(r["zbee_nwk.seqno"]) == h.seq
        if h.dst64_present:
            assert r["zbee_nwk.dst64"] == _eui(h.dst64)
        if h.src64_present:
            assert r["zbee_nwk.src64"] == _eui(h.src64)
        if h.multicast:
            assert int(r["zbee_nwk.multicast.mode"], 0) == h.mcast_mode
            assert int(r["zbee_nwk.multicast.radius"], 0) == h.nonmember_radius
            assert int(r["zbee_nwk.multicast.max_radius"], 0) == h.max_nonmember_radius
        if h.source_route:
            assert int(r["zbee_nwk.relay.count"]) == h.relay_count
            assert int(r["zbee_nwk.relay.index"]) == h.relay_index
            assert [int(x, 0) for x in r["zbee_nwk.relay"].split(",")] == \
                h.relays[:h.relay_count]
        # Every payload readable: secured ones decrypted with the key (no Encrypted
        # Payload), nothing malformed.
        assert r["zbee_sec.encrypted_payload"] == "" and r["_ws.malformed"] == ""
        if h.frame_type == nf.FT_DATA:
            assert (int(r["zbee_aps.cluster"], 0), int(r["zbee_aps.profile"], 0),
                    int(r["zbee_aps.counter"])) == (0x0201, 0x0104, 0xEF)
        else:
            assert int(r["zbee_nwk.cmd.id"], 0) == 0x04  # Leave
