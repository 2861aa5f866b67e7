# The HAN power-cut campaign (tools/powercut_han.py, issue 11): the trust centre's device
# table, keys and frame counters through cuts at random flash operations, on the unix port
# over real littlefs and on CPython over the tearing RAM file system. A short slice here;
# the long run (a few minutes per 1 000 cuts):
#   .venv/bin/python -m tools.powercut_han --cuts 3000 --seed 1 --json
#   .venv/bin/python -m tools.powercut_han --cuts 3000 --seed 1 --runtime cpython --json
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAILURES = ("corrupt", "lost_devices", "resurrected", "wrong_keys", "counter_reuse",
            "incoming_regressions", "stale_incoming", "warned_losses", "errors")


def _run(*args):
    proc = subprocess.run([sys.executable, "-m", "tools.powercut_han", "--json", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def _check(result, cuts):
    assert result["cuts"] == cuts and result["reboot_checks"] == cuts - 1
    for name in FAILURES:
        assert result[name] == 0, (name, result["incidents"])
    # The cuts fell inside saves of both records, and the network really ran: devices
    # registered, removed, traffic accepted both ways, a key update.
    assert result["cut_hannet"] > 0 and result["cut_hanctr"] > 0
    assert result["warned_cuts"] > 0
    assert result["registrations"] > 3 and result["removals"] > 0
    assert result["key_updates"] > 0
    assert result["accepted_from_devices"] > 10 * cuts
    assert result["coord_nwk_counter"] > 0 and result["coord_aps_counter"] > 0
    assert result["undecrypted_frames"] == 0  # every coordinator frame was read on air


def test_han_cuts_on_littlefs_under_micropython():
    result = _run("--cuts", "40", "--seed", "1", "--runtime", "micropython")
    _check(result, 40)
    assert result["runtime"] == "micropython"


def test_han_cuts_on_a_tearing_file_system_under_cpython():
    result = _run("--cuts", "40", "--seed", "1", "--runtime", "cpython")
    _check(result, 40)
    assert result["runtime"] == "cpython"


def test_same_seed_same_han_campaign():
    a = _run("--cuts", "12", "--seed", "5", "--runtime", "cpython")
    b = _run("--cuts", "12", "--seed", "5", "--runtime", "cpython")
    a.pop("seconds")
    b.pop("seconds")
    assert a == b
