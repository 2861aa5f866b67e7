# ZigBee APS frame security (ZigBee spec 05-3474, 4.4.1 and 4.5): the APS auxiliary header
# and CCM* at level 5 with a caller-given 16-byte key.
#
#   secured frame:  APS header | auxiliary header | encrypted payload | MIC (4)
#   The auxiliary header and the nonce have the NWK layout (4.5.1, 4.5.2.2), so the
#   parsing and CCM* of han.nwk.security are reused rather than copied; what differs is
#   the key identifier (4.5.1.1.2): 0 data (link) key, 2 key-transport key, 3 key-load
#   key. Key id 1 (network key) does not occur in ZigBee PRO APS frames and is refused.
#   The level goes on air as 0 and is restored to 5 before the nonce and the AAD:
#     a = APS header || auxiliary header (level restored)
#     nonce = source address (on-air, LE) || frame counter (LE) || control (restored)
#   The key-transport and key-load keys are derived by the caller with
#   han.tc.keys.key_transport_key / key_load_key from the link key.
# APS security works on a buffer whose APS header starts at index 0 (CCM* authenticates
# from the buffer start): callers that hold the APS frame inside a larger frame move it,
# or pass a memoryview made once for the frame.
import micropython
from micropython import const

from han.nwk.security import (AuxHeader, NwkSecurity, build_aux, parse_aux,
                              LEVEL_ENC_MIC_32)

KEY_DATA = const(0)
KEY_TRANSPORT = const(2)
KEY_LOAD = const(3)

__all__ = ("AuxHeader", "ApsSecurity", "build_aux", "parse_aux", "KEY_DATA",
           "KEY_TRANSPORT", "KEY_LOAD", "LEVEL_ENC_MIC_32")


class ApsSecurity:
    """CCM* for APS frames. Not reentrant (holds the NWK security scratch it delegates
    to). `key` takes 16 bytes or a native.aes key schedule."""

    def __init__(self):
        self._sec = NwkSecurity()
        self.aux = self._sec.aux  # the auxiliary header of the last frame handled

    @micropython.native  # the Python around NwkSecurity's C path: machine code if possible
    def decrypt(self, buf, n, key, hdr_len, src64=None):
        """Open the secured APS frame buf[0:n] whose APS header is hdr_len bytes long,
        in place; return the plaintext length (it starts at hdr_len + self.aux.length).
        src64 (written order) is the sender's address when the auxiliary header has no
        extended nonce. Raises ValueError when malformed or the MIC is bad."""
        if hdr_len >= n or n > len(buf):
            raise ValueError("APS frame truncated")
        k = (buf[hdr_len] >> 3) & 3
        if k != KEY_DATA and k != KEY_TRANSPORT and k != KEY_LOAD:
            raise ValueError("bad APS key identifier")
        return self._sec.decrypt(buf, n, key, hdr_len, LEVEL_ENC_MIC_32, src64)

    @micropython.native
    def encrypt(self, buf, hdr_len, payload, payload_len, key, aux):
        """Secure a frame in place: buf[0:hdr_len] is the APS header (security bit
        set); writes aux after it, then payload[0:payload_len] (None: already in
        place), encrypts and appends the MIC. Returns the frame length."""
        k = aux.key_id
        if k != KEY_DATA and k != KEY_TRANSPORT and k != KEY_LOAD:
            raise ValueError("bad APS key identifier")
        return self._sec.encrypt(buf, hdr_len, payload, payload_len, key, aux,
                                 LEVEL_ENC_MIC_32)
