# IEEE 802.15.4 frame codec (firmware/han/mac/frame.py, fcs.py, commands.py) against the
# standard's examples: the Annex C frames (tests/vectors/han/ieee802154_ccm_vectors.json),
# the CRC catalogue's check value, and frames written out by hand from 802.15.4-2006 7.2 and
# the 2015 PAN ID compression table (Table 7-2). Portable: tiers 1 and 2.
import json

from han.mac import commands as cmd
from han.mac import frame as fr
from han.mac.fcs import append_fcs, fcs16, fcs_ok
from support import NoAllocation, raises

VECTORS = json.load(open("tests/vectors/han/ieee802154_ccm_vectors.json"))["vectors"]


def _vector(name):
    for v in VECTORS:
        if v["name"] == name:
            return v
    raise KeyError(name)


def test_fcs_check_value():
    # CRC-16/KERMIT (the 802.15.4 FCS) catalogue check value.
    assert fcs16(b"123456789", 9) == 0x2189


def test_fcs_of_imm_ack():
    # An ACK for sequence 0x56 without pending: 02 00 56 + FCS, FCS by the bitwise
    # definition of 2006 7.2.1.9 (shift register, LSB first) computed here independently.
    data = b"\x02\x00\x56"
    reg = 0
    for byte in data:
        for bit in range(8):
            b = (byte >> bit) & 1
            fb = (reg & 1) ^ b
            reg >>= 1
            if fb:
                reg ^= 0x8408
    buf = bytearray(5)
    assert fr.encode_imm_ack(buf, 0x56, False) == 3
    assert append_fcs(buf, 3) == 5
    assert buf[3] == reg & 0xFF and buf[4] == reg >> 8
    assert fcs_ok(buf, 5)
    buf[1] ^= 0x01
    assert not fcs_ok(buf, 5)


def test_annex_c_data_frame_fields():
    raw = bytes.fromhex(_vector("data_frame_enc")["plaintext_frame_no_fcs"])
    f = fr.FrameFields()
    assert fr.decode(raw, len(raw), f, False) == fr.OK
    assert f.frame_type == fr.FT_DATA and f.security and f.ack_request
    assert f.pan_id_compression and f.version == fr.VERSION_2006
    assert f.seq == 0x84 and f.dst_pan == 0x4321 and f.src_pan == 0x4321
    assert f.dst_mode == fr.ADDR_EXT and bytes(f.dst_ext) == bytes.fromhex("ACDE480000000002")
    assert f.src_mode == fr.ADDR_EXT and bytes(f.src_ext) == bytes.fromhex("ACDE480000000001")
    assert f.sec_level == 4 and f.key_id_mode == 0 and f.frame_counter == 5
    assert f.header_len == 26 and f.payload_len == 4
    assert raw[f.header_len:] == b"abcd"


def test_annex_c_beacon_and_command_fields():
    raw = bytes.fromhex(_vector("beacon_frame_mic64")["plaintext_frame_no_fcs"])
    f = fr.FrameFields()
    assert fr.decode(raw, len(raw), f, False) == fr.OK
    assert f.frame_type == fr.FT_BEACON and f.dst_mode == fr.ADDR_NONE
    assert f.src_pan == 0x4321 and f.sec_level == 2
    b = cmd.BeaconFields()
    p = cmd.decode_beacon(raw, f.header_len, len(raw), b)
    # Superframe spec 0xCF55: BO 5, SO 5, final CAP slot 15, PAN coordinator, assoc permit.
    assert (b.beacon_order, b.superframe_order, b.final_cap_slot) == (5, 5, 15)
    assert b.pan_coordinator and b.association_permit and not b.battery_life_ext
    assert b.gts_count == 0 and b.n_short == 0 and b.n_ext == 0
    assert raw[p:] == b"QRST"
    raw = bytes.fromhex(_vector("mac_command_enc_mic64")["plaintext_frame_no_fcs"])
    assert fr.decode(raw, len(raw), f, False) == fr.OK
    assert f.frame_type == fr.FT_CMD and f.src_pan == 0xFFFF and f.dst_pan == 0x4321
    assert cmd.check_command(raw, f.header_len, len(raw)) == cmd.CMD_ASSOC_REQUEST
    assert raw[f.header_len + 1] == 0xCE  # capability: alloc, security, rx on, mains, FFD


