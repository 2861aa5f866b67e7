"""`make run`: the meter on the emulated board, its console and its P1 output decoded.

    python -m tools.emu run [--seconds N] [--uart1 FILE] [--data-request 0|1]
                            [--profile nl|nl4|be|lu|se|lt] [--key HEX] [--provision FILE]
                            [--flash FILE]
                            [--fresh-flash] [--icount]
                            [--han coordinator|device] [--han-ext HEX] [--han-medium PATH]
                            [--han-pcap FILE] [--gas-report-s N] [--gas-board]
                            [--config-at "SECONDS SUBCOMMAND ARGS"]...
                            [--console-at "SECONDS LINE"]... [--ota-image FILE]
                            [--console-port PORT] [--update FILE [--update-healthy-s N]]

--config-at types a signed tools.config command on the console when the meter has run
SECONDS (tools/emu_config.py).

With --han coordinator (and no --han-medium) a gas meter and an in-home display join the
board on make run's own medium (tools/emu_han.py); their JSON lines are shown prefixed
"[gas] " and "[ihd] " ("[gas-board] " for the gas meter board of --gas-board).

(also reachable as python -m tools.emu_run). The board itself: tools/emu.py.
"""

import argparse
import glob
import os
import signal
import sys
import time

from tools import emu_config, emu_console_port, emu_han
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


# The stand-in HAN device (han/node.py role "device") that tools/bench_meter.py's run has
# join the board: its address and install code (6 octets + CRC-16/X-25). make run itself
# runs the gas meter and the display (tools/emu_han.py).
HOST_DEVICE_EXT = bytes.fromhex("0004A30B0000D001")
HOST_DEVICE_CODE = bytes.fromhex("A1B2C3D4E5F688CC")


def register_han_device(board, record, ext, code, echo, timeout=10):
    """Register a HAN device on the board through the configuration path (a signed
    OP_HAN_JOINER line, tools.config han-join) with the record's config_key."""
    if record.config_key is None:
        echo.text("[emu] no config_key provisioned: the host HAN device %s cannot be "
                  "registered\n" % ext.hex())
        return False
    if not emu_han.register_han_device(board, record.config_key, ext, code, echo, timeout):
        echo.text("[emu] the board did not accept the HAN device %s\n" % ext.hex())
        return False
    return True


class HostMedium(emu_han.HostMedium):
    """A medium of our own with the stand-in device when the board is the coordinator
    (tools/bench_meter.py)."""

    def __init__(self, board_role, pcap=None):
        super().__init__(pcap)
        if board_role == "coordinator":
            self.start_device(HOST_DEVICE_EXT, HOST_DEVICE_CODE)


# The display starts once the gas meter has joined, or after this long: a sleepy device
# joining while the display's first exchanges keep the hub busy can miss its Transport Key
# (the hub under QEMU answers its polls late) and then not join at all (seen on tier 3).
DISPLAY_AFTER_GAS_S = 25


def start_han_devices(args, board, record, medium, echo, natmods):
    """make run's gas meter (on the host, or --gas-board) registered on the board and
    started, and the display registered; (the gas board or None, when the display may
    start: a function of the monotonic time, or None when it is not registered)."""
    from tools.ihd.display import DEFAULT_CODE, DEFAULT_EXT

    gas_board = None
    if args.gas_board:
        gas_record = dict(emu_han.GAS_BOARD_RECORD)
        if args.ota_image and record.ota_key is not None:
            gas_record["ota_key"] = record.ota_key.hex()  # it takes the hub's images
        gas_board = emu_han.GasBoard(medium.path, gas_record)
        gas_ext, gas_code = gas_board.record.han_eui64, gas_board.record.han_install_code
    else:
        gas_ext, gas_code = emu_han.HOST_GAS_EXT, emu_han.HOST_GAS_CODE
    gas_ok = register_han_device(board, record, gas_ext, gas_code, echo)
    ihd_ok = register_han_device(board, record, DEFAULT_EXT, DEFAULT_CODE, echo)
    if gas_ok and gas_board is not None:
        echo.text("[emu] gas meter board: booting (report every %d s)\n" % args.gas_report_s)
        try:
            gas_board.boot(args.gas_report_s, natmods=natmods)
        except EmulatorError:
            gas_board.stop()
            raise
    elif gas_ok:
        medium.start_gas(args.gas_report_s)
        echo.text("[emu] host gas meter %s joining (report every %d s)\n"
                  % (gas_ext.hex(), args.gas_report_s))
    if not ihd_ok:
        return gas_board, None
    since = time.monotonic()

    def display_due(now):
        joined = gas_board.joined() if gas_board is not None else medium.gas_joined
        if joined or not gas_ok or now - since >= DISPLAY_AFTER_GAS_S:
            medium.start_display()
            echo.text("[emu] host display %s joining\n" % DEFAULT_EXT.hex())
            return True
        return False

    return gas_board, display_due


