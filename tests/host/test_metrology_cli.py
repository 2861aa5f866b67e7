"""tools.metrology synth/analyse: a capture written from a scenario is measured back by
the firmware's metrology to the scenario's values (computed here from its parameters)."""
import json
import math
import subprocess
import sys

ROOT = __file__.rsplit("/tests/", 1)[0]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "tools.metrology"] + list(args), cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_synth_then_analyse_three_phase(tmp_path):
    wav = str(tmp_path / "three.wav")
    out = cli("synth", wav, "--phases", "3", "--seconds", "3", "--irms", "12", "--pf", "-0.8",
              "--freq", "49.5")
    assert out.returncode == 0, out.stderr
    # the scales per 12-bit code (the default full scale: 409.6 V and 102.4 A peak)
    assert "--v-scale 0.2 --i-scale 0.05 --bits 12" in out.stdout
    res = cli("analyse", wav, "--v-scale", "0.2", "--i-scale", "0.05", "--phases", "3",
              "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["seconds"] == 3 and len(data["phases"]) == 3
    angle = -math.degrees(math.acos(0.8))
    for ph in data["phases"]:
        assert set(ph) == {"vrms", "irms", "p_w", "q_var", "s_va", "pf", "freq_hz"}
        assert abs(ph["vrms"] - 230.0) < 0.3 and abs(ph["irms"] - 12.0) < 0.02
        assert abs(ph["p_w"] - 230 * 12 * 0.8) < 3.0
        assert abs(ph["q_var"] - 230 * 12 * math.sin(math.radians(angle))) < 5.0
        assert abs(ph["pf"] - 0.8) < 0.002 and abs(ph["freq_hz"] - 49.5) < 0.01
    e = data["energy"]
    assert abs(e["import_wh"] - 3 * 230 * 12 * 0.8 * 3 / 3600) < 0.01
    assert e["export_wh"] == 0 and e["q1_varh"] == 0 and e["q4_varh"] > 1.5


def test_export_capture_reports_negative_power(tmp_path):
    wav = str(tmp_path / "export.wav")
    assert cli("synth", wav, "--seconds", "2", "--irms", "4", "--angle", "180").returncode == 0
    res = cli("analyse", wav, "--v-scale", "0.2", "--i-scale", "0.05", "--json")
    data = json.loads(res.stdout)
    assert data["phases"][0]["p_w"] < -900 and data["energy"]["import_wh"] == 0
    assert abs(data["energy"]["export_wh"] - 2 * 920 / 3600) < 0.005


def test_bad_inputs_are_explained(tmp_path):
    wav = str(tmp_path / "one.wav")
    assert cli("synth", wav, "--seconds", "1").returncode == 0
    res = cli("analyse", wav, "--v-scale", "1", "--i-scale", "1", "--phases", "3")
    assert res.returncode == 2 and "has 2 channels" in res.stderr
    bogus = tmp_path / "bogus.wav"
    bogus.write_bytes(b"not a wav file at all")
    res = cli("analyse", str(bogus), "--v-scale", "1", "--i-scale", "1")
    assert res.returncode == 2 and "RIFF" in res.stderr
    short = str(tmp_path / "short.wav")
    assert cli("synth", short, "--seconds", "0.5").returncode == 0
    res = cli("analyse", short, "--v-scale", "1", "--i-scale", "1")
    assert res.returncode == 2 and "less than one second" in res.stderr
