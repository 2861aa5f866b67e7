"""Evaluate a board's manifest (boards/<board>/manifest.py, MicroPython's manifest format)
with MicroPython's own tools/manifestfile.py from the unpacked source tree."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPY_SRC = os.path.join(ROOT, "build", "micropython-src")
BOARDS = os.path.join(ROOT, "boards")


def board_dir(board):
    path = os.path.join(BOARDS, board)
    if not os.path.isfile(os.path.join(path, "manifest.py")):
        known = sorted(b for b in os.listdir(BOARDS)
                       if os.path.isfile(os.path.join(BOARDS, b, "manifest.py")))
        raise ValueError("unknown board %r (boards: %s)" % (board, ", ".join(known)))
    return path


def manifest_files(board, ours_only=True):
    """[(source path, target path on the device)] of the board's manifest, in order.
    ours_only: keep files of this repository (drop e.g. MicroPython's own asyncio)."""
    tools = os.path.join(MPY_SRC, "tools")
    if not os.path.isdir(tools):
        raise RuntimeError("MicroPython source missing (run tools/bootstrap.sh mpsrc)")
    if tools not in sys.path:
        sys.path.insert(0, tools)
    import manifestfile

    bdir = board_dir(board)
    m = manifestfile.ManifestFile(manifestfile.MODE_FREEZE, {
        "MPY_DIR": MPY_SRC, "MPY_LIB_DIR": os.path.join(MPY_SRC, "lib", "micropython-lib"),
        "PORT_DIR": os.path.join(MPY_SRC, "ports"), "BOARD_DIR": bdir})
    m.execute(os.path.join(bdir, "manifest.py"))
    out = []
    for entry in m.files():
        src = os.path.realpath(entry.full_path)
        ours = src.startswith(ROOT + os.sep) and not src.startswith(MPY_SRC + os.sep)
        if ours or not ours_only:
            out.append((src, entry.target_path))
    return out


def module_names(files):
    names = []
    for _, target in files:
        mod = target[:-3].replace("/", ".")
        names.append(mod[:-len(".__init__")] if mod.endswith(".__init__") else mod)
    return names
