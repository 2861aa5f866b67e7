# Builds ZigBee OTA upgrade files (ZigBee 09-5264 6.3) from the firmware's files, on the
# host, by its own code (struct, `cryptography`'s AES, the standard hmac module): nothing
# here comes from firmware/han/ota, so the tests can check one against the other.
#
# Layout written (firmware/han/ota/image.py documents what each part means):
#   OTA header (56 octets + the optional fields asked for)
#   0x0000 upgrade image: the archive of files (firmware/han/ota/archive.py's format)
#   0xF100 HMAC-SHA256(signing key, every octet before this sub-element)
#   0x0003 image integrity code: AES-MMO (ZigBee B.6) of every octet before this sub-element
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

FILE_ID = 0x0BEEF11E
HEADER_VERSION = 0x0100
TAG_UPGRADE_IMAGE = 0x0000
TAG_INTEGRITY = 0x0003
TAG_SIGNATURE = 0xF100
ARCHIVE_MAGIC = b"MFW1"


def aes_mmo(data):
    """AES-MMO hash (ZigBee 05-3474 B.6) with cryptography's AES-128."""
    n = len(data)
    bits = 8 * n
    if bits < 1 << 16:
        tail = struct.pack(">H", bits)
    else:
        tail = struct.pack(">I", bits) + b"\x00\x00"
    pad = b"\x80" + b"\x00" * ((-(n + 1 + len(tail))) % 16)
    msg = bytes(data) + pad + tail
    h = bytes(16)
    for i in range(0, len(msg), 16):
        block = msg[i:i + 16]
        enc = Cipher(algorithms.AES(h), modes.ECB()).encryptor()
        c = enc.update(block) + enc.finalize()
        h = bytes(a ^ b for a, b in zip(c, block))
    return h


def archive(entries):
    """entries: [(name, data)] -> the archive octets."""
    out = bytearray(ARCHIVE_MAGIC)
    for name, data in entries:
        raw = name.encode("utf-8")
        if not 1 <= len(raw) <= 255:
            raise ValueError("file name must be 1..255 octets: %r" % name)
        out += bytes([len(raw)]) + raw + struct.pack("<I", len(data)) + bytes(data)
    return bytes(out)


def unarchive(data):
    """The archive octets -> [(name, data)]; ValueError when malformed."""
    if data[:4] != ARCHIVE_MAGIC:
        raise ValueError("not an MFW1 archive")
    i, out = 4, []
    while i < len(data):
        n = data[i]
        if n == 0 or i + 1 + n + 4 > len(data):
            raise ValueError("archive entry malformed at %d" % i)
        name = data[i + 1:i + 1 + n].decode("utf-8")
        (size,) = struct.unpack_from("<I", data, i + 1 + n)
        start = i + 5 + n
        if start + size > len(data):
            raise ValueError("archive entry %r overruns" % name)
        out.append((name, data[start:start + size]))
        i = start + size
    return out


def header(manufacturer, image_type, version, total_size, stack=2, header_string=b"",
           credential=None, dest=None, hw=None):
    """The OTA header octets (6.3.2)."""
    fc, opt = 0, b""
    if credential is not None:
        fc |= 0x1
        opt += struct.pack("<B", credential)
    if dest is not None:
        if len(dest) != 8:
            raise ValueError("destination EUI-64 must be 8 octets")
        fc |= 0x2
        opt += bytes(dest)
    if hw is not None:
        fc |= 0x4
        opt += struct.pack("<HH", hw[0], hw[1])
    if len(header_string) > 32:
        raise ValueError("header string is at most 32 octets")
    length = 56 + len(opt)
    return struct.pack("<IHHHHHIH32sI", FILE_ID, HEADER_VERSION, length, fc, manufacturer,
                       image_type, version, stack, header_string.ljust(32, b"\x00"),
                       total_size) + opt


def element(tag, data):
    return struct.pack("<HI", tag, len(data)) + bytes(data)


def build(payload, key, manufacturer, image_type, version, stack=2, header_string=b"",
          credential=None, dest=None, hw=None, sign=True, integrity=True):
    """The whole OTA file around payload (the upgrade image's octets)."""
    body = element(TAG_UPGRADE_IMAGE, payload)
    opt_len = len(header(manufacturer, image_type, version, 0, stack, header_string,
                         credential, dest, hw))
    total = opt_len + len(body) + (6 + 32 if sign else 0) + (6 + 16 if integrity else 0)
    out = header(manufacturer, image_type, version, total, stack, header_string, credential,
                 dest, hw) + body
    if sign:
        out += element(TAG_SIGNATURE, hmac.new(key, out, hashlib.sha256).digest())
    if integrity:
        out += element(TAG_INTEGRITY, aes_mmo(out))
    assert len(out) == total
    return out


def collect(paths, root):
    """[(name, data)] for the files (directories: their files, sorted), named by their path
    relative to root when under it, else by their base name."""
    files = []
    for p in paths:
        if os.path.isdir(p):
            for dirpath, dirs, names in os.walk(p):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                files += [os.path.join(dirpath, n) for n in sorted(names)]
        else:
            files.append(p)
    out = []
    root = os.path.abspath(root) if root else None
    for f in files:
        a = os.path.abspath(f)
        if root and a.startswith(root + os.sep):
            name = os.path.relpath(a, root).replace(os.sep, "/")
        else:
            name = os.path.basename(a)
        with open(f, "rb") as fh:
            out.append((name, fh.read()))
    return out


def load_key(path):
    """Signing key from a file: hex text, or the raw octets."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        key = bytes.fromhex(raw.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        key = raw
    if not 16 <= len(key) <= 64:
        raise ValueError("signing key must be 16..64 octets")
    return key
