"""P1 (H1) tools for interoperability sessions, usable with any vendor's meter.

    .venv/bin/python -m tools.p1 read PORT_OR_FILE [--profile auto|nl|nl4|be|lu|se|lt]
                                 [--spec NAME] [--lenient] [--require-decoded]
                                 [--key HEX] [--ak HEX] [--json] [--log FILE]
                                 [--period S] [--period-tolerance S]
                                 [--seconds N] [--count N] [--min-telegrams N]

PORT_OR_FILE is a serial port or a pty (read live with pyserial, 115200 8N1 by default) or a
capture file (raw bytes, e.g. what `make run RUN_ARGS="--uart1 build/p1.bin"` keeps).

The reader is strict, as a test engineer needs it. Each telegram is framed (`/` ... `!` CRC
CR LF), its CRC-16/ARC checked, encrypted frames (DLMS general-glo-ciphering, Smarty 1.1.3
3.2.5) decrypted with --key, and every data line decoded with a dsmr_parser specification:
--spec NAME (any of the installed dsmr_parser's, vendor variants included), the one of
--profile, or else guessed per telegram (the specification that decodes the most lines, the
more general one on a tie; the guess is printed). Every line the specification cannot decode
is listed. These are errors (a warning each with --lenient, still counted in the summary):
  - no CRC where the version requires one (DSMR 4, 5 and their variants; 2.2/3 have none),
    a CRC in lower case, anything but CR LF after it
  - a telegram cut short by the next '/', the last one of a file truncated, bytes outside
    any telegram (as a telegram that lost its '/' leaves), an over-long telegram (more
    than 11 520 bytes: 1 s at 115200 baud) or line (more than 2 100 characters)
  - a line ending in LF only or a lone CR, no empty line after the identification, a
    control or non-ASCII byte in a data line
  - live, a telegram period outside the nominal one (the profile's, the specification's or
    --period; else the median) +- 10 % (at least 0.1 s) or --period-tolerance.
A CRC that does not match, an encrypted frame without --key, one too short, or one whose tag
or decryption fails are errors even with --lenient. Warnings only: a CRC of fewer than 4
digits, a control byte in the identification line, undecoded lines (errors with
--require-decoded). No input makes the reader fail with a traceback.

Output: a block of lines per telegram, or with --json one JSON object per line (values as
decimal strings) and a last summary object. --log FILE appends the raw bytes read from a
port, from the first header on, which this tool reads back as a capture.

Exit status: 0 no errors and at least --min-telegrams complete telegrams or frames (default
1); 1 at least one error; 2 a usage error (an option, an unknown --spec, a key that is not
hex, a source that cannot be opened); 3 no error but fewer than --min-telegrams telegrams.
"""
import argparse
import sys

from tools import fwpath

fwpath.setup()

# Public names (tools/emu_run.py uses SMARTY_AK and Session).
from tools.p1.framing import MAX_LINE, MAX_TELEGRAM, Framer  # noqa: E402,F401
from tools.p1.checks import check_crc  # noqa: E402,F401
from tools.p1.reader import (EXIT_FAULTS, EXIT_OK, EXIT_TOO_FEW, EXIT_USAGE,  # noqa: E402,F401
                             NOMINAL_PERIOD, SMARTY_AK, Session, cmd_read, decrypt)


def guess_profile(text):
    """Our profile name for a telegram's text, from the guessed dsmr_parser specification."""
    from tools.p1 import decode

    return decode.SPEC_PROFILE.get(decode.guess(text)[0].name, "other")


def spec_for(profile):
    """The dsmr_parser specification table of one of our profiles."""
    from dsmr_parser import telegram_specifications as specs
    from tools.p1 import decode

    return getattr(specs, decode.PROFILE_SPEC[profile])


def main(argv=None, out=sys.stdout):
    parser = argparse.ArgumentParser(prog="python -m tools.p1", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    read = sub.add_parser("read", help="read, check and decode P1 telegrams")
    from tools.p1 import reader

    reader.add_arguments(read)
    sub.add_parser("emulate", add_help=False,
                   help="a P1 device: our telegrams with chosen faults (python -m "
                        "tools.p1_emulate; `emulate --help` lists its options)")
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["emulate"]:  # its own options, parsed by tools/p1_emulate.py
        from tools import p1_emulate

        return p1_emulate.main(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "read":
        return cmd_read(args, out)
    parser.error("unknown command %s" % args.command)
