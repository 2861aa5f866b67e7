"""Tier 1: every native module is built for every architecture the Makefile lists, and each
.mpy file carries the header of its architecture (MicroPython docs, "MicroPython .mpy
files": byte 0 'M', byte 1 version 6, byte 2 = arch << 2 | sub-version)."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NATIVE = os.path.join(ROOT, "firmware", "native")
# MP_NATIVE_ARCH_* numbering (py/persistentcode.h of MicroPython 1.25).
ARCH_CODES = {"x64": 2, "armv7m": 5, "armv7emsp": 7, "xtensawin": 10, "rv32imc": 11}
BUILT_HERE = ("x64", "armv7m", "rv32imc")


def test_each_natmod_built_with_its_architecture_header():
    mods = sorted(d for d in os.listdir(NATIVE) if d.startswith("_")
                  and os.path.isdir(os.path.join(NATIVE, d)))
    assert mods, "no native modules under firmware/native"
    for arch in BUILT_HERE:
        for mod in mods:
            path = os.path.join(ROOT, "build", "natmod", arch, mod + ".mpy")
            assert os.path.exists(path), "%s not built for %s" % (mod, arch)
            with open(path, "rb") as f:
                head = f.read(4)
            assert head[0:1] == b"M" and head[1] == 6, (path, head)
            assert head[2] >> 2 == ARCH_CODES[arch], (path, head)
