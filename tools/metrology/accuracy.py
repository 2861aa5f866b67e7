"""The accuracy table: the firmware's metrology (firmware/metrology, with whichever kernel
the runtime has) measuring simulated front-end input at the IEC 62053-21 class 1 test points
(and, for the 24-bit front end, the class 0.5S points down to 1 % Ib), after calibrating at
one point (Ib: PF 1 for the gains, PF 0.5 inductive for the phase), the way a meter is
calibrated on the production line.

The simulated meter: direct connected, Un 230 V, Ib 5 A, Imax 60 A, 8 kHz per channel,
gain errors of the divider and CT of +0.7 % / -0.4 %, a CT phase lead of 0.3 degrees, and
  12 bits: a SAR ADC with 0.5 LSB rms noise, mid-scale offsets of a few LSB, the current
           sampled 20.8 us after the voltage (a 48 kHz sequential ADC);
  24 bits: a simultaneous-sampling sigma-delta ADC (ADS131M04 class: about 100 dB dynamic
           range at 8 kSPS, i.e. 40 LSB rms of noise), the same full scale, offsets of a
           few thousand LSB, no skew.
Limits: IEC 62053-21 class 1 and IEC 62053-22 class 0.5S as quoted in
shared/reference/METROLOGY.md.
"""
import math

from tools import fwpath

fwpath.setup()

from hal.adc_sim import PhaseScenario, Scenario, ScenarioADC  # noqa: E402
from metrology import calibration as cal  # noqa: E402
from metrology.config import MetrologyConfig  # noqa: E402
from metrology.energy import EXPORT, IMPORT  # noqa: E402
from metrology.frontend import Metrology  # noqa: E402

UN, IB, IMAX, FN, RATE = 230.0, 5.0, 60.0, 50.0, 8000
V_SCALE, I_SCALE = 0.2, 0.05  # 409.6 V and 102.4 A peak at full scale
FRONT_END = dict(rate_hz=RATE, bits=12, v_scale=V_SCALE, i_scale=I_SCALE, noise_lsb=0.5,
                 offset_lsb=(4.0, -3.0), gain_error=(0.007, -0.004), ct_phase_deg=0.3,
                 skew_us=20.8)
_WIDE = 1 << 12  # 24-bit codes per 12-bit code at the same full scale
FRONT_END_24 = dict(FRONT_END, bits=24, v_scale=V_SCALE / _WIDE, i_scale=I_SCALE / _WIDE,
                    noise_lsb=40.0, offset_lsb=(4.0 * _WIDE, -3.0 * _WIDE), skew_us=0.0)
FRONT_ENDS = {12: FRONT_END, 24: FRONT_END_24}
SETTLE_PERIODS, MEASURE_PERIODS = 1, 4

# Harmonic content for the distorted-waveform points: (order, V fraction, I fraction,
# V phase, I phase), a rectifier-like load on a slightly distorted supply.
HARMONICS = ((3, 0.03, 0.30, 0.0, 15.0), (5, 0.06, 0.20, 180.0, 200.0))

PF_ANGLES = {"1": 0.0, "0.5i": 60.0, "0.8c": -math.degrees(math.acos(0.8))}


def limits(current, pf):
    """(class 1 limit, class 0.5S limit) in percent for a point at `current` amps."""
    if pf == "1":
        c1 = 1.5 if current < 0.1 * IB else 1.0
        c05 = 1.0 if current < 0.05 * IB else 0.5
    else:
        c1 = 1.5 if current < 0.2 * IB else 1.0
        c05 = 1.0 if current < 0.1 * IB else 0.6
    return c1, c05


def front_end(bits):
    if bits not in FRONT_ENDS:
        raise ValueError("the simulated front ends have %s bits"
                         % " or ".join(str(b) for b in sorted(FRONT_ENDS)))
    return FRONT_ENDS[bits]


