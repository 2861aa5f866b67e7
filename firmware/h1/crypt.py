# Encrypted P1 framing: DLMS general-glo-ciphering with security suite 0 (AES-128-GCM), as
# the Luxembourg Smarty P1 specification 1.1.3 3.2.5 defines it:
#
#   DB | 08 | system title (8) | length (BER) | 30 | frame counter (4, big endian)
#      | ciphertext | GCM tag (12)
#
#   IV  = system title || frame counter            (96 bits)
#   AAD = 30 || authentication key (16 bytes)       (the key is public and fixed: 3.4.1)
#   length = 17 + plaintext length (security control, counter, data, tag)
#
# The frame counter increments after each frame, must never repeat for one key (so it is
# persisted through a store), and at 0xFFFFFFFF the meter stops sending (3.2.5). The store
# keeps, per key, the first counter value not yet handed out; counters are reserved in blocks
# so that a flash store is written once per block, and a power cut only skips values.
from micropython import const

from native.gcm import gcm_encrypt, gcm_key, GcmKey
from native.aes import aes128_encrypt_block

SMARTY_AUTHENTICATION_KEY = b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xAA\xBB\xCC\xDD\xEE\xFF"
_TAG_GENERAL_GLO_CIPHERING = const(0xDB)  # DLMS Green Book: general-glo-ciphering APDU
_SECURITY_CONTROL = const(0x30)  # authenticated and encrypted, suite 0, key 0 (unicast)
_TAG_LEN = const(12)  # 3.2.5: tag length 96 bits
COUNTER_LAST = const(0xFFFFFFFF)  # 3.2.5: reaching it stops the sending
_KEY_ID_BLOCK = b"P1 frame counter"  # encrypted under the key to name it in the store


def frame_overhead(length):
    """Bytes the framing adds to a plaintext of `length` bytes."""
    n = length + 17
    return 2 + 8 + (1 if n < 0x80 else 2 if n < 0x100 else 3) + 5 + _TAG_LEN


class FrameEncryptor:
    """Wraps plaintext telegrams into Smarty frames in self.frame (preallocated)."""

    def __init__(self, key, system_title, store, max_plaintext, reserve=16,
                 authentication_key=SMARTY_AUTHENTICATION_KEY):
        if len(system_title) != 8:
            raise ValueError("system title must be 8 bytes")
        self._gk = gcm_key(key) if not isinstance(key, GcmKey) else key
        self.key_id = bytearray(16)
        aes128_encrypt_block(self._gk.ks, _KEY_ID_BLOCK, self.key_id)
        self.key_id = bytes(self.key_id[:8])  # a key check value, not the key itself
        self.system_title = bytes(system_title)
        self._store = store
        self._reserve = reserve
        self.counter = store.load(self.key_id)
        self._reserved_to = self.counter
        self._aad = bytearray(17)
        self._aad[0] = _SECURITY_CONTROL
        for i in range(16):
            self._aad[1 + i] = authentication_key[i]
        self._iv = bytearray(12)
        for i in range(8):
            self._iv[i] = system_title[i]
        self._tag = bytearray(_TAG_LEN)
        self.frame = bytearray(max_plaintext + frame_overhead(max_plaintext))
        self.length = 0

    @property
    def exhausted(self):
        return self.counter >= COUNTER_LAST

    def encrypt(self, src, length):
        """Frame src[0:length]; returns the frame length in self.frame, or 0 when the counter
        is exhausted (nothing may be sent any more with this key)."""
        counter = self.counter
        if counter >= COUNTER_LAST:
            return 0
        if counter >= self._reserved_to:
            # Persist before use: after a reset the counter resumes past this block.
            limit = counter + self._reserve
            if limit > COUNTER_LAST:
                limit = COUNTER_LAST
            self._store.save(self.key_id, limit)
            self._reserved_to = limit
        f = self.frame
        f[0] = _TAG_GENERAL_GLO_CIPHERING
        f[1] = 8
        for i in range(8):
            f[2 + i] = self.system_title[i]
        n = length + 17
        p = 10
        if n >= 0x100:  # BER definite length, long form (X.690 8.1.3.5)
            f[p] = 0x82
            f[p + 1] = n >> 8
            f[p + 2] = n & 0xFF
            p += 3
        elif n >= 0x80:
            f[p] = 0x81
            f[p + 1] = n
            p += 2
        else:
            f[p] = n
            p += 1
        f[p] = _SECURITY_CONTROL
        iv = self._iv
        for i in range(4):
            b = (counter >> (24 - 8 * i)) & 0xFF
            f[p + 1 + i] = b
            iv[8 + i] = b
        p += 5
        gcm_encrypt(self._gk, iv, self._aad, src, length, f, p, self._tag)
        p += length
        for i in range(_TAG_LEN):
            f[p + i] = self._tag[i]
        self.counter = counter + 1
        self.length = p + _TAG_LEN
        return self.length
