"""Metrology host tools, running the firmware's own metrology code.

  python -m tools.metrology synth OUT.wav [--phases 1|3] [--seconds S] [--rate HZ]
        [--vrms V] [--irms A] [--angle DEG | --pf PF] [--freq HZ] [--harmonics SPEC]
        [--noise LSB] [--v-scale V_PER_ADC_LSB] [--i-scale A_PER_ADC_LSB] [--bits N] [--seed N]
        [--fault KIND:START:DURATION[:PHASES]]... [--freq-step START:HZ]...
      writes a capture of a scenario as an N-bit ADC (default 12, up to 24) codes it: signed
      codes as they are, in a RIFF PCM int16 file (int32 above 16 bits), channels V1, I1 (,
      V2, I2, V3, I3), and prints the `analyse` arguments. The scales default to a 409.6 V
      and 102.4 A peak full scale at any width. SPEC: "order:vfrac:ifrac[:vdeg:ideg],..."
      e.g. "3:0.03:0.3,5:0.06:0.2". --pf < 0 means capacitive (current leading).
      --fault writes a supply or ADC fault over START .. START+DURATION seconds on all
      phases or on PHASES (e.g. "2", "13"); KIND: dropout (0 V), zero (code 0), stuck
      (codes frozen), rail (top code), dc (a DC level, no AC), clip (voltage doubled and
      clipped). --freq-step changes the frequency at START seconds (phase-continuous).

  python -m tools.metrology analyse FILE.wav --v-scale VOLTS_PER_CODE --i-scale AMPS_PER_CODE
        [--phases 1|3] [--bits N] [--unsigned] [--requantize M] [--skew-us US]
        [--calibration V_GAIN:I_GAIN:PHASE_DEG[:NOISE_A]] [--json]
      measures the capture as the meter would. The file (16- or 32-bit integer PCM) holds
      ADC codes as they are: --bits declares their width (default 12: -2048..2047, or
      0..4095 with --unsigned), and a code outside it is an error. The codes reach the meter
      unchanged (13 to 24 bits go to the wide kernel); --requantize M drops the low bits on
      purpose, measuring a higher-resolution recording as an M-bit meter would (the scales
      stay per code of the file). Whole seconds are measured (a trailing part second is
      ignored).
      Per-phase values are means over the periods after the first (in which the meter
      settles: DC offsets from mid-scale, taps at the nominal frequency), or the first alone
      for a one-second capture; energy counts every period. P > 0 is import. --json also
      gives "events" (the metrology's events: kind, phase (0: all), period (1-based: the
      period that ended) and active) and "period_energy_wh" (net active energy,
      import - export, of each period).

  python -m tools.metrology typetest [--front-end NAME]... [--no-load-seconds S]
        [--plot OUT.png] [--json]
      the laboratory's type tests (starting, no-load, influence quantities) on the front
      ends sar12 (12-bit SAR), sd24 (24-bit sigma-delta), atm90e32 and ade7953 (the metering
      ICs' fakes through their drivers); exit 0 only if every applicable test passed.

  python -m tools.metrology accuracy [--bits 12|24] [--plot OUT.png] [--json]
      the IEC 62053-21 class 1 test table on the simulated 12-bit front end, or (--bits 24)
      the class 0.5S table, down to 1 % Ib, on a simulated 24-bit sigma-delta front end.
"""
import argparse
import json
import math
import sys

from tools import fwpath

fwpath.setup()

from hal.adc_replay import WavADC  # noqa: E402
from hal.adc_sim import PhaseScenario, Scenario  # noqa: E402
from metrology.config import MetrologyConfig  # noqa: E402
from metrology.energy import EXPORT, IMPORT, Q1, Q2, Q3, Q4  # noqa: E402
from metrology.frontend import Metrology  # noqa: E402

FIELDS = ("vrms", "irms", "p_w", "q_var", "s_va", "pf", "freq_hz")


