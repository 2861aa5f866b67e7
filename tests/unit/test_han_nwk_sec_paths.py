# ZigBee NWK/APS security (firmware/han/nwk/security.py, han/aps/security.py): the C path
# (the _aes natmod's zigbee_sec.c, where it loads: tier 2 runs the x64 one) and the Python
# path give the same bytes: the auxiliary header codec for every security control byte,
# whole NWK+APS frames (expected bytes below from `cryptography`'s AESCCM with the ZigBee
# nonce built by hand, tests/host/test_aes_ccm_kernels.py recomputes them), pseudo-random
# frames of every level; both refuse bad calls without touching the buffer; securing and
# verifying a full NWK+APS frame allocates nothing on either path (tier 2 proves it).
# Portable: tier 1 (Python path) and tier 2 (both).
import han.mac.ccm as ccm
from han.aps import security as asec
from han.nwk import security as ns
from native import aes
from support import NoAllocation, lcg_bytes, raises

NATIVE = aes.zigbee_ccm_native is not None

# A data frame: NWK header (data, version 2, security; dst 0x0000, src 0x1A2B, radius 30,
# seq 7) | NWK aux (0x28: network key, extended nonce; counter 0x101; source
# 00:11:22:33:44:55:66:77; key seq 0) | APS header (data, security; endpoints 1/1, cluster
# 0x0702, profile 0x0109, counter 5) | APS aux (0x20: data key, extended nonce, counter
# 0x33) | payload 01..0A | APS MIC | NWK MIC. Network key 00..0F, link key 10..1F.
NWK_HDR = bytes.fromhex("080200002b1a1e07")
APS_HDR = bytes.fromhex("2001020709010105")
PAYLOAD = bytes.fromhex("0102030405060708090a")
APS_SECURED = bytes.fromhex("2001020709010105203300000077665544332211005897ca5c7ce9aef6c88237"
                            "7186e6")
FRAME = bytes.fromhex("080200002b1a1e07280101000077665544332211000065afb03248e3b5ec168261f6"
                      "5f5cd8994a0cf3cb6917cd45728d6dde0a68a9aa8b1c35b43253c1")
SRC64 = bytes.fromhex("0011223344556677")


def _ks(key):
    ks = bytearray(aes.KEY_SCHEDULE_SIZE)
    aes.aes128_key_schedule(key, ks)
    return ks


def _bind(path):
    # Bind han.nwk.security (and for "python-ccm" han.mac.ccm too) to one path; returns
    # what to give _restore.
    saved = (ns.parse_aux, ns.build_aux, ns.zigbee_ccm, ccm.ccm_star_encrypt,
             ccm.ccm_star_decrypt)
    if path != "natmod":
        ns.parse_aux, ns.build_aux, ns.zigbee_ccm = (ns.parse_aux_python,
                                                     ns.build_aux_python, None)
    if path == "python-ccm":
        ccm.ccm_star_encrypt = ccm.ccm_star_decrypt = None
    return saved


def _restore(saved):
    (ns.parse_aux, ns.build_aux, ns.zigbee_ccm, ccm.ccm_star_encrypt,
     ccm.ccm_star_decrypt) = saved


def _paths():
    return (["natmod"] if NATIVE else []) + ["python", "python-ccm"]


def _aux(key_id, counter, key_seq=0):
    a = ns.AuxHeader()
    a.key_id = key_id
    a.frame_counter = counter
    a.src64[:] = SRC64
    a.key_seq = key_seq
    return a


def test_front_picks_the_c_path_where_the_natmod_has_it():
    assert ns.IMPLEMENTATION == ("natmod" if NATIVE else "python")
    assert (ns.parse_aux is aes.zigbee_parse_aux_native) == NATIVE
    assert (ns.build_aux is aes.zigbee_build_aux_native) == NATIVE
    assert (ns.zigbee_ccm is not None) == NATIVE


def test_nwk_aps_frame_on_every_path_without_allocation():
    net_ks, link_ks = _ks(bytes(range(16))), _ks(bytes(range(16, 32)))
    n_aux, a_aux = _aux(ns.KEY_NETWORK, 0x101), _aux(asec.KEY_DATA, 0x33)
    nsec, apss = ns.NwkSecurity(), asec.ApsSecurity()
    for path in _paths():
        saved = _bind(path)
        try:
            mac = bytearray(127)  # the NWK frame inside a MAC frame, as the layers hold it
            nwk = memoryview(mac)[9:125]
            aps = memoryview(mac)[9 + 8 + 14:125]
            nwk[:8] = NWK_HDR
            aps[:8] = APS_HDR
            with NoAllocation():
                n_aps = apss.encrypt(aps, 8, PAYLOAD, 10, link_ks, a_aux)
                n = nsec.encrypt(nwk, 8, None, n_aps, net_ks, n_aux)
            assert (n_aps, n) == (35, 61), path
            assert nwk[:n] == FRAME, path
            with NoAllocation():
                m = nsec.decrypt(nwk, n, net_ks, 8)
                p = apss.decrypt(aps, m, link_ks, 8)
            assert (m, p) == (35, 10), path
            assert aps[:21] == APS_SECURED[:21] and aps[21:31] == PAYLOAD, path
            assert nwk[:22] == FRAME[:22], path  # control byte left as on air (level 0)
            assert (nsec.aux.frame_counter, nsec.aux.key_seq) == (0x101, 0), path
            assert apss.aux.frame_counter == 0x33 and apss.aux.src64 == SRC64, path
            # A 16-byte key (expanded by the call) gives the same frame.
            nwk[8 + 14:8 + 14 + 35] = APS_SECURED
            assert nsec.encrypt(nwk, 8, None, 35, bytes(range(16)), n_aux) == 61
            assert nwk[:61] == FRAME, path
        finally:
            _restore(saved)


