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


def test_class_05s_down_to_1_percent_ib_on_the_24_bit_front_end(capsys):
    calibration, rows = accuracy.run_table(bits=24)
    with capsys.disabled():
        worst = max(rows, key=lambda r: abs(r["error_percent"]))
        print("\n[report] 24-bit front end: %d points, worst %+.4f %% at %s PF %s (0.5S limit "
              "%.1f %%)" % (len(rows), worst["error_percent"], worst["point"], worst["pf"],
                            worst["class05s_limit"]))
    assert len(rows) >= 41
    points = {(r["point"], r["pf"]) for r in rows}
    assert ("0.01 Ib", "1") in points and ("0.02 Ib", "0.5i") in points
    assert all(r["class05s"] for r in rows), [r for r in rows if not r["class05s"]]
    # the calibration found the same sensor errors through the 24-bit codes
    p = calibration.phases[0]
    assert abs(p.phase_deg + accuracy.FRONT_END_24["ct_phase_deg"]) < 0.005
    assert abs(p.i_gain * (1 + accuracy.FRONT_END_24["gain_error"][1]) - 1) < 0.0002
