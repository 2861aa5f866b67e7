"""Put the meter firmware on a board with mpremote (make deploy PORT=... BOARD=...).

    python -m tools.deploy --board esp32c6 --port /dev/ttyUSB0 [--dry-run]

What goes on the board is what its manifest (boards/<board>/manifest.py) lists, compiled
to .mpy by our mpy-cross for the board's architecture (MPY_ARCH in boards/<board>/board.py),
except main.py, which stays source so that MicroPython runs it at boot; plus the board's
native modules (build/natmod/<arch>/*.mpy) where they could be built. A board without them
runs the Python fallbacks (same results, slower).

--ramfs formats a RAM filesystem on the target first and deploys into it: this is how the
path is exercised against the emulated board (tests/emu), which has no flash of its own.
--exec CODE runs CODE in the same mpremote session after the copy.

--update FILE copies only FILE, an update of the meter's own firmware (an OTA file of image
type 0x0001 signed with the provisioned ota_key, docs/update.md), into the board's registers
directory (REGISTERS_DIR of its board.py) as fw-update.zigbee, and resets the board: the
meter installs it into its free A/B slot at boot, tries it, and keeps it or rolls it back.
"""

import argparse
import ast
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tools.manifest import board_dir, manifest_files  # noqa: E402

MPY_CROSS = os.path.join(ROOT, "build", "micropython-src", "mpy-cross", "build", "mpy-cross")
MPREMOTE = os.path.join(ROOT, ".venv", "bin", "mpremote")
KEEP_AS_SOURCE = {"main.py"}
METER_IMAGE_TYPE = 0x0001  # firmware/app/version.py OTA_IMAGE_METER

RAMFS = """
import vfs, os, hal.sim
_bd = hal.sim.RamBlockDevice(block_size=512, block_count=%d)
vfs.VfsLfs2.mkfs(_bd)
vfs.mount(vfs.VfsLfs2(_bd), '/')
os.chdir('/')
"""


def board_constant(board, name, default=None):
    """A constant assigned at the top level of boards/<board>/board.py (read, not run)."""
    with open(os.path.join(board_dir(board), "board.py")) as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    if default is None:
        raise ValueError("boards/%s/board.py does not set %s" % (board, name))
    return default


def board_arch(board):
    return board_constant(board, "MPY_ARCH")


def natmod_arch(board):
    """The natmods a board loads: NATMOD_ARCH where it differs from the bytecode's
    architecture (the pyboard's Cortex-M4 loads armv7m natmods: MicroPython accepts .mpy
    native code of any older ARM architecture of the same family), else MPY_ARCH."""
    return board_constant(board, "NATMOD_ARCH", board_arch(board))


def stage(board, arch, natmods_arch=None):
    """Compile the board's files into build/deploy/<board>/; return [(local, remote)]."""
    out_dir = os.path.join(ROOT, "build", "deploy", board)
    staged = []
    for src, target in manifest_files(board):
        if target in KEEP_AS_SOURCE:
            staged.append((src, target))
            continue
        dest = os.path.join(out_dir, target[:-3] + ".mpy")
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        subprocess.run([MPY_CROSS, "-march=" + arch, "-s", target, "-o", dest, src],
                       check=True)
        staged.append((dest, target[:-3] + ".mpy"))
    natmods_arch = natmods_arch or arch
    natmod_dir = os.path.join(ROOT, "build", "natmod", natmods_arch)
    natmods = sorted(os.listdir(natmod_dir)) if os.path.isdir(natmod_dir) else []
    if not natmods:
        why = (" (xtensawin needs Espressif's toolchain, see README)"
               if natmods_arch == "xtensawin" else "")
        print("[deploy] no native modules built for %s%s: the board will use the Python "
              "fallbacks" % (natmods_arch, why))
    for name in natmods:
        staged.append((os.path.join(natmod_dir, name), name))
    return staged


def update_staged(board, path):
    """[(local, remote)] of an update file (checked to be an OTA upgrade file of the meter's
    image type first: a wrong file would only be refused by the meter at its next boot)."""
    import struct

    with open(path, "rb") as f:
        head = f.read(18)
    # ZigBee OTA upgrade file header (ZCL 11.4.2): file identifier u32, header version,
    # header length, field control, manufacturer code, image type (u16 each), little endian.
    if len(head) < 18 or struct.unpack_from("<I", head, 0)[0] != 0x0BEEF11E:
        raise ValueError("%s is no ZigBee OTA upgrade file (python -m tools.ota pack)" % path)
    image_type = struct.unpack_from("<H", head, 12)[0]
    if image_type != METER_IMAGE_TYPE:
        raise ValueError("%s is image type 0x%04x, not the meter's 0x%04x"
                         % (path, image_type, METER_IMAGE_TYPE))
    return [(path, board_constant(board, "REGISTERS_DIR") + "/fw-update.zigbee")]


def mpremote_args(staged, ramfs_blocks=None, exec_code=None, reset=True):
    args = []
    if ramfs_blocks:
        args += ["exec", RAMFS % ramfs_blocks]
    dirs = sorted({os.path.dirname(r) for _, r in staged if os.path.dirname(r)})
    args += ["exec", "import os\nfor d in %r:\n    try:\n        os.mkdir(d)\n"
                     "    except OSError:\n        pass\n" % dirs]
    for local, remote in staged:
        args += ["fs", "cp", local, ":" + remote, "+"]
    if exec_code:
        args += ["exec", exec_code]
    elif reset:
        args += ["reset"]
    return args


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.deploy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--board", required=True, help="a folder under boards/")
    parser.add_argument("--port", required=True, help="serial device of the board's REPL")
    parser.add_argument("--dry-run", action="store_true", help="stage and list, copy nothing")
    parser.add_argument("--ramfs", type=int, metavar="BLOCKS",
                        help="deploy into a fresh RAM filesystem of BLOCKS x 512 bytes")
    parser.add_argument("--exec", dest="exec_code", metavar="CODE",
                        help="run CODE after copying, in the same session (no reset)")
    parser.add_argument("--no-reset", action="store_true", help="do not reset after copying")
    parser.add_argument("--update", metavar="FILE",
                        help="copy only this update of the meter's own firmware, as "
                             "<REGISTERS_DIR>/fw-update.zigbee (docs/update.md)")
    args = parser.parse_args(argv)
    try:
        arch = board_arch(args.board)
        if args.update:
            staged = update_staged(args.board, args.update)
        else:
            staged = stage(args.board, arch, natmod_arch(args.board))
    except (ValueError, RuntimeError, OSError, subprocess.CalledProcessError) as e:
        print("[deploy] error: %s" % e, file=sys.stderr)
        return 2
    total = sum(os.path.getsize(p) for p, _ in staged)
    print("[deploy] %s (%s): %d files, %d bytes" % (args.board, arch, len(staged), total))
    for local, remote in staged:
        print("  %-28s <- %s" % (remote, os.path.relpath(local, ROOT)))
    if args.dry_run:
        return 0
    cmd = [MPREMOTE, "connect", args.port] + mpremote_args(
        staged, args.ramfs, args.exec_code, reset=not args.no_reset)
    return subprocess.run(cmd, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
