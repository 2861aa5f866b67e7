"""Tier 3, issue 14's "python -m tools.baiop run --target emu --profile nl and --profile be
pass every case on the emulated board": the H1 suites (tools/baiop/suites) against our
firmware on QEMU, Data Request on the board's host line, a reboot through the power-fail
warning. Every case that can run on this target passes; the others are skipped with a
reason and their statements reported NOT RUN (never passed); the coverage table lists
every BAP statement."""
import csv
import subprocess
import sys

import pytest

from conftest import ROOT

# Cases this target cannot run, and why (anything else skipped is a failure of this test).
NOT_ON_EMU = {
    "h1_framing.Serial_115200_8N1",  # QEMU's UART has no line rate
}


@pytest.mark.parametrize("profile", ["nl", "be"])
def test_baiop_passes_on_the_emulated_board(profile, tmp_path, capsys):
    proc = subprocess.run([sys.executable, "-m", "tools.baiop", "run", "--target", "emu",
                           "--profile", profile, "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    from tools.baiop.__main__ import results_of

    v = results_of(str(tmp_path / "output.xml"))
    assert "FAIL" not in v.values()
    ran = {c for c, s in v.items() if s == "PASS"}
    skipped = {c for c, s in v.items() if s == "SKIP"}
    # The other profiles' object lists and the encrypted profile's cases skip; nothing
    # else does.
    other = {c for c in skipped if c.startswith("h1_obis.Object_Set_")
             and not c.endswith("_" + profile.capitalize())}
    security = {c for c in skipped if c.startswith("h1_security.")}
    assert skipped - other - security == NOT_ON_EMU, sorted(skipped)
    assert "h1_obis.Object_Set_" + profile.capitalize() in ran
    assert {"h1_data_request.Silent_While_Low", "h1_data_request.Glitch_Mid_Telegram",
            "h1_registers.Monotonic_Across_Reboot", "h1_timing.Timestamp_Matches_Start",
            "h1_data_request.First_Telegram_Within_One_Second"} <= ran
    with open(tmp_path / "coverage.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) > 100 and not [r for r in rows if r["verdict"] == "FAIL"]
    counts = {}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    with capsys.disabled():  # shown by make test (tools/test.py prints [report] lines)
        print("\n[report] BAIOP emu %s: %d cases passed, %d skipped; BAP statements %s"
              % (profile, len(ran), len(skipped),
                 ", ".join("%d %s" % (n, k) for k, n in sorted(counts.items()))))
    assert (tmp_path / "junit.xml").exists() and (tmp_path / "period-histogram.png").exists()
