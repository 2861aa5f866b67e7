"""python -m tools.ota pack --manufacturer M --image-type T --version V [--stack 2]
                        [--header-string TEXT] [--hw-min N --hw-max N] [--dest EUI64]
                        [--credential-version N] [--root DIR] --key-file F FILES... -o OUT
   python -m tools.ota show IMAGE [--key-file F] [--manufacturer M] [--image-type T]

pack writes a ZigBee OTA upgrade file whose upgrade image is the archive of FILES
(directories: their files), named relative to --root (default firmware/), authenticated
with the signing key (HMAC-SHA256, tag 0xF100) and closed by the image integrity code
(AES-MMO, tag 0x0003). show prints the header and the archive and verifies the file
block by block with the firmware's own parser (firmware/han/ota/image.py): exit status 0
when it is whole (and authentic, given the key), 1 otherwise. docs/han.md, "Firmware
images for the HAN (OTA)"."""
import argparse
import os
import struct
import sys

from tools import fwpath
from tools.ota import pack

_FIRMWARE = os.path.join(fwpath.ROOT, "firmware")


def _int(text):
    return int(text, 0)


def _eui64(text):
    b = bytes.fromhex(text.replace(":", ""))
    if len(b) != 8:
        raise argparse.ArgumentTypeError("EUI-64: 8 octets in hex")
    return b


def cmd_pack(a):
    if (a.hw_min is None) != (a.hw_max is None):
        raise SystemExit("give both --hw-min and --hw-max")
    key = pack.load_key(a.key_file)
    entries = pack.collect(a.files, a.root)
    if not entries:
        raise SystemExit("no files to pack")
    hw = (a.hw_min, a.hw_max) if a.hw_min is not None else None
    data = pack.build(pack.archive(entries), key, a.manufacturer, a.image_type, a.version,
                      a.stack, a.header_string.encode("utf-8"), a.credential_version,
                      a.dest, hw)
    with open(a.output, "wb") as f:
        f.write(data)
    print("%s: %d octets, %d files, manufacturer 0x%04x image type 0x%04x version 0x%08x"
          % (a.output, len(data), len(entries), a.manufacturer, a.image_type, a.version))
    return 0


def cmd_show(a):
    fwpath.setup()
    from han.ota import image

    key = pack.load_key(a.key_file) if a.key_file else None
    payload = bytearray()

    def sink(buf, start, stop):
        payload.extend(buf[start:stop])

    r = image.OtaImage(key, manufacturer=a.manufacturer, image_type=a.image_type,
                       stack_version=None, sink=sink)
    buf = bytearray(a.block)
    with open(a.image, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        verdict = image.verify_stream(f, buf, r)
    if r.header_ok:
        print("file identifier   0x0beef11e, header version 0x0100, header length %d"
              % r.header_length)
        print("field control     0x%04x" % r.field_control)
        print("manufacturer      0x%04x" % r.manufacturer)
        print("image type        0x%04x" % r.image_type)
        print("file version      0x%08x" % r.file_version)
        print("stack version     %d%s" % (r.stack_version, " (ZigBee PRO)"
                                          if r.stack_version == 2 else ""))
        print("header string     %r" % r.header_string.rstrip(b"\x00").decode("utf-8", "replace"))
        print("total image size  %d (file: %d)" % (r.total_size, size))
        if r.credential_version is not None:
            print("credential ver.   %d" % r.credential_version)
        if r.destination is not None:
            print("destination       %s" % r.destination.hex())
        if r.hw_versions is not None:
            print("hardware versions 0x%04x..0x%04x" % r.hw_versions)
        if r.image_offset >= 0:
            print("upgrade image     %d octets at offset %d" % (r.image_length, r.image_offset))
    if verdict == image.OK and len(payload) == r.image_length:
        try:
            for name, data in pack.unarchive(bytes(payload)):
                print("  %8d  %s" % (len(data), name))
        except ValueError as e:
            print("  (upgrade image is not an MFW1 archive: %s)" % e)
    what = "authentic" if r.authenticated else "intact; not authenticated: no key given"
    print("verdict: %s%s" % (image.VERDICTS.get(verdict, str(verdict)),
                             " (%s)" % what if verdict == image.OK else ""))
    return 0 if verdict == image.OK else 1


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.ota", description="ZigBee OTA files")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack", help="build an OTA upgrade file from firmware files")
    p.add_argument("--manufacturer", type=_int, required=True)
    p.add_argument("--image-type", type=_int, required=True)
    p.add_argument("--version", type=_int, required=True, help="file version (u32)")
    p.add_argument("--stack", type=_int, default=2, help="ZigBee stack version (2: PRO)")
    p.add_argument("--header-string", default="", help="up to 32 octets of UTF-8")
    p.add_argument("--hw-min", type=_int)
    p.add_argument("--hw-max", type=_int)
    p.add_argument("--dest", type=_eui64, help="upgrade file destination EUI-64 (hex, "
                   "octets in the order the HAN tools take them, written as given)")
    p.add_argument("--credential-version", type=_int)
    p.add_argument("--root", default=_FIRMWARE, help="files are named relative to this")
    p.add_argument("--key-file", required=True, help="signing key: hex text or raw octets")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("files", nargs="+")
    s = sub.add_parser("show", help="print an OTA file's header and verify it")
    s.add_argument("image")
    s.add_argument("--key-file")
    s.add_argument("--manufacturer", type=_int)
    s.add_argument("--image-type", type=_int)
    s.add_argument("--block", type=int, default=64, help="verify in blocks of this size")
    a = ap.parse_args(argv)
    try:
        return cmd_pack(a) if a.cmd == "pack" else cmd_show(a)
    except (OSError, ValueError, struct.error) as e:
        print("error: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
