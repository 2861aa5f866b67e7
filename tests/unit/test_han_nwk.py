# ZigBee NWK frame codec and NWK security (firmware/han/nwk): the zbtk NWK data frame of
# tests/vectors/han/zigbee_vectors.json decrypts and re-encrypts bit for bit; every frame
# type and option combination round trips; malformed input and tampered frames raise
# ValueError. Portable: tiers 1 and 2.
import json

from han.nwk import frame as nf
from han.nwk import security as ns
from native import aes
from support import NoAllocation, lcg_bytes, raises

FRAMES = json.load(open("tests/vectors/han/zigbee_vectors.json"))["frames"]
ZBTK = [v for v in FRAMES if v["layer"] == "NWK"][0]


def _zbtk_frame():
    return bytes.fromhex(ZBTK["nwk_header_plus_aux_header_on_air"] + ZBTK["ciphertext"]
                         + ZBTK["mic"])


def test_zbtk_header_fields_read_by_hand():
    buf = bytearray(_zbtk_frame())
    h = nf.NwkHeader()
    assert nf.parse(buf, len(buf), h) == 8
    # Frame control 48 22 -> 0x2248: bits 0-1 = 0 data; bits 2-5 = 0b0010 = version 2;
    # bits 6-7 = 0b01 discover route enabled; byte 0x22 = bit 9 security, bit 13 end
    # device initiator; no multicast, source route or IEEE addresses.
    assert h.frame_type == nf.FT_DATA and h.version == 2 and h.discover_route == 1
    assert h.security and h.end_device_initiator
    assert not (h.multicast or h.source_route or h.dst64_present or h.src64_present)
    # 00 00 -> destination 0x0000 (the coordinator); 77 7F -> source 0x7F77;
    # 1E -> radius 30; 20 -> sequence number 0x20.
    assert (h.dst, h.src, h.radius, h.seq) == (0x0000, 0x7F77, 30, 0x20)
    aux = ns.AuxHeader()
    assert ns.parse_aux(buf, 8, len(buf), aux) == 14
    # Security control 0x28 = 0b00101000: level 0 on air, key id 1 (network key),
    # extended nonce; counter 14 8A 07 00 LE = 0x00078A14; source 0D B1 .. 28 on air
    # (LE) = 28:DB:A7:FF:FE:23:B1:0D; key sequence number 00.
    assert (aux.level, aux.key_id, aux.ext_nonce) == (0, ns.KEY_NETWORK, True)
    assert aux.frame_counter == 0x00078A14
    assert aux.src64 == bytes.fromhex("28DBA7FFFE23B10D")
    assert aux.key_seq == 0


def test_zbtk_frame_decrypts_and_reencrypts():
    key = bytes.fromhex(ZBTK["network_key"])
    frame = _zbtk_frame()
    plain = bytes.fromhex(ZBTK["expected_plaintext"])
    buf = bytearray(127)
    buf[:len(frame)] = frame
    h = nf.NwkHeader()
    sec = ns.NwkSecurity()
    ks = bytearray(aes.KEY_SCHEDULE_SIZE)
    aes.aes128_key_schedule(key, ks)
    with NoAllocation():
        hl = nf.parse(buf, len(frame), h)
        m = sec.decrypt(buf, len(frame), ks, hl)
    assert m == len(plain) == 18
    assert buf[22:22 + m] == plain
    assert buf[:22] == frame[:22]  # header left as on air: control byte level 0
    # Re-encrypt with the same header, counter and source: the same bytes on air.
    out = bytearray(127)
    nf.build_header(h, out)
    n = sec.encrypt(out, hl, plain, len(plain), key, sec.aux)
    assert out[:n] == frame
    # The 16-byte key (expanded by the call) opens it too.
    buf[:n] = frame
    assert sec.decrypt(buf, n, key, hl) == 18 and buf[22:40] == plain


