# Matyas-Meyer-Oseas hash on AES-128 (ZigBee specification 05-3474, B.6), fed in pieces.
#
# han.tc.keys.mmo_hash hashes a message it holds whole; an OTA file arrives in blocks of a
# few dozen octets and can be larger than RAM, so this one keeps the chaining value and the
# partial message block between calls:
#
#   h = Mmo(); h.update(buf, start, stop) ...; h.finish()  -> h.digest (16-byte bytearray)
#
# update() and finish() allocate nothing (the caller's buffer is read by index, never
# sliced); the hash is limited to messages below 2^26 octets so the bit count stays a small
# int on 32-bit ports. Results equal han.tc.keys.mmo_hash (and the B.6 / C.5 vectors).
from micropython import const

from native import aes

_BLOCK = const(16)  # AES-128 block: B.6 with n = 128 bits
_SHORT_LIMIT = const(0x2000)  # B.6: messages under 2^16 bits (8192 octets) get a 16-bit length
_MAX_OCTETS = const(0x4000000)  # our limit (2^26 octets): bit counts stay below 2^30


class Mmo:
    def __init__(self):
        self.digest = bytearray(_BLOCK)  # chaining value H_j; the hash after finish()
        self._m = bytearray(_BLOCK)  # message block being filled
        self._c = bytearray(_BLOCK)
        self._ks = bytearray(aes.KEY_SCHEDULE_SIZE)
        self._k = 0  # octets in _m
        self.length = 0  # octets hashed so far
        self.reset()

    def reset(self):
        h = self.digest
        for i in range(_BLOCK):
            h[i] = 0  # B.6: H_0 = 0^n
        self._k = 0
        self.length = 0

    def _compress(self):
        # H_j = E(H_{j-1}, M_j) xor M_j (B.6.2): the chaining value is the AES key.
        h = self.digest
        m = self._m
        c = self._c
        aes.aes128_key_schedule(h, self._ks)
        aes.aes128_encrypt_block(self._ks, m, c)
        for i in range(_BLOCK):
            h[i] = c[i] ^ m[i]

    def update(self, buf, start, stop):
        """Hash buf[start:stop] (any buffer indexable by int); False when the message would
        pass the length limit (nothing is hashed then)."""
        if self.length + (stop - start) >= _MAX_OCTETS:
            return False
        m = self._m
        k = self._k
        for p in range(start, stop):
            m[k] = buf[p]
            k += 1
            if k == _BLOCK:
                self._compress()
                k = 0
        self._k = k
        self.length += stop - start
        return True

    def finish(self):
        """Pad (B.6.1: a 1 bit, zeros, then the bit length in 16 bits, or in 32 bits and 16
        zero bits from 2^16 bits on) and leave the hash in self.digest."""
        m = self._m
        k = self._k
        bits = self.length << 3
        tail = 2 if self.length < _SHORT_LIMIT else 6
        m[k] = 0x80
        k += 1
        if k > _BLOCK - tail:
            for i in range(k, _BLOCK):
                m[i] = 0
            self._compress()
            k = 0
        for i in range(k, _BLOCK):
            m[i] = 0
        if tail == 2:
            m[14] = (bits >> 8) & 0xFF
            m[15] = bits & 0xFF
        else:  # 32-bit length at octets 10..13, octets 14 and 15 stay zero
            m[10] = (bits >> 24) & 0xFF
            m[11] = (bits >> 16) & 0xFF
            m[12] = (bits >> 8) & 0xFF
            m[13] = bits & 0xFF
        self._compress()
        self._k = 0
        return self.digest
