"""Accuracy of the firmware's metrology on simulated 12-bit input at the IEC 62053-21
class 1 test points after a one-point calibration (tools/metrology/accuracy.py). Prints the
table (lines marked [report], shown by make test) and requires every point within class 1;
class 0.5S is the aim and is checked too."""
from tools.metrology import accuracy


def test_class_1_at_every_test_point(capsys):
    calibration, rows = accuracy.run_table()
    with capsys.disabled():
        p = calibration.phases[0]
        print("\n[report] metrology accuracy after calibration at Ib (v_gain %.5f, i_gain %.5f, "
              "phase %+.3f deg)" % (p.v_gain, p.i_gain, p.phase_deg))
        for line in accuracy.format_table(rows):
            print("[report] " + line)
    assert len(rows) >= 35
    failures = [r for r in rows if not r["class1"]]
    assert not failures, failures
    assert all(r["class05s"] for r in rows), [r for r in rows if not r["class05s"]]
    # the calibration found the simulated front end's errors
    assert abs(p.phase_deg + accuracy.FRONT_END["ct_phase_deg"]) < 0.02
    assert abs(p.v_gain * (1 + accuracy.FRONT_END["gain_error"][0]) - 1) < 0.001
    assert abs(p.i_gain * (1 + accuracy.FRONT_END["gain_error"][1]) - 1) < 0.001


def test_plot_is_written(tmp_path):
    rows = [{"point": "1.00 Ib", "current_a": 5.0, "pf": "1", "error_percent": 0.01},
            {"point": "2.00 Ib", "current_a": 10.0, "pf": "0.5i", "error_percent": -0.02}]
    out = tmp_path / "acc.png"
    accuracy.plot(rows, str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