def meter_config(bits=12):
    fe = front_end(bits)
    return MetrologyConfig(phases=1, rate_hz=RATE, v_scale=fe["v_scale"], i_scale=fe["i_scale"],
                           nominal_v=UN, nominal_hz=FN, skew_us=fe["skew_us"], adc_bits=bits)


def scenario(vrms, irms, angle, freq=FN, harmonics=(), seed=1, bits=12):
    return Scenario(phases=[PhaseScenario(vrms, irms, angle, harmonics)], freq_hz=freq,
                    seed=seed, **front_end(bits))


def point_seed(irms, angle):
    """The noise seed of a test point (each point its own noise, the same on every run)."""
    return int(irms * 1000 + angle * 10) & 0xFFFF or 1


def run(calibration, sc, periods):
    m = Metrology(meter_config(sc.bits), calibration)
    adc = ScenarioADC(sc)
    blocks = RATE // m.config.block_frames
    for _ in range(periods * blocks):
        m.run_block(adc)
    return m


def calibrate(bits=12):
    """The production-line procedure (firmware/metrology/calibration.py) at Ib."""
    c = cal.Calibration(1)
    m = run(c, scenario(UN, IB, 0.0, bits=bits), 3)
    cal.gain_point(c.phases[0], m.results[0].vrms, m.results[0].irms, UN, IB)
    m = run(c, scenario(UN, IB, 60.0, bits=bits), 3)
    cal.phase_point(c.phases[0], m.results[0].p_w, m.results[0].s_va, 60.0)
    m = run(c, scenario(UN, 0.0, 0.0, bits=bits), 3)
    cal.noise_point(c.phases[0], m.results[0].irms)
    return c


def true_power(vrms, irms, angle, harmonics=()):
    p = vrms * irms * math.cos(math.radians(angle))
    for order, vf, i_f, vdeg, ideg in harmonics:
        # The scenario shifts harmonic h of the current by h * (-angle) plus its own phase.
        phi = order * (-math.radians(angle)) + math.radians(ideg) - math.radians(vdeg)
        p += vrms * vf * irms * i_f * math.cos(phi)
    return p


def measure_point(calibration, vrms, irms, angle, freq=FN, harmonics=(), bits=12):
    """Energy error in percent over MEASURE_PERIODS seconds, after SETTLE_PERIODS."""
    m = Metrology(meter_config(bits), calibration)
    adc = ScenarioADC(scenario(vrms, irms, angle, freq, harmonics, point_seed(irms, angle),
                               bits))
    blocks = RATE // m.config.block_frames
    for _ in range(SETTLE_PERIODS * blocks):
        m.run_block(adc)
    before = m.energy.total_mws[IMPORT] - m.energy.total_mws[EXPORT]
    for _ in range(MEASURE_PERIODS * blocks):
        m.run_block(adc)
    measured = (m.energy.total_mws[IMPORT] - m.energy.total_mws[EXPORT] - before) / 1000.0
    expected = true_power(vrms, irms, angle, harmonics) * MEASURE_PERIODS
    return (measured / expected - 1.0) * 100.0


def test_points(bits=12):
    """(label, current A, pf key, V, f, harmonics) of the table: class 1's points, and for
    the 24-bit front end class 0.5S's lower currents too (1 % Ib at PF 1, 2 % at 0.5i/0.8c)."""
    points = []
    low_1, low_pf = ((0.01, 0.02), (0.02, 0.05)) if bits > 12 else ((), ())
    for pf, currents in (("1", low_1 + (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 12.0)),
                         ("0.5i", low_pf + (0.1, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 12.0)),
                         ("0.8c", low_pf + (0.1, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 12.0))):
        for mult in currents:
            points.append(("%.2f Ib" % mult, mult * IB, pf, UN, FN, ()))
    for pf in ("1", "0.5i"):
        for f in (49.0, 51.0):
            points.append(("Ib %g Hz" % f, IB, pf, UN, f, ()))
        for vfrac in (0.9, 1.1):
            points.append(("Ib %.1f Un" % vfrac, IB, pf, UN * vfrac, FN, ()))
    points.append(("Ib 3rd+5th", IB, "1", UN, FN, HARMONICS))
    points.append(("0.5 Imax 3rd+5th", IMAX / 2, "1", UN, FN, HARMONICS))
    return points


