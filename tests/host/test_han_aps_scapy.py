# The APS frame codec (firmware/han/aps/frame.py) against an independent decoder: headers
# we build are read field by field identically by scapy's ZigbeeAppDataPayload (data,
# command and ack frames, each delivery mode, fragmentation). Scapy has no inter-PAN APS
# layout, so inter-PAN frames are covered by the unit test only. Tier 1 only.
import pytest
from scapy.layers.zigbee import ZigbeeAppDataPayload

from han.aps import frame as af

# (frame type, delivery, ack format, security, ack request, ext header, fragmentation)
CASES = [
    (af.FT_DATA, af.DM_UNICAST, False, False, True, False, af.FRAG_NONE),
    (af.FT_DATA, af.DM_BROADCAST, False, False, False, False, af.FRAG_NONE),
    (af.FT_DATA, af.DM_GROUP, False, False, False, False, af.FRAG_NONE),
    (af.FT_DATA, af.DM_UNICAST, False, False, True, True, af.FRAG_FIRST),
    (af.FT_DATA, af.DM_UNICAST, False, False, True, True, af.FRAG_MORE),
    (af.FT_CMD, af.DM_UNICAST, False, True, False, False, af.FRAG_NONE),
    (af.FT_CMD, af.DM_BROADCAST, False, False, False, False, af.FRAG_NONE),
    (af.FT_ACK, af.DM_UNICAST, False, False, False, False, af.FRAG_NONE),
    (af.FT_ACK, af.DM_UNICAST, True, False, False, False, af.FRAG_NONE),
    (af.FT_ACK, af.DM_UNICAST, False, False, False, True, af.FRAG_MORE),
]


@pytest.mark.parametrize("case", CASES)
def test_scapy_reads_our_headers(case):
    ft, dm, ackf, sec, ackreq, ext, frag = case
    h = af.ApsHeader()
    h.frame_type, h.delivery, h.ack_format = ft, dm, ackf
    h.security, h.ack_request, h.ext_header = sec, ackreq, ext
    h.dst_ep, h.group, h.cluster, h.profile, h.src_ep = 0x0A, 0xBEEF, 0x0702, 0x0109, 0x0B
    h.counter, h.frag, h.block, h.ack_bits = 0xC3, frag, 7, 0x41
    out = bytearray(64)
    n = af.build(h, out, 0)
    # Secured frames: a plausible auxiliary header and MIC after the APS header, so that
    # scapy's security layer has something to read.
    tail = bytes.fromhex("307EB001006C5948FEFFF52E3C") + bytes(8) if sec else b"\x05"
    p = ZigbeeAppDataPayload(bytes(out[:n]) + tail)
    fc = p.frame_control
    assert (p.aps_frametype, p.delivery_mode) == (ft, dm)
    assert (bool(fc.ack_format), bool(fc.security)) == (ackf, sec)
    assert (bool(fc.ack_req), bool(fc.extended_hdr)) == (ackreq, ext)
    assert p.counter == 0xC3
    addressed = ft == af.FT_DATA or ft == af.FT_ACK and not ackf
    if addressed:
        if dm == af.DM_GROUP:
            assert p.group_addr == 0xBEEF
        else:
            assert p.dst_endpoint == 0x0A
        assert (p.cluster, p.profile, p.src_endpoint) == (0x0702, 0x0109, 0x0B)
    if ext:
        assert p.fragmentation == frag
        assert p.block_number == 7
        if ft == af.FT_ACK:
            assert p.ack_bitfield == 0x41
    # Scapy's APS header ends where ours does: the rest is its payload.
    assert bytes(p.payload) == tail
    # What scapy reads back as the header is what we wrote.
    assert bytes(p)[:n] == bytes(out[:n])
    # And our parser reads back the same header.
    h2 = af.ApsHeader()
    assert af.parse(out, 0, n, h2) == n
