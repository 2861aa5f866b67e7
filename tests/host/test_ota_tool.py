# python -m tools.ota pack / show (tools/ota) against zigpy's OTA parser and the firmware's
# streaming verifier (firmware/han/ota/image.py): every image pack writes parses in zigpy to
# the header values given, the firmware accepts it in blocks of 1, 7 and 64 octets and gets
# back the archived files; a truncated or altered image is refused.
import os
import subprocess
import sys

import pytest
import zigpy.types as zt
from zigpy.ota.image import ElementTagId, OTAImage, parse_ota_image

from tools import fwpath
from tools.ota import pack

fwpath.setup()
from han.ota import image  # noqa: E402  (after fwpath.setup)

ROOT = fwpath.ROOT
KEY_HEX = "00112233445566778899aabbccddeeff0102030405060708"
FILES = ["firmware/han/ota/__init__.py", "firmware/han/ota/mmo.py", "firmware/app"]

OPTIONS = [
    ([], {}),
    (["--stack", "2", "--header-string", "meter-fw gas meter role"],
     {"hs": "meter-fw gas meter role"}),
    (["--hw-min", "0x0100", "--hw-max", "0x02ff"], {"hw": (0x0100, 0x02FF)}),
    (["--dest", "0004a30b0000d002"], {"dest": "0004a30b0000d002"}),
    (["--credential-version", "3", "--dest", "0004a30b0000d002", "--hw-min", "1", "--hw-max", "9",
      "--header-string", "x" * 32], {"cred": 3, "dest": "0004a30b0000d002", "hw": (1, 9),
                                     "hs": "x" * 32}),
]


def _tool(*args):
    return subprocess.run([sys.executable, "-m", "tools.ota"] + list(args), cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def keyfile(tmp_path_factory):
    p = tmp_path_factory.mktemp("ota") / "sign.key"
    p.write_text(KEY_HEX + "\n")
    return str(p)


def _verify(data, key, block):
    payload = bytearray()

    def sink(buf, start, stop):
        payload.extend(buf[start:stop])

    r = image.OtaImage(key, manufacturer=0x1234, image_type=0x0001, sink=sink)
    r.reset(len(data))
    status = image.PENDING
    for i in range(0, len(data), block):
        status = r.feed(data[i:i + block])
        if status >= image.E_HEADER:
            return status, payload
    return r.finish(), payload


@pytest.mark.parametrize("n", range(len(OPTIONS)))
def test_pack_parses_in_zigpy_and_firmware(tmp_path, keyfile, n):
    args, want = OPTIONS[n]
    out = str(tmp_path / "image.zigbee")
    p = _tool("pack", "--manufacturer", "0x1234", "--image-type", "0x0001", "--version",
              "0x01020304", *args, "--key-file", keyfile, *FILES, "-o", out)
    assert p.returncode == 0, p.stderr
    data = open(out, "rb").read()

    img, rest = parse_ota_image(data)
    assert rest == b"" and isinstance(img, OTAImage)
    h = img.header
    assert h.upgrade_file_id == 0x0BEEF11E and h.header_version == 0x0100
    assert (h.manufacturer_id, h.image_type, h.file_version) == (0x1234, 0x0001, 0x01020304)
    assert h.stack_version == 2 and h.image_size == len(data)
    assert h.header_length == 56 + (1 if "cred" in want else 0) + (8 if "dest" in want else 0) \
        + (4 if "hw" in want else 0)
    assert bytes(h.header_string).rstrip(b"\x00") == want.get("hs", "").encode()
    assert h.security_credential_version_present == ("cred" in want)
    if "cred" in want:
        assert h.security_credential_version == want["cred"]
    assert h.device_specific_file == ("dest" in want)
    if "dest" in want:
        assert h.upgrade_file_destination == zt.EUI64(bytes.fromhex(want["dest"]))
    assert h.hardware_versions_present == ("hw" in want)
    if "hw" in want:
        assert (h.minimum_hardware_version, h.maximum_hardware_version) == want["hw"]
    tags = [int(e.tag_id) for e in img.subelements]
    assert tags == [ElementTagId.UPGRADE_IMAGE, 0xF100, ElementTagId.IMAGE_INTEGRITY_CODE]
    assert [len(e.data) for e in img.subelements][1:] == [32, 16]
    names = [name for name, _ in pack.unarchive(img.subelements[0].data)]
    assert names[:2] == ["han/ota/__init__.py", "han/ota/mmo.py"]
    assert "app/supervisor.py" in names and not any("__pycache__" in x for x in names)

    key = bytes.fromhex(KEY_HEX)
    for block in (1, 7, 64):
        verdict, payload = _verify(data, key, block)
        assert verdict == image.OK, block
        assert bytes(payload) == img.subelements[0].data

    # Refused: truncated, one octet changed anywhere, a trailing octet, another key.
    assert _verify(data[:-1], key, 64)[0] == image.E_SIZE
    assert _verify(data[:len(data) // 2], key, 64)[0] == image.E_SIZE
    for at in (len(data) // 2, len(data) - 30):  # payload octet, signature octet
        bad = bytearray(data)
        bad[at] ^= 0x01
        assert _verify(bytes(bad), key, 7)[0] == image.E_INTEGRITY
    assert _verify(data + b"\x00", None, 64)[0] in (image.E_TRAILING, image.E_SIZE)
    assert _verify(data, bytes(24), 64)[0] == image.E_AUTH


def test_show_prints_header_and_verdict(tmp_path, keyfile):
    out = str(tmp_path / "image.zigbee")
    assert _tool("pack", "--manufacturer", "0x1234", "--image-type", "1", "--version", "7",
                 "--key-file", keyfile, "firmware/han/ota/mmo.py", "-o", out).returncode == 0
    p = _tool("show", out, "--key-file", keyfile, "--block", "7")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "manufacturer      0x1234" in p.stdout and "file version      0x00000007" in p.stdout
    assert "han/ota/mmo.py" in p.stdout and "verdict: ok (authentic)" in p.stdout
    data = bytearray(open(out, "rb").read())
    data[100] ^= 0xFF
    open(out, "wb").write(data)
    p = _tool("show", out, "--key-file", keyfile)
    assert p.returncode == 1 and "verdict: integrity failure" in p.stdout


def test_pack_mmo_matches_zigbee_vectors():
    # The tool's AES-MMO (cryptography's AES) against the ZigBee spec's C.5 vectors, short
    # and long padding.
    import json

    with open(os.path.join(ROOT, "tests/vectors/han/zigbee_vectors.json")) as f:
        vectors = json.load(f)["mmo_hash"]
    for v in vectors:
        if v["message"] is not None:
            m = bytes.fromhex(v["message"])
        else:
            m = bytes(i & 0xFF for i in range(int(v["message_desc"].split()[0])))
        assert pack.aes_mmo(m) == bytes.fromhex(v["expected"]), v["name"]
