# The frame codec on real captures (tests/vectors/han/*.pcap, sources in
# tests/vectors/README.md), checked against tshark's dissection of the same files: every
# 802.15.4 frame decodes, its FCS checks, and type, sequence number, PAN and addresses
# equal what Wireshark reads. Tier 1 only.
import struct
import subprocess

import pytest

from han.mac import frame as fr
from han.mac.fcs import fcs_ok

CAPTURES = ["zigator_03-nwk-testing.pcap", "zigator_04-aps-testing.pcap",
            "zigator_06-zcl-testing.pcap", "zbtk_trace.pcap"]


def _records(path):
    data = open(path, "rb").read()
    magic, _, _, _, _, _, linktype = struct.unpack_from("<IHHiIII", data, 0)
    assert magic == 0xA1B2C3D4
    p = 24
    while p < len(data):
        _, _, incl, _ = struct.unpack_from("<IIII", data, p)
        yield linktype, data[p + 16:p + 16 + incl]
        p += 16 + incl


def _frames(path):
    for linktype, rec in _records(path):
        if linktype == 195:
            yield rec, True
        elif linktype == 1:
            # Ethernet / IPv4 / UDP 17754 / ZEP v2 data (32-byte header, length last).
            ihl = (rec[14] & 15) * 4
            zep = rec[14 + ihl + 8:]
            assert zep[:2] == b"EX" and zep[2] == 2
            n = zep[31]
            # LQI mode (byte 7 = 0): the last two bytes hold LQI/RSSI, not the FCS.
            yield zep[32:32 + n], zep[7] != 0


def _tshark(path):
    out = subprocess.run(
        ["tshark", "-r", path, "-T", "fields", "-E", "separator=|", "-e", "wpan.frame_type",
         "-e", "wpan.seq_no", "-e", "wpan.dst_pan", "-e", "wpan.dst16", "-e", "wpan.src16"],
        capture_output=True, text=True, check=True).stdout
    return [line.split("|") for line in out.splitlines()]


@pytest.mark.parametrize("name", CAPTURES)
def test_capture_frames_decode_like_tshark(name):
    path = "tests/vectors/han/" + name
    ours = []
    f = fr.FrameFields()
    for frame, with_fcs in _frames(path):
        buf = bytearray(frame)
        if with_fcs:
            assert fcs_ok(buf, len(buf))
        err = fr.decode(buf, len(buf) if with_fcs else len(buf) - 2, f, with_fcs)
        assert err == fr.OK
        ours.append((f.frame_type, f.seq, f.dst_pan,
                     f.dst_addr if f.dst_mode == fr.ADDR_SHORT else None,
                     f.src_addr if f.src_mode == fr.ADDR_SHORT else None))
    theirs = _tshark(path)
    assert len(ours) == len(theirs) > 0
    for mine, row in zip(ours, theirs):
        ft, seq, pan, d16, s16 = row
        assert mine[0] == int(ft, 16) and mine[1] == int(seq)
        assert (mine[2] if mine[2] >= 0 else "") == (int(pan, 16) if pan else "")
        assert mine[3] == (int(d16, 16) if d16 else None)
        assert mine[4] == (int(s16, 16) if s16 else None)
