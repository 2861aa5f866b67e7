# `python -m tools.han install-code HEX` as a subprocess on the install-code vector of
# ../shared/reference/HAN.md: install code 83FED3407A939723A5C639B26916D505, CRC C3B5 as
# transmitted -> link key 66B6900981E1EE3CA4206B6B861C02BB. The key-transport key is the
# value zbtk computes for that link key (tests/vectors/han/zigbee_vectors.json, "correct
# key-transport key for 66B69009.."); of the key-load key HAN.md gives the first 4 octets.
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CODE = "83FED3407A939723A5C639B26916D505"
CRC = "C3B5"
LINK = "66B6900981E1EE3CA4206B6B861C02BB"
TRANSPORT = "3C6CCA8977EB189EFD1614C3E7F75989"
LOAD_PREFIX = "1177A0EE"


def _run(*args):
    return subprocess.run([sys.executable, "-m", "tools.han", "install-code"] + list(args),
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def _check(out):
    assert out["install_code"] == CODE + CRC
    assert out["crc"] == CRC
    assert out["link_key"] == LINK
    assert out["key_transport_key"] == TRANSPORT
    assert out["key_load_key"].startswith(LOAD_PREFIX) and len(out["key_load_key"]) == 32


def test_with_crc_json():
    p = _run(CODE + CRC, "--json")
    assert p.returncode == 0, p.stderr
    _check(json.loads(p.stdout))


def test_without_crc_json_appends_it_little_endian():
    p = _run(CODE.lower(), "--json")
    assert p.returncode == 0, p.stderr
    _check(json.loads(p.stdout))


def test_text_output_with_separators():
    spaced = " ".join(CODE[i:i + 4] for i in range(0, len(CODE), 4)) + " " + CRC
    p = _run(spaced)
    assert p.returncode == 0, p.stderr
    lines = dict(line.split(None, 1) for line in p.stdout.splitlines())
    assert lines["link_key"] == LINK
    assert lines["key_transport_key"] == TRANSPORT
    assert lines["install_code"] == CODE + CRC


def test_bad_crc_exit_2():
    p = _run(CODE + "B5C3")  # the CRC octets swapped (big endian): wrong
    assert p.returncode == 2
    assert "CRC" in p.stderr and p.stdout == ""


def test_bad_hex_and_bad_length_exit_2():
    p = _run("83FED3407A93972G")
    assert p.returncode == 2 and "hex" in p.stderr
    p = _run("83FED3407A")  # 5 octets
    assert p.returncode == 2 and "octets" in p.stderr
    p = _run(CODE + CRC + "00")  # 19 octets
    assert p.returncode == 2 and "octets" in p.stderr
