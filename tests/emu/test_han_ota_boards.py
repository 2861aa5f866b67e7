"""Tier 3, issue 13's OTA between two emulated boards: the meter board (hub, provisioned
with an ota_key) holds an OTA file built by `python -m tools.ota pack` with that key (make
run --ota-image stores it in the board's flash before the meter starts); the gas meter
board (--gas-board, given the same key) joins, asks Query Next Image at start, downloads
the image block by block through its parent while sleeping between polls, verifies it,
writes its files and reports the new version: its console says "han ota activated version
0x00010002". The image's version and key are stated here, not taken from the firmware.
"""
import re
import subprocess
import sys

from conftest import ROOT
from board_files import record_with_ota_key
from test_han_gas_p1 import han_log, make_run

OTA_KEY = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"  # the signing key of this test's fleet
MANUFACTURER, IMAGE_GAS, NEW_VERSION = 0x1234, 0x0002, 0x00010002  # app/version.py's


def test_the_gas_board_takes_the_hubs_image_over_the_air(tmp_path):
    hub = record_with_ota_key(tmp_path, OTA_KEY, "hub.json")
    (tmp_path / "fw").mkdir()
    (tmp_path / "fw" / "hello.py").write_text("print('gas meter firmware 1.0.2')\n")
    image = tmp_path / "gas.zigbee"
    subprocess.run([sys.executable, "-m", "tools.ota", "pack", "--manufacturer",
                    hex(MANUFACTURER), "--image-type", hex(IMAGE_GAS), "--version",
                    hex(NEW_VERSION), "--key-file", str(tmp_path / "sign.key"), "--root",
                    str(tmp_path / "fw"), str(tmp_path / "fw" / "hello.py"), "-o",
                    str(image)], cwd=ROOT, check=True, capture_output=True)
    out = make_run("--seconds", "70", "--han", "coordinator", "--gas-board",
                   "--gas-report-s", "10", "--provision", hub,
                   "--flash", str(tmp_path / "meter-flash.bin"), "--ota-image", str(image),
                   timeout=300)
    log = han_log(out)
    assert "stored as ota-gas.zigbee" in out, log
    assert "han ota stored image refused" not in out, log
    m = re.search(r"^\[gas-board\] han ota activated version 0x([0-9a-f]{8})", out, re.M)
    assert m, log
    assert int(m.group(1), 16) == NEW_VERSION
    # The gas meter went on reporting into P1's mailbox after its download.
    assert re.search(r"^\[gas-board\] \{\"device\": \"gas\"", out, re.M), log