def test_reencoding_annex_c_frames_gives_the_same_bytes():
    f = fr.FrameFields()
    for v in VECTORS:
        raw = bytes.fromhex(v["plaintext_frame_no_fcs"])
        assert fr.decode(raw, len(raw), f, False) == fr.OK
        out = bytearray(127)
        n = fr.encode(f, raw[f.header_len:], f.payload_len, out)
        assert out[:n] == raw, v["name"]


def test_handwritten_2006_data_short_addresses():
    # Data, AR, PAN ID compression, short/short, 2006: FCF 0x9861, seq 7, PAN 0x1A2B,
    # dst 0x0000, src 0x0105, payload 01 02 (7.2.2.2).
    raw = bytes.fromhex("6198072B1A000005010102")
    f = fr.FrameFields()
    assert fr.decode(raw, len(raw), f, False) == fr.OK
    assert (f.dst_pan, f.dst_addr, f.src_pan, f.src_addr, f.seq) == (0x1A2B, 0, 0x1A2B, 0x105, 7)
    g = fr.FrameFields()
    g.frame_type = fr.FT_DATA
    g.ack_request = True
    g.pan_id_compression = True
    g.seq = 7
    g.dst_mode = g.src_mode = fr.ADDR_SHORT
    g.dst_pan = 0x1A2B
    g.dst_addr = 0
    g.src_addr = 0x105
    out = bytearray(127)
    assert out[:fr.encode(g, b"\x01\x02", 2, out)] == raw


def test_2015_pan_id_compression_table():
    # 802.15.4-2015 Table 7-2: (dst mode, src mode, compression) -> header length with seq.
    # Rows: none/none/0: 3; none/none/1: 5 (dst PAN); short/none/0: 7; short/none/1: 5;
    # none/short/0: 7; none/short/1: 5; ext/ext/0: 21; ext/ext/1: 19; short/short/0: 11;
    # short/short/1: 9; short/ext/1: 15; ext/short/0: 17.
    rows = ((0, 0, 0, 3), (0, 0, 1, 5), (2, 0, 0, 7), (2, 0, 1, 5), (0, 2, 0, 7), (0, 2, 1, 5),
            (3, 3, 0, 21), (3, 3, 1, 19), (2, 2, 0, 11), (2, 2, 1, 9), (2, 3, 1, 15),
            (3, 2, 0, 17))
    f = fr.FrameFields()
    g = fr.FrameFields()
    out = bytearray(127)
    for dm, sm, comp, hlen in rows:
        f.clear()
        f.version = fr.VERSION_2015
        f.dst_mode = dm
        f.src_mode = sm
        f.pan_id_compression = bool(comp)
        f.dst_pan = 0x1234
        f.src_pan = 0x5678
        f.dst_addr = 0xBEEF
        f.src_addr = 0xCAFE
        n = fr.encode(f, b"", 0, out)
        assert n == hlen, (dm, sm, comp, n)
        assert fr.decode(out, n, g, False) == fr.OK
        assert g.header_len == hlen


