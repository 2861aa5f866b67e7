"""Tier 3, issue 13's "the hub's own A/B update on the emulated board": the meter board,
provisioned with an ota_key, is given an update file built by `python -m tools.ota pack`
(image type 0x0001, the meter) holding main.py and the app package with the version text
changed to 0.2.0. make run --update stores it in the board's flash; at boot the firmware
verifies it into slot a, boots it (its banner says 0.2.0) and, after 10 s without a task
fault, confirms it. A second boot on the same flash with an update whose main.py cannot
start: it is tried, fails, and slot a (0.2.0) runs again in the same boot, P1 telegrams
going on. The event logs, read from the flash afterwards, hold the update (EV_FIRMWARE,
0.1.0 -> 0.2.0) and the roll-back (EV_FW_ROLLED_BACK, 0.3.0 failed, 0.2.0 in use). Versions
and codes are stated here, not taken from the firmware.
"""
import os
import re
import shutil
import subprocess
import sys

from conftest import ROOT
from board_files import event_logs, record_with_ota_key
from test_han_gas_p1 import make_run, telegrams

OTA_KEY = "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"  # this test's fleet signing key
MANUFACTURER, IMAGE_METER = 0x1234, 0x0001  # app/version.py's
FACTORY, V2, V3 = 0x00010000, 0x00020000, 0x00030000  # 0.1.0, 0.2.0, 0.3.0 as 0xMMmmpppp
EV_FIRMWARE, EV_FW_ROLLED_BACK = 5, 50  # registers/logs.py

def _pack(tmp_path, name, version, version_text, main_py=None):
    """An update holding main.py and app/ of this firmware, app/version.py saying
    version_text; main_py replaces main.py when given."""
    root = tmp_path / name
    shutil.copytree(os.path.join(ROOT, "firmware", "app"), root / "app",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.join(ROOT, "firmware", "main.py"), root / "main.py")
    if main_py is not None:
        (root / "main.py").write_text(main_py)
    v = (root / "app" / "version.py").read_text()
    v2 = v.replace('FIRMWARE_VERSION = "0.1.0"', 'FIRMWARE_VERSION = "%s"' % version_text)
    assert v2 != v, "app/version.py no longer says 0.1.0: restate this test's versions"
    (root / "app" / "version.py").write_text(v2)
    files = [str(p) for p in sorted(root.rglob("*.py"))]
    out = tmp_path / (name + ".zigbee")
    subprocess.run([sys.executable, "-m", "tools.ota", "pack", "--manufacturer",
                    hex(MANUFACTURER), "--image-type", hex(IMAGE_METER), "--version",
                    hex(version), "--key-file", str(tmp_path / "sign.key"), "--root",
                    str(root), "-o", str(out)] + files, cwd=ROOT, check=True,
                   capture_output=True)
    return out


def test_a_good_update_switches_and_a_broken_one_rolls_back(tmp_path):
    meter = record_with_ota_key(tmp_path, OTA_KEY)
    good = _pack(tmp_path, "good", V2, "0.2.0")
    broken = _pack(tmp_path, "broken", V3, "0.3.0",
                   main_py="raise ImportError('half an image: main.py cannot start')\n")
    flash = str(tmp_path / "meter-flash.bin")
    uart1 = tmp_path / "p1-1.bin"
    common = ["--provision", meter, "--flash", flash,
              "--update-healthy-s", "10"]

    out = make_run("--seconds", "16", "--update", str(good), "--uart1", str(uart1),
                   *common, timeout=300)
    assert "update: fw-update.zigbee installed in slot a (version 0x00020000)" in out, out
    assert "update: trying version 0x00020000 (slot a)" in out, out
    assert re.search(r"^meter-fw 0\.2\.0 board=emu-mps2", out, re.M), out
    assert "update: version 0x00020000 confirmed (slot a)" in out, out
    assert telegrams(uart1.read_bytes()), "the new image sends no P1 telegram"

    uart1 = tmp_path / "p1-2.bin"
    out = make_run("--seconds", "6", "--update", str(broken), "--uart1", str(uart1),
                   *common, timeout=300)
    assert "update: fw-update.zigbee installed in slot b (version 0x00030000)" in out, out
    assert "update: the new image failed: ImportError" in out, out
    assert "update: version 0x00030000 did not report healthy: back to version " \
           "0x00020000" in out, out
    # Slot a's 0.2.0 runs again, in the same boot, and meters on.
    after = out[out.index("did not report healthy"):]
    assert re.search(r"^meter-fw 0\.2\.0 board=emu-mps2", after, re.M), out
    assert "status uptime=5s" in after
    assert telegrams(uart1.read_bytes())

    standard, fault = event_logs(tmp_path)[:2]
    assert (EV_FIRMWARE, 0, FACTORY, V2) in standard, standard
    assert (EV_FW_ROLLED_BACK, 0, V3, V2) in fault, fault
