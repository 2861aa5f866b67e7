# Secret keys the trust centre makes: each device's trust-centre link key (R21 Request
# Key, ZigBee 4.6.3.5) and, when none is provisioned, the first network key. They must be
# unpredictable to everyone else in the house, including the other members of the
# network (they all hold the network key).
#
# - From the board's random source when it has one (hal entropy: os.urandom, i.e. the
#   ESP32's and the STM32's hardware RNG, or the host's).
# - On a board without one (the emulated MPS2-AN385 has no RNG and its clock is
#   deterministic under icount) from a provisioned secret no HAN member holds (the
#   configuration key): HMAC-MMO (ZigBee B.1.4) of that secret over the key's purpose,
#   the address it is for, and the node's outgoing NWK and APS frame counters, which are
#   persisted by reservation and never repeat (han/nwk/store.py), so no two keys are
#   alike. Without either, the coordinator refuses to start: a key drawn from a seeded
#   PRNG would be guessable from the device's address.
from micropython import const

from han.tc.keys import hmac_mmo, mmo_hash

PURPOSE_NETWORK_KEY = const(1)
PURPOSE_TC_LINK_KEY = const(2)
KEY_LEN = const(16)


class KeyGenerator:
    def __init__(self, entropy=None, secret=None):
        if entropy is None and not secret:
            raise ValueError("no random source on this board: the HAN trust centre needs a "
                             "provisioned config_key to derive its keys")
        self.entropy = entropy
        # Domain separation: the configuration path's HMAC key is not used as is.
        self._secret = None if entropy is not None else mmo_hash(b"han keys" + bytes(secret))
        self._msg = bytearray(1 + 8 + 8)

    def fill(self, out, purpose, ext, st):
        """Write a fresh 16-byte key into out. st: han.nwk.store.NetState (its counters)."""
        if self.entropy is not None:
            r = self.entropy(KEY_LEN)
            for i in range(KEY_LEN):
                out[i] = r[i]
            return
        m = self._msg
        m[0] = purpose
        for i in range(8):
            m[1 + i] = ext[i]
        a = st.nwk_out
        b = st.aps_out
        for i in range(4):
            m[9 + i] = (a >> (8 * i)) & 0xFF
            m[13 + i] = (b >> (8 * i)) & 0xFF
        k = hmac_mmo(self._secret, m)
        for i in range(KEY_LEN):
            out[i] = k[i]


class PrngKeys:
    """Keys from a seeded PRNG: for simulations and tests only (predictable)."""

    def __init__(self, rand_bits):
        self.rand_bits = rand_bits

    def fill(self, out, purpose, ext, st):
        for i in range(KEY_LEN):
            out[i] = self.rand_bits(8)
