"""Tier 1: the firmware's import rules (docs: README "Layout"; the design's dependency
direction main -> subsystems -> hal/native). Every firmware/**/*.py is parsed with ast,
nothing is imported or run; imports inside functions count (a lazy import is still a
dependency). The rule table lives here, so this test checks a clean clone by itself."""
import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRMWARE = os.path.join(ROOT, "firmware")

# What each top-level package may NOT import. "*" forbids every other firmware package but
# the ones in ONLY_ALLOWED. Names are top-level packages (folders under firmware/, plus
# main for firmware/main.py) or the host folders tools and tests.
FORBIDDEN = {
    "hal": ("*", "hardware knows no application; boards/ assembles"),
    "native": ("*", "kernels are pure"),
    "metrology": (("registers", "h1", "han"),
                  "the legally relevant part knows no interface and hands energy to a sink"),
    "registers": (("metrology", "h1", "han"), "interfaces read the registers, never the reverse"),
    "h1": (("han", "metrology"), "the interfaces meet in main; they read views only"),
    "han": (("h1", "metrology"), "the interfaces meet in main; they read views only"),
}
ONLY_ALLOWED = {"hal": {"hal", "native"}, "native": {"native"}}
NEVER_IMPORTED = ("main", "tools", "tests")  # by any firmware package
HOST_ONLY = {"tools", "tests"}
HARDWARE = {"machine", "pyb", "esp32", "neopixel"}  # port modules: firmware/hal only


def firmware_sources(root=FIRMWARE):
    """{path relative to root ('/'-separated): source text} of every .py under root."""
    out = {}
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith((".", "__pycache__"))]
        for fn in files:
            if fn.endswith(".py"):
                path = os.path.join(d, fn)
                with open(path, encoding="utf-8") as f:
                    out[os.path.relpath(path, root).replace(os.sep, "/")] = f.read()
    return out


def package_names(sources):
    """Top-level packages: first path component, a top-level module's name without .py
    (manifest.py is the build's, not code)."""
    names = set()
    for rel in sources:
        top = rel.split("/")[0]
        if top == "manifest.py":
            continue
        names.add(top[:-3] if top.endswith(".py") else top)
    return names


def imported_modules(source, name="<source>"):
    """[(line, dotted module)] of every absolute import in source, at any depth, plus
    __import__("...") calls with a constant name."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id == "__import__" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return sorted(found)


def _owner(rel):
    top = rel.split("/")[0]
    return top[:-3] if top.endswith(".py") else top


def check(sources, packages=None, prefix="firmware/"):
    """(rule violations, package edges {(src, dst): first 'file:line import x'},
    hardware imports outside hal); every message names file:line."""
    packages = package_names(sources) if packages is None else packages
    known = packages | HOST_ONLY
    broken, edges, hardware = [], {}, []
    for rel in sorted(sources):
        if rel == "manifest.py":
            continue
        src = _owner(rel)
        for line, module in imported_modules(sources[rel], rel):
            where = "%s%s:%d" % (prefix, rel, line)
            dst = module.split(".")[0]
            if dst in HARDWARE and src != "hal":
                hardware.append("%s: %s imports port module %s (only firmware/hal may)"
                                % (where, src, module))
            if dst not in known or dst == src:
                continue
            edges.setdefault((src, dst), "%s import %s" % (where, module))
            if dst in NEVER_IMPORTED:
                broken.append("%s: %s imports %s (main wires everything; firmware never "
                              "imports host programs or tests)" % (where, src, module))
                continue
            rule = FORBIDDEN.get(src)
            if rule is None:
                continue
            targets, why = rule
            if targets == "*":
                bad = dst not in ONLY_ALLOWED.get(src, {src})
            else:
                bad = dst in targets
            if bad:
                broken.append("%s: %s imports %s (%s)" % (where, src, module, why))
    return broken, edges, hardware


def cycles(edges):
    """Package cycles, each as ['a -> b (file:line import x)', ...], one per set of
    packages: a depth-first search from every package in name order."""
    graph = {}
    for s, t in edges:
        graph.setdefault(s, []).append(t)
    found, seen = [], set()

    def visit(path):
        for nxt in sorted(graph.get(path[-1], ())):
            if nxt in path:
                loop = path[path.index(nxt):] + [nxt]
                key = frozenset(loop)
                if key not in seen:
                    seen.add(key)
                    found.append(["%s -> %s (%s)" % (a, b, edges[(a, b)])
                                  for a, b in zip(loop, loop[1:])])
            else:
                visit(path + [nxt])

    for start in sorted(graph):
        visit([start])
    return found


def test_firmware_follows_the_import_rules():
    broken, _, _ = check(firmware_sources())
    assert not broken, "layer rules broken:\n" + "\n".join(broken)


def test_no_package_cycle():
    _, edges, _ = check(firmware_sources())
    loops = cycles(edges)
    assert not loops, "package cycles:\n" + "\n".join("; ".join(c) for c in loops)


def test_port_modules_only_in_hal():
    _, _, hardware = check(firmware_sources())
    assert not hardware, "\n".join(hardware)


def test_the_rule_table_covers_every_firmware_package():
    # A new package must be placed in the table (or be a wiring package like app/main).
    packages = package_names(firmware_sources())
    assert set(FORBIDDEN) <= packages
    assert packages - set(FORBIDDEN) == {"app", "main"}


def test_checker_catches_violations():
    # Synthetic firmware: each file breaks one rule; a clean one breaks none.
    sources = {
        "hal/radio/drv.py": "import time\n\ndef f():\n    from han.mac import frame\n",
        "native/k.py": "import hal\n",
        "metrology/t.py": "from registers import meter\n",
        "registers/c.py": "x = 1\nimport machine\n",
        "h1/b.py": "from app.status import x\n",
        "app/s.py": "import h1.snapshot\n",
        "han/n.py": "__import__('main')\n",
        "hal/ok.py": "import machine\nfrom native import crc16\nfrom hal import clock\n",
        "main.py": "import h1.push\nimport han.node\n",
        "manifest.py": "package('hal')\n",
    }
    broken, edges, hardware = check(sources)
    text = "\n".join(broken)
    assert "firmware/hal/radio/drv.py:4: hal imports han.mac" in text
    assert "firmware/native/k.py:1: native imports hal" in text
    assert "firmware/metrology/t.py:1: metrology imports registers" in text
    assert "firmware/han/n.py:1: han imports main" in text
    assert len(broken) == 4
    assert hardware == ["firmware/registers/c.py:2: registers imports port module machine "
                        "(only firmware/hal may)"]
    # app <-> h1, and the two the broken rules above close: han <-> main, hal <-> native.
    assert sorted(cycles(edges)) == [
        ["app -> h1 (firmware/app/s.py:1 import h1.snapshot)",
         "h1 -> app (firmware/h1/b.py:1 import app.status)"],
        ["hal -> native (firmware/hal/ok.py:2 import native)",
         "native -> hal (firmware/native/k.py:1 import hal)"],
        ["han -> main (firmware/han/n.py:1 import main)",
         "main -> han (firmware/main.py:2 import han.node)"]]
    assert check({"hal/ok.py": sources["hal/ok.py"], "main.py": sources["main.py"]},
                 {"hal", "native", "h1", "han", "main"}) == ([], {
                     ("hal", "native"): "firmware/hal/ok.py:2 import native",
                     ("main", "h1"): "firmware/main.py:1 import h1.push",
                     ("main", "han"): "firmware/main.py:2 import han.node"}, [])
