# ZigBee OTA upgrade file (OTA Upgrade cluster 0x0019, ZigBee 09-5264 section 6.3 / ZCL
# 07-5123 11.4), parsed and verified as it streams by, block after block.
#
# File: OTA header, then sub-elements (tag u16, length u32, data), all little endian.
#   header  0 file identifier u32 0x0BEEF11E   4 header version u16 0x0100
#           6 header length u16                8 field control u16 (bit 0 security
#             credential version, bit 1 device-specific file, bit 2 hardware versions)
#          10 manufacturer code u16           12 image type u16     14 file version u32
#          18 ZigBee stack version u16 (2: PRO) 20 header string, 32 octets
#          52 total image size u32 (the whole file, header included)
#          56 [credential version u8] [destination EUI-64, 8 octets, as on air]
#             [minimum, maximum hardware version u16 u16]
#   0x0000 upgrade image: here the archive of firmware files (archive.py), handed to the
#          caller's sink as it streams by, sink(buf, start, stop): octets buf[start:stop]
#   0xF100 (manufacturer-specific range 0xF000-0xFFFF; ours) authentication: HMAC-SHA256
#          (RFC 2104) with the image signing key over every octet of the file before this
#          sub-element's tag (header and all earlier sub-elements); 32 octets. Only 0x0003
#          may follow it. The spec's authentication is an ECDSA signature (tags 0x0001/0x0005)
#          with CBKE certificates, which docs/han.md puts out of scope; a shared key means a
#          device that gives up its key can forge images for its kind, so the key is per
#          manufacturer and image type and lives in the provisioning record, not in images.
#   0x0003 image integrity code: AES-MMO hash (B.6) of every octet of the file before this
#          sub-element's tag; 16 octets; the last sub-element of the file (09-5264 6.3.10).
#   others are skipped (hashed, not delivered).
#
# Use: r = OtaImage(key, manufacturer=..., image_type=..., sink=...); r.feed(block) per block
# (returns PENDING, COMPLETE when the declared size has arrived, or an error code, which
# sticks); the header fields are readable once r.header_ok, and on_header(r) may refuse the
# image then, before the sink sees a payload octet; r.finish() gives the verdict. feed()
# allocates nothing (a header field of 2^30 or more on a 32-bit port would be a long int:
# file_version is therefore a property read on demand); reset() and finish() allocate (new
# SHA-256 objects, the digests). verify_stream() checks a whole stored file block by block.
# An OTA client that resumes after a power cut re-feeds what it has stored (from offset 0)
# into a fresh reader before it asks for more: hash states cannot be saved.
import hashlib

from micropython import const

from han.ota.header import (BASE_HEADER, FC_CREDENTIAL, FC_DESTINATION, FC_HW_VERSIONS,
                            FC_RESERVED, FILE_ID, HEADER_VERSION, INTEGRITY_SIZE, MAX_HEADER,
                            MAX_IMAGE, SHA_BLOCK, SIGNATURE_SIZE, STACK_PRO, TAG_INTEGRITY,
                            TAG_SIGNATURE, TAG_UPGRADE_IMAGE, ELEMENT_HEADER, HeaderFields,
                            header_length, u16, u32)
from han.ota.mmo import Mmo

