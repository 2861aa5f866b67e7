"""Tier 2: every portable test module in tests/unit, run by the MicroPython unix port
(build/micropython), each of its tests reported as one pytest item.

The x64 natmod directory is on MICROPYPATH, so native fronts pick the natmod there and the
tests compare it with the Python fallback. A missing binary fails (it does not skip).
"""
import ast
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MICROPYTHON = os.path.join(ROOT, "build", "micropython")
UNIT_DIR = os.path.join(ROOT, "tests", "unit")
MICROPYPATH = ":".join([
    ".frozen",
    os.path.join(ROOT, "tests", "unit"),
    os.path.join(ROOT, "boards", "sim"),
    os.path.join(ROOT, "firmware"),
    os.path.join(ROOT, "build", "natmod", "x64"),
])


def _portable_tests():
    items = []
    for fname in sorted(os.listdir(UNIT_DIR)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        with open(os.path.join(UNIT_DIR, fname)) as f:
            tree = ast.parse(f.read())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                items.append((fname[:-3], node.name))
    return items


_results = {}


def _run(module):
    if module not in _results:
        if not os.path.exists(MICROPYTHON):
            pytest.fail("build/micropython is missing: run `make build` (tier 2 cannot run)")
        env = dict(os.environ, MICROPYPATH=MICROPYPATH)
        proc = subprocess.run([MICROPYTHON, "-X", "heapsize=4M",
                               os.path.join(ROOT, "tests", "mpy", "runner.py"), module],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        status, current = {}, None
        for line in proc.stdout.splitlines():
            if line.startswith(("PASS ", "FAIL ")):
                verdict, name = line.split(" ", 1)
                current = name.split(".", 1)[1]
                status[current] = [verdict, []]
            elif line.startswith("| ") and current:
                status[current][1].append(line[2:])
        _results[module] = (status, proc)
    return _results[module]


@pytest.mark.parametrize("module,test", _portable_tests(),
                         ids=["%s::%s" % t for t in _portable_tests()])
def test_on_micropython(module, test):
    status, proc = _run(module)
    if test not in status:
        pytest.fail("%s.%s did not run under MicroPython (exit %s):\n%s\n%s"
                    % (module, test, proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    verdict, trace = status[test]
    assert verdict == "PASS", "\n".join(trace)
