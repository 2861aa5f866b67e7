# ZigBee APS frame codec and APS security (firmware/han/aps): the zbtk APS Transport Key
# frame of tests/vectors/han/zigbee_vectors.json (secured with the key-transport key) is
# taken out of its MAC and NWK frames, decoded, decrypted and re-encrypted bit for bit;
# data, command, ack and inter-PAN headers round trip for every delivery mode; malformed
# input and tampered frames raise ValueError. Portable: tiers 1 and 2.
import json

from han.aps import frame as af
from han.aps import security as asec
from han.mac import frame as mf
from han.nwk import frame as nf
from han.tc.keys import key_transport_key
from support import NoAllocation, raises

FRAMES = json.load(open("tests/vectors/han/zigbee_vectors.json"))["frames"]
ZBTK = [v for v in FRAMES if v["name"].startswith("zbtk APS Transport Key")][0]


def _aps_frame():
    """The APS frame of the vector's 802.15.4 frame, and the NWK header."""
    wpan = bytearray(bytes.fromhex(ZBTK["wpan_frame_with_fcs"]))
    f = mf.FrameFields()
    # The capture's last two bytes (F5 E5) are not a valid CRC-16 (ZEP sniffers often
    # store link quality there): decode the MAC frame without them.
    assert mf.decode(wpan, len(wpan), f) == mf.ERR_FCS
    assert mf.decode(wpan, len(wpan) - 2, f, False) == mf.OK
    assert f.frame_type == mf.FT_DATA and not f.security
    p = f.header_len
    end = p + f.payload_len
    nwk = bytearray(wpan[p:end])
    h = nf.NwkHeader()
    hl = nf.parse(nwk, len(nwk), h)
    # NWK frame control 48 00 -> 0x0048: data frame, version 2, discover route 1 and
    # bit 9 clear: the NWK layer is not secured, only APS is.
    assert hl == 8 and not h.security and h.frame_type == nf.FT_DATA
    assert (h.dst, h.src, h.radius, h.seq) == (0xBADE, 0x3ED6, 1, 0x88)
    return bytes(nwk[hl:])


def test_vector_layers_match_the_vector_fields():
    aps = _aps_frame()
    assert aps[:2] == bytes.fromhex(ZBTK["aps_header"])
    assert aps[2:15] == bytes.fromhex(ZBTK["aux_header_on_air"])
    assert aps[15:] == bytes.fromhex(ZBTK["ciphertext"] + ZBTK["mic"])


def test_vector_header_fields_read_by_hand():
    buf = bytearray(_aps_frame())
    h = af.ApsHeader()
    with NoAllocation():
        n = af.parse(buf, 0, len(buf), h)
    # 21 = 0b00100001: frame type 1 (command), delivery mode 0 (unicast), ack format 0,
    # bit 5 security, no ack request, no extended header; D7 = APS counter.
    assert n == 2 == h.length
    assert h.frame_type == af.FT_CMD and h.delivery == af.DM_UNICAST
    assert h.security and not (h.ack_format or h.ack_request or h.ext_header)
    assert h.counter == 0xD7
    aux = asec.AuxHeader()
    assert asec.parse_aux(buf, 2, len(buf), aux) == 13
    # 30 = 0b00110000: level 0 on air, key id 2 (key-transport), extended nonce;
    # 7E B0 01 00 LE = counter 0x0001B07E; 6C 59 .. 3C on air = 3C:2E:F5:FF:FE:48:59:6C.
    assert (aux.level, aux.key_id, aux.ext_nonce) == (0, asec.KEY_TRANSPORT, True)
    assert aux.frame_counter == 0x0001B07E
    assert aux.src64 == bytes.fromhex("3C2EF5FFFE48596C")