def test_aux_codec_identical_on_both_paths_for_every_control_byte_value():
    if not NATIVE:
        return  # tier 1: tests/host/test_aes_ccm_kernels.py compares zigbee_sec.c
    for sc in range(64):  # bits 6-7 are reserved (4.5.1.1): no AuxHeader field
        a = ns.AuxHeader()
        a.level, a.key_id, a.ext_nonce = sc & 7, (sc >> 3) & 3, bool(sc & 0x20)
        a.frame_counter = (sc * 0x01010101 + 0x80000000) & 0xFFFFFFFF  # above 2^31 too
        a.src64[:] = lcg_bytes(8, sc)
        a.key_seq = sc ^ 0x5A
        outs = []
        for build in (aes.zigbee_build_aux_native, ns.build_aux_python):
            out = bytearray(lcg_bytes(20, sc + 1))
            a.length = 0
            k = build(a, out, 3)
            assert k == ns.aux_len(sc) == a.length and out[3] == sc
            outs.append(out)
            # One byte short: refused, nothing written.
            short = bytearray(3 + k - 1)
            raises(ValueError, build, a, short, 3)
            assert short == bytes(3 + k - 1)
        assert outs[0] == outs[1], sc
        got = []
        for parse in (aes.zigbee_parse_aux_native, ns.parse_aux_python):
            g = ns.AuxHeader()
            assert parse(outs[0], 3, 3 + k, g) == k
            got.append((g.level, g.key_id, g.ext_nonce, g.frame_counter, bytes(g.src64),
                        g.key_seq, g.length))
            for n in range(3, 3 + k):
                raises(ValueError, parse, outs[0], 3, n, g)
        assert got[0] == got[1], sc
        assert got[0][:4] == (sc & 7, (sc >> 3) & 3, bool(sc & 0x20), a.frame_counter)
        if sc & 0x20:
            assert got[0][4] == a.src64
        assert got[0][5] == (a.key_seq if (sc >> 3) & 3 == 1 else 0)


def test_random_frames_identical_on_both_paths():
    if not NATIVE:
        return
    nsec = ns.NwkSecurity()
    for i in range(120):
        r = lcg_bytes(8, 500 + i)
        level = 4 + (r[0] & 3)
        mic = (0, 4, 8, 16)[level & 3]
        hdr_len = r[1] % 24
        key_id = r[2] & 3
        ext = bool(r[3] & 1)
        aux = _aux(key_id, (r[4] << 24) | (r[5] << 16) | i, r[6])
        aux.ext_nonce = ext
        src64 = None if ext else SRC64  # the sender's address, for the nonce
        k = ns.aux_len(0x20 * ext | key_id << 3)
        plen = r[7] % (127 - hdr_len - k - mic + 1)
        payload = lcg_bytes(plen, 700 + i)
        key = lcg_bytes(16, 800 + i)
        results = []
        for path in ("natmod", "python"):
            saved = _bind(path)
            try:
                buf = bytearray(lcg_bytes(127, i))
                n = nsec.encrypt(buf, hdr_len, payload, plen, key, aux, level)
                secured = bytes(buf)
                if not ext:
                    raises(ValueError, nsec.decrypt, buf, n, key, hdr_len, level)
                assert nsec.decrypt(buf, n, key, hdr_len, level, src64) == plen
                assert buf[hdr_len + k:hdr_len + k + plen] == payload
                bad = bytearray(secured)
                bad[(r[0] * 7 + i) % n] ^= 0x40
                if mic:  # level 4 (ENC) authenticates nothing
                    raises(ValueError, nsec.decrypt, bad, n, key, hdr_len, level, src64)
                results.append((n, secured, bytes(buf), bytes(bad)))
            finally:
                _restore(saved)
        assert results[0] == results[1], i
        assert results[0][0] == hdr_len + k + plen + mic
        assert results[0][1][hdr_len] & 7 == 0  # the level does not go on air


def test_bad_calls_refused_alike_and_buffer_untouched():
    ks = _ks(bytes(16))
    nsec = ns.NwkSecurity()
    calls = (
        (5, 4, 4, 8),     # a_len shorter than header + 5 (no frame counter in a)
        (0, 5, 120, 4),   # a + m + MIC beyond the buffer
        (2, 10, 10, 3),   # MIC length CCM* does not allow
        (2, 10, -1, 4),   # negative length
        (-1, 10, 10, 4),
    )
    paths = [("python", nsec._ccm_python)]
    if NATIVE:
        paths.append(("natmod", aes.zigbee_ccm_native))
    for name, f in paths:
        for hdr, a_len, m_len, mic in calls:
            for decrypt in (False, True):
                buf = bytearray(lcg_bytes(127, 3))
                raises(ValueError, f, ks, SRC64, buf, hdr, a_len, bytes(127), m_len, mic, 5,
                       decrypt)
                assert buf == lcg_bytes(127, 3), (name, hdr, a_len, m_len, mic)
        buf = bytearray(127)  # a payload shorter than m_len
        raises(ValueError, f, ks, SRC64, buf, 0, 5, bytes(9), 10, 4, 5, False)
        assert buf == bytes(127)
        raises(ValueError, f, bytes(16), SRC64, buf, 0, 5, None, 10, 4, 5, False)  # no schedule
        assert buf == bytes(127)