def run_table(calibration=None, bits=12):
    """Run every point; returns the calibration and a list of dicts, one per point."""
    calibration = calibration or calibrate(bits)
    rows = []
    for label, current, pf, v, f, harmonics in test_points(bits):
        err = measure_point(calibration, v, current, PF_ANGLES[pf], f, harmonics, bits)
        c1, c05 = limits(current, pf)
        rows.append({"point": label, "current_a": current, "pf": pf, "voltage_v": v,
                     "freq_hz": f, "harmonics": bool(harmonics), "error_percent": err,
                     "class1_limit": c1, "class05s_limit": c05,
                     "class1": abs(err) <= c1, "class05s": abs(err) <= c05})
    return calibration, rows


def format_table(rows):
    lines = ["%-18s %8s %5s %7s %6s %9s %8s %8s" % (
        "point", "I (A)", "PF", "V", "f", "error %", "class 1", "0.5S")]
    for r in rows:
        lines.append("%-18s %8.3f %5s %7.1f %6.1f %+9.4f %8s %8s" % (
            r["point"], r["current_a"], r["pf"], r["voltage_v"], r["freq_hz"],
            r["error_percent"], "ok" if r["class1"] else "FAIL",
            "ok" if r["class05s"] else "no"))
    return lines


def plot(rows, path, bits=12):
    """Error versus current per power factor (reference conditions) with the class limits
    as envelopes (top), and the same errors at a scale where they can be read (bottom);
    written to a PNG file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 8), sharex=True)
    colours = {"1": "tab:blue", "0.5i": "tab:red", "0.8c": "tab:green"}
    for ax in (top, bottom):
        for pf, colour in colours.items():
            pts = [r for r in rows if r["pf"] == pf and r["point"].endswith(" Ib")]
            ax.plot([r["current_a"] for r in pts], [r["error_percent"] for r in pts], "o-",
                    color=colour, label="PF %s" % pf, markersize=4)
    for pf, style in (("1", "-"), ("0.5i", "--")):
        xs, ys1, ys05 = [], [], []
        low = (0.01 if pf == "1" else 0.02) if bits > 12 else (0.05 if pf == "1" else 0.1)
        for c in (0.01 * IB, 0.02 * IB, 0.0499 * IB, 0.05 * IB, 0.0999 * IB, 0.1 * IB,
                  0.1999 * IB, 0.2 * IB, IMAX):
            if c < low * IB:
                continue
            c1, c05 = limits(c, pf)
            xs.append(c)
            ys1.append(c1)
            ys05.append(c05)
        label = "PF 1" if pf == "1" else "PF 0.5i/0.8c"
        for ys, name, colour in ((ys1, "class 1", "grey"), (ys05, "class 0.5S", "black")):
            top.plot(xs, ys, style, color=colour, linewidth=0.8, label="%s %s" % (name, label))
            top.plot(xs, [-y for y in ys], style, color=colour, linewidth=0.8)
    top.set_title("Active energy error after one-point calibration\n"
                  "(simulated %s, Ib 5 A, Imax 60 A, 230 V, 50 Hz)"
                  % ("24-bit sigma-delta front end" if bits > 12 else "12-bit front end"))
    bottom.set_title("the same errors, magnified", fontsize=9)
    bottom.set_xscale("log")
    bottom.set_xlabel("current (A)")
    for ax in (top, bottom):
        ax.set_ylabel("energy error (%)")
        ax.grid(True, which="both", linewidth=0.3)
    top.legend(fontsize=7, loc="upper right", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
