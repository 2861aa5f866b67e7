# IEEE 802.15.4 MAC security (802.15.4-2006 7.5.8; 2020 9.2/9.3): outgoing and incoming
# frame security procedures over the caller's frame buffer, with a key table, a device
# table holding each peer's incoming frame counter (replays rejected and counted) and the
# outgoing frame counter kept through a store so that it is never reused after a reboot.
#
# Nonce (2020 9.3.2.2): source extended address (8, most significant byte first) ||
# frame counter (4, big endian) || security level (1).
from micropython import const

from han.mac import frame as fr
from han.mac.ccm import CcmStar
from han.mac.commands import beacon_fields_len
from native.aes import aes128_key_schedule, KEY_SCHEDULE_SIZE

SEC_OK = const(0)
SEC_ERR_UNKNOWN_KEY = const(1)  # UNAVAILABLE_KEY (2006 7.5.8.2.3)
SEC_ERR_UNKNOWN_DEVICE = const(2)  # no extended address for a short source address
SEC_ERR_REPLAY = const(3)  # frame counter not above the last one accepted
SEC_ERR_MIC = const(4)  # SECURITY_ERROR: the MIC did not verify
SEC_ERR_LEVEL = const(5)  # IMPROPER_SECURITY_LEVEL, or too short for its MIC
SEC_ERR_COUNTER = const(6)  # COUNTER_ERROR: counter exhausted (0xFFFFFFFF) or suppressed
SEC_ERR_MALFORMED = const(7)  # beacon fields inconsistent, etc.
SEC_ERR_COUNT = const(8)

COUNTER_LAST = const(0xFFFFFFFF)  # 2006 7.5.8.2.1: this value may not be used
_MIC_LEN = b"\x00\x04\x08\x10\x00\x04\x08\x10"  # per security level, 2006 Table 95
_COUNTER_NAME = b"154FC"  # store key prefix for the outgoing counter


def mic_len(level):
    return _MIC_LEN[level & 7]


class OutgoingCounter:
    """macFrameCounter: values are reserved `reserve` at a time in the store before use,
    so after a reset the counter resumes past the reserved block; a power cut only skips
    values, it never repeats one (the same scheme as h1/crypt.py for P1)."""

    def __init__(self, store, name, reserve=64):
        self._store = store
        self._name = bytes(name)
        self._reserve = reserve
        self.value = store.load(self._name)
        self._reserved_to = self.value

    def take(self):
        """The next counter value, or -1 when exhausted (the key must then change)."""
        c = self.value
        if c >= COUNTER_LAST:
            return -1
        if c >= self._reserved_to:
            limit = c + self._reserve
            if limit > COUNTER_LAST:
                limit = COUNTER_LAST
            self._store.save(self._name, limit)
            self._reserved_to = limit
        self.value = c + 1
        return c


def same_ext(a, b):
    """Whether two 8-byte extended addresses are equal (without slicing: no allocation)."""
    for j in range(8):
        if a[j] != b[j]:
            return False
    return True


class KeyTable:
    """Keys by (key id mode, key source, key index) (2006 7.5.8.2.2, KeyDescriptor lookup,
    reduced to one lookup data per key). Key schedules are computed once at insertion."""

    def __init__(self, size=4):
        self._mode = bytearray(size)
        self._index = bytearray(size)
        self._source = [bytearray(8) for _ in range(size)]
        self._ks = [bytearray(KEY_SCHEDULE_SIZE) for _ in range(size)]
        self._used = bytearray(size)

    def add(self, key, key_id_mode, key_index=0, key_source=None):
        for i in range(len(self._used)):
            if not self._used[i]:
                aes128_key_schedule(key, self._ks[i])
                self._mode[i] = key_id_mode
                self._index[i] = key_index
                src = self._source[i]
                for j in range(8):
                    src[j] = key_source[j] if key_source and j < len(key_source) else 0
                self._used[i] = 1
                return i
        raise ValueError("key table full")

    def lookup(self, key_id_mode, key_source, key_index):
        """The key schedule for this key identifier, or None."""
        n = 8 if key_id_mode == 3 else 4 if key_id_mode == 2 else 0
        for i in range(len(self._used)):
            if not self._used[i] or self._mode[i] != key_id_mode:
                continue
            if key_id_mode and self._index[i] != key_index:
                continue
            src = self._source[i]
            same = True
            for j in range(n):
                if src[j] != key_source[j]:
                    same = False
            if same:
                return self._ks[i]
        return None


class DeviceTable:
    """Peers: extended and short address and the next incoming frame counter each may use
    (2006 7.5.8.2.3 DeviceDescriptor, FrameCounter)."""

    def __init__(self, size=16):
        self.ext = [bytearray(8) for _ in range(size)]
        self.short = [0xFFFE] * size  # 0xFFFE: no short address (2006 7.2.1.1)
        self.next_counter = [0] * size
        self.count = 0

    def add(self, ext, short=0xFFFE):
        i = self.find_ext(ext)
        if i < 0:
            if self.count >= len(self.ext):
                raise ValueError("device table full")
            i = self.count
            self.count += 1
            e = self.ext[i]
            for j in range(8):
                e[j] = ext[j]
            self.next_counter[i] = 0
        self.short[i] = short
        return i

    def find_ext(self, ext):
        for i in range(self.count):
            if same_ext(self.ext[i], ext):
                return i
        return -1

    def find_short(self, short):
        for i in range(self.count):
            if self.short[i] == short:
                return i
        return -1