def test_vector_decrypts_to_transport_key_and_reencrypts():
    frame = _aps_frame()
    ktk = key_transport_key(bytes.fromhex(ZBTK["link_key_from_install_code"]))
    assert ktk == bytes.fromhex(ZBTK["key_transport_key"])
    buf = bytearray(127)
    buf[:len(frame)] = frame
    sec = asec.ApsSecurity()
    h = af.ApsHeader()
    hl = af.parse(buf, 0, len(frame), h)
    m = sec.decrypt(buf, len(frame), ktk, hl)
    plain = bytes(buf[15:15 + m])
    assert plain == bytes.fromhex(ZBTK["computed_plaintext"])
    assert buf[:15] == frame[:15]  # headers left as on air (control byte level 0)
    # Transport Key command (4.4.11.1), read by hand: 05 command id, 01 key type
    # (network key), 16 key bytes, 00 key sequence number, destination 7D B0 .. 28 and
    # source 6C 59 .. 3C, both on air (LE).
    assert m == 35  # 1 + 1 + 16 + 1 + 8 + 8
    assert plain[0] == af.CMD_TRANSPORT_KEY and plain[1] == 0x01
    assert plain[2:18] == bytes.fromhex("52F0FE8052EBB35907DAA243C95A2FF4")
    assert plain[18] == 0
    assert bytes(reversed(plain[19:27])) == bytes.fromhex("28DBA7FFFE23B07D")
    assert bytes(reversed(plain[27:35])) == bytes.fromhex("3C2EF5FFFE48596C")
    # Re-encrypt from the parsed header and auxiliary header: the same bytes on air.
    out = bytearray(127)
    assert af.build(h, out, 0) == 2
    n = sec.encrypt(out, 2, plain, m, ktk, sec.aux)
    assert out[:n] == frame


def test_tampered_frames_raise():
    frame = _aps_frame()
    ktk = bytes.fromhex(ZBTK["key_transport_key"])
    sec = asec.ApsSecurity()
    for pos in (0, 1, 3, 8, 15, len(frame) - 5, len(frame) - 1):
        buf = bytearray(frame)
        buf[pos] ^= 0x01
        raises(ValueError, sec.decrypt, buf, len(buf), ktk, 2)
    raises(ValueError, sec.decrypt, bytearray(frame), len(frame), bytes(16), 2)
    # Key id 1 (network key) is not an APS key identifier.
    buf = bytearray(frame)
    buf[2] = 0x28
    raises(ValueError, sec.decrypt, buf, len(buf), ktk, 2)
    # Truncated inside the auxiliary header or the MIC.
    raises(ValueError, sec.decrypt, bytearray(frame), 10, ktk, 2)
    raises(ValueError, sec.decrypt, bytearray(frame[:17]), 17, ktk, 2)


def _hdr(ft, dm, ack_format=False, ext=False, frag=af.FRAG_NONE):
    h = af.ApsHeader()
    h.frame_type, h.delivery, h.ack_format = ft, dm, ack_format
    h.security, h.ack_request, h.ext_header = True, True, ext
    h.dst_ep, h.group, h.cluster, h.profile, h.src_ep = 0x0A, 0x1234, 0x0702, 0x0109, 0x0B
    h.counter, h.frag, h.block, h.ack_bits = 0x5A, frag, 3, 0x81
    return h


# (frame type, delivery, ack format, ext header, fragmentation, expected bytes by hand)
CASES = [
    # data unicast: fc 0x60 (security, ack request) | ep 0A | cluster 0702 | profile
    # 0109 | src ep 0B | counter 5A
    (af.FT_DATA, af.DM_UNICAST, False, False, 0, "600A020709010B5A"),
    # data broadcast: fc 0x68 (delivery 2 << 2)
    (af.FT_DATA, af.DM_BROADCAST, False, False, 0, "680A020709010B5A"),
    # data group: fc 0x6C | group 1234 LE instead of the endpoint
    (af.FT_DATA, af.DM_GROUP, False, False, 0, "6C3412020709010B5A"),
    # data, first fragment: fc 0xE0 (ext header) | ext fc 01 | block 03
    (af.FT_DATA, af.DM_UNICAST, False, True, af.FRAG_FIRST, "E00A020709010B5A0103"),
    # data, extended header without fragmentation: ext fc 00 only
    (af.FT_DATA, af.DM_UNICAST, False, True, af.FRAG_NONE, "E00A020709010B5A00"),
    # command: fc 0x61 | counter
    (af.FT_CMD, af.DM_UNICAST, False, False, 0, "615A"),
    (af.FT_CMD, af.DM_BROADCAST, False, False, 0, "695A"),
    # data ack: fc 0x62 | ep | cluster | profile | src ep | counter
    (af.FT_ACK, af.DM_UNICAST, False, False, 0, "620A020709010B5A"),
    # command ack: fc 0x72 (ack format) | counter
    (af.FT_ACK, af.DM_UNICAST, True, False, 0, "725A"),
    # data ack of a fragment: ext fc 02 | block 03 | ack bitfield 81
    (af.FT_ACK, af.DM_UNICAST, False, True, af.FRAG_MORE, "E20A020709010B5A020381"),
    # inter-PAN unicast: fc 0x63 | cluster | profile; group: fc 0x6F | group | ...
    (af.FT_INTERPAN, af.DM_UNICAST, False, False, 0, "6302070901"),
    (af.FT_INTERPAN, af.DM_GROUP, False, False, 0, "6F341202070901"),
]


