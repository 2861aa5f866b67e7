"""`make run`: the meter on the emulated board, its console and its P1 output decoded.

    python -m tools.emu run [--seconds N] [--uart1 FILE] [--data-request 0|1]
                            [--profile nl|nl4|be|lu|se|lt] [--key HEX] [--flash FILE]
                            [--fresh-flash] [--icount]

(also reachable as python -m tools.emu_run). The board itself: tools/emu.py.
"""

import argparse
import glob
import os
import sys
import time

from tools.emu import PROMPT, ROOT, EmulatedBoard, EmulatorError


def uart1_session(key=None, out=None):
    """The P1 reader (tools.p1) as make run's decoder of UART1: framing, CRC, decryption with
    the key, values decoded by dsmr_parser."""
    import argparse as _argparse

    from tools import p1

    args = _argparse.Namespace(key=key, ak=p1.SMARTY_AK, json=False, profile="auto")
    return p1.Session(args, out=out)


class LineEcho:
    """Shows console output a whole line at a time, so decoded P1 telegrams (printed
    between lines) never split a console line; a pending prompt is shown as it is."""

    def __init__(self, out):
        self.out = out
        self._partial = b""

    def __call__(self, data):
        data = self._partial + data.replace(b"\r\n", b"\n")
        head, sep, self._partial = data.rpartition(b"\n")
        if sep:
            self.out.write(head + sep)
        if self._partial.endswith(PROMPT):
            self.out.write(self._partial)
            self._partial = b""
        self.out.flush()

    def text(self, line):
        self.out.write(line.encode())
        self.out.flush()

    write = text  # a text stream to the P1 reader

    def flush(self):
        self.out.flush()

    def close(self):
        """Show a last line that never got its newline."""
        if self._partial:
            self.out.write(self._partial + b"\n")
            self._partial = b""
        self.out.flush()


def cmd_run(args):
    flash = os.path.abspath(args.flash)
    if args.fresh_flash and os.path.exists(flash):
        os.remove(flash)
    if os.path.basename(flash) != "meter-flash.bin":
        raise EmulatorError("--flash must name a file called meter-flash.bin (the board "
                            "opens that name in QEMU's working directory)")
    board = EmulatedBoard(icount=args.icount, uart1_file=args.uart1,
                          flash_dir=os.path.dirname(flash))
    echo = LineEcho(sys.stdout.buffer)
    board.start()
    try:
        board.open_console()
        board.set_data_request(args.data_request)
        board.wait_console(PROMPT, echo=echo)
        natmods = sorted(glob.glob(os.path.join(ROOT, "build", "natmod", "armv7m", "*.mpy")))
        if natmods:
            hidden_from = len(board.console_log)
            board.provide_natmods(natmods)
            echo.text("[emu] natmods served from RAM: %s\n" % ", ".join(
                os.path.basename(p) for p in natmods))
            del board.console_log[hidden_from:]  # the raw REPL exchange is not shown
        # The emulated board has no RTC: its clock is set from the host's (a time sync).
        key = "bytes.fromhex(%r)" % args.key if args.key else "None"
        board.write_console("import main; main.run(profile=%r, utc=%d, key=%s)\r"
                            % (args.profile, int(time.time()), key))
        # --seconds counts from the meter's first second boundary (its first status line,
        # when the first telegram also starts): the time the meter runs.
        board.wait_console(b"status uptime=1s", echo=echo, start=len(board.console_log))
        deadline = time.monotonic() + args.seconds if args.seconds else None
        reader = uart1_session(args.key, echo)
        decoded = 0

        def decode_new():
            end = len(board.uart1_bytes)
            reader.feed(bytes(board.uart1_bytes[decoded:end]))
            return end

        while deadline is None or time.monotonic() < deadline:
            board.pump(0.1, echo)
            decoded = decode_new()
            if board.proc.poll() is not None:
                echo.text("\n[emu] QEMU exited with %s\n" % board.proc.returncode)
                return 1
        # Stop the way a reader does: lower Data Request; the meter finishes the telegram
        # it has started and sends no other, so the capture ends on a whole telegram. Then
        # the supply fails as a real one does: early warning first, the registers persist.
        board.set_data_request(0)
        quiet_since = time.monotonic()
        seen = len(board.uart1_bytes)
        while time.monotonic() - quiet_since < 1.5:
            board.pump(0.1, echo)
            decoded = decode_new()
            if len(board.uart1_bytes) != seen:
                seen = len(board.uart1_bytes)
                quiet_since = time.monotonic()
        board.power_fail_warning(echo=echo)
    except KeyboardInterrupt:
        try:  # Ctrl-C is a power cut too: warn first, so the registers are saved
            board.power_fail_warning(echo=echo)
        except (EmulatorError, OSError):
            pass
    finally:
        board.stop()
        echo.close()
    echo.text("\n[emu] stopped; UART1 sent %d bytes%s\n" % (
        len(board.uart1_bytes), " (written to %s)" % args.uart1 if args.uart1 else ""))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.emu", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="boot the firmware and run the meter")
    run.add_argument("--seconds", type=float, default=None,
                     help="stop after the meter has run this many (host) seconds, counted "
                          "from its first second boundary; default: until Ctrl-C")
    run.add_argument("--uart1", metavar="FILE", help="write UART1's raw bytes to FILE")
    run.add_argument("--data-request", type=int, choices=(0, 1), default=1,
                     help="level of the P1 Data Request line (default 1: a reader is asking)")
    run.add_argument("--profile", default="nl", choices=("nl", "nl4", "be", "lu", "se", "lt"),
                     help="P1 profile: NL DSMR 5.0.2 (default), NL 4.2.2, BE Fluvius, "
                          "LU Smarty, SE, LT")
    run.add_argument("--key", metavar="HEX",
                     help="P1 encryption key, 32 hex digits (profile lu encrypts with it)")
    run.add_argument("--flash", default=os.path.join(ROOT, "build", "emu-flash",
                                                     "meter-flash.bin"),
                     help="host file holding the board's flash (kept between runs: the "
                          "registers survive an emulated power cycle)")
    run.add_argument("--fresh-flash", action="store_true",
                     help="start from erased flash (a new meter)")
    run.add_argument("--icount", action="store_true",
                     help="deterministic virtual time (1 instruction = 1 ns)")
    args = parser.parse_args(argv)
    try:
        return cmd_run(args)
    except EmulatorError as e:
        print("[emu] error: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