def test_2006_pan_id_compression_with_one_address_is_refused():
    # 802.15.4-2006 7.2.1.1.5: with only one address present, PAN ID compression shall be
    # 0. Hand-written frames (FCF little endian, then seq 7):
    #   data, compression, dst short, 2006: FCF 0x1841 -> 41 18 07 | 2B1A | 0100
    #   data, compression, src short, 2003: FCF 0x8041 -> 41 80 07 | 2B1A | 0100
    #   command, compression, src ext, 2006: FCF 0xD043 -> 43 D0 07 | 2B1A | ext | 04
    f = fr.FrameFields()
    for raw in ("4118072B1A0100", "4180072B1A0100", "43D0072B1A0102030405060708" + "04"):
        buf = bytearray(bytes.fromhex(raw) + b"\x00\x00")
        n = append_fcs(buf, len(buf) - 2)
        assert fr.decode(buf, n, f) == fr.ERR_PAN_ID_COMP, raw
        assert fr.decode(buf, n - 2, f, False) == fr.ERR_PAN_ID_COMP, raw
        # The same frames without the compression bit are valid.
        buf[0] &= ~0x40
        n = append_fcs(buf, len(buf) - 2)
        assert fr.decode(buf, n, f) == fr.OK, raw
        assert f.header_len == len(raw) // 2 - (1 if raw.startswith("43") else 0)
    # The encoder refuses to build them, for either side and both versions.
    out = bytearray(127)
    for version in (fr.VERSION_2003, fr.VERSION_2006):
        for dm, sm in ((fr.ADDR_SHORT, 0), (fr.ADDR_EXT, 0), (0, fr.ADDR_SHORT),
                       (0, fr.ADDR_EXT)):
            f.clear()
            f.version = version
            f.dst_mode, f.src_mode = dm, sm
            f.dst_pan = f.src_pan = 0x1A2B
            f.pan_id_compression = True
            raises(ValueError, fr.encode, f, b"", 0, out)
            f.pan_id_compression = False
            assert fr.encode(f, b"", 0, out) == 3 + 2 + (2 if (dm or sm) == 2 else 8)
    # Both addresses, and the 2015 table's one-address rows, are unaffected (Table 7-2:
    # short/none/1 is 5 bytes long, no PAN ID).
    f.clear()
    f.version = fr.VERSION_2015
    f.dst_mode = fr.ADDR_SHORT
    f.pan_id_compression = True
    assert fr.encode(f, b"", 0, out) == 5
    assert fr.decode(out, 5, f, False) == fr.OK and f.dst_pan == -1


def test_2015_seq_suppression_ie_and_aux_header_round_trip():
    f = fr.FrameFields()
    f.version = fr.VERSION_2015
    f.frame_type = fr.FT_DATA
    f.seq_suppressed = True
    f.ie_present = True
    f.security = True
    f.sec_level = 7
    f.key_id_mode = 3
    f.key_source[:] = bytes.fromhex("0102030405060708")
    f.key_index = 9
    f.frame_counter = 0x01020304
    f.dst_mode = fr.ADDR_SHORT
    f.dst_pan = 0xABCD
    f.dst_addr = 0xFFFF
    f.src_mode = fr.ADDR_EXT
    f.src_ext[:] = bytes.fromhex("0011223344556677")
    # One header IE (element 0x1A, 2 bytes) then HT2 (0x7F, length 0): 2015 7.4.2.
    ie = bytes([0x02, 0x0D, 0xAA, 0xBB, 0x80, 0x3F])
    f.ie[:len(ie)] = ie
    f.ie_len = len(ie)
    out = bytearray(127)
    n = fr.encode(f, b"xyz", 3, out)
    g = fr.FrameFields()
    assert fr.decode(out, n, g, False) == fr.OK
    assert g.seq_suppressed and g.seq == -1 and g.ie_present and g.ie[:g.ie_len] == ie
    assert g.sec_level == 7 and g.key_id_mode == 3 and g.key_index == 9
    assert bytes(g.key_source) == bytes.fromhex("0102030405060708")
    assert g.frame_counter == 0x01020304
    assert out[g.header_len:n] == b"xyz"
    # Aux header on air: SC 0x1F, counter LE, key source LE, index.
    assert out[f.aux_offset:f.aux_offset + 14] == bytes.fromhex("1F04030201080706050403020109")


