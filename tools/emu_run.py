"""`make run`: the meter on the emulated board, its console and its P1 output decoded.

    python -m tools.emu run [--seconds N] [--uart1 FILE] [--data-request 0|1]
                            [--profile nl|nl4|be|lu|se|lt] [--key HEX] [--provision FILE]
                            [--flash FILE]
                            [--fresh-flash] [--icount]
                            [--han coordinator|device] [--han-ext HEX] [--han-medium PATH]
                            [--han-pcap FILE]

(also reachable as python -m tools.emu_run). The board itself: tools/emu.py.
"""

import argparse
import glob
import os
import sys
import time

from tools.emu import PROMPT, ROOT, EmulatedBoard, EmulatorError

DEFAULT_DEVICE = os.path.join(ROOT, "boards", "emu-mps2", "device.json")


def provision_record(path):
    """The provisioning (app.provision.Provisioning) of a device.json (tools.provision)."""
    from tools import provision

    try:
        return provision.load_file(path)
    except (OSError, ValueError) as e:
        raise EmulatorError("provisioning file %s: %s" % (path, e))


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


# make run's host HAN device (when the board is the coordinator): its address and install
# code (6 octets + CRC-16/X-25), registered on the board through the configuration path.
HOST_DEVICE_EXT = bytes.fromhex("0004A30B0000D001")
HOST_DEVICE_CODE = bytes.fromhex("A1B2C3D4E5F688CC")


def register_han_device(board, record, ext, code, echo, timeout=10):
    """Type a signed OP_HAN_JOINER command (tools.config han-join) on the board's console,
    as an installer does, and wait for the meter's answer."""
    from tools import config

    if record.config_key is None:
        echo.text("[emu] no config_key provisioned: the host HAN device cannot be "
                  "registered\n")
        return False
    cmd = config.command(config.fwconfig.OP_HAN_JOINER, int(time.time()),
                         config.han_joiner_payload(ext.hex(), code.hex()))
    start = len(board.console_log)
    board.write_console(config.console_line(cmd, config.sign(record.config_key, cmd)) + "\r")
    try:
        board.wait_console(b"CFG OK %d" % config.fwconfig.OP_HAN_JOINER, timeout=timeout,
                           echo=echo, start=start)
    except EmulatorError:
        echo.text("[emu] the board did not accept the HAN device's registration\n")
        return False
    return True


class HostMedium:
    """make run's own simulated 802.15.4 medium (tools/han/medium_server.py) in a thread,
    and, when the board is the coordinator, a HAN device on the host joining it."""

    def __init__(self, board_role, pcap=None):
        import tempfile
        import threading

        from tools.han.medium_server import MediumServer

        self._dir = tempfile.mkdtemp(prefix="han-")
        self.path = os.path.join(self._dir, "medium.sock")
        self.server = MediumServer(self.path, pcap=pcap).start_thread()
        self._stop = threading.Event()
        self._device_thread = None
        if board_role == "coordinator":
            self._device_thread = threading.Thread(target=self._device, daemon=True)
            self._device_thread.start()

    def _device(self):
        import random

        from hal.clock import SystemClock
        from han.node import HanNode
        from han.radio_bridge import BridgeRadio
        from registers.memfs import MemoryFs
        from registers.store import RecordStore
        from tools.han.medium_server import SocketStream

        time.sleep(0.2)  # the server is listening
        clock = SystemClock()
        node = HanNode(BridgeRadio(SocketStream(self.path)), clock, "device", HOST_DEVICE_EXT,
                       RecordStore(MemoryFs()), random.Random(7).getrandbits,
                       install_code=HOST_DEVICE_CODE, out=lambda s: None, report_ms=5000)
        node.start()
        while not self._stop.is_set():
            wait = node.step(clock.ticks_us())  # -1: only a frame wakes it
            time.sleep((2000 if wait < 0 else min(wait, 2000)) / 1e6)

    def stop(self, echo):
        self._stop.set()
        if self._device_thread is not None:
            self._device_thread.join(timeout=2)
        self.server.shutdown()
        s = self.server.summary()
        echo.text("[emu] HAN medium: %d nodes, %d frames on air%s\n" % (
            s["nodes"], s["frames_on_air"],
            " (capture: %s)" % self.server.pcap_path if self.server.pcap_path else ""))