# feed() results and verdicts (distinct codes, names in VERDICTS).
OK = const(0)
PENDING = const(1)  # more octets expected
COMPLETE = const(2)  # the declared total has arrived: call finish()
E_HEADER = const(10)  # header malformed (identifier, version, length, reserved bits)
E_WRONG_IMAGE = const(11)  # manufacturer, image type or stack version not this device's
E_NOT_FOR_DEVICE = const(12)  # destination EUI-64 or hardware version excludes this device
E_REFUSED = const(13)  # the caller's on_header refused it (e.g. not a newer version)
E_SIZE = const(14)  # total size: differs from the expected one, elements overrun it, truncated
E_ELEMENT = const(15)  # sub-element malformed (bad length, duplicate, out of place)
E_INTEGRITY = const(16)  # image integrity code missing or wrong
E_AUTH = const(17)  # authentication sub-element missing or wrong
E_NO_IMAGE = const(18)  # no upgrade image sub-element
E_TRAILING = const(19)  # octets after the declared total size
VERDICTS = {OK: "ok", PENDING: "pending", COMPLETE: "complete", E_HEADER: "header malformed",
            E_WRONG_IMAGE: "wrong manufacturer/image type", E_NOT_FOR_DEVICE: "not for this device",
            E_REFUSED: "refused", E_SIZE: "total size mismatch", E_ELEMENT: "sub-element malformed",
            E_INTEGRITY: "integrity failure", E_AUTH: "authentication failure",
            E_NO_IMAGE: "no upgrade image", E_TRAILING: "trailing octets"}

_S_HEADER = const(0)
_S_ELEMENT = const(1)  # collecting a sub-element's tag and length
_S_DATA = const(2)
_S_DONE = const(3)
_S_FAILED = const(4)
_S_AFTER = const(5)  # after the integrity code, before the declared end
_K_IMAGE = const(0)
_K_SIGNATURE = const(1)
_K_INTEGRITY = const(2)
_K_OTHER = const(3)