def cmd_run(args):
    flash = os.path.abspath(args.flash)
    if args.fresh_flash and os.path.exists(flash):
        os.remove(flash)
    if os.path.basename(flash) != "meter-flash.bin":
        raise EmulatorError("--flash must name a file called meter-flash.bin (the board "
                            "opens that name in QEMU's working directory)")
    console_port = emu_console_port.open_port(args.console_port)  # tools/emu_console_port.py
    medium = None
    han_medium = args.han_medium
    if args.han and not han_medium:
        # No medium given: one of our own in this process, where a gas meter and a display
        # join the board when it is the coordinator (tools/emu_han.py).
        medium = emu_han.HostMedium(args.han_pcap)
        han_medium = medium.path
    gas_board = None
    display_due = None
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
        # Files put into its flash before the meter starts: an OTA image the hub offers
        # the HAN's devices, an update of the meter's own firmware (app/update.py).
        for path, name, what in ((args.ota_image, "ota-", "OTA image"),
                                 (args.update, "", "firmware update")):
            if not path:
                continue
            name = name + os.path.basename(path) if name else "fw-update.zigbee"
            with open(path, "rb") as f:
                data = f.read()
            hidden_from = len(board.console_log)
            board.raw_exec("import board, binascii\nfrom registers.storage import "
                           "open_filesystem\nfs, _ = open_filesystem(board.make_hal().flash)\n"
                           "f = fs.open(%r, 'wb')\nf.write(binascii.unhexlify(%r))\n"
                           "f.close()\n" % (name, data.hex()), timeout=60)
            del board.console_log[hidden_from:]
            echo.text("[emu] %s %s (%d octets) stored as %s\n" % (what, path, len(data), name))
        # The emulated board has no RTC: its clock is set from the host's (a time sync).
        key = "bytes.fromhex(%r)" % args.key if args.key else "None"
        han = ""
        if args.han:
            han = ", han=%r" % args.han
            if args.han_ext:
                han += ", han_ext=bytes.fromhex(%r)" % args.han_ext
        if args.update_healthy_s:
            han += ", healthy_s=%d" % args.update_healthy_s
        front = ""
        if args.front_end != "table":  # boards/emu-mps2/board.py FRONT_END
            front = "import board; board.FRONT_END = %r; " % args.front_end
        board.write_console("%simport main; main.run(profile=%r, utc=%d, key=%s%s)\r"
                            % (front, args.profile, int(time.time()), key, han))
        # --seconds counts from the meter's first second boundary (its first status line,
        # when the first telegram also starts): the time the meter runs.
        board.wait_console(b"status uptime=1s", timeout=60, echo=echo,
                           start=len(board.console_log))  # an update installs first
        if medium is not None and args.han == "coordinator":
            gas_board, display_due = start_han_devices(args, board, record, medium, echo,
                                                       natmods)
        started = time.monotonic()
        deadline = started + args.seconds if args.seconds else None
        p1_key = args.key or (record.p1_key.hex() if record.p1_key else None)
        reader = uart1_session(p1_key, echo)
        decoded = 0

        def decode_new():
            nonlocal display_due
            now = time.monotonic()
            if display_due is not None and display_due(now):
                display_due = None
            args.config_at.send_due(now - started, board, record.config_key, echo)
            if console_port is not None:  # its clients' lines, typed as --console-at's are
                console_port.pump(board, echo)
            # The HAN devices' lines come between whole console lines and telegrams.
            if medium is not None:
                medium.drain(echo)
            if gas_board is not None:
                gas_board.pump()
                gas_board.show(echo)
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
        if console_port is not None:
            console_port.close()
        if gas_board is not None:
            gas_board.show(echo)
            gas_board.stop()
        if medium is not None:
            medium.stop(echo)
        echo.close()
    echo.text("\n[emu] stopped; UART1 sent %d bytes%s\n" % (
        len(board.uart1_bytes), " (written to %s)" % args.uart1 if args.uart1 else ""))
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


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
    run.add_argument("--front-end", choices=("table", "atm90e32", "ade7953"), default="table",
                     help="the metrology's front end: the simulated ADC (default), or a "
                          "metering IC's driver over its fake chip (ATM90E32AS: 3 phases, "
                          "ADE7953: 1 phase)")
    run.add_argument("--han", choices=("coordinator", "device"),
                     help="run the HAN too (UART2 radio bridge): as the PAN coordinator "
                          "(with a gas meter and a display joining it, unless --han-medium) "
                          "or as "
                          "a device")
    run.add_argument("--han-ext", metavar="HEX", help="the board's extended address, 16 hex "
                                                      "digits")
    run.add_argument("--han-medium", metavar="PATH",
                     help="join the simulated medium served at PATH (python -m tools.han "
                          "medium --listen PATH), e.g. with another board")
    run.add_argument("--han-pcap", metavar="FILE",
                     help="capture of make run's own medium (without --han-medium)")
    run.add_argument("--gas-report-s", type=int, default=emu_han.GAS_REPORT_S, metavar="N",
                     help="the gas meter's report interval in s (10 .. 86400; default 300, "
                          "DSMR 5's 5 minutes)")
    run.add_argument("--gas-board", action="store_true",
                     help="with --han coordinator: the gas meter as a second emulated board "
                          "on the medium instead of on the host")
    run.add_argument("--config-at", action="append", default=[],
                     metavar='"SECONDS SUBCOMMAND ARGS"',
                     help="type this tools.config command (signed with the provisioned "
                          "config_key) on the console when the meter has run SECONDS, e.g. "
                          "--config-at \"30 set-text 'Meter reading day'\"; repeatable")
    run.add_argument("--ota-image", metavar="FILE",
                     help="with --han coordinator: store this OTA file (python -m tools.ota "
                          "pack) in the board's flash as ota-<name> before the meter starts; "
                          "the hub offers it to the HAN devices of its kind (the provisioning "
                          "record needs an ota_key; --gas-board's gas meter gets the same "
                          "key)")
    run.add_argument("--console-at", action="append", default=[], metavar='"SECONDS LINE"',
                     help="type LINE on the console when the meter has run SECONDS, e.g. "
                          "--console-at \"60 HUB STATUS\" (the hub's diagnostics); "
                          "repeatable")
    run.add_argument("--update", metavar="FILE",
                     help="an update of the meter's own firmware (an OTA file of image type "
                          "0x0001 signed with the provisioned ota_key), stored in its flash "
                          "as fw-update.zigbee: installed and tried at boot (app/update.py)")
    run.add_argument("--update-healthy-s", type=int, metavar="N",
                     help="a new image confirms itself after N s without a task fault "
                          "(default 30)")
    run.add_argument("--console-port", type=int, metavar="PORT",
                     help="serve the console on 127.0.0.1:PORT (0: a free port, shown): "
                          "each line a client sends is typed on it, the console's output "
                          "goes back, e.g. python -m tools.hub status --port "
                          "socket://127.0.0.1:PORT (tools/emu_console_port.py)")
    args = parser.parse_args(argv)
    try:
        args.config_at = emu_config.Schedule(args.config_at, args.console_at)
    except ValueError as e:
        parser.error(str(e))
    if not 10 <= args.gas_report_s <= 86400:
        parser.error("--gas-report-s: 10 .. 86400")
    if args.gas_board and (args.han != "coordinator" or args.han_medium):
        parser.error("--gas-board needs --han coordinator on make run's own medium")
    # A supervisor's SIGTERM, or the terminal's SIGHUP, ends the run as Ctrl-C does: a
    # power cut with its warning, and QEMU stopped. QEMU runs in its own session (Ctrl-C
    # in the terminal must not reach it), so without this it would be left running.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    try:
        return cmd_run(args)
    except EmulatorError as e:
        print("[emu] error: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
