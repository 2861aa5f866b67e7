# ZigBee NWK frame security (ZigBee spec 05-3474, 4.3.1 and 4.5): the auxiliary frame
# header and CCM* with the ZigBee nonce, on han.mac.ccm's CCM* (no second copy of it).
#
#   secured frame:  NWK header | auxiliary header | encrypted payload | MIC
#   auxiliary header (4.5.1): security control (1) | frame counter (4, LE)
#       | source address (8, LE, when extended nonce) | key sequence number (1, key id 1)
#   security control (4.5.1.1): bits 0-2 level, 3-4 key identifier, 5 extended nonce.
#
# The level is not sent: the control byte goes on air with level 0 and the receiver
# restores nwkSecurityLevel (5, ENC-MIC-32) before building the nonce and the
# authenticated data (4.3.1.1 step 7, 4.3.1.2 step 4):
#   nonce (4.5.2.2) = source address (on-air, LE order) || frame counter (LE)
#                     || security control with the level restored
#   a = NWK header || auxiliary header (level restored); m = the NWK payload.
# Work is in place in the caller's frame buffer; nothing is allocated on success.
#
# Two paths, bit-identical (tests/unit/test_han_nwk_sec_paths.py): the auxiliary header
# codec and the frame's CCM* with the ZigBee nonce in C where the _aes natmod carries them
# (native.aes.zigbee_*_native, firmware/native/_aes/zigbee_sec.c: no Python byte loop on
# the way), else the Python below around han.mac.ccm's CCM*. parse_aux, build_aux and
# zigbee_ccm are module globals bound to the path in use; a benchmark or a test rebinds
# them (to parse_aux_python, build_aux_python, None) to run the Python path.
import micropython
from micropython import const

from han.mac.ccm import CcmStar, check_lengths
from native.aes import (aes128_key_schedule, zigbee_build_aux_native, zigbee_ccm_native,
                        zigbee_parse_aux_native, KEY_SCHEDULE_SIZE)

LEVEL_ENC_MIC_32 = const(5)  # nwkSecurityLevel of ZigBee PRO (4.3.1, Table 4-37)

# Key identifiers, 4.5.1.1.2 (Table 4-39).
KEY_DATA = const(0)
KEY_NETWORK = const(1)
KEY_TRANSPORT = const(2)
KEY_LOAD = const(3)

_SC_EXT_NONCE = const(0x20)  # 4.5.1.1.3
_MIC_LEN = b"\x00\x04\x08\x10"  # by level & 3 (4.5.1.1.1, Table 4-38)


class AuxHeader:
    """The fields of one auxiliary header; src64 in written order (MSB first)."""

    def __init__(self):
        self.src64 = bytearray(8)
        self.clear()

    def clear(self):
        self.level = 0  # as on air (0 from ZigBee PRO senders)
        self.key_id = KEY_NETWORK
        self.ext_nonce = True
        self.frame_counter = 0
        self.key_seq = 0
        self.length = 0


def aux_len(sc):
    """Length of the auxiliary header that starts with security control byte sc."""
    n = 5
    if sc & _SC_EXT_NONCE:
        n += 8
    if (sc >> 3) & 3 == KEY_NETWORK:
        n += 1
    return n


# The byte work is unrolled (no loop counters) and compiled to machine code where the port
# has a native emitter: this is the path of boards whose natmod lacks zigbee_sec.c.
@micropython.native
def parse_aux_python(buf, off, n, aux):
    """parse_aux on the Python path."""
    if off < 0 or off + 1 > n or n > len(buf):
        raise ValueError("auxiliary header truncated")
    sc = buf[off]
    k = aux_len(sc)
    if off + k > n:
        raise ValueError("auxiliary header truncated")
    key_id = (sc >> 3) & 3
    aux.level = sc & 7
    aux.key_id = key_id
    aux.ext_nonce = bool(sc & _SC_EXT_NONCE)
    p = off + 1
    aux.frame_counter = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)
    p += 4
    if sc & _SC_EXT_NONCE:
        d = aux.src64  # on air least significant byte first, kept most significant first
        d[7] = buf[p]
        d[6] = buf[p + 1]
        d[5] = buf[p + 2]
        d[4] = buf[p + 3]
        d[3] = buf[p + 4]
        d[2] = buf[p + 5]
        d[1] = buf[p + 6]
        d[0] = buf[p + 7]
        p += 8
    aux.key_seq = buf[p] if key_id == KEY_NETWORK else 0
    aux.length = k
    return k