def test_tampered_frames_raise():
    key = bytes.fromhex(ZBTK["network_key"])
    frame = _zbtk_frame()
    sec = ns.NwkSecurity()
    # A flipped bit in the header (AAD), aux header, ciphertext or MIC fails the MIC.
    for pos in (1, 6, 9, 22, 30, len(frame) - 5, len(frame) - 1):
        buf = bytearray(frame)
        buf[pos] ^= 0x10
        raises(ValueError, sec.decrypt, buf, len(buf), key, 8)
    # The wrong key, and an on-air level that is not restored to 5 (level 6: MIC-64).
    raises(ValueError, sec.decrypt, bytearray(frame), len(frame), bytes(16), 8)
    raises(ValueError, sec.decrypt, bytearray(frame), len(frame), key, 8, 6)
    # Truncated: inside the auxiliary header, or no room for the MIC.
    raises(ValueError, sec.decrypt, bytearray(frame), 15, key, 8)
    raises(ValueError, sec.decrypt, bytearray(frame), 25, key, 8)
    raises(ValueError, sec.decrypt, bytearray(frame), len(frame), bytes(5), 8)


def _header(ft, opts):
    h = nf.NwkHeader()
    h.frame_type = ft
    h.discover_route = opts & 3
    h.multicast = bool(opts & 4)
    h.security = bool(opts & 8)
    h.source_route = bool(opts & 16)
    h.dst64_present = bool(opts & 32)
    h.src64_present = bool(opts & 64)
    h.end_device_initiator = bool(opts & 128)
    h.dst = 0x1234 + opts
    h.src = 0xFFFD - opts
    h.radius = opts & 0x1F
    h.seq = 255 - opts
    h.dst64[:] = lcg_bytes(8, opts + 1)
    h.src64[:] = lcg_bytes(8, opts + 1000)
    h.mcast_mode = opts & 1
    h.nonmember_radius = (opts >> 1) & 7
    h.max_nonmember_radius = 7 - ((opts >> 2) & 7)
    h.relay_count = opts % 5
    h.relay_index = (opts % 5) - 1 if opts % 5 else 0
    for i in range(h.relay_count):
        h.relays[i] = 0x0101 * (i + 1) + opts
    return h


def _expected_len(opts):
    n = 8 + (8 if opts & 32 else 0) + (8 if opts & 64 else 0) + (1 if opts & 4 else 0)
    if opts & 16:
        n += 2 + 2 * (opts % 5)
    return n


def test_build_parse_round_trip_every_option():
    out = bytearray(127)
    g = nf.NwkHeader()
    fields = ("frame_type", "version", "discover_route", "multicast", "security",
              "source_route", "dst64_present", "src64_present", "end_device_initiator",
              "dst", "src", "radius", "seq")
    for ft in (nf.FT_DATA, nf.FT_CMD):
        for opts in range(256):
            h = _header(ft, opts)
            payload = lcg_bytes(opts % 40, opts)
            n = nf.build(h, payload, out)
            hl = _expected_len(opts)
            assert n == hl + len(payload)
            assert nf.parse(out, n, g) == hl
            for name in fields:
                assert getattr(g, name) == getattr(h, name), (ft, opts, name)
            assert g.payload_len == len(payload) and out[hl:n] == payload
            if h.dst64_present:
                assert g.dst64 == h.dst64
            if h.src64_present:
                assert g.src64 == h.src64
            if h.multicast:
                assert (g.mcast_mode, g.nonmember_radius, g.max_nonmember_radius) == (
                    h.mcast_mode, h.nonmember_radius, h.max_nonmember_radius)
            if h.source_route:
                assert (g.relay_count, g.relay_index) == (h.relay_count, h.relay_index)
                assert g.relays[:g.relay_count] == h.relays[:h.relay_count]
            else:
                assert g.relay_count == 0


