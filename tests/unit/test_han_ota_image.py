# ZigBee OTA upgrade files (firmware/han/ota): the streaming AES-MMO against the ZigBee spec's
# C.5 vectors, the header octets against a header written out by hand, the parser fed in
# blocks of 1, 7 and 64 octets, every refusal class, the archive reader, and feed() without
# allocation. Images are built here by the test's own code, with the hashes from
# han.tc.keys.mmo_hash and registers.config.hmac_sha256 (not the code under test).
# Portable: tiers 1 and 2.
import io
import json
import struct

from han.ota import image
from han.ota.archive import ArchiveReader
from han.ota.mmo import Mmo
from han.tc.keys import mmo_hash
from registers.config import hmac_sha256
from support import NoAllocation, lcg_bytes

KEY = bytes(range(0x40, 0x60))  # 32-octet signing key
EUI = bytes.fromhex("0004A30B0000D002")

# Worked by hand (09-5264 6.3.2, little endian): identifier 0x0BEEF11E, header version
# 0x0100, header length 56, field control 0, manufacturer 0x1234, image type 0x0001, file
# version 0x01020304, stack 2 (PRO), "meter-fw" padded to 32 octets, total size 144 =
# 56 header + (6 + 22) upgrade image + (6 + 32) signature + (6 + 16) integrity code.
HEADER_HEX = ("1EF1EE0B" "0001" "3800" "0000" "3412" "0100" "04030201" "0200"
              "6D657465722D6677" + "00" * 24 + "90000000")
# The archive: "MFW1", name length 4, "a.py", data length 9, "print(1)\n".
PAYLOAD_HEX = "4D465731" "04" "612E7079" "09000000" "7072696E742831290A"


def _el(tag, data):
    return struct.pack("<HI", tag, len(data)) + bytes(data)


def _build(payload=None, key=KEY, fc_opts=b"", fc=0, manufacturer=0x1234, image_type=1,
           version=0x01020304, extra=(), sign=True, integrity=True, size_delta=0):
    """An OTA file built by the test (payload False: no upgrade image element)."""
    if payload is None:
        payload = bytes.fromhex(PAYLOAD_HEX)
    hlen = 56 + len(fc_opts)
    body = bytearray(_el(0x0000, payload) if payload is not False else b"")
    for tag, data in extra:
        body += _el(tag, data)
    total = hlen + len(body) + (38 if sign else 0) + (22 if integrity else 0) + size_delta
    hdr = struct.pack("<IHHHHHIH32sI", 0x0BEEF11E, 0x0100, hlen, fc, manufacturer,
                      image_type, version, 2, b"meter-fw", total) + fc_opts
    out = bytearray(hdr) + body
    if sign:
        out += _el(0xF100, hmac_sha256(key, bytes(out)))
    if integrity:
        out += _el(0x0003, mmo_hash(bytes(out)))
    return bytes(out)


class _Sink:
    def __init__(self, size=16384):
        self.buf = bytearray(size)
        self.n = 0

    def __call__(self, buf, start, stop):
        b = self.buf
        n = self.n
        for i in range(start, stop):
            b[n] = buf[i]
            n += 1
        self.n = n

    def data(self):
        return bytes(self.buf[:self.n])


def _run(data, block, **kw):
    sink = _Sink()
    key = kw.pop("key", KEY)
    expected = kw.pop("expected_size", None)
    r = image.OtaImage(key, sink=sink, **kw)
    r.reset(expected)
    status = image.PENDING
    for i in range(0, len(data), block):
        status = r.feed(data[i:i + block])
        if status >= image.E_HEADER:
            return status, r, sink
    return r.finish(), r, sink


def test_mmo_streaming_matches_spec_vectors():
    d = json.load(open("tests/vectors/han/zigbee_vectors.json"))
    h = Mmo()
    for v in d["mmo_hash"]:
        if v["message"] is not None:
            m = bytes.fromhex(v["message"])
        else:
            m = bytearray(int(v["message_desc"].split()[0]))
            for i in range(len(m)):
                m[i] = i & 0xFF
        for step in (1, 5, 16, 63, len(m)):
            h.reset()
            for i in range(0, len(m), step):
                assert h.update(m, i, min(i + step, len(m)))
            assert bytes(h.finish()) == bytes.fromhex(v["expected"]), (v["name"], step)