@micropython.native
def build_aux_python(aux, out, off):
    """build_aux on the Python path."""
    sc = (aux.level & 7) | ((aux.key_id & 3) << 3)
    ext = aux.ext_nonce
    if ext:
        sc |= _SC_EXT_NONCE
    c = aux.frame_counter
    s = aux.src64 if ext else None
    key_seq = aux.key_seq if (sc >> 3) & 3 == KEY_NETWORK else 0
    k = aux_len(sc)
    if off < 0 or off + k > len(out):
        raise ValueError("buffer too small")
    out[off] = sc
    p = off + 1
    out[p] = c & 0xFF
    out[p + 1] = (c >> 8) & 0xFF
    out[p + 2] = (c >> 16) & 0xFF
    out[p + 3] = (c >> 24) & 0xFF
    p += 4
    if ext:
        out[p] = s[7]
        out[p + 1] = s[6]
        out[p + 2] = s[5]
        out[p + 3] = s[4]
        out[p + 4] = s[3]
        out[p + 5] = s[2]
        out[p + 6] = s[1]
        out[p + 7] = s[0]
        p += 8
    if (sc >> 3) & 3 == KEY_NETWORK:
        out[p] = key_seq & 0xFF
    aux.length = k
    return k


# parse_aux(buf, off, n, aux): decode the auxiliary header at buf[off:n] into aux; return
#   its length. Raises ValueError when the frame ends inside it.
# build_aux(aux, out, off): write aux (with its level as given; the key sequence number
#   when the key id is 1) at out[off:]; return its length (also set as aux.length).
#   Raises ValueError when out is too small.
parse_aux = zigbee_parse_aux_native or parse_aux_python
build_aux = zigbee_build_aux_native or build_aux_python
# zigbee_ccm(ks, src64, buf, hdr_len, a_len, payload, m_len, mic_len, level, decrypt): see
# NwkSecurity._ccm_python; None: that Python path.
zigbee_ccm = zigbee_ccm_native
IMPLEMENTATION = "natmod" if zigbee_ccm_native else "python"