def test_every_type_mode_version_round_trips():
    f = fr.FrameFields()
    g = fr.FrameFields()
    out = bytearray(127)
    count = 0
    for version in (0, 1, 2):
        for ft in (fr.FT_BEACON, fr.FT_DATA, fr.FT_ACK, fr.FT_CMD):
            for dm in (0, 2, 3):
                for sm in (0, 2, 3):
                    for comp in (False, True):
                        for sec in (False, True):
                            if sec and version == 0:
                                continue
                            f.clear()
                            f.version = version
                            f.frame_type = ft
                            f.dst_mode = dm
                            f.src_mode = sm
                            f.pan_id_compression = comp
                            f.security = sec
                            f.sec_level = 5
                            f.key_id_mode = 2
                            f.key_source[:4] = b"\x11\x22\x33\x44"
                            f.key_index = 3
                            f.frame_counter = 77
                            f.frame_pending = True
                            f.seq = 200
                            f.dst_pan, f.src_pan = 0x0102, 0x0304
                            f.dst_addr, f.src_addr = 0x0506, 0x0708
                            f.dst_ext[:] = b"ABCDEFGH"
                            f.src_ext[:] = b"abcdefgh"
                            if version < 2 and comp and (dm == 0) != (sm == 0):
                                # 2006 7.2.1.1.5: not a frame (see the test below).
                                raises(ValueError, fr.encode, f, b"\x09\x08", 2, out)
                                continue
                            n = fr.encode(f, b"\x09\x08", 2, out)
                            n = append_fcs(out, n)
                            assert fr.decode(out, n, g, True) == fr.OK
                            assert (g.version, g.frame_type, g.dst_mode, g.src_mode) == (
                                version, ft, dm, sm)
                            assert g.security == sec and g.frame_pending and g.seq == 200
                            if dm == 2:
                                assert g.dst_addr == 0x0506
                            if sm == 3:
                                assert g.src_ext == b"abcdefgh"
                            if sec:
                                assert g.key_source[:4] == b"\x11\x22\x33\x44"
                                assert g.frame_counter == 77 and g.key_index == 3
                            assert out[g.header_len:g.header_len + 2] == b"\x09\x08"
                            count += 1
    # Less the 2003 secured frames and the 2003/2006 one-address compressed frames.
    assert count == 3 * 4 * 9 * 2 * 2 - 4 * 9 * 2 - (2 + 1) * 4 * 4


def test_malformed_frames_give_error_codes():
    f = fr.FrameFields()
    buf = bytearray(bytes.fromhex("6188072B1A000005010102") + b"\x00\x00")
    n = append_fcs(buf, 11)
    assert fr.decode(buf, n, f) == fr.OK
    for cut in range(3, 9):  # the MHR is 9 bytes
        assert fr.decode(buf, cut, f, False) == fr.ERR_SHORT, cut
    buf[5] ^= 0xFF
    assert fr.decode(buf, n, f) == fr.ERR_FCS
    assert fr.decode(b"\x61\x84\x07", 3, f, False) == fr.ERR_ADDR_MODE  # dst mode 1
    assert fr.decode(b"\x64\x88\x07", 3, f, False) == fr.ERR_FRAME_TYPE  # type 4
    assert fr.decode(b"\x61\xB8\x07", 3, f, False) == fr.ERR_VERSION  # version 3
    assert fr.decode(bytes(130), 130, f, False) == fr.ERR_TOO_LONG
    # 2003 frame with security enabled: its header format is not supported.
    assert fr.decode(bytes.fromhex("69880700000000000000"), 10, f, False) == fr.ERR_SECURITY


def test_beacon_with_pending_addresses_round_trip():
    b = cmd.BeaconFields()
    b.association_permit = True
    b.n_short = 2
    b.pending_short[0] = 0x0101
    b.pending_short[1] = 0x0202
    b.n_ext = 1
    b.pending_ext[0][:] = b"\x00\x04\xA3\x0B\x00\x00\x00\x01"
    out = bytearray(64)
    end = cmd.encode_beacon(b, b"HUB", 3, out, 0)
    # sf spec: BO 15, SO 15, final CAP 15, PAN coord, permit = 0xCFFF; GTS 0; spec 0x12.
    assert out[:4] == b"\xFF\xCF\x00\x12"
    c = cmd.BeaconFields()
    p = cmd.decode_beacon(out, 0, end, c)
    assert c.n_short == 2 and c.pending_short[1] == 0x0202 and c.pending_ext[0] == b.pending_ext[0]
    assert out[p:end] == b"HUB"
    assert cmd.beacon_fields_len(out, 0, end) == 4 + 4 + 8
    assert cmd.decode_beacon(out, 0, 6, c) == cmd.ERR_BEACON


def test_decode_and_encode_allocate_nothing():
    raw = bytearray(bytes.fromhex(_vector("mac_command_enc_mic64")["plaintext_frame_no_fcs"]))
    raw.extend(b"\x00\x00")
    n = append_fcs(raw, len(raw) - 2)
    f = fr.FrameFields()
    out = bytearray(127)
    with NoAllocation():
        err = fr.decode(raw, n, f, True)
        m = fr.encode_header(f, out)
    assert err == fr.OK and out[:m] == raw[:m]
