# CCM* and MAC frame security (firmware/han/mac/ccm.py, security.py) against the IEEE
# 802.15.4 Annex C frames and the ZigBee Annex C CCM* vector
# (tests/vectors/han/ieee802154_ccm_vectors.json); replay, MIC, key and counter handling.
# Portable: tiers 1 and 2.
import json

from han.mac import frame as fr
from han.mac import security as sec
from han.mac.ccm import CcmStar
from native import aes
from registers.counters import RamCounterStore
from support import NoAllocation

DATA = json.load(open("tests/vectors/han/ieee802154_ccm_vectors.json"))
KEY = bytes.fromhex("C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF")
SRC = bytes.fromhex("ACDE480000000001")


def _receiver(min_level=0):
    s = sec.MacSecurity(bytes(8), RamCounterStore(), min_level=min_level)
    s.keys.add(KEY, 0)
    s.devices.add(SRC, 0x0001)
    return s


def test_annex_c_frames_secure_and_open():
    for v in DATA["vectors"]:
        plain = bytes.fromhex(v["plaintext_frame_no_fcs"])
        secured = bytes.fromhex(v["secured_frame_no_fcs"])
        f = fr.FrameFields()
        buf = bytearray(127)
        buf[:len(plain)] = plain
        assert fr.decode(buf, len(plain), f, False) == fr.OK
        tx = sec.MacSecurity(SRC, RamCounterStore(), min_level=0)
        tx.keys.add(KEY, 0)
        n = tx.secure(f, buf, len(plain))
        assert buf[:n] == secured, v["name"]
        rx = _receiver()
        g = fr.FrameFields()
        buf[:n] = secured
        assert fr.decode(buf, n, g, False) == fr.OK
        assert rx.unsecure(g, buf) == sec.SEC_OK, v["name"]
        assert buf[:g.length] == plain
        # The same frame again is a replay (counter 5 no longer acceptable).
        buf[:n] = secured
        assert fr.decode(buf, n, g, False) == fr.OK
        assert rx.unsecure(g, buf) == sec.SEC_ERR_REPLAY
        assert rx.errors[sec.SEC_ERR_REPLAY] == 1


def test_zigbee_annex_c_ccm_star():
    v = DATA["zigbee_spec_ccm_star"][0]
    a = bytes.fromhex(v["a_data"])
    m = bytes.fromhex(v["plaintext"])
    buf = bytearray(a + m + bytes(v["mic_length"]))
    ks = bytearray(aes.KEY_SCHEDULE_SIZE)
    aes.aes128_key_schedule(bytes.fromhex(v["key"]), ks)
    ccm = CcmStar()
    nonce = bytes.fromhex(v["nonce"])
    n = ccm.encrypt(ks, nonce, buf, len(a), len(m), v["mic_length"])
    assert buf[len(a):n] == bytes.fromhex(v["expected_ciphertext_and_mic"])
    assert ccm.decrypt(ks, nonce, buf, len(a), len(m), v["mic_length"])
    assert buf[len(a):len(a) + len(m)] == m


# A frame-version-2 (2015) secured MAC command: Data Request (0x04), ACK requested, PAN ID
# compression, dst short 0x0000 in PAN 0x1A2B, src extended SRC, level 5 (ENC-MIC-32), key
# id mode 1, key index 1, frame counter 5, sequence number 0x33. Written by hand:
#   FCF 0xE86B, seq, dst PAN, dst, src ext (LSB first) | aux header 0D 05000000 01 | 04
# The secured form was computed with `cryptography`'s AESCCM (M = 4, a = the 21-byte MHR,
# m = the Command ID, nonce = SRC || 00000005 || 05): the Command ID is encrypted.
CMD15_PLAIN = "6BE8332B1A0000010000000048DEAC0D050000000104"
CMD15_SECURED = "6BE8332B1A0000010000000048DEAC0D05000000015067AABC7A"


def test_2015_command_frame_encrypts_the_command_id():
    tx = sec.MacSecurity(SRC, RamCounterStore(), min_level=0)
    tx.keys.add(KEY, 1, 1)
    f = fr.FrameFields()
    f.frame_type = fr.FT_CMD
    f.version = fr.VERSION_2015
    f.seq = 0x33
    f.ack_request = True
    f.pan_id_compression = True
    f.dst_mode = fr.ADDR_SHORT
    f.dst_pan = 0x1A2B
    f.dst_addr = 0x0000
    f.src_mode = fr.ADDR_EXT
    f.src_ext[:] = SRC
    f.security = True
    f.sec_level = 5
    f.key_id_mode = 1
    f.key_index = 1
    f.frame_counter = 5
    buf = bytearray(127)
    n = fr.encode(f, b"\x04", 1, buf)
    assert buf[:n] == bytes.fromhex(CMD15_PLAIN)
    n = tx.secure(f, buf, n)
    assert buf[:n] == bytes.fromhex(CMD15_SECURED)
    # Received: verified, decrypted in place, the Command ID back at the payload's start.
    rx = sec.MacSecurity(bytes(8), RamCounterStore(), min_level=5)
    rx.keys.add(KEY, 1, 1)
    rx.devices.add(SRC)
    g = fr.FrameFields()
    assert fr.decode(buf, n, g, False) == fr.OK and g.header_len == 21
    with NoAllocation():
        err = rx.unsecure(g, buf)
    assert err == sec.SEC_OK and g.payload_len == 1 and buf[:g.length] == bytes.fromhex(CMD15_PLAIN)
    # With the Command ID authenticated but left in the clear (the 2006 rule) the MIC
    # differs, so such a frame no longer opens.
    rx2 = sec.MacSecurity(bytes(8), RamCounterStore(), min_level=5)
    rx2.keys.add(KEY, 1, 1)
    rx2.devices.add(SRC)
    clear = bytearray(bytes.fromhex(CMD15_PLAIN) + bytes(4))
    ks = rx2.keys.lookup(1, bytes(8), 1)
    nonce = SRC + b"\x00\x00\x00\x05\x05"
    m = CcmStar().encrypt(ks, nonce, clear, 22, 0, 4, True)
    assert fr.decode(clear, m, g, False) == fr.OK
    assert rx2.unsecure(g, clear) == sec.SEC_ERR_MIC
    # A 2015 command frame with no Command ID at all is malformed.
    short = bytearray(bytes.fromhex(CMD15_PLAIN[:-2]) + bytes(4))
    assert fr.decode(short, 25, g, False) == fr.OK
    assert rx2.unsecure(g, short) == sec.SEC_ERR_MALFORMED


