"""Capture reading for `python -m tools.han decode`: pcap and pcapng files, and the link
layers that carry IEEE 802.15.4 frames.

    records(data) -> iterator of (linktype, time_s, bytes); CaptureError on a bad file
    psdu(linktype, record) -> Psdu (the 802.15.4 frame and how its last two octets are
        to be read); FrameSkip when the record carries no 802.15.4 frame (other traffic
        in an Ethernet capture, a ZEP ack), FrameError when it is malformed.

Link types (tcpdump.org linktypes): 195 IEEE802_15_4_WITHFCS, 230 IEEE802_15_4_NOFCS,
283 IEEE802_15_4_TAP (TLV header; the FCS type TLV says whether an FCS follows), and ZEP
(ZigBee Encapsulation Protocol, v1 and v2, UDP port 17754 either way) inside Ethernet
(1), raw IP (12, 14, 101, 228, 229), BSD loopback (0, 108) and Linux cooked (113, 276).
ZEP's LQI mode (CRC/LQI byte 0) replaces the FCS by two octets of TI CC24xx metadata
(RSSI, then bit 7 "FCS valid" and the correlation value), as Wireshark reads them.
"""
import struct

ZEP_PORT = 17754

# How the two octets after the MAC frame are to be read.
FCS = "fcs"  # a CRC-16 FCS, checked
NO_FCS = "none"  # no trailing octets
CC24XX = "cc24xx"  # RSSI + (FCS-valid bit, correlation): ZEP in LQI mode

_PCAP_MAGIC = {b"\xd4\xc3\xb2\xa1": ("<", 1e-6), b"\xa1\xb2\xc3\xd4": (">", 1e-6),
               b"\x4d\x3c\xb2\xa1": ("<", 1e-9), b"\xa1\xb2\x3c\x4d": (">", 1e-9)}
_PCAPNG_SHB = 0x0A0D0D0A


class CaptureError(Exception):
    """The file cannot be read as a capture."""


class FrameError(Exception):
    """One record is malformed below the 802.15.4 layer."""


class FrameSkip(Exception):
    """One record carries no 802.15.4 frame."""


class Psdu:
    def __init__(self, frame, trailer, meta):
        self.frame = frame  # bytes: the MAC frame, with the trailing two octets if any
        self.trailer = trailer  # FCS, NO_FCS or CC24XX
        self.meta = meta  # dict: encapsulation details for the output (channel, lqi, ...)


def records(data):
    """Yield (linktype, time in seconds, record bytes) for each packet of a pcap or
    pcapng file held in data. Raises CaptureError when the file is not a capture or is
    cut inside a header (a record cut short at the end of the file is an error too:
    tshark reports such a file as cut short)."""
    if len(data) < 4:
        raise CaptureError("file too short for a capture header")
    if data[:4] in _PCAP_MAGIC:
        return _pcap(data)
    if struct.unpack_from("<I", data, 0)[0] == _PCAPNG_SHB:
        return _pcapng(data)
    raise CaptureError("not a pcap or pcapng file (magic %s)" % data[:4].hex())


def _pcap(data):
    e, unit = _PCAP_MAGIC[data[:4]]
    if len(data) < 24:
        raise CaptureError("pcap file header cut short")
    linktype = struct.unpack_from(e + "I", data, 20)[0] & 0x0FFFFFFF
    p = 24
    while p < len(data):
        if p + 16 > len(data):
            raise CaptureError("pcap record header cut short at offset %d" % p)
        sec, frac, incl, _ = struct.unpack_from(e + "IIII", data, p)
        if p + 16 + incl > len(data):
            raise CaptureError("pcap record cut short at offset %d" % p)
        yield linktype, sec + frac * unit, data[p + 16:p + 16 + incl]
        p += 16 + incl