def parse_harmonics(spec):
    out = []
    for item in filter(None, (spec or "").split(",")):
        parts = [float(x) for x in item.split(":")]
        if len(parts) not in (3, 5):
            raise ValueError("harmonic %r: order:vfrac:ifrac[:vdeg:ideg]" % item)
        order, vf, i_f = int(parts[0]), parts[1], parts[2]
        vdeg, ideg = (parts[3], parts[4]) if len(parts) == 5 else (0.0, 0.0)
        out.append((order, vf, i_f, vdeg, ideg))
    return out


def cmd_synth(args):
    from tools.metrology.wav import write_scenario

    angle = args.angle
    if args.pf is not None:
        if not -1.0 <= args.pf <= 1.0 or args.pf == 0:
            raise ValueError("--pf must be in [-1, 1], not 0")
        angle = math.degrees(math.acos(abs(args.pf))) * (1 if args.pf > 0 else -1)
    harmonics = parse_harmonics(args.harmonics)
    phases = [PhaseScenario(args.vrms, args.irms, angle, harmonics)] * args.phases
    if not 8 <= args.bits <= 24:
        raise ValueError("--bits must be 8 .. 24")
    # The same full scale at any width unless told otherwise (0.2 V and 0.05 A per 12-bit code).
    per_code = 2.0 ** (12 - args.bits)
    v_scale = args.v_scale if args.v_scale is not None else 0.2 * per_code
    i_scale = args.i_scale if args.i_scale is not None else 0.05 * per_code
    sc = Scenario(phases=phases, freq_hz=args.freq, rate_hz=args.rate, bits=args.bits,
                  v_scale=v_scale, i_scale=i_scale, noise_lsb=args.noise, seed=args.seed)
    from tools.metrology.wav import parse_fault, parse_freq_step

    faults = [parse_fault(x) for x in args.fault]
    steps = [parse_freq_step(x) for x in args.freq_step]
    v_lsb, i_lsb = write_scenario(args.out, sc, args.seconds, faults, steps)
    print("wrote %s: %d phase(s), %g s at %d Hz; analyse with --v-scale %.10g --i-scale %.10g"
          " --bits %d" % (args.out, args.phases, args.seconds, args.rate, v_lsb, i_lsb,
                          args.bits))
    return 0


def parse_calibration(spec, phases):
    """"V_GAIN:I_GAIN:PHASE_DEG[:NOISE_A]" (the same for every phase) -> Calibration."""
    from metrology.calibration import Calibration

    parts = spec.split(":")
    if len(parts) not in (3, 4):
        raise ValueError("--calibration %r: V_GAIN:I_GAIN:PHASE_DEG[:NOISE_A]" % spec)
    values = [float(x) for x in parts] + [0.0] * (4 - len(parts))
    c = Calibration(phases)
    for p in c.phases:
        p.v_gain, p.i_gain, p.phase_deg, p.i_noise_a = values
    problem = c.range_error(phases)
    if problem:
        raise ValueError("--calibration: %s" % problem)
    return c


