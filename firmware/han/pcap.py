# pcap capture writer for IEEE 802.15.4 frames, readable by Wireshark/tshark:
#   LINKTYPE_IEEE802_15_4_WITHFCS (195): the PSDU with its 2-byte FCS;
#   LINKTYPE_IEEE802_15_4_TAP (283): a TLV header (IEEE 802.15.4 TAP, tcpdump.org
#       linktypes/LINKTYPE_IEEE802_15_4_TAP.html) carrying FCS type, channel, RSSI and LQI,
#       then the PSDU with its FCS.
# File format: the classic libpcap format (tcpdump.org/manpages/pcap-savefile.5), little
# endian, microsecond timestamps. Works on any object with write(); one preallocated
# record header, so writing a frame allocates nothing on MicroPython.
import struct

from micropython import const

LINKTYPE_IEEE802_15_4_WITHFCS = const(195)
LINKTYPE_IEEE802_15_4_TAP = const(283)

_MAGIC = const(0xA1B2C3D4)  # microsecond timestamps
_SNAPLEN = const(65535)
# TAP TLV types (LINKTYPE_IEEE802_15_4_TAP): each TLV is type(2) length(2) value, padded
# to a multiple of 4 bytes.
_TLV_FCS_TYPE = const(0)  # 1 byte: 1 = 16-bit CRC
_TLV_RSS = const(1)  # float32, dBm
_TLV_CHANNEL = const(3)  # channel (2), page (1)
_TLV_LQI = const(10)  # 1 byte
_TAP_HEADER_LEN = const(4 + 8 + 8 + 8 + 8)  # header + FCS type + RSS + channel + LQI


class PcapWriter:
    def __init__(self, stream, linktype=LINKTYPE_IEEE802_15_4_WITHFCS):
        if linktype not in (LINKTYPE_IEEE802_15_4_WITHFCS, LINKTYPE_IEEE802_15_4_TAP):
            raise ValueError("unsupported link type")
        self._stream = stream
        self.linktype = linktype
        self.frames = 0
        self._rec = bytearray(16)
        self._tap = bytearray(_TAP_HEADER_LEN)
        stream.write(struct.pack("<IHHiIII", _MAGIC, 2, 4, 0, 0, _SNAPLEN, linktype))
        if linktype == LINKTYPE_IEEE802_15_4_TAP:
            t = self._tap
            struct.pack_into("<BBH", t, 0, 0, 0, _TAP_HEADER_LEN)  # version 0, length
            struct.pack_into("<HHB", t, 4, _TLV_FCS_TYPE, 1, 1)
            struct.pack_into("<HH", t, 12, _TLV_RSS, 4)
            struct.pack_into("<HHHB", t, 20, _TLV_CHANNEL, 3, 11, 0)
            struct.pack_into("<HHB", t, 28, _TLV_LQI, 1, 0)

    def write(self, time_us, frame, length, channel=11, rssi=0.0, lqi=255):
        """Record frame[0:length] (PSDU including its FCS) seen at time_us."""
        extra = _TAP_HEADER_LEN if self.linktype == LINKTYPE_IEEE802_15_4_TAP else 0
        struct.pack_into("<IIII", self._rec, 0, time_us // 1000000, time_us % 1000000,
                         length + extra, length + extra)
        self._stream.write(self._rec)
        if extra:
            t = self._tap
            struct.pack_into("<f", t, 16, rssi)
            struct.pack_into("<H", t, 24, channel)
            t[32] = lqi
            self._stream.write(t)
        self._stream.write(memoryview(frame)[:length])
        self.frames += 1