def _pcapng(data):
    p = 0
    e = "<"
    ifaces = []  # (linktype, seconds per timestamp unit) per interface of this section
    while p < len(data):
        if p + 12 > len(data):
            raise CaptureError("pcapng block cut short at offset %d" % p)
        btype = struct.unpack_from(e + "I", data, p)[0]
        if btype == _PCAPNG_SHB:
            bom = data[p + 8:p + 12]
            e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            if e == ">" and bom != b"\x1a\x2b\x3c\x4d":
                raise CaptureError("pcapng byte-order magic not recognised")
            ifaces = []
        blen = struct.unpack_from(e + "I", data, p + 4)[0]
        if blen < 12 or blen % 4 or p + blen > len(data):
            raise CaptureError("pcapng block length %d bad at offset %d" % (blen, p))
        body = data[p + 8:p + blen - 4]
        if btype == 1:  # interface description: linktype, snaplen, options
            ifaces.append([struct.unpack_from(e + "H", body, 0)[0], 1e-6])
            _if_tsresol(body[8:], e, ifaces[-1])
        elif btype == 6:  # enhanced packet
            iface, hi, lo, incl = struct.unpack_from(e + "IIII", body, 0)
            if iface >= len(ifaces) or 20 + incl > len(body):
                raise CaptureError("pcapng packet block bad at offset %d" % p)
            lt, unit = ifaces[iface]
            yield lt, ((hi << 32) | lo) * unit, body[20:20 + incl]
        elif btype == 3:  # simple packet: interface 0, no timestamp
            if not ifaces:
                raise CaptureError("pcapng simple packet before any interface")
            yield ifaces[0][0], 0.0, body[4:4 + struct.unpack_from(e + "I", body, 0)[0]]
        p += blen


def _if_tsresol(opts, e, iface):
    # Option if_tsresol (9): 2^-n seconds when bit 7 is set, else 10^-n.
    q = 0
    while q + 4 <= len(opts):
        code, n = struct.unpack_from(e + "HH", opts, q)
        if code == 0:
            return
        if code == 9 and n >= 1:
            v = opts[q + 4]
            iface[1] = 2.0 ** -(v & 0x7F) if v & 0x80 else 10.0 ** -v
        q += 4 + (n + 3) // 4 * 4


def psdu(linktype, rec):
    """The 802.15.4 frame in one record of link type linktype."""
    if linktype == 195:
        return Psdu(rec, FCS, {})
    if linktype == 230:
        return Psdu(rec, NO_FCS, {})
    if linktype == 283:
        return _tap(rec)
    if linktype == 1:
        return _ethernet(rec)
    if linktype in (12, 14, 101, 228, 229):
        return _ip(rec, 0)
    if linktype in (0, 108):
        if len(rec) < 4:
            raise FrameError("loopback header cut short")
        return _ip(rec, 4)
    if linktype == 113:
        if len(rec) < 16:
            raise FrameError("Linux cooked header cut short")
        return _ethertype(struct.unpack_from(">H", rec, 14)[0], rec, 16)
    if linktype == 276:
        if len(rec) < 20:
            raise FrameError("Linux cooked v2 header cut short")
        return _ethertype(struct.unpack_from(">H", rec, 0)[0], rec, 20)
    raise FrameSkip("link type %d not supported" % linktype)


def _tap(rec):
    # IEEE 802.15.4 TAP: version (0), reserved, header length (LE, TLVs included); TLVs of
    # type (2), length (2), value padded to 4 octets. FCS type TLV (0): 0 none, 1 16-bit,
    # 2 32-bit; absent: 16-bit.
    if len(rec) < 4:
        raise FrameError("TAP header cut short")
    ver, _, hlen = struct.unpack_from("<BBH", rec, 0)
    if ver != 0 or hlen < 4 or hlen > len(rec):
        raise FrameError("TAP header bad (version %d, length %d)" % (ver, hlen))
    meta = {}
    fcs_type = 1
    q = 4
    while q + 4 <= hlen:
        t, n = struct.unpack_from("<HH", rec, q)
        v = rec[q + 4:q + 4 + n]
        if t == 0 and n >= 1:
            fcs_type = v[0]
        elif t == 1 and n == 4:
            meta["rssi"] = round(struct.unpack("<f", v)[0], 1)
        elif t == 3 and n >= 2:
            meta["channel"] = struct.unpack_from("<H", v, 0)[0]
        elif t == 10 and n >= 1:
            meta["lqi"] = v[0]
        q += 4 + (n + 3) // 4 * 4
    frame = rec[hlen:]
    if fcs_type == 0:
        return Psdu(frame, NO_FCS, meta)
    if fcs_type == 1:
        return Psdu(frame, FCS, meta)
    if fcs_type == 2 and len(frame) >= 4:
        # 32-bit FCS (SUN PHYs): not checked here; drop it and read the frame as without.
        return Psdu(frame[:-4], NO_FCS, meta)
    raise FrameError("TAP FCS type %d not supported" % fcs_type)