def analyse(path, v_scale, i_scale, phases, bits=12, requantize=None, signed=True,
            calibration=None, skew_us=0.0):
    """Run the firmware's metrology over a capture of `bits`-bit codes (measured as a
    `requantize`-bit meter when given, with a calibration.Calibration and the current's
    sampling skew when given); returns the result dict of --json."""
    if requantize is not None and not 8 <= requantize <= bits:
        raise ValueError("--requantize must be 8 .. --bits (%d)" % bits)
    meter_bits = requantize or bits
    if not 8 <= meter_bits <= 24:
        raise ValueError("the meter measures 8- to 24-bit codes: give --requantize 24 or "
                         "less for %d-bit codes" % bits)
    with open(path, "rb") as f:
        adc = WavADC(f, bits, meter_bits, signed)
        if adc.channels != 2 * phases:
            raise ValueError("%s has %d channels; %d phase(s) need %d"
                             % (path, adc.channels, phases, 2 * phases))
        shift = 1 << (bits - meter_bits)
        cfg = MetrologyConfig(phases=phases, rate_hz=adc.rate_hz, v_scale=v_scale * shift,
                              i_scale=i_scale * shift, adc_bits=meter_bits, adc_signed=signed,
                              skew_us=skew_us)
        events = []
        m = Metrology(cfg, calibration, on_event=lambda kind, phase, period, active:
                      events.append({"kind": kind, "phase": phase, "period": period,
                                     "active": active}))
        sums = [[0.0] * len(FIELDS) for _ in range(phases)]
        periods = 0
        period_wh = []
        net_done = 0
        while True:
            frames = adc.read_block(m.block)
            if frames < cfg.block_frames:
                break  # the end: a part block (part second) is not measured
            before = m.periods
            m.process(m.block, frames)
            if m.periods != before:
                net = m.energy.total_mws[IMPORT] - m.energy.total_mws[EXPORT]  # integers
                period_wh.append((net - net_done) / 3600000.0)
                net_done = net
                periods += 1
                if periods == 2:  # drop the settling period from the means
                    sums = [[0.0] * len(FIELDS) for _ in range(phases)]
                for k, r in enumerate(m.results):
                    for j, name in enumerate(FIELDS):
                        sums[k][j] += getattr(r, name)
    if not periods:
        raise ValueError("%s holds less than one second of samples" % path)
    e = m.energy
    averaged = periods - 1 if periods > 1 else 1
    return {
        "phases": [{name: sums[k][j] / averaged for j, name in enumerate(FIELDS)}
                   for k in range(phases)],
        "energy": {"import_wh": e.wh(IMPORT), "export_wh": e.wh(EXPORT), "q1_varh": e.wh(Q1),
                   "q2_varh": e.wh(Q2), "q3_varh": e.wh(Q3), "q4_varh": e.wh(Q4)},
        "seconds": periods,
        "events": events,
        "period_energy_wh": period_wh,
    }


def cmd_analyse(args):
    calibration = parse_calibration(args.calibration, args.phases) if args.calibration else None
    result = analyse(args.file, args.v_scale, args.i_scale, args.phases, args.bits,
                     args.requantize, not args.unsigned, calibration, args.skew_us)
    if args.json:
        print(json.dumps(result))
        return 0
    print("%d s measured" % result["seconds"])
    for k, ph in enumerate(result["phases"]):
        print("L%d  %8.3f V %8.4f A %10.3f W %10.3f var %10.3f VA  PF %+.4f  %.4f Hz" % (
            k + 1, ph["vrms"], ph["irms"], ph["p_w"], ph["q_var"], ph["s_va"], ph["pf"],
            ph["freq_hz"]))
    e = result["energy"]
    print("energy: +A %.6f Wh  -A %.6f Wh  QI %.6f  QII %.6f  QIII %.6f  QIV %.6f varh" % (
        e["import_wh"], e["export_wh"], e["q1_varh"], e["q2_varh"], e["q3_varh"],
        e["q4_varh"]))
    return 0


def cmd_accuracy(args):
    from tools.metrology import accuracy

    calibration, rows = accuracy.run_table(bits=args.bits)
    if args.json:
        print(json.dumps(rows))
    else:
        p = calibration.phases[0]
        print("calibration at Ib: v_gain %.5f  i_gain %.5f  phase %.3f deg  noise %.4f A"
              % (p.v_gain, p.i_gain, p.phase_deg, p.i_noise_a))
        print("\n".join(accuracy.format_table(rows)))
    if args.plot:
        accuracy.plot(rows, args.plot, args.bits)
        print("plot written to %s" % args.plot, file=sys.stderr)
    judged = "class05s" if args.bits > 12 else "class1"
    return 0 if all(r[judged] for r in rows) else 1