def test_tampered_frame_fails_mic_and_does_not_move_counter():
    v = DATA["vectors"][2]  # command, ENC-MIC-64
    secured = bytearray(bytes.fromhex(v["secured_frame_no_fcs"]))
    rx = _receiver()
    f = fr.FrameFields()
    for pos in (2, 20, len(secured) - 9, len(secured) - 1):  # header, payload, MIC
        buf = bytearray(secured)
        buf[pos] ^= 0x40
        if fr.decode(buf, len(buf), f, False) != fr.OK:
            continue
        assert rx.unsecure(f, buf) in (sec.SEC_ERR_MIC, sec.SEC_ERR_UNKNOWN_DEVICE)
    assert rx.errors[sec.SEC_ERR_MIC] >= 3
    buf = bytearray(secured)
    assert fr.decode(buf, len(buf), f, False) == fr.OK
    assert rx.unsecure(f, buf) == sec.SEC_OK  # the genuine frame still opens


def test_policy_errors_are_counted():
    v = DATA["vectors"][1]  # data, level 4
    secured = bytes.fromhex(v["secured_frame_no_fcs"])
    f = fr.FrameFields()
    rx = _receiver(min_level=5)
    buf = bytearray(secured)
    fr.decode(buf, len(buf), f, False)
    assert rx.unsecure(f, buf) == sec.SEC_ERR_LEVEL
    rx = sec.MacSecurity(bytes(8), RamCounterStore(), min_level=0)
    rx.keys.add(KEY, 0)
    assert rx.unsecure(f, buf) == sec.SEC_ERR_UNKNOWN_DEVICE
    rx = sec.MacSecurity(bytes(8), RamCounterStore(), min_level=0)
    rx.keys.add(KEY, 1, 1)  # a key for key id mode 1 does not match mode 0
    rx.devices.add(SRC)
    assert rx.unsecure(f, buf) == sec.SEC_ERR_UNKNOWN_KEY
    assert rx.errors[sec.SEC_ERR_UNKNOWN_KEY] == 1


def test_outgoing_counter_survives_reboot_without_reuse():
    store = RamCounterStore()
    c = sec.OutgoingCounter(store, b"k", reserve=16)
    used = [c.take() for _ in range(20)]
    assert used == list(range(20))
    assert store.saves == 2  # reserved 0..15, then 16..31
    c2 = sec.OutgoingCounter(store, b"k", reserve=16)  # "reboot": resumes past the block
    assert c2.take() == 32
    store.save(b"x", sec.COUNTER_LAST - 1)
    c3 = sec.OutgoingCounter(store, b"x", reserve=16)
    assert c3.take() == sec.COUNTER_LAST - 1
    assert c3.take() == -1 and c3.take() == -1  # exhausted: never wraps


def test_short_source_uses_device_table_ext_for_nonce():
    # Sender with ext SRC sends with a short source address; the receiver finds the ext
    # address in its device table by the short one.
    tx = sec.MacSecurity(SRC, RamCounterStore(), min_level=0)
    tx.keys.add(KEY, 1, 7)
    f = fr.FrameFields()
    f.frame_type = fr.FT_DATA
    f.dst_mode = f.src_mode = fr.ADDR_SHORT
    f.pan_id_compression = True
    f.dst_pan = 0x1A2B
    f.src_addr = 0x0001
    f.security = True
    f.sec_level = 7
    f.key_id_mode = 1
    f.key_index = 7
    assert tx.prepare(f) == sec.SEC_OK and f.frame_counter == 0
    buf = bytearray(127)
    n = fr.encode(f, b"meter reading", 13, buf)
    n = tx.secure(f, buf, n)
    assert n == 9 + 6 + 13 + 16
    rx = sec.MacSecurity(bytes(8), RamCounterStore(), min_level=5)
    rx.keys.add(KEY, 1, 7)
    rx.devices.add(SRC, 0x0001)
    g = fr.FrameFields()
    assert fr.decode(buf, n, g, False) == fr.OK
    with NoAllocation():
        err = rx.unsecure(g, buf)
    assert err == sec.SEC_OK and buf[g.header_len:g.header_len + g.payload_len] == b"meter reading"


def test_secure_allocates_nothing():
    tx = sec.MacSecurity(SRC, RamCounterStore(), min_level=0)
    tx.keys.add(KEY, 0)
    v = DATA["vectors"][2]
    plain = bytes.fromhex(v["plaintext_frame_no_fcs"])
    buf = bytearray(127)
    buf[:len(plain)] = plain
    f = fr.FrameFields()
    fr.decode(buf, len(plain), f, False)
    with NoAllocation():
        n = tx.secure(f, buf, len(plain))
    assert buf[:n] == bytes.fromhex(v["secured_frame_no_fcs"])