def _ethernet(rec):
    if len(rec) < 14:
        raise FrameError("Ethernet header cut short")
    et = struct.unpack_from(">H", rec, 12)[0]
    p = 14
    while et in (0x8100, 0x88A8) and p + 4 <= len(rec):  # VLAN tags
        et = struct.unpack_from(">H", rec, p + 2)[0]
        p += 4
    return _ethertype(et, rec, p)


def _ethertype(et, rec, p):
    if et not in (0x0800, 0x86DD):
        raise FrameSkip("ethertype 0x%04x" % et)
    return _ip(rec, p)


def _ip(rec, p):
    if p >= len(rec):
        raise FrameError("IP header missing")
    v = rec[p] >> 4
    if v == 4:
        if p + 20 > len(rec):
            raise FrameError("IPv4 header cut short")
        ihl = (rec[p] & 15) * 4
        if rec[p + 9] != 17:
            raise FrameSkip("IP protocol %d" % rec[p + 9])
        if struct.unpack_from(">H", rec, p + 6)[0] & 0x3FFF:
            raise FrameSkip("IPv4 fragment")
        p += ihl
    elif v == 6:
        if p + 40 > len(rec):
            raise FrameError("IPv6 header cut short")
        if rec[p + 6] != 17:
            raise FrameSkip("IPv6 next header %d" % rec[p + 6])
        p += 40
    else:
        raise FrameSkip("IP version %d" % v)
    if p + 8 > len(rec):
        raise FrameError("UDP header cut short")
    sport, dport = struct.unpack_from(">HH", rec, p)
    if ZEP_PORT not in (sport, dport):
        raise FrameSkip("UDP port %d -> %d" % (sport, dport))
    return zep(rec[p + 8:])


def zep(z):
    """The 802.15.4 frame in a ZEP datagram (v1: 16-octet header; v2 data: 32 octets;
    v2 ack: 8 octets and no frame)."""
    if len(z) < 4 or z[:2] != b"EX":
        raise FrameError("not a ZEP datagram")
    ver = z[2]
    if ver == 1:
        if len(z) < 16:
            raise FrameError("ZEP v1 header cut short")
        channel, dev, mode, lqi = z[3], struct.unpack_from(">H", z, 4)[0], z[6], z[7]
        n, p = z[15], 16
        meta = {"zep": 1}
    elif ver == 2:
        if z[3] == 2:
            if len(z) < 8:
                raise FrameError("ZEP ack cut short")
            raise FrameSkip("ZEP ack, sequence %d" % struct.unpack_from(">I", z, 4)[0])
        if z[3] != 1:
            raise FrameError("ZEP v2 type %d unknown" % z[3])
        if len(z) < 32:
            raise FrameError("ZEP v2 header cut short")
        channel, dev, mode, lqi = z[4], struct.unpack_from(">H", z, 5)[0], z[7], z[8]
        n, p = z[31], 32
        meta = {"zep": 2, "zep_seq": struct.unpack_from(">I", z, 17)[0]}
    else:
        raise FrameError("ZEP version %d unknown" % ver)
    if p + n > len(z):
        raise FrameError("ZEP length %d beyond the datagram" % n)
    meta.update({"channel": channel, "device": dev})
    if mode:
        return Psdu(z[p:p + n], FCS, meta)
    meta["lqi"] = lqi
    return Psdu(z[p:p + n], CC24XX, meta)