def cmd_typetest(args):
    from tools.metrology import typetest, typetest_report

    names = args.front_end or list(typetest.FRONT_ENDS)
    rows = []
    for name in names:
        if name not in typetest.FRONT_ENDS:
            raise ValueError("front ends: %s" % ", ".join(typetest.FRONT_ENDS))
        rows.extend(typetest.run(name, noload_s=args.no_load_seconds))
    if args.json:
        print(json.dumps(rows))
    else:
        print("\n".join(typetest_report.format_rows(rows)))
    if args.plot:
        typetest_report.plot(rows, args.plot)
        print("plot written to %s" % args.plot, file=sys.stderr)
    return 0 if typetest.all_passed(rows) else 1


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.metrology", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("synth", help="write a scenario capture")
    s.add_argument("out")
    s.add_argument("--phases", type=int, choices=(1, 3), default=1)
    s.add_argument("--seconds", type=float, default=5.0)
    s.add_argument("--rate", type=int, default=8000)
    s.add_argument("--vrms", type=float, default=230.0)
    s.add_argument("--irms", type=float, default=5.0)
    s.add_argument("--angle", type=float, default=0.0, help="current lag in degrees")
    s.add_argument("--pf", type=float, default=None)
    s.add_argument("--freq", type=float, default=50.0)
    s.add_argument("--harmonics", default="")
    s.add_argument("--noise", type=float, default=0.5, help="ADC noise, LSB rms")
    s.add_argument("--v-scale", type=float, default=None,
                   help="volts per ADC code (default 0.2 at 12 bits, scaled with --bits)")
    s.add_argument("--i-scale", type=float, default=None,
                   help="amps per ADC code (default 0.05 at 12 bits, scaled with --bits)")
    s.add_argument("--bits", type=int, default=12, help="the ADC's code width (8..24)")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--fault", action="append", default=[],
                   metavar="KIND:START:DURATION[:PHASES]", help="write a supply/ADC fault")
    s.add_argument("--freq-step", action="append", default=[], metavar="START:HZ",
                   help="change the supply frequency at START seconds")
    a = sub.add_parser("analyse", help="measure a capture")
    a.add_argument("file")
    a.add_argument("--v-scale", type=float, required=True, help="volts per code of the file")
    a.add_argument("--i-scale", type=float, required=True, help="amps per code of the file")
    a.add_argument("--phases", type=int, choices=(1, 3), default=1)
    a.add_argument("--bits", type=int, default=12, help="the width of the file's codes")
    a.add_argument("--unsigned", action="store_true",
                   help="codes run 0 .. 2^bits - 1 around mid-scale (a raw ADC dump)")
    a.add_argument("--requantize", type=int, metavar="M",
                   help="measure as an M-bit meter would (drops the low bits on purpose)")
    a.add_argument("--calibration", metavar="V_GAIN:I_GAIN:PHASE_DEG[:NOISE_A]",
                   help="the meter's calibration (docs/metrology.md), every phase alike")
    a.add_argument("--skew-us", type=float, default=0.0,
                   help="how long after its voltage each current was sampled")
    a.add_argument("--json", action="store_true")
    c = sub.add_parser("accuracy", help="the IEC 62053-21 test table")
    c.add_argument("--bits", type=int, choices=(12, 24), default=12,
                   help="the simulated front end: 12-bit SAR (class 1) or 24-bit sigma-delta "
                        "(class 0.5S, down to 1 %% Ib)")
    c.add_argument("--plot", metavar="OUT.png")
    c.add_argument("--json", action="store_true")
    t = sub.add_parser("typetest", help="the laboratory's type tests (starting, no-load, "
                                         "influence quantities)")
    t.add_argument("--front-end", action="append", metavar="NAME",
                   help="sar12, sd24, atm90e32 or ade7953 (repeatable; default: all)")
    t.add_argument("--no-load-seconds", type=int, default=3600,
                   help="simulated time of the no-load test (default an hour)")
    t.add_argument("--plot", metavar="OUT.png")
    t.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        return {"synth": cmd_synth, "analyse": cmd_analyse, "accuracy": cmd_accuracy,
                "typetest": cmd_typetest}[
            args.command](args)
    except (ValueError, OSError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
