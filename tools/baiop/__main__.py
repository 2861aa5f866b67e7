"""python -m tools.baiop run --target TARGET --profile nl|nl4|be|lu|se|lt --out DIR
                          [--suite NAME]... [--key HEX] [--bap FILE]...
                          [--han-pcap CAPTURE --han-key HEX...]

Runs the BAIOP cases (tools/baiop/suites/*.robot, Robot Framework) against TARGET:

    emu                                  our firmware on the emulated board (QEMU)
    serial:/dev/ttyUSB0[,data-request=rts|dtr][,baud=115200]
                                         a meter or board on a serial port or pty
    replay:CAPTURE                       a capture kept earlier (no timing, no Data Request)
    emulate[:FAULT[+FAULT]]              tools.p1_emulate, our telegrams with chosen faults
    none                                 no P1 port (HAN cases on --han-pcap only)

The HAN cases (suites han_*) run against the emulated board as ZigBee coordinator among a
test lab's devices on a simulated medium (tools/baiop/han_bench.py; its capture is kept as
DIR/han.pcap), or offline on a sniffer's capture of a real session: --han-pcap FILE with
--han-key for each device's install code; a case that needs the hub's console or a probe
device is then SKIPPED. Other targets skip them.

and writes into DIR: Robot's output.xml, log.html and report.html, JUnit XML (junit.xml),
and the BAP coverage table (coverage.md, coverage.csv): each statement of docs/bap/*.md,
the cases that cover it (named in the document; each case also carries its statements'
IDs as tags in the reports) and their verdicts. Cases a target cannot run (Data Request on
a replay, encryption on a plaintext profile) are SKIPPED and their statements NOT RUN,
never passed. Exit status 0 when every case that ran passed, 1 when one failed, 2 on a
usage or setup error.
"""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUITES_DIR = os.path.join(ROOT, "tools", "baiop", "suites")
sys.path.insert(0, ROOT)

from tools import fwpath  # noqa: E402

fwpath.setup()


# The P1 key the emulated board is provisioned with for an lu run (a test key, ours).
LU_TEST_KEY = "5A4B3C2D1E0F0102030405060708090A"


def default_key(profile):
    return LU_TEST_KEY if profile == "lu" else ""


def _case_name(test):
    source = getattr(test.parent, "source", None)
    suite = os.path.splitext(os.path.basename(str(source)))[0] if source else test.parent.name
    return "%s.%s" % (suite, test.name)


def _tagger(statements):
    from robot.api import SuiteVisitor

    ids_of = {}
    for s in statements:
        for c in s.cases:
            ids_of.setdefault(c, []).append(s.id)

    class BapTags(SuiteVisitor):
        """Each case carries the IDs of the BAP statements that name it."""

        def visit_test(self, test):
            test.tags.add(ids_of.get(_case_name(test), []))

    return BapTags()


def results_of(output_xml):
    from robot.api import ExecutionResult, ResultVisitor

    found = {}

    class Collect(ResultVisitor):
        def visit_test(self, test):
            found[_case_name(test)] = test.status

    ExecutionResult(output_xml).visit(Collect())
    return found


def run(args, out=print):
    import robot

    from tools.baiop import bap

    statements = bap.load(args.bap or None)
    os.makedirs(args.out, exist_ok=True)
    key = args.key if args.key is not None else default_key(args.profile)
    # The HAN cases: offline on a sniffer's capture, or live around the emulated board
    # (its medium captured into the output directory), or not at all.
    wants_han = not args.suite or any(s.startswith("han") for s in args.suite)
    if args.han_pcap:
        han = "pcap:" + os.path.abspath(args.han_pcap)
    elif args.target == "emu" and wants_han:
        han = "live:" + os.path.join(os.path.abspath(args.out), "han.pcap")
    else:
        han = ""
    options = dict(outputdir=args.out, output="output.xml", log="log.html",
                   report="report.html", xunit="junit.xml", loglevel="INFO",
                   variable=["TARGET:%s" % args.target, "KEY:%s" % key, "HAN:%s" % han,
                             "HAN_KEYS:%s" % ",".join(args.han_key or ())],
                   variablefile=["%s:%s:%d:%s:%s" % (
                       os.path.join(ROOT, "tools", "baiop", "variables.py"), args.profile,
                       args.periods, args.target.startswith("replay:"), key)],
                   prerunmodifier=_tagger(statements), console="dotted",
                   pythonpath=[ROOT])
    if args.suite:
        options["suite"] = args.suite
    rc = robot.run(SUITES_DIR, **options)
    if rc >= 250:  # Robot's own errors (bad data, no tests)
        out("baiop: Robot Framework stopped (%d): see %s" % (rc, args.out))
        return 2
    results = results_of(os.path.join(args.out, "output.xml"))
    rows = bap.coverage(statements, results)
    with open(os.path.join(args.out, "coverage.md"), "w") as f:
        f.write("# BAP coverage: target %s, profile %s\n\n" % (args.target, args.profile))
        f.write(bap.table_markdown(rows))
    with open(os.path.join(args.out, "coverage.csv"), "w") as f:
        f.write(bap.table_csv(rows))
    failed = sorted(c for c, v in results.items() if v == "FAIL")
    counts = {}
    for v in results.values():
        counts[v] = counts.get(v, 0) + 1
    out("baiop: target %s, profile %s: %s; statements %s" % (
        args.target, args.profile, ", ".join("%d %s" % (n, v.lower())
                                              for v, n in sorted(counts.items())),
        ", ".join("%d %s" % (n, v) for v, n in sorted(bap.summary(rows).items()))))
    for c in failed:
        out("  FAIL %s" % c)
    out("baiop: reports in %s (log.html, report.html, junit.xml, coverage.md)" % args.out)
    return 1 if failed else 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m tools.baiop", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the BAIOP cases against a target")
    r.add_argument("--target", required=True)
    r.add_argument("--profile", default="nl", choices=("nl", "nl4", "be", "lu", "se", "lt"))
    r.add_argument("--out", required=True, metavar="DIR")
    r.add_argument("--suite", action="append", metavar="NAME",
                   help="run only this suite (e.g. h1_framing; repeatable)")
    r.add_argument("--periods", type=int, default=8, metavar="N",
                   help="the shared capture's length in P1 periods (default 8; at least 4: "
                        "a longer session gives the jitter statistics more telegrams)")
    r.add_argument("--key", help="P1 decryption key (hex; lu: default the emulated "
                                 "board's provisioned one)")
    r.add_argument("--bap", action="append", metavar="FILE",
                   help="BAP documents (default docs/bap/*.md)")
    r.add_argument("--han-pcap", metavar="FILE",
                   help="run the HAN cases offline on this sniffer capture (pcap/pcapng)")
    r.add_argument("--han-key", action="append", metavar="HEX",
                   help="with --han-pcap: an install code with its CRC, or a link key "
                        "(hex; repeatable): what the sniffer decrypts with")
    args = p.parse_args(argv)
    if args.cmd == "run" and args.periods < 4:
        p.error("--periods: at least 4 (the timing cases need telegrams beside the faults)")
    try:
        return run(args)
    except Exception as e:  # a setup error: the message, not a traceback
        from tools.baiop.bap import BapError

        if isinstance(e, (BapError, OSError)):
            print("baiop: %s" % e, file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