def test_header_octets_and_fields():
    data = _build()
    assert data[:56] == bytes.fromhex(HEADER_HEX)
    assert data[56:62] == bytes.fromhex("000016000000")
    assert data[62:84] == bytes.fromhex(PAYLOAD_HEX)
    assert data[84:90] == bytes.fromhex("00F120000000") and len(data) == 144
    verdict, r, sink = _run(data, 64)
    assert verdict == image.OK and r.authenticated
    assert (r.manufacturer, r.image_type, r.file_version, r.stack_version) == (
        0x1234, 1, 0x01020304, 2)
    assert r.header_string == b"meter-fw" + bytes(24)
    assert (r.header_length, r.total_size, r.image_offset, r.image_length) == (56, 144, 62, 22)
    assert r.credential_version is None and r.destination is None and r.hw_versions is None
    assert sink.data() == bytes.fromhex(PAYLOAD_HEX) and r.offset == 144


def test_optional_header_fields():
    # Credential version 1, destination EUI, hardware versions 0x0102..0x0304: fc = 7,
    # header length 56 + 1 + 8 + 4 = 69.
    opts = b"\x01" + EUI + bytes.fromhex("02010403")
    data = _build(fc=7, fc_opts=opts)
    assert data[6:10] == bytes.fromhex("45000700")
    verdict, r, _ = _run(data, 7, eui64=EUI, hw_version=0x0200)
    assert verdict == image.OK
    assert (r.credential_version, r.destination, r.hw_versions) == (1, EUI, (0x0102, 0x0304))
    assert r.image_offset == 69 + 6
    only_hw = _build(fc=4, fc_opts=bytes.fromhex("02010403"))
    verdict, r, _ = _run(only_hw, 64)
    assert verdict == image.OK and r.hw_versions == (0x0102, 0x0304)
    assert _run(data, 7, eui64=bytes(8))[0] == image.E_NOT_FOR_DEVICE
    assert _run(data, 7, hw_version=0x0400)[0] == image.E_NOT_FOR_DEVICE
    assert _run(data, 7, hw_version=0x0101)[0] == image.E_NOT_FOR_DEVICE


def test_blocks_of_1_7_64_agree_on_large_image():
    payload = b"MFW1" + bytes([6]) + b"big.py" + struct.pack("<I", 9000) + lcg_bytes(9000, 3)
    data = _build(payload, extra=((0xF0AA, b"vendor"),))
    for block in (1, 7, 64, 1000):
        verdict, r, sink = _run(data, block)
        assert verdict == image.OK, block
        assert sink.data() == payload
    bad = bytearray(data)
    bad[5000] ^= 0x01
    for block in (1, 7, 64):
        assert _run(bytes(bad), block)[0] == image.E_INTEGRITY


def test_every_refusal_class():
    good = _build()
    cases = [
        (b"\x1f" + good[1:], {}, image.E_HEADER),  # identifier
        (good[:4] + b"\x00\x02" + good[6:], {}, image.E_HEADER),  # header version 0x0200
        (good[:6] + b"\x39\x00" + good[8:], {}, image.E_HEADER),  # length 57 for fc 0
        (good[:8] + b"\x08\x00" + good[10:], {}, image.E_HEADER),  # reserved fc bit 3
        (good, {"manufacturer": 0x1235}, image.E_WRONG_IMAGE),
        (good, {"image_type": 2}, image.E_WRONG_IMAGE),
        (good[:18] + b"\x01\x00" + good[20:], {}, image.E_WRONG_IMAGE),  # stack 1, not PRO
        (good, {"expected_size": 145}, image.E_SIZE),
        (good[:-1], {}, image.E_SIZE),  # truncated
        (_build(size_delta=10), {}, image.E_SIZE),  # declared size beyond the file
        (_build(size_delta=-10), {}, image.E_SIZE),  # elements overrun the declared size
        (good[:-16] + bytes(16), {}, image.E_INTEGRITY),
        (good[:70] + b"\x00" + good[71:], {}, image.E_INTEGRITY),  # payload octet
        (_build(integrity=False, size_delta=0), {}, image.E_INTEGRITY),
        (good, {"key": KEY[:-1] + b"\x00"}, image.E_AUTH),
        (_build(sign=False), {}, image.E_AUTH),
        (_build(payload=False), {}, image.E_NO_IMAGE),
        (good + b"\x00", {}, image.E_TRAILING),
        (_build(extra=((0x0000, b"again"),)), {}, image.E_ELEMENT),  # two upgrade images
        (_build(extra=((0x0003, bytes(16)),)), {}, image.E_ELEMENT),  # integrity not last
    ]
    for n, (data, kw, want) in enumerate(cases):
        for block in (1, 7, 64):
            assert _run(data, block, **dict(kw))[0] == want, (n, block)
    # An attacker who re-hashes a changed payload passes the integrity code, not the key.
    forged = bytearray(good)
    forged[70] ^= 0x01
    body = bytes(forged[:-22])
    forged = body + _el(0x0003, mmo_hash(body))
    assert _run(forged, 64)[0] == image.E_AUTH
    assert _run(forged, 64, key=None)[0] == image.OK  # integrity alone: not authenticated


