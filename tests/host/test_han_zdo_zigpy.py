# ZDO frames built by firmware/han/zdo/frames.py, parsed by zigpy (PyPI, pinned in
# tools/requirements.txt) with its own ZDO schemas (zigpy.zdo.types.CLUSTERS: the header is
# the transaction sequence number, then the command's fields): Device_annce,
# Simple_Desc_rsp, Match_Desc_req and Active_EP_rsp must give the same fields, with nothing
# left over. Tier 1 only.
import zigpy.types as t
from zigpy.zdo import types as zt

from han.zdo import frames as z
from support import lcg_bytes


def _zigpy(cluster, frame):
    _names, types = zt.CLUSTERS[zt.ZDOCmd(cluster)]
    hdr, rest = zt.ZDOHeader.deserialize(cluster, frame)
    args, rest = t.deserialize(rest, types)
    assert rest == b""
    return hdr.tsn, args


def _built(fn, *args):
    out = bytearray(128)
    return bytes(out[:fn(out, *args)])


def _eui(ieee):
    # zigpy prints an EUI64 most significant octet first, as we keep it.
    return ":".join("%02x" % b for b in ieee)


def _cases():
    r = lcg_bytes(256, seed=3)
    for i in range(8):
        o = i * 30
        k = 1 + r[o + 20] % 5
        clusters = [r[o + 10 + j] | (r[o + 11 + j] << 8) for j in range(k)]
        eps = [1 + r[o + 10 + j] % 240 for j in range(k)]
        yield r[o], r[o + 1] | (r[o + 2] << 8), bytes(r[o + 3:o + 11]), clusters, eps


def test_device_annce_zigpy():
    for seq, nwk, ieee, _c, _e in _cases():
        tsn, (addr, eui, cap) = _zigpy(z.DEVICE_ANNCE,
                                       _built(z.build_device_annce, seq, nwk, ieee, 0x8E))
        assert (tsn, addr, str(eui), cap) == (seq, nwk, _eui(ieee), 0x8E)


def test_active_ep_rsp_zigpy():
    for seq, nwk, _i, _c, eps in _cases():
        tsn, (status, addr, lst) = _zigpy(
            z.ACTIVE_EP_RSP, _built(z.build_active_ep_rsp, seq, z.SUCCESS, nwk, eps))
        assert (tsn, status, addr, list(lst)) == (seq, zt.Status.SUCCESS, nwk, eps)


def test_match_desc_req_zigpy():
    for seq, nwk, _i, clusters, _e in _cases():
        f = _built(z.build_match_desc_req, seq, nwk, 0x0109, clusters, clusters[::-1][:2])
        tsn, (addr, profile, ins, outs) = _zigpy(z.MATCH_DESC, f)
        assert (tsn, addr, profile) == (seq, nwk, 0x0109)
        assert list(ins) == clusters and list(outs) == clusters[::-1][:2]


def test_simple_desc_rsp_zigpy():
    for seq, nwk, _i, clusters, eps in _cases():
        desc = (eps[0], 0x0109, nwk ^ 0x5A5A, seq & 0x0F, clusters, clusters[1:])
        f = _built(z.build_simple_desc_rsp, seq, z.SUCCESS, nwk, desc)
        tsn, (status, addr, sd) = _zigpy(z.SIMPLE_DESC_RSP, f)
        assert (tsn, status, addr) == (seq, zt.Status.SUCCESS, nwk)
        assert (sd.endpoint, sd.profile, sd.device_type, sd.device_version) == desc[:4]
        assert list(sd.input_clusters) == clusters
        assert list(sd.output_clusters) == clusters[1:]
    # A failed request: Length 0 and no descriptor, which zigpy reads as None.
    f = _built(z.build_simple_desc_rsp, 7, z.INVALID_EP, 0x1234, None)
    tsn, (status, addr, sd) = _zigpy(z.SIMPLE_DESC_RSP, f)
    assert (tsn, status, addr, sd) == (7, zt.Status.INVALID_EP, 0x1234, None)
