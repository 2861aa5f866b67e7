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
from micropython import const

from han.mac.ccm import CcmStar
from han.mac.frame import read_ext, write_ext
from native.aes import aes128_key_schedule, KEY_SCHEDULE_SIZE

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


def parse_aux(buf, off, n, aux):
    """Decode the auxiliary header at buf[off:n] into aux; return its length. Raises
    ValueError when the frame ends inside it."""
    if off + 1 > n or n > len(buf):
        raise ValueError("auxiliary header truncated")
    sc = buf[off]
    k = aux_len(sc)
    if off + k > n:
        raise ValueError("auxiliary header truncated")
    aux.level = sc & 7
    aux.key_id = (sc >> 3) & 3
    aux.ext_nonce = bool(sc & _SC_EXT_NONCE)
    p = off + 1
    aux.frame_counter = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)
    p += 4
    if aux.ext_nonce:
        read_ext(buf, p, aux.src64)
        p += 8
    aux.key_seq = buf[p] if aux.key_id == KEY_NETWORK else 0
    aux.length = k
    return k


def build_aux(aux, out, off):
    """Write aux (with its level as given) at out[off:]; return its length."""
    sc = (aux.level & 7) | ((aux.key_id & 3) << 3)
    if aux.ext_nonce:
        sc |= _SC_EXT_NONCE
    k = aux_len(sc)
    if off + k > len(out):
        raise ValueError("buffer too small")
    out[off] = sc
    p = off + 1
    c = aux.frame_counter
    out[p] = c & 0xFF
    out[p + 1] = (c >> 8) & 0xFF
    out[p + 2] = (c >> 16) & 0xFF
    out[p + 3] = (c >> 24) & 0xFF
    p += 4
    if aux.ext_nonce:
        write_ext(out, p, aux.src64)
        p += 8
    if aux.key_id == KEY_NETWORK:
        out[p] = aux.key_seq & 0xFF
    aux.length = k
    return k


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
        if len(key) == KEY_SCHEDULE_SIZE:
            return key
        if len(key) != 16:
            raise ValueError("key must be 16 bytes or a key schedule")
        aes128_key_schedule(key, self._ks)
        return self._ks

    def _nonce_for(self, buf, aux_off, sc, src64):
        # src64 (written order) reversed gives the on-air order the nonce uses.
        nonce = self._nonce
        for i in range(8):
            nonce[i] = src64[7 - i]
        for i in range(4):
            nonce[8 + i] = buf[aux_off + 1 + i]
        nonce[12] = sc
        return nonce

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
        ks = self._schedule(key)
        on_air = buf[hdr_len]
        sc = (on_air & 0xF8) | level
        buf[hdr_len] = sc  # a and the nonce use the restored level
        ok = self._ccm.decrypt(ks, self._nonce_for(buf, hdr_len, sc, src64), buf, a_len,
                               c_len, mic)
        buf[hdr_len] = on_air
        if not ok:
            raise ValueError("MIC check failed")  # also APS (han/aps/security.py)
        return c_len

    def encrypt(self, buf, hdr_len, payload, payload_len, key, aux,
                level=LEVEL_ENC_MIC_32):
        """Secure a frame in place: buf[0:hdr_len] is the NWK header (security bit set);
        writes aux (frame counter, src64, key id and key sequence number taken from it)
        after it, then payload[0:payload_len] (None: already in place after the
        auxiliary header), encrypts and appends the MIC; the control byte goes on air
        with level 0. Returns the frame length."""
        if not 4 <= level <= 7:  # ZigBee PRO encrypts (level 5); MIC-only not supported
            raise ValueError("bad security level")
        saved = aux.level
        aux.level = level
        k = build_aux(aux, buf, hdr_len)
        aux.level = saved
        mic = _MIC_LEN[level & 3]
        a_len = hdr_len + k
        total = a_len + payload_len + mic
        if total > len(buf):
            raise ValueError("buffer too small")
        if payload is not None:
            for i in range(payload_len):
                buf[a_len + i] = payload[i]
        ks = self._schedule(key)
        sc = buf[hdr_len]
        self._ccm.encrypt(ks, self._nonce_for(buf, hdr_len, sc, aux.src64), buf, a_len,
                          payload_len, mic)
        buf[hdr_len] = sc & 0xF8  # nwkSecurityLevel is not sent (4.3.1.1 step 7)
        return total