def test_signature_element_rules():
    base = _build(sign=False, integrity=False)
    total = len(base) + 6 + 31 + 22
    body = bytearray(base)
    struct.pack_into("<I", body, 52, total)
    short_sig = bytes(body) + _el(0xF100, bytes(31))
    short_sig += _el(0x0003, mmo_hash(short_sig))
    assert _run(short_sig, 7)[0] == image.E_ELEMENT
    # An element after the signature would not be authenticated: refused.
    body = bytearray(base)
    struct.pack_into("<I", body, 52, len(base) + 38 + 8 + 22)
    sig = hmac_sha256(KEY, bytes(body))
    late = bytes(body) + _el(0xF100, sig) + _el(0xF0AA, b"xy")
    late += _el(0x0003, mmo_hash(late))
    assert _run(late, 7)[0] == image.E_ELEMENT


def test_unsigned_image_without_key():
    data = _build(sign=False)
    verdict, r, _ = _run(data, 7, key=None)
    assert verdict == image.OK and not r.authenticated


def test_on_header_refuses_before_payload():
    seen = []

    def newer_only(r):
        seen.append(r.file_version)
        return r.file_version > 0x01020304

    verdict, r, sink = _run(_build(), 7, on_header=newer_only)
    assert verdict == image.E_REFUSED and seen == [0x01020304] and sink.n == 0
    verdict, r, sink = _run(_build(version=0x01020305), 7, on_header=newer_only)
    assert verdict == image.OK and sink.n == 22


def test_verify_stream_stored_file():
    good = _build()
    r = image.OtaImage(KEY)
    buf = bytearray(64)
    assert image.verify_stream(io.BytesIO(good), buf, r) == image.OK
    assert image.verify_stream(io.BytesIO(good), buf, r, expected_size=144) == image.OK
    assert image.verify_stream(io.BytesIO(good + b"\xff" * 70), buf, r) == image.E_TRAILING
    bad = good[:100] + bytes([good[100] ^ 1]) + good[101:]
    assert image.verify_stream(io.BytesIO(bad), buf, r) == image.E_INTEGRITY
    assert image.verify_stream(io.BytesIO(good[:90]), buf, r) == image.E_SIZE


def test_archive_reader_in_blocks():
    files = [(b"a.py", b"print(1)\n"), (b"han/empty.py", b""), (b"big.mpy", lcg_bytes(300, 9))]
    arc = bytearray(b"MFW1")
    for name, data in files:
        arc += bytes([len(name)]) + name + struct.pack("<I", len(data)) + data
    for block in (1, 7, 64):
        got = []

        def on_file(name, n, size):
            got.append([bytes(name[:n]), size, bytearray()])

        def on_data(buf, start, stop):
            got[-1][2].extend(buf[start:stop])

        def on_end():
            got[-1].append(True)

        rd = ArchiveReader(on_file, on_data, on_end)
        for i in range(0, len(arc), block):
            rd(arc, i, min(i + block, len(arc)))
        assert rd.done() and rd.files == 3
        assert [(g[0], g[1], bytes(g[2]), g[3]) for g in got] == [
            (n, len(d), bytes(d), True) for n, d in files]
    rd = ArchiveReader(on_file, on_data, on_end)
    rd(b"MFW2", 0, 4)
    assert not rd.ok and not rd.done()


def test_feed_allocates_nothing():
    payload = b"MFW1" + bytes([6]) + b"big.py" + struct.pack("<I", 3000) + lcg_bytes(3000, 5)
    data = _build(payload, fc=7, fc_opts=b"\x01" + EUI + bytes.fromhex("02010403"))
    for block in (1, 7, 64):
        blocks = [data[i:i + block] for i in range(0, len(data), block)]
        sink = _Sink()
        r = image.OtaImage(KEY, manufacturer=0x1234, image_type=1, eui64=EUI,
                           hw_version=0x0200, sink=sink)
        for warm in (0, 1):
            r.reset(len(data))
            sink.n = 0
            nb = len(blocks)
            k = 0
            status = image.PENDING
            with NoAllocation():
                while k < nb:
                    status = r.feed(blocks[k])
                    k += 1
            assert status == image.COMPLETE
            assert r.finish() == image.OK and sink.n == len(payload)