def cmd_run(args):
    flash = os.path.abspath(args.flash)
    if args.fresh_flash and os.path.exists(flash):
        os.remove(flash)
    if os.path.basename(flash) != "meter-flash.bin":
        raise EmulatorError("--flash must name a file called meter-flash.bin (the board "
                            "opens that name in QEMU's working directory)")
    medium = None
    han_medium = args.han_medium
    if args.han and not han_medium:
        # No medium given: one of our own in this process, with a host end device
        # (firmware/han/node.py over a socket) when the board is the coordinator.
        medium = HostMedium(args.han, args.han_pcap)
        han_medium = medium.path
    board = EmulatedBoard(icount=args.icount, uart1_file=args.uart1,
                          flash_dir=os.path.dirname(flash), han_medium=han_medium)
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
        # Its identity and keys: the provisioning record in its flash (tools.provision);
        # a board that has none gets the emulated board's default one.
        record = provision_record(args.provision or DEFAULT_DEVICE)
        hidden_from = len(board.console_log)
        held = board.raw_exec("import board, binascii, app.provision as p\n"
                              "print(p.install(board, binascii.unhexlify(%r), %r))\n"
                              % (record.encode().hex(), not args.provision))
        del board.console_log[hidden_from:]
        echo.text("[emu] provisioning: %s\n" % held.strip())
        # The emulated board has no RTC: its clock is set from the host's (a time sync).
        key = "bytes.fromhex(%r)" % args.key if args.key else "None"
        han = ""
        if args.han:
            han = ", han=%r" % args.han
            if args.han_ext:
                han += ", han_ext=bytes.fromhex(%r)" % args.han_ext
        board.write_console("import main; main.run(profile=%r, utc=%d, key=%s%s)\r"
                            % (args.profile, int(time.time()), key, han))
        # --seconds counts from the meter's first second boundary (its first status line,
        # when the first telegram also starts): the time the meter runs.
        board.wait_console(b"status uptime=1s", echo=echo, start=len(board.console_log))
        if medium is not None and args.han == "coordinator":
            register_han_device(board, record, HOST_DEVICE_EXT, HOST_DEVICE_CODE, echo)
        deadline = time.monotonic() + args.seconds if args.seconds else None
        p1_key = args.key or (record.p1_key.hex() if record.p1_key else None)
        reader = uart1_session(p1_key, echo)
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
        if medium is not None:
            medium.stop(echo)
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
                     help="P1 encryption key, 32 hex digits (profile lu encrypts with it); "
                          "overrides the provisioned one")
    run.add_argument("--provision", metavar="FILE",
                     help="write this device.json's provisioning record (tools.provision) "
                          "into the board first; default: boards/emu-mps2/device.json, "
                          "only if the board has no record yet")
    run.add_argument("--flash", default=os.path.join(ROOT, "build", "emu-flash",
                                                     "meter-flash.bin"),
                     help="host file holding the board's flash (kept between runs: the "
                          "registers survive an emulated power cycle)")
    run.add_argument("--fresh-flash", action="store_true",
                     help="start from erased flash (a new meter)")
    run.add_argument("--icount", action="store_true",
                     help="deterministic virtual time (1 instruction = 1 ns)")
    run.add_argument("--han", choices=("coordinator", "device"),
                     help="run the HAN too (UART2 radio bridge): as the PAN coordinator "
                          "(with a host HAN device joining it, unless --han-medium) or as "
                          "a device")
    run.add_argument("--han-ext", metavar="HEX", help="the board's extended address, 16 hex "
                                                      "digits")
    run.add_argument("--han-medium", metavar="PATH",
                     help="join the simulated medium served at PATH (python -m tools.han "
                          "medium --listen PATH), e.g. with another board")
    run.add_argument("--han-pcap", metavar="FILE",
                     help="capture of make run's own medium (without --han-medium)")
    args = parser.parse_args(argv)
    try:
        return cmd_run(args)
    except EmulatorError as e:
        print("[emu] error: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