class OtaImage(HeaderFields):
    def __init__(self, key=None, manufacturer=None, image_type=None, stack_version=STACK_PRO,
                 eui64=None, hw_version=None, sink=None, on_header=None):
        """key: the image signing key (bytes), or None to skip authentication (then a
        verdict OK says well-formed and intact only; self.authenticated tells). The other
        arguments, when not None, are this device's: an image for another is refused when
        its header arrives. eui64: 8 octets in over-the-air (little-endian) order."""
        self.manufacturer_wanted = manufacturer
        self.image_type_wanted = image_type
        self.stack_wanted = stack_version
        self.eui64 = eui64
        self.hw_version = hw_version
        self.sink = sink
        self.on_header = on_header
        self._key = key
        self._ipad = self._opad = None
        if key is not None:
            if len(key) > SHA_BLOCK:
                key = hashlib.sha256(key).digest()
            self._ipad = bytearray(SHA_BLOCK)
            self._opad = bytearray(SHA_BLOCK)
            for i in range(SHA_BLOCK):
                k = key[i] if i < len(key) else 0
                self._ipad[i] = k ^ 0x36  # RFC 2104 ipad
                self._opad[i] = k ^ 0x5C  # RFC 2104 opad
        self._hdr = bytearray(MAX_HEADER)
        self._eh = bytearray(ELEMENT_HEADER)
        self._sig = bytearray(SIGNATURE_SIZE)
        self._iic = bytearray(INTEGRITY_SIZE)
        self._stage = bytearray(SHA_BLOCK)  # SHA-256 input gathered from runs
        self._one = bytearray(1)
        self._mmo = Mmo()
        self._inner = self._outer = None
        self.reset()

    def reset(self, expected_size=None):
        """Start a new image (allocates the SHA-256 objects). expected_size: the image size
        the server announced (Query Next Image Response) or the stored file's size."""
        self.expected_size = expected_size
        self.status = PENDING
        self.offset = 0  # octets consumed: the OTA client's FileOffset
        self.header_ok = False
        self.header_length = 10  # octets to collect before the length is known
        self.total_size = 0
        self.image_offset = -1  # file offset and length of the upgrade image's data
        self.image_length = 0
        self.authenticated = False
        self._state = _S_HEADER
        self._got = 0  # octets in _hdr / _eh
        self._kind = _K_OTHER
        self._left = 0  # octets left in the current sub-element
        self._sig_seen = False
        self._iic_seen = False
        self._sha_on = self._key is not None
        self._sk = 0  # octets in _stage
        self._mmo.reset()
        if self._sha_on:
            self._inner = hashlib.sha256(self._ipad)
            self._outer = hashlib.sha256(self._opad)

    def _fail(self, code):
        self.status = code
        self._state = _S_FAILED
        return code

    def _hash(self, buf, start, stop):
        # Both hashes over buf[start:stop], as far as each still runs.
        if self._sha_on:
            st = self._stage
            k = self._sk
            inner = self._inner
            for p in range(start, stop):
                st[k] = buf[p]
                k += 1
                if k == SHA_BLOCK:
                    inner.update(st)
                    k = 0
            self._sk = k
        if not self._iic_seen:
            self._mmo.update(buf, start, stop)

    def _stop_sha(self):
        # The signed part ends: flush the staged octets one by one (no slice to allocate).
        one = self._one
        inner = self._inner
        for p in range(self._sk):
            one[0] = self._stage[p]
            inner.update(one)
        self._sk = 0
        self._sha_on = False

    def _header_start(self):
        h = self._hdr
        if u32(h, 0) != FILE_ID or u16(h, 4) != HEADER_VERSION:
            return E_HEADER
        fc = u16(h, 8)
        n = header_length(fc)
        if fc & FC_RESERVED or u16(h, 6) != n:
            return E_HEADER
        self.header_length = n
        return PENDING

    def _header_done(self):
        h = self._hdr
        n = self.header_length
        if h[55] >= 0x40:  # total size of 2^30 or more: also keeps _u32 a small int
            return E_HEADER
        total = u32(h, 52)
        if total > MAX_IMAGE or total < n:
            return E_HEADER
        self.total_size = total
        self.header_ok = True
        self._hash(h, 0, n)
        want = self.manufacturer_wanted
        if want is not None and self.manufacturer != want:
            return E_WRONG_IMAGE
        want = self.image_type_wanted
        if want is not None and self.image_type != want:
            return E_WRONG_IMAGE
        want = self.stack_wanted
        if want is not None and self.stack_version != want:
            return E_WRONG_IMAGE
        fc = self.field_control
        at = BASE_HEADER + (1 if fc & FC_CREDENTIAL else 0)
        if fc & FC_DESTINATION:
            if self.eui64 is not None:
                for i in range(8):
                    if h[at + i] != self.eui64[i]:
                        return E_NOT_FOR_DEVICE
            at += 8
        if fc & FC_HW_VERSIONS and self.hw_version is not None:
            if not u16(h, at) <= self.hw_version <= u16(h, at + 2):
                return E_NOT_FOR_DEVICE
        if self.expected_size is not None and self.expected_size != total:
            return E_SIZE
        if self.on_header is not None and not self.on_header(self):
            return E_REFUSED
        return self._next_element()

    def _next_element(self):
        left = self.total_size - self.offset
        if left == 0:
            self._state = _S_DONE
            return COMPLETE
        if self._iic_seen:
            # The integrity code must end the file: an octet after it is out of place,
            # the stream ending here is a file shorter than its declared size.
            self._state = _S_AFTER
            return PENDING
        if left < ELEMENT_HEADER:
            return E_SIZE
        self._state = _S_ELEMENT
        self._got = 0
        return PENDING

    def _element_start(self):
        eh = self._eh
        tag = u16(eh, 0)
        if eh[5] >= 0x40:
            return E_SIZE
        length = u32(eh, 2)
        end = self.offset + length
        if end > self.total_size:
            return E_SIZE
        if tag == TAG_INTEGRITY:
            if length != INTEGRITY_SIZE:
                return E_ELEMENT
            if self._sha_on:  # unsigned image (no 0xF100): close the HMAC input here
                self._stop_sha()
            self._mmo.finish()
            self._iic_seen = True
            kind = _K_INTEGRITY
        elif self._sig_seen:
            return E_ELEMENT  # only the integrity code may follow the signature
        elif tag == TAG_SIGNATURE:
            if length != SIGNATURE_SIZE:
                return E_ELEMENT
            if self._sha_on:
                self._stop_sha()
            self._hash(eh, 0, ELEMENT_HEADER)
            self._sig_seen = True
            kind = _K_SIGNATURE
        elif tag == TAG_UPGRADE_IMAGE:
            if self.image_offset >= 0:
                return E_ELEMENT
            self._hash(eh, 0, ELEMENT_HEADER)
            self.image_offset = self.offset
            self.image_length = length
            kind = _K_IMAGE
        else:
            self._hash(eh, 0, ELEMENT_HEADER)
            kind = _K_OTHER
        self._kind = kind
        self._left = length
        self._state = _S_DATA
        if length == 0:
            return self._next_element()
        return PENDING

    def feed(self, buf, n=-1):
        """Take the next n octets of the file from buf (all of buf when n < 0): PENDING,
        COMPLETE, or an error code (also kept in self.status; the reader then stops)."""
        if n < 0:
            n = len(buf)
        i = 0
        while i < n:
            st = self._state
            if st == _S_DATA:
                take = min(self._left, n - i)
                kind = self._kind
                j = i + take
                if kind == _K_INTEGRITY:
                    dst = self._iic
                    at = INTEGRITY_SIZE - self._left
                    for p in range(i, j):
                        dst[at] = buf[p]
                        at += 1
                else:
                    self._hash(buf, i, j)
                    if kind == _K_IMAGE:
                        if self.sink is not None:
                            self.sink(buf, i, j)
                    elif kind == _K_SIGNATURE:
                        dst = self._sig
                        at = SIGNATURE_SIZE - self._left
                        for p in range(i, j):
                            dst[at] = buf[p]
                            at += 1
                self._left -= take
                self.offset += take
                i = j
                if self._left == 0:
                    r = self._next_element()
                    if r >= E_HEADER:
                        return self._fail(r)
                    self.status = r
            elif st == _S_HEADER or st == _S_ELEMENT:
                dst = self._hdr if st == _S_HEADER else self._eh
                want = self.header_length if st == _S_HEADER else ELEMENT_HEADER
                take = min(want - self._got, n - i)
                at = self._got
                for p in range(i, i + take):
                    dst[at] = buf[p]
                    at += 1
                self._got = at
                self.offset += take
                i += take
                if at < want:
                    continue
                if st == _S_ELEMENT:
                    r = self._element_start()
                elif at == 10 and not self.header_ok and want == 10:
                    r = self._header_start()
                else:
                    r = self._header_done()
                if r >= E_HEADER:
                    return self._fail(r)
                self.status = r
            elif st == _S_DONE:
                return self._fail(E_TRAILING)
            elif st == _S_AFTER:
                return self._fail(E_ELEMENT)
            else:
                return self.status
        return self.status

    def finish(self):
        """The verdict once the last block is in: OK or an error code (allocates)."""
        if self._state == _S_FAILED:
            return self.status
        if self._state != _S_DONE:
            return self._fail(E_SIZE)  # truncated
        mmo = self._mmo.digest
        diff = 0 if self._iic_seen else 1
        for i in range(INTEGRITY_SIZE):
            diff |= mmo[i] ^ self._iic[i]
        if diff:
            return self._fail(E_INTEGRITY)
        if self._key is not None:
            if not self._sig_seen:
                return self._fail(E_AUTH)
            self._outer.update(self._inner.digest())
            tag = self._outer.digest()
            for i in range(SIGNATURE_SIZE):
                diff |= tag[i] ^ self._sig[i]  # no early exit: timing tells nothing
            if diff:
                return self._fail(E_AUTH)
            self.authenticated = True
        if self.image_offset < 0:
            return self._fail(E_NO_IMAGE)
        self.status = OK
        return OK


def verify_stream(stream, buf, reader, expected_size=None):
    """Verify a whole file from stream (readinto) in blocks of len(buf), with reader (an
    OtaImage, reset here): its verdict. Octets after the declared size are E_TRAILING."""
    reader.reset(expected_size)
    while True:
        n = stream.readinto(buf)
        if not n:
            break
        if reader.feed(buf, n) >= E_HEADER:
            return reader.status
    return reader.finish()
