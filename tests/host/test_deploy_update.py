# tools.deploy --update FILE (docs/update.md): only the update file goes to the board, into
# the registers' directory its board.py names (REGISTERS_DIR: /meter on the ESP32 boards,
# /flash/meter on the pyboard), as fw-update.zigbee, then the board is reset. What is not a
# ZigBee OTA file of the meter's image type (0x0001) is refused before anything is copied.
# The file is built by tools.ota pack; the copy itself (mpremote) is checked by its
# arguments, as tier 3 checks make deploy's path into the emulated board.
import os
import subprocess
import sys

from tools import deploy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

KEY = "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"


def _pack(tmp_path, image_type):
    (tmp_path / "k").write_text(KEY)
    (tmp_path / "main.py").write_text("print('0.2.0')\n")
    out = tmp_path / ("u%d.zigbee" % image_type)
    subprocess.run([sys.executable, "-m", "tools.ota", "pack", "--manufacturer", "0x1234",
                    "--image-type", hex(image_type), "--version", "0x00020000",
                    "--key-file", str(tmp_path / "k"), "--root", str(tmp_path),
                    str(tmp_path / "main.py"), "-o", str(out)], cwd=ROOT, check=True,
                   capture_output=True)
    return str(out)


def test_the_update_goes_to_the_boards_registers_directory(tmp_path, capsys):
    image = _pack(tmp_path, 0x0001)
    for board, remote in (("esp32c6", "/meter/fw-update.zigbee"),
                          ("esp32", "/meter/fw-update.zigbee"),
                          ("pyboard", "/flash/meter/fw-update.zigbee")):
        assert deploy.main(["--board", board, "--port", "/dev/null", "--dry-run",
                            "--update", image]) == 0
        out = capsys.readouterr().out
        assert ": 1 files," in out and remote in out, out
        staged = deploy.update_staged(board, image)
        assert staged == [(image, remote)]
        args = deploy.mpremote_args(staged)
        i = args.index("cp")
        assert args[i + 1:i + 3] == [image, ":" + remote]
        assert args[-1] == "reset"
        assert repr([remote.rsplit("/", 1)[0]]) in args[1]  # its directory made first


def test_what_is_not_the_meters_update_is_refused(tmp_path, capsys):
    gas = _pack(tmp_path, 0x0002)
    assert deploy.main(["--board", "esp32c6", "--port", "/dev/null", "--dry-run",
                        "--update", gas]) == 2
    assert "image type 0x0002, not the meter's 0x0001" in capsys.readouterr().err
    (tmp_path / "x.bin").write_bytes(b"\x00" * 64)
    assert deploy.main(["--board", "esp32c6", "--port", "/dev/null", "--dry-run",
                        "--update", str(tmp_path / "x.bin")]) == 2
    assert "no ZigBee OTA upgrade file" in capsys.readouterr().err
    assert deploy.main(["--board", "esp32c6", "--port", "/dev/null", "--dry-run",
                        "--update", str(tmp_path / "missing")]) == 2
