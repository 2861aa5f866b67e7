# ZigBee frames for the host tests that put our payloads in front of tshark: an APS data
# frame, unsecured at every layer (NWK 0x0000 -> 0x0001, MAC short addresses in PAN
# 0x1A62), around a ZDO or ZCL payload, with its FCS, ready for han.pcap.PcapWriter.
from han.aps import frame as af
from han.mac import frame as mf
from han.mac.fcs import append_fcs
from han.nwk import frame as nf


def unsecured_data_frame(profile, endpoint, cluster, payload, seq):
    """(buffer, length) of the MAC frame carrying payload to endpoint (both endpoints)."""
    a = af.ApsHeader()
    a.frame_type, a.delivery = af.FT_DATA, af.DM_UNICAST
    a.dst_ep = a.src_ep = endpoint
    a.cluster, a.profile, a.counter = cluster, profile, seq
    ab = bytearray(127)
    aps = bytes(ab[:af.build(a, ab, 0)]) + payload
    h = nf.NwkHeader()
    h.frame_type = nf.FT_DATA
    h.dst, h.src, h.radius, h.seq = 0x0001, 0x0000, 30, seq
    nb = bytearray(127)
    nwk = bytes(nb[:nf.build(h, aps, nb)])
    f = mf.FrameFields()
    f.frame_type, f.version, f.pan_id_compression = mf.FT_DATA, mf.VERSION_2006, True
    f.dst_mode = f.src_mode = mf.ADDR_SHORT
    f.dst_pan, f.dst_addr, f.src_addr, f.seq = 0x1A62, 0x0001, 0x0000, seq
    buf = bytearray(127)
    return buf, append_fcs(buf, mf.encode(f, nwk, len(nwk), buf))