def test_build_parse_round_trip_against_bytes_by_hand():
    out = bytearray(32)
    h2 = af.ApsHeader()
    for ft, dm, ackf, ext, frag, want in CASES:
        want = bytes.fromhex(want)
        h = _hdr(ft, dm, ackf, ext, frag)
        with NoAllocation():
            n = af.build(h, out, 5)
        assert out[5:5 + n] == want, (ft, dm)
        with NoAllocation():
            assert af.parse(out, 5, 5 + n, h2) == n
        assert (h2.frame_type, h2.delivery, h2.ack_format) == (ft, dm, ackf)
        assert h2.security and h2.ack_request and h2.ext_header == ext
        assert h2.frag == frag
        has_ep = ft == af.FT_DATA and dm != af.DM_GROUP or ft == af.FT_ACK and not ackf
        assert h2.dst_ep == (0x0A if has_ep else 0)
        has_src = ft == af.FT_DATA or ft == af.FT_ACK and not ackf
        assert h2.src_ep == (0x0B if has_src else 0)
        assert h2.group == (0x1234 if dm == af.DM_GROUP and ft != af.FT_CMD else 0)
        has_cl = has_ep or ft == af.FT_INTERPAN or dm == af.DM_GROUP and ft == af.FT_DATA
        assert (h2.cluster, h2.profile) == ((0x0702, 0x0109) if has_cl else (0, 0))
        assert h2.counter == (0 if ft == af.FT_INTERPAN else 0x5A)
        assert h2.block == (3 if frag else 0)
        assert h2.ack_bits == (0x81 if frag and ft == af.FT_ACK else 0)
        # Every shorter frame is truncated.
        for k in range(n):
            raises(ValueError, af.parse, out, 5, 5 + k, h2)


def test_malformed_raise_value_error():
    h = af.ApsHeader()
    raises(ValueError, af.parse, bytearray(b"\x04\x5A"), 0, 2, h)  # delivery mode 1
    raises(ValueError, af.parse, bytearray(b"\x81\x5A\x03\x00"), 0, 4, h)  # frag 3
    raises(ValueError, af.parse, bytearray(b"\x81\x5A\x04"), 0, 3, h)  # reserved bits
    raises(ValueError, af.parse, bytearray(b"\x01\x5A"), 0, 3, h)  # n beyond buffer
    raises(ValueError, af.parse, bytearray(b""), 0, 0, h)
    raises(ValueError, af.build, _hdr(af.FT_DATA, 1), bytearray(16), 0)
    raises(ValueError, af.build, _hdr(af.FT_DATA, af.DM_UNICAST, False, True, 3),
           bytearray(16), 0)
    raises(ValueError, af.build, _hdr(af.FT_DATA, af.DM_UNICAST), bytearray(7), 0)
    raises(ValueError, af.build, _hdr(af.FT_CMD, af.DM_UNICAST), bytearray(4), 3)


def test_encrypt_decrypt_round_trip_each_key_id():
    key = bytes(range(16))
    sec = asec.ApsSecurity()
    src = bytes.fromhex("00124B0001020304")
    for key_id in (asec.KEY_DATA, asec.KEY_TRANSPORT, asec.KEY_LOAD):
        for ext in (True, False):
            buf = bytearray(64)
            h = _hdr(af.FT_DATA, af.DM_UNICAST)
            hl = af.build(h, buf, 0)
            aux = asec.AuxHeader()
            aux.key_id, aux.ext_nonce, aux.frame_counter = key_id, ext, 0x01020304
            aux.src64[:] = src
            n = sec.encrypt(buf, hl, b"\x00\x11\x22\x33", 4, key, aux)
            assert n == hl + (13 if ext else 5) + 4 + 4
            assert buf[hl] & 7 == 0 and (buf[hl] >> 3) & 3 == key_id
            m = sec.decrypt(buf, n, key, hl, None if ext else src)
            assert m == 4 and buf[n - 8:n - 4] == b"\x00\x11\x22\x33"
    aux = asec.AuxHeader()
    aux.key_id = 1
    raises(ValueError, sec.encrypt, bytearray(64), 8, b"", 0, key, aux)
