# Bounds checks the HAN codecs share (NWK, APS, ZDO, ZCL): every builder and parser raises
# ValueError, never IndexError, on a buffer too short, so that a malformed frame is
# refused and counted like any other (tests/host/test_han_zb_fuzz.py).


def room(out, off, n):
    """n octets fit into out at off."""
    if off < 0 or off + n > len(out):
        raise ValueError("output buffer too small")


def need(p, k, n):
    """k octets from p are within a frame of n octets."""
    if p + k > n:
        raise ValueError("frame truncated")