class NwkSecurity:
    """CCM* for NWK frames. Not reentrant: holds the CCM* scratch blocks, the nonce and
    a key schedule scratch. `key` arguments take a 16-byte key (expanded on each call)
    or a precomputed schedule of KEY_SCHEDULE_SIZE bytes (native.aes)."""

    def __init__(self):
        self._ccm = CcmStar()
        self._nonce = bytearray(13)
        self._ks = bytearray(KEY_SCHEDULE_SIZE)
        self.aux = AuxHeader()  # the auxiliary header of the last frame handled

    def _schedule(self, key):
        # A 16-byte key is expanded on each call: in C that costs less than a cache
        # lookup would (about 1 400 instructions on the emulated board).
        if len(key) != 16:
            raise ValueError("key must be 16 bytes or a key schedule")
        aes128_key_schedule(key, self._ks)
        return self._ks

    @micropython.native
    def _ccm_python(self, ks, src64, buf, hdr_len, a_len, payload, m_len, mic_len, level,
                    decrypt):
        # zigbee_ccm on the Python path. CCM* of the frame in buf: NWK/APS header
        # buf[0:hdr_len], the auxiliary header after it up to a_len, m_len bytes of
        # payload (encrypt: payload[0:m_len] copied there first unless payload is None),
        # then the MIC (mic_len bytes). The control byte carries `level` for a and the
        # nonce, and afterwards goes out with level 0 (encrypt) or is left as it was on
        # air (decrypt). Returns the frame length (encrypt) or whether the MIC verifies.
        # Every check first, so that a refused call leaves buf as it was (as the C path).
        if hdr_len < 0 or a_len < hdr_len + 5 or len(ks) < KEY_SCHEDULE_SIZE:
            raise ValueError("bad CCM* lengths")
        check_lengths(buf, a_len, m_len, mic_len)
        if not decrypt and payload is not None and len(payload) < m_len:
            raise ValueError("buffer too short")
        on_air = buf[hdr_len]
        sc = (on_air & 0xF8) | (level & 7)
        # Nonce (4.5.2.2): src64 (written order) reversed gives the on-air order.
        nonce = self._nonce
        nonce[0] = src64[7]
        nonce[1] = src64[6]
        nonce[2] = src64[5]
        nonce[3] = src64[4]
        nonce[4] = src64[3]
        nonce[5] = src64[2]
        nonce[6] = src64[1]
        nonce[7] = src64[0]
        p = hdr_len + 1
        nonce[8] = buf[p]
        nonce[9] = buf[p + 1]
        nonce[10] = buf[p + 2]
        nonce[11] = buf[p + 3]
        nonce[12] = sc
        if decrypt:
            buf[hdr_len] = sc  # a uses the restored level (4.3.1.2 step 4)
            ok = self._ccm.decrypt(ks, nonce, buf, a_len, m_len, mic_len)
            buf[hdr_len] = on_air
            return ok
        if payload is not None:
            for i in range(m_len):
                buf[a_len + i] = payload[i]
        buf[hdr_len] = sc
        n = self._ccm.encrypt(ks, nonce, buf, a_len, m_len, mic_len)
        buf[hdr_len] = sc & 0xF8  # nwkSecurityLevel is not sent (4.3.1.1 step 7)
        return n

    @micropython.native  # the Python around the C path: machine code where possible
    def decrypt(self, buf, n, key, hdr_len, level=LEVEL_ENC_MIC_32, src64=None):
        """Open the secured frame buf[0:n] whose NWK header is hdr_len bytes long, in
        place; return the plaintext length (the plaintext starts at hdr_len +
        self.aux.length). src64 (written order) is the sender's address for a frame
        without extended nonce. Raises ValueError when malformed or the MIC is bad."""
        aux = self.aux
        k = parse_aux(buf, hdr_len, n, aux)
        mic = _MIC_LEN[level & 3]
        if not 4 <= level <= 7:  # ZigBee PRO encrypts (level 5); MIC-only not supported
            raise ValueError("bad security level")
        a_len = hdr_len + k
        c_len = n - a_len - mic
        if c_len < 0:
            raise ValueError("secured frame truncated")
        if not aux.ext_nonce:
            if src64 is None:
                raise ValueError("no source address for the nonce")
        else:
            src64 = aux.src64
        ks = key if len(key) == KEY_SCHEDULE_SIZE else self._schedule(key)
        f = zigbee_ccm  # (not f = self._ccm_python: a bound method is an allocation)
        if f is not None:
            ok = f(ks, src64, buf, hdr_len, a_len, None, c_len, mic, level, True)
        else:
            ok = self._ccm_python(ks, src64, buf, hdr_len, a_len, None, c_len, mic, level,
                                  True)
        if not ok:
            raise ValueError("MIC check failed")  # also APS (han/aps/security.py)
        return c_len

    @micropython.native
    def encrypt(self, buf, hdr_len, payload, payload_len, key, aux,
                level=LEVEL_ENC_MIC_32):
        """Secure a frame in place: buf[0:hdr_len] is the NWK header (security bit set);
        writes aux (frame counter, src64, key id and key sequence number taken from it)
        after it, then payload[0:payload_len] (None: already in place after the
        auxiliary header; else it must not overlap that place), encrypts and appends the
        MIC; the control byte goes on air with level 0. Returns the frame length."""
        if not 4 <= level <= 7:  # ZigBee PRO encrypts (level 5); MIC-only not supported
            raise ValueError("bad security level")
        a_len = hdr_len + build_aux(aux, buf, hdr_len)  # aux.level (0) here; see below
        mic = _MIC_LEN[level & 3]
        if a_len + payload_len + mic > len(buf):
            raise ValueError("buffer too small")
        ks = key if len(key) == KEY_SCHEDULE_SIZE else self._schedule(key)
        # zigbee_ccm gives the control byte `level` for a and the nonce, then sends 0.
        f = zigbee_ccm
        if f is not None:
            return f(ks, aux.src64, buf, hdr_len, a_len, payload, payload_len, mic, level,
                     False)
        return self._ccm_python(ks, aux.src64, buf, hdr_len, a_len, payload, payload_len,
                                mic, level, False)
