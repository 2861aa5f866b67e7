# The store-and-forward power-cut campaign (tools/powercut_forward.py, issue 13; seed 003
# §11.1, §11.4): the hub's queue through 300 cuts at random flash operations on the unix
# port over real littlefs, and 300 torn writes on CPython: 0 items lost, 0 accepted twice,
# ids never reused. The long run:
#   .venv/bin/python -m tools.powercut_forward --cuts 5000 --seed 1 --json
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAILURES = ("lost", "duplicated", "wrong_item", "id_reuse", "resurrected", "corrupt")


def _run(*args):
    proc = subprocess.run([sys.executable, "-m", "tools.powercut_forward", "--json", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def _check(result, cuts):
    assert result["cuts"] == cuts and result["reboot_checks"] == cuts
    for name in FAILURES:
        assert result[name] == 0, (name, result["incidents"])
    # The cuts fell inside every kind of write, and the workload did what it should:
    # overflow events, recipients dropping resends, devices replaced.
    assert result["cut_enqueue"] > cuts // 4 and result["cut_ack"] > cuts // 10
    assert result["cut_drop"] > 0
    assert result["enqueued"] > 3 * cuts and result["accepted"] > 2 * cuts
    assert result["overflow_events"] > 0 and result["resends_dropped"] > 0
    assert result["replacements"] > 0


def test_forward_cuts_on_littlefs_under_micropython():
    result = _run("--cuts", "300", "--seed", "1", "--runtime", "micropython")
    _check(result, 300)
    assert result["runtime"] == "micropython" and result["seconds"] < 30


def test_forward_cuts_on_a_tearing_file_system_under_cpython():
    result = _run("--cuts", "300", "--seed", "2", "--runtime", "cpython")
    _check(result, 300)
    assert result["runtime"] == "cpython"


def test_same_seed_same_forward_campaign():
    a = _run("--cuts", "40", "--seed", "5", "--runtime", "cpython")
    b = _run("--cuts", "40", "--seed", "5", "--runtime", "cpython")
    a.pop("seconds")
    b.pop("seconds")
    assert a == b


def test_flash_cost_of_enqueue_and_acknowledgement_on_littlefs():
    env = dict(os.environ, MICROPYPATH=":".join([
        ".frozen", os.path.join(ROOT, "boards", "sim"), os.path.join(ROOT, "firmware"),
        os.path.join(ROOT, "build", "natmod", "x64")]))
    proc = subprocess.run([os.path.join(ROOT, "build", "micropython"), "-X", "heapsize=16M",
                           os.path.join(ROOT, "tools", "powercut_forward.py"),
                           "--flash-cost", "500"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cost = json.loads(proc.stdout.strip().splitlines()[-1])
    assert cost["writes"] == 1000  # one record write per enqueue and per acknowledgement
    # littlefs keeps these small files inline in its metadata log: about one program per
    # write and a 4 KiB erase every few dozen writes (measured: 1058 programs, 28 erases).
    assert cost["flash_ops"] < 1.2 * cost["writes"]
    assert cost["erases"] < cost["writes"] / 20