def test_fixed_layout_written_by_hand():
    # Command frame, version 2, discover route 0, multicast + source route + both IEEE:
    # frame control 0x1D09 -> 09 1D (type 1 | version 2 << 2; bits 8 multicast, 10 source
    # route, 11 and 12 IEEE addresses).
    h = nf.NwkHeader()
    h.frame_type = nf.FT_CMD
    h.multicast = h.source_route = h.dst64_present = h.src64_present = True
    h.dst, h.src, h.radius, h.seq = 0xFFFC, 0x0001, 5, 0x7A
    h.dst64[:] = bytes.fromhex("0011223344556677")
    h.src64[:] = bytes.fromhex("8899AABBCCDDEEFF")
    h.mcast_mode, h.nonmember_radius, h.max_nonmember_radius = 1, 2, 3  # 011 010 01
    h.relay_count, h.relay_index = 2, 1
    h.relays[0], h.relays[1] = 0x1111, 0xABCD
    out = bytearray(64)
    n = nf.build(h, b"\x04\x20", out)
    assert out[:n] == bytes.fromhex(
        "091D" "FCFF" "0100" "05" "7A" "7766554433221100" "FFEEDDCCBBAA9988" "69"
        "02" "01" "1111" "CDAB" "0420")
    # Inter-PAN: the stub header is the frame control alone, 0x000B.
    h = nf.NwkHeader()
    h.frame_type = nf.FT_INTERPAN
    h.security = h.multicast = True  # not part of a stub header: not written
    n = nf.build(h, b"\x03\x08", out)
    assert out[:n] == b"\x0B\x00\x03\x08"
    g = nf.NwkHeader()
    assert nf.parse(out, n, g) == 2
    assert g.frame_type == nf.FT_INTERPAN and g.version == 2 and not g.security
    assert g.payload_len == 2


def test_malformed_frames_raise_value_error():
    h = _header(nf.FT_DATA, 0xFE)  # every optional field, 4 relays
    out = bytearray(127)
    n = nf.build(h, b"", out)
    g = nf.NwkHeader()
    assert nf.parse(out, n, g) == n
    for k in range(n):  # every truncation of the header
        raises(ValueError, nf.parse, out, k, g)
    # Reserved frame type 2, protocol versions 0, 1, 3 and 15.
    bad = bytearray(out[:n])
    bad[0] = (bad[0] & 0xFC) | 2
    raises(ValueError, nf.parse, bad, n, g)
    for v in (0, 1, 3, 15):
        bad = bytearray(out[:n])
        bad[0] = (bad[0] & 0xC3) | (v << 2)
        raises(ValueError, nf.parse, bad, n, g)
    # A relay count running past the end of the frame (and past MAX_RELAYS).
    relay_off = _expected_len(0xFE) - 2 - 2 * h.relay_count
    for count in (5, 60, 255):
        bad = bytearray(out[:n])
        bad[relay_off] = count
        raises(ValueError, nf.parse, bad, n, g)
    # A length beyond the buffer; the encoder refuses type 2 and a buffer too small.
    raises(ValueError, nf.parse, out[:10], 11, g)
    h.frame_type = 2
    raises(ValueError, nf.build, h, b"", out)
    h.frame_type = nf.FT_DATA
    raises(ValueError, nf.build, h, b"", bytearray(20))
    raises(ValueError, nf.build, h, bytes(100), bytearray(127))


def test_encrypt_decrypt_round_trip():
    key = lcg_bytes(16, 7)
    sec = ns.NwkSecurity()
    aux = ns.AuxHeader()
    aux.frame_counter = 0xFFFFFFFE
    aux.src64[:] = bytes.fromhex("0123456789ABCDEF")
    aux.key_seq = 3
    for opts in (0, 8 | 32 | 64, 8 | 16 | 4 | 1, 0xFF):
        h = _header(nf.FT_CMD, opts | 8)
        out = bytearray(127)
        hl = nf.build_header(h, out)
        payload = lcg_bytes(20 + opts % 7, opts)
        n = sec.encrypt(out, hl, payload, len(payload), key, aux)
        assert n == hl + 14 + len(payload) + 4
        assert out[hl] == 0x28  # level 0 on air, network key, extended nonce
        assert out[hl + 14:hl + 14 + len(payload)] != payload
        g = nf.NwkHeader()
        assert nf.parse(out, n, g) == hl and g.security
        assert sec.decrypt(out, n, key, hl) == len(payload)
        assert out[hl + 14:hl + 14 + len(payload)] == payload
        assert sec.aux.frame_counter == 0xFFFFFFFE and sec.aux.key_seq == 3
