"""tools.metrology synth --fault / --freq-step, then analyse: the firmware's metrology runs
through supply and ADC faults in a capture without an exception, reports the expected events
in its JSON, and measures every whole period outside the fault within 1 % (class 1) of the
energy computed here from the synthesized scenario's parameters."""
import json
import math
import subprocess
import sys

ROOT = __file__.rsplit("/tests/", 1)[0]
VRMS, IRMS, ANGLE = 230.0, 10.0, 30.0
WH_PER_PERIOD = VRMS * IRMS * math.cos(math.radians(ANGLE)) / 3600.0  # per phase, 1 s


def cli(*args):
    return subprocess.run([sys.executable, "-m", "tools.metrology"] + list(args), cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def synth_analyse(tmp_path, name, seconds, *extra, phases=1):
    wav = str(tmp_path / (name + ".wav"))
    out = cli("synth", wav, "--seconds", str(seconds), "--vrms", str(VRMS), "--irms",
              str(IRMS), "--angle", str(ANGLE), "--phases", str(phases), *extra)
    assert out.returncode == 0, out.stderr
    res = cli("analyse", wav, "--v-scale", "0.2", "--i-scale", "0.05", "--phases",
              str(phases), "--json")
    assert res.returncode == 0, res.stderr  # no exception on the way
    data = json.loads(res.stdout)
    assert data["seconds"] == seconds and len(data["period_energy_wh"]) == seconds
    return data


def intervals(data):
    """{(kind, phase): [(start period, end period or None), ...]}"""
    out = {}
    for e in data["events"]:
        runs = out.setdefault((e["kind"], e["phase"]), [])
        if e["active"]:
            runs.append([e["period"], None])
        else:
            assert runs and runs[-1][1] is None, data["events"]
            runs[-1][1] = e["period"]
    return {key: [tuple(r) for r in runs] for key, runs in out.items()}


def check_energy(data, fault_periods, phases=1):
    want = phases * WH_PER_PERIOD
    for p, wh in enumerate(data["period_energy_wh"]):
        if p + 1 in fault_periods:
            assert 0 <= wh <= 1.02 * want, (p + 1, wh, want)
        else:
            assert abs(wh - want) <= 0.01 * want, (p + 1, wh, want)


def test_dropout_inside_a_period_and_a_long_one(tmp_path):
    # 0.94 s to 0 V inside period 3, starting 90 degrees into a cycle (the ~2 Hz reading
    # that used to stop the metrology).
    data = synth_analyse(tmp_path, "dropout", 6, "--fault", "dropout:2.025:0.94")
    loss = [(3, 4)]
    assert intervals(data) == {("voltage_loss", 1): loss, ("freq_out_of_range", 1): loss,
                               ("power_failure", 0): loss}
    check_energy(data, {3})
    # 5 s of ADC code 0 from 1.5 s (217 degrees into a cycle): periods 2 to 7 lost.
    data = synth_analyse(tmp_path, "zero", 9, "--fault", "zero:1.51205:5")
    ev = intervals(data)
    for key in (("voltage_loss", 1), ("freq_out_of_range", 1), ("power_failure", 0)):
        assert ev.pop(key) == [(2, 8)], key
    assert ev.pop(("adc_stuck", 1)) == [(3, 7)]  # periods 3..6 wholly at code 0
    assert ev.pop(("adc_saturated", 1))[0][0] == 2
    assert set(k for k, ph in ev) <= {"sag", "swell"}, ev
    check_energy(data, {2, 3, 4, 5, 6, 7})


def test_short_dropouts_are_not_a_loss(tmp_path):
    data = synth_analyse(tmp_path, "short", 5, "--fault", "dropout:1.3:0.000125",
                         "--fault", "dropout:3.4:0.02")
    assert set(k for k, ph in intervals(data)) <= {"sag"}, data["events"]
    check_energy(data, {2, 4})


def test_off_range_frequency_and_steps(tmp_path):
    data = synth_analyse(tmp_path, "forty", 3, "--freq", "40")
    assert intervals(data) == {("freq_out_of_range", 1): [(1, None)]}
    assert data["phases"][0]["freq_hz"] == 50.0  # the taps stay at the last good (nominal)
    check_energy(data, set())
    data = synth_analyse(tmp_path, "steps", 8, "--freq-step", "2:40", "--freq-step", "4:70",
                         "--freq-step", "6:50")
    assert intervals(data) == {("freq_out_of_range", 1): [(3, 7)]}
    check_energy(data, set())


def test_stuck_dc_and_saturated_adc(tmp_path):
    # L2's ADC stuck for 2 s on a three-phase meter: L2 lost, no power failure.
    data = synth_analyse(tmp_path, "stuck", 5, "--fault", "stuck:1.5:2:2", phases=3)
    ev = intervals(data)
    assert ev.pop(("voltage_loss", 2)) == [(2, 5)]
    assert ev.pop(("freq_out_of_range", 2)) == [(2, 5)]
    assert ev.pop(("adc_stuck", 2)) == [(3, 4)]
    assert set(k for k, ph in ev) <= {"sag", "swell"}, ev
    check_energy(data, {2, 3, 4}, 3)
    data = synth_analyse(tmp_path, "dc", 5, "--fault", "dc:1.5:2")
    ev = intervals(data)
    for key in (("voltage_loss", 1), ("freq_out_of_range", 1), ("power_failure", 0)):
        assert ev.pop(key) == [(2, 5)], key
    assert set(k for k, ph in ev) <= {"sag", "swell"}, ev
    check_energy(data, {2, 3, 4})
    data = synth_analyse(tmp_path, "clip", 5, "--fault", "clip:2:1")
    assert intervals(data) == {("adc_saturated", 1): [(3, 4)], ("swell", 1): [(3, 4)]}


def test_bad_fault_specs_are_explained(tmp_path):
    wav = str(tmp_path / "x.wav")
    for spec, text in (("flood:1:1", "KIND one of"), ("dropout:1", "KIND:START:DURATION"),
                       ("dropout:1:0", "DURATION > 0"), ("dropout:1:1:4", "digits 1..3")):
        res = cli("synth", wav, "--seconds", "2", "--fault", spec)
        assert res.returncode == 2 and text in res.stderr, (spec, res.stderr)
    res = cli("synth", wav, "--seconds", "2", "--fault", "dropout:1:1:2")
    assert res.returncode == 2 and "does not have" in res.stderr
