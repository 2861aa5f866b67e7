"""python -m tools.ihd --medium PATH [--web PORT] [--ext HEX] [--code HEX] [--seconds S]
                      [--view | --no-view] [--seed N]

Runs the in-home display (firmware/han/se/ihd.py) on the host as a HAN end device on the
simulated medium server at PATH (python -m tools.han medium --listen PATH, or make run's).
The hub must have it registered (python -m tools.config han-join EXT CODE): by default
EXT 0004a30b0000d002, CODE b1c2d3e4f5a6d019. Prints one JSON line per change of what it
shows on stdout; a live view on stderr (when it is a terminal, or with --view); --web PORT
serves the page on http://127.0.0.1:PORT/ (0: any free port, printed on stderr)."""
import argparse
import sys

from tools.ihd.display import DEFAULT_CODE, DEFAULT_EXT, HostDisplay


def _hex(n):
    def parse(text):
        b = bytes.fromhex(text)
        if n and len(b) != n:
            raise argparse.ArgumentTypeError("%d octets in hex" % n)
        return b
    return parse


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.ihd", description=__doc__.split("\n")[3])
    ap.add_argument("--medium", required=True, metavar="PATH",
                    help="the medium server's unix socket")
    ap.add_argument("--web", type=int, metavar="PORT", help="serve the page on this port")
    ap.add_argument("--ext", type=_hex(8), default=DEFAULT_EXT, help="EUI-64 (hex)")
    ap.add_argument("--code", type=_hex(0), default=DEFAULT_CODE,
                    help="install code with its CRC (hex)")
    ap.add_argument("--seconds", type=float, default=None, help="default: until Ctrl-C")
    ap.add_argument("--seed", type=int, default=11)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--view", dest="view", action="store_true", default=None)
    g.add_argument("--no-view", dest="view", action="store_false")
    args = ap.parse_args(argv)
    try:
        host = HostDisplay(args.medium, args.ext, args.code, args.seed)
    except OSError as e:
        ap.error("cannot reach the medium at %s: %s" % (args.medium, e))
    except ValueError as e:
        ap.error(str(e))
    web = None
    if args.web is not None:
        from tools.ihd.web import WebPage

        web = WebPage(lambda: host.state, args.web).start()
        sys.stderr.write("[ihd] web page on %s\n" % web.url)
        sys.stderr.flush()
    view = args.view if args.view is not None else sys.stderr.isatty()

    def on_line(line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def on_view(text):
        sys.stderr.write("\x1b[H\x1b[J" + text + "\n")
        sys.stderr.flush()

    try:
        host.run(args.seconds, on_line, on_view if view else None)
    except KeyboardInterrupt:
        pass
    finally:
        if web is not None:
            web.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
