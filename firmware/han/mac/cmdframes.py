# MAC command and beacon frames for association, scanning and orphan realignment, with the
# addressing each command must use (IEEE 802.15.4-2006 7.3.1..7.3.8, beacon 7.2.2.1), as
# pure builders over a caller's FrameFields and buffer: each returns the frame length
# without FCS. The sequence number is left 0: Mac.send_frame writes macDSN / macBSN.
#
# Frame version: 2006 7.2.1.1.7 asks for 0b00 (2003 compatible) on unsecured frames, which
# all of these are (association happens before the device has a key in our PAN).
from micropython import const

from han.mac import commands as cmd
from han.mac import frame as fr

NO_SHORT = const(0xFFFE)  # "associated, uses its extended address" (2006 7.3.2.2)
UNASSOCIATED = const(0xFFFF)


def _start(f, frame_type):
    f.clear()
    f.frame_type = frame_type
    f.version = fr.VERSION_2003
    f.seq = 0


def _short_dst(f, pan, short):
    f.dst_mode = fr.ADDR_SHORT
    f.dst_pan = pan
    f.dst_addr = short


def _ext(dst, src):
    for i in range(8):
        dst[i] = src[i]


def _ext_to_ext_in_pan(f, pan, dst_ext, src_ext):
    # A command between two extended addresses of one PAN, PAN ID compressed, ACK requested
    # (association response 7.3.2, disassociation notification 7.3.3).
    _start(f, fr.FT_CMD)
    f.dst_mode = fr.ADDR_EXT
    f.dst_pan = pan
    _ext(f.dst_ext, dst_ext)
    f.src_mode = fr.ADDR_EXT
    _ext(f.src_ext, src_ext)
    f.pan_id_compression = True
    f.ack_request = True


def _finish(f, buf, cmd_id):
    # The command's own fields are written by the caller at the returned offset.
    n = fr.encode_header(f, buf)
    buf[n] = cmd_id
    return n + 1


def beacon_request(f, buf):
    """7.3.7: no source address, destination broadcast short address and PAN, no ACK."""
    _start(f, fr.FT_CMD)
    _short_dst(f, fr.BROADCAST, fr.BROADCAST)
    return _finish(f, buf, cmd.CMD_BEACON_REQUEST)


def beacon(f, buf, pan, coord_short, bf, payload=None):
    """7.2.2.1: source short address and PAN of the coordinator, no destination; the
    superframe spec etc. from BeaconFields bf, then the beacon payload (the upper layer's:
    ZigBee's network description, 05-3474 3.6.7) if one is given."""
    _start(f, fr.FT_BEACON)
    f.src_mode = fr.ADDR_SHORT
    f.src_pan = pan
    f.src_addr = coord_short
    n = fr.encode_header(f, buf)
    if payload is None:
        return cmd.encode_beacon(bf, buf, 0, buf, n)
    return cmd.encode_beacon(bf, payload, len(payload), buf, n)


def assoc_request(f, buf, pan, coord_short, own_ext, capability):
    """7.3.1: to the coordinator (short address here, from its beacon) in its PAN; from the
    extended address with source PAN ID 0xFFFF; ACK requested."""
    _start(f, fr.FT_CMD)
    _short_dst(f, pan, coord_short)
    f.src_mode = fr.ADDR_EXT
    f.src_pan = fr.BROADCAST
    _ext(f.src_ext, own_ext)
    f.ack_request = True
    n = _finish(f, buf, cmd.CMD_ASSOC_REQUEST)
    buf[n] = capability
    return n + 1


def assoc_response(f, buf, pan, dev_ext, coord_ext, short, status):
    """7.3.2: extended destination and source, PAN ID compression, ACK requested;
    payload short address (0xFFFF on failure) and association status."""
    _ext_to_ext_in_pan(f, pan, dev_ext, coord_ext)
    n = _finish(f, buf, cmd.CMD_ASSOC_RESPONSE)
    buf[n] = short & 0xFF
    buf[n + 1] = (short >> 8) & 0xFF
    buf[n + 2] = status
    return n + 3


def disassoc_notification(f, buf, pan, dst_ext, own_ext, reason):
    """7.3.3: extended destination and source in the PAN, compression, ACK requested."""
    _ext_to_ext_in_pan(f, pan, dst_ext, own_ext)
    n = _finish(f, buf, cmd.CMD_DISASSOC_NOTIFICATION)
    buf[n] = reason
    return n + 1


def orphan_notification(f, buf, own_ext):
    """7.3.6: broadcast short destination in PAN 0xFFFF, extended source, PAN ID
    compression set (no source PAN), no ACK."""
    _start(f, fr.FT_CMD)
    _short_dst(f, fr.BROADCAST, fr.BROADCAST)
    f.src_mode = fr.ADDR_EXT
    _ext(f.src_ext, own_ext)
    f.pan_id_compression = True
    return _finish(f, buf, cmd.CMD_ORPHAN_NOTIFICATION)


def coord_realignment(f, buf, pan, coord_ext, coord_short, channel, dev_ext, dev_short):
    """7.3.8 in answer to an orphan: to the orphan's extended address in PAN 0xFFFF, from
    the coordinator's extended address with its PAN ID, ACK requested; payload PAN ID,
    coordinator short address, logical channel, the orphan's short address."""
    _start(f, fr.FT_CMD)
    f.dst_mode = fr.ADDR_EXT
    f.dst_pan = fr.BROADCAST
    _ext(f.dst_ext, dev_ext)
    f.src_mode = fr.ADDR_EXT
    f.src_pan = pan
    _ext(f.src_ext, coord_ext)
    f.ack_request = True
    n = _finish(f, buf, cmd.CMD_COORD_REALIGNMENT)
    buf[n] = pan & 0xFF
    buf[n + 1] = pan >> 8
    buf[n + 2] = coord_short & 0xFF
    buf[n + 3] = coord_short >> 8
    buf[n + 4] = channel
    buf[n + 5] = dev_short & 0xFF
    buf[n + 6] = dev_short >> 8
    return n + 7


def u16_at(buf, p):
    return buf[p] | (buf[p + 1] << 8)
