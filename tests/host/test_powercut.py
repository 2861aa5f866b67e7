# The power-cut campaign (tools/powercut.py, issue 3 "must show"): 1 000 cuts on the unix
# port over real littlefs, and 1 000 over the tearing RAM file system on CPython. 10 000
# cuts on the unix port: `python -m tools.powercut --cuts 10000 --seed 1 --json`
# (about 3.5 minutes here; see docs/registers.md).
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(*args):
    proc = subprocess.run([sys.executable, "-m", "tools.powercut", "--json", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def _check(result, cuts):
    assert result["cuts"] == cuts
    assert result["corrupt"] == 0, result["incidents"]
    assert result["regressions"] == 0, result["incidents"]
    assert result["bound_violations"] == 0
    assert result["warned_cuts"] > cuts // 8 and result["warned_loss_wh"] == 0
    # Loss bound: 10 Wh plus one second of the largest load the campaign draws (17 kW).
    assert 0 < result["max_loss_wh"] <= 10 + 17000 / 3600
    assert result["boots"] > cuts * 3 // 4  # most cuts fall while the registers run
    assert result["energy_saves"] > cuts


def test_thousand_cuts_on_littlefs_under_micropython():
    result = _run("--cuts", "1000", "--seed", "1", "--runtime", "micropython")
    _check(result, 1000)
    assert result["runtime"] == "micropython" and result["erases_per_day"] > 0


def test_thousand_cuts_on_a_tearing_file_system_under_cpython():
    result = _run("--cuts", "1000", "--seed", "1", "--runtime", "cpython")
    _check(result, 1000)
    assert result["torn_slots"] > 0  # the cuts really did tear records
    assert result["runtime"] == "cpython"


def test_same_seed_same_campaign():
    a = _run("--cuts", "50", "--seed", "7", "--runtime", "cpython")
    b = _run("--cuts", "50", "--seed", "7", "--runtime", "cpython")
    a.pop("seconds")
    b.pop("seconds")
    assert a == b


def test_with_han_the_trust_centre_and_the_queue_are_checked_too():
    # --han: the energy campaign, then the HAN's (trust centre tables) and the hub's
    # store-and-forward queue's, each a JSON line with its own zero-failure counts.
    proc = subprocess.run([sys.executable, "-m", "tools.powercut", "--json", "--han",
                           "--cuts", "20", "--seed", "3", "--runtime", "cpython"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    energy, han, forward = [json.loads(line) for line in proc.stdout.splitlines()]
    _check(energy, 20)
    assert han["cuts"] == 20 and han["lost_devices"] == 0 and han["wrong_keys"] == 0
    assert han["counter_reuse"] == 0 and han["corrupt"] == 0
    assert forward["cuts"] == 20 and forward["lost"] == 0 and forward["duplicated"] == 0
