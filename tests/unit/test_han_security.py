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
