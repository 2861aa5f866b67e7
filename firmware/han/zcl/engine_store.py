# The reporting configurations of han/zcl/engine.py ReportEngine as bytes, kept across
# reboots (ZCL revision 6, 07-5123, 2.5.7.1: what a Configure Reporting record set; the
# hub saves them, han/se/hub.py): the hub comes back on its network unseen, so a display
# that subscribed never learns it should subscribe again.
#
#   packed_size(slots) -> the buffer pack needs for that many slots
#   pack(e, out) -> n;  unpack(e, buf, n, find_table, now) -> slots restored
#
# Only the configurations are kept, not the last values or the timing: each restored slot
# reports once its minimum interval has passed. Not on a hot path (boot and save only).
from micropython import const

from han.zcl import general as zg

_MAGIC = const(0x52)
_SLOT = const(22)  # dst 2, cluster 2, attr 2, dst_ep, src_ep, type, min 2, max 2, flags,
#                    reportable change 8 (two's complement, little endian)
# ReportEngine's slot flags (han/zcl/engine.py _F_USED, _F_TO_CLIENT): const() cannot take
# an imported name, and the engine's are private. _TO_CLIENT is also the saved flags bit.
_USED = const(1)
_TO_CLIENT = const(2)


def packed_size(slots):
    return 2 + _SLOT * slots


def pack(e, out):
    """e's configurations (not the last values) into out; return the length."""
    n = e.used()
    if len(out) < 2 + _SLOT * n:
        raise ValueError("reporting record buffer too small")
    out[0] = _MAGIC
    out[1] = n
    p = 2
    for i in range(e.size):
        if not e.flags[i] & _USED:
            continue
        for v in (e.dst[i], e.cluster[i], e.attr_id[i]):
            zg.put16(out, p, v)
            p += 2
        out[p] = e.dst_ep[i]
        out[p + 1] = e.src_ep[i]
        out[p + 2] = e.type[i]
        zg.put16(out, p + 3, e.min_s[i])
        zg.put16(out, p + 5, e.max_s[i])
        out[p + 7] = e.flags[i] & _TO_CLIENT
        c = e.change[i]
        for j in range(8):
            out[p + 8 + j] = c & 0xFF
            c >>= 8
        p += 16
    e.dirty = False
    return p


def unpack(e, buf, n, find_table, now):
    """Restore into e what pack wrote: find_table(src_ep, cluster, to_client) gives the
    AttrTable (None: gone). Configurations the firmware no longer supports are skipped
    (e.configure refuses them). Returns the number restored; ValueError when buf is not
    a pack."""
    if n < 2 or buf[0] != _MAGIC or n != 2 + _SLOT * buf[1]:
        raise ValueError("not a reporting record")
    for i in range(e.size):
        e.flags[i] = 0
        e.attr[i] = None
    got = 0
    p = 2
    for _ in range(buf[1]):
        dst, cluster, attr_id = zg.get16(buf, p), zg.get16(buf, p + 2), zg.get16(buf, p + 4)
        p += 6
        c = 0
        for j in range(7, -1, -1):
            c = (c << 8) | buf[p + 8 + j]
        if c >> 63:
            c -= 1 << 64
        to_client = bool(buf[p + 7] & _TO_CLIENT)
        table = find_table(buf[p + 1], cluster, to_client)
        if table is not None and e.configure(
                dst, buf[p], buf[p + 1], cluster, table, attr_id, buf[p + 2],
                zg.get16(buf, p + 3), zg.get16(buf, p + 5), c, now,
                to_client) == zg.SUCCESS:
            got += 1
        p += 16
    e.dirty = False
    return got