class MacSecurity:
    """Outgoing/incoming frame security for one MAC (one own extended address)."""

    def __init__(self, own_ext, store, keys=None, devices=None, reserve=64, min_level=5):
        self.own_ext = bytes(own_ext)
        self.keys = keys or KeyTable()
        self.devices = devices or DeviceTable()
        self.counter = OutgoingCounter(store, _COUNTER_NAME + self.own_ext, reserve)
        self.min_level = min_level  # incoming secured frames below it are rejected
        self.errors = [0] * SEC_ERR_COUNT
        self._ccm = CcmStar()
        self._nonce = bytearray(13)

    def _make_nonce(self, ext, counter, level):
        n = self._nonce
        for i in range(8):
            n[i] = ext[i]
        n[8] = (counter >> 24) & 0xFF
        n[9] = (counter >> 16) & 0xFF
        n[10] = (counter >> 8) & 0xFF
        n[11] = counter & 0xFF
        n[12] = level
        return n

    def _private_start(self, f, buf, end):
        # Where the encrypted part begins (2006 7.6.3.4 step c): after the MHR for data;
        # after the command identifier for 2003/2006 commands; after superframe/GTS/
        # pending address fields for beacons. Negative when the frame is malformed.
        # In frame version 2 the Command ID is the first byte of the (encrypted) payload
        # (2015 7.3.4): Wireshark reads it from the decrypted payload for 2015
        # command frames (packet-ieee802154.c, dissect_ieee802154_common) and OpenThread
        # counts it in the header only when !IsVersion2015() (mac_frame.cpp,
        # Frame::FindPayloadIndex). It must still be there, hence p < end.
        p = f.header_len
        if f.frame_type == fr.FT_CMD:
            if p >= end:
                return -1
            return p if f.version == fr.VERSION_2015 else p + 1
        if f.frame_type == fr.FT_BEACON:
            n = beacon_fields_len(buf, p, end)
            return p + n if n >= 0 else -1
        return p

    def prepare(self, f):
        """Set f's frame counter for an outgoing secured frame, before encode_header.
        Returns SEC_OK or SEC_ERR_COUNTER when the counter is exhausted."""
        c = self.counter.take()
        if c < 0:
            self.errors[SEC_ERR_COUNTER] += 1
            return SEC_ERR_COUNTER
        f.frame_counter = c
        return SEC_OK

    def secure(self, f, buf, length):
        """Outgoing frame security procedure (2006 7.5.8.2.1) on buf[0:length] as encoded
        from f; returns the new length (MIC added), or -(error code)."""
        level = f.sec_level
        ks = self.keys.lookup(f.key_id_mode, f.key_source, f.key_index)
        if ks is None:
            self.errors[SEC_ERR_UNKNOWN_KEY] += 1
            return -SEC_ERR_UNKNOWN_KEY
        m = mic_len(level)
        if length + m + 2 > fr.MAX_PHY_PACKET:
            return -SEC_ERR_LEVEL
        nonce = self._make_nonce(self.own_ext, f.frame_counter, level)
        if level & 4:
            a_len = self._private_start(f, buf, length)
            if a_len < 0:
                return -SEC_ERR_MALFORMED
            return self._ccm.encrypt(ks, nonce, buf, a_len, length - a_len, m, True)
        return self._ccm.encrypt(ks, nonce, buf, length, 0, m, False)

    def unsecure(self, f, buf):
        """Incoming frame security procedure (2006 7.5.8.2.3) on a decoded frame: checks
        level, key, device and replay, verifies and decrypts in place, then updates the
        device's frame counter. Returns SEC_OK (f.payload_len then excludes the MIC) or
        an error code, which it also counts."""
        err = self._unsecure(f, buf)
        if err:
            self.errors[err] += 1
        return err

    def _unsecure(self, f, buf):
        level = f.sec_level
        if level < self.min_level:
            return SEC_ERR_LEVEL
        if f.fc_suppressed or f.asn_in_nonce:
            return SEC_ERR_COUNTER  # TSCH nonces are not used in this PAN
        m = mic_len(level)
        end = f.length
        if end - m < f.header_len:
            return SEC_ERR_LEVEL
        counter = f.frame_counter
        if counter == COUNTER_LAST:
            return SEC_ERR_COUNTER
        ks = self.keys.lookup(f.key_id_mode, f.key_source, f.key_index)
        if ks is None:
            return SEC_ERR_UNKNOWN_KEY
        if f.src_mode == fr.ADDR_EXT:
            dev = self.devices.find_ext(f.src_ext)
            ext = f.src_ext
        elif f.src_mode == fr.ADDR_SHORT:
            dev = self.devices.find_short(f.src_addr)
            ext = self.devices.ext[dev] if dev >= 0 else None
        else:
            dev = -1
            ext = None
        if dev < 0:
            return SEC_ERR_UNKNOWN_DEVICE
        if counter < self.devices.next_counter[dev]:
            return SEC_ERR_REPLAY
        nonce = self._make_nonce(ext, counter, level)
        if level & 4:
            a_len = self._private_start(f, buf, end - m)
            if a_len < 0:
                return SEC_ERR_MALFORMED
            ok = self._ccm.decrypt(ks, nonce, buf, a_len, end - m - a_len, m, True)
        else:
            ok = self._ccm.decrypt(ks, nonce, buf, end - m, 0, m, False)
        if not ok:
            return SEC_ERR_MIC
        # Only an authentic frame moves the counter (2006 7.5.8.2.3 step l).
        self.devices.next_counter[dev] = counter + 1
        f.payload_len = end - m - f.header_len
        f.length = end - m
        return SEC_OK
