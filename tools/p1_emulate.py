"""P1 device emulator: serves telegrams made by our firmware's builder, with chosen faults,
so that P1 readers can be tested without a meter.

    .venv/bin/python -m tools.p1_emulate --port PTY_OR_SERIAL_OR_FILE --profile nl|nl4|be|lu|se|lt
        [--fault NAME[:N]]... [--fault-every N] [--data-request always|rts|dtr|file:PATH]
        [--period S] [--scale F] [--seconds N] [--count N] [--key HEX] [--start UTC]
        [--seed N] [--late-by S] [--trace FILE]

The telegrams are built by firmware/h1/builder.py (TelegramBuilder, the profile tables of
firmware/h1/profiles.py) from a firmware MeterSnapshot filled by a simulated household
(tools/p1emu/meter.py: loads and PV, registers integrating them per tariff, voltages and
currents, gas on M-Bus where the profile prints it, the power-failure log, the e-MUCS H
demand peaks). One telegram per nominal period of the profile (profiles.py period_s, the same
as tools/p1.py NOMINAL_PERIOD): nl, be, lt 1 s; nl4 (DSMR 4.2.2), lu (Smarty 3.2.1) and se
(HAN H1 3.2) 10 s. lu with --key HEX sends Smarty frames (firmware/h1/crypt.py, AES-128-GCM,
system title --system-title, frame counter from 0).

--port: a serial device or pty path, or any pyserial URL (socket://host:port, rfc2217://,
loop://) -- or a regular file (created/truncated), which receives the raw bytes; with a
file and Data Request `always` nothing waits (the emulated time runs as fast as it can).
--period S replaces the sending period; --scale F runs the emulated clock F times wall time
(0.1: a 1 s profile sends every 0.1 s); --seconds counts emulated seconds.

Data Request (DSMR 5.0.2 5.7.1): `always` sends regardless. `rts` / `dtr` send only while the
reader asserts that line, read on our side of a null-modem cable: reader RTS -> our CTS
(`rts`), reader DTR -> our DSR (`dtr`), GND -> GND, reader RX <- our TX. A telegram that has
started is completed even if the line drops (as h1/push.py does); when it rises the first
telegram goes at the next whole second. `file:PATH` reads the line from a file or FIFO whose
content is 1 (high) or 0 / missing (low): Linux ptys carry no modem lines (TIOCMGET and
TIOCMSET fail with ENOTTY on both ends of os.openpty() and of socat pty,raw,echo=0 pairs;
pyserial's .cts/.rts raise OSError), so tests on the host drive Data Request this way; or
put both programs on tools.nullmodem (RFC 2217), a virtual cable that carries RTS and DTR.

Faults: --fault NAME hits every telegram, --fault-every N every Nth (telegrams N, 2N, ...),
NAME:N sets N for one fault. Telegram numbers count period slots (also those not sent while
Data Request is low). Edits marked [CRC recomputed] leave a CRC that checks, so that the
edit is the only defect; the others keep the meter's CRC. With --key the text faults are made
to the plaintext before encryption, `partial`, `7e1` and the timing faults to the frame.

  crc            the CRC digits are the right CRC xor FFFF.            Reader: CRC check.
  crc-lower      the right CRC in lower-case hex (only telegrams whose CRC has a letter;
                 6.2: "4 hexadecimal characters", upper case as IEC 62056-21 prints them).
                                                                       Reader: CRC syntax.
  crc-short      the first CRC digit lost (3 digits, as unpadded printers send).
                                                                       Reader: CRC syntax.
  no-crc         no CRC digits between '!' and CR LF (DSMR 4 and 5 require them).
                                                                       Reader: CRC required.
  partial        only the first half of the telegram (frame) is sent, never the rest.
                                                                       Reader: partial /
                 unterminated telegram (cut by the next '/' or by the end of the stream).
  truncate-line  the 1-0:1.7.0 line loses the second half of its value and its ')'
                 [CRC recomputed].                                     Reader: line syntax.
  drop-slash     the leading '/' lost in transit.                      Reader: no header /
                 stray bytes (the telegram must not be taken).
  lf             every CR LF becomes LF [CRC recomputed].              Reader: line endings.
  no-final-crlf  the CR LF after the CRC is missing (the next '/' follows the CRC).
                                                                       Reader: termination.
  no-blank       the empty line after the identification line missing [CRC recomputed].
                                                                       Reader: header syntax.
  period         sent every 1.5 nominal periods (or every --period S). Reader: period.
  late           sent --late-by S (default half a nominal period) after its slot; the next
                 one is on time (jitter).                              Reader: period jitter.
  slow           the bytes trickle over 1.2 periods (6.1: the whole telegram must be sent
                 within the period, 1 s).                              Reader: telegram
                 duration / period.
  duplicate      the same telegram sent twice, back to back.           Reader: repeated
                 timestamp, interval ~0.
  drop           no telegram in that slot (the meter's time goes on).  Reader: period (a
                 double interval) / timestamp gap.
  garbage        32 random bytes after the telegram (never '/', '!' or 0xDB, so they cannot
                 start or end a telegram or frame).                    Reader: stray bytes.
  long-line      the text line 0-0:96.13.0 carries 2050 octets (4100 hex digits; DSMR 5.0.2
                 allows Sn <= 2048), added after 0-0:1.0.0 where the profile has no text
                 line [CRC recomputed].                                Reader: line length.
  stale          every value as in the previous telegram, only 0-0:1.0.0 advances
                 (registers not advancing while power is drawn).      Reader: plausibility
                 (energy must grow as power x time, live values change).
  backwards      the active tariff's import register (and 1-0:1.8.0 where printed) 1.000 kWh
                 below the previous telegram's.                       Reader: monotonic
                 registers.
  bad-obis       an unknown line 0-0:96.99.9(00000042) after 0-0:1.0.0 [CRC recomputed].
                                                                       Reader: undecoded
                 lines listed.
  nul            a NUL byte at the start of the 1-0:1.7.0 value [CRC recomputed].
                                                                       Reader: characters
                 outside printable ASCII.
  tst-flag       the DST letter of 0-0:1.0.0 inverted (S <-> W; se, which keeps standard
                 time, gets S) [CRC recomputed].                       Reader: TST season
                 consistent with the date and zone.
  7e1            the bytes as a 7E1 sender puts them on the wire, read 8N1: even parity in
                 bit 7 (6.1: 8N1 is fixed).                            Reader: framing /
                 non-ASCII bytes.
  dr-ignore      sent even while Data Request is low (5.7.1: transfer stops when the reader
                 drops it).                                            Reader: Data Request
                 low must give silence.
  counter-repeat (lu --key) the frame re-uses the previous frame's counter (Smarty 3.2.5:
                 never repeats).                                       Reader: frame counter
                 strictly increasing.
  bad-tag        (lu --key) the last GCM tag byte flipped.             Reader: authentication.

--trace FILE writes one JSON object per slot: index, emulated time, meter UTC, faults
applied, bytes, wall-clock times of the writes.
"""
import argparse
import json
import os
import stat
import sys

from tools import p1emu  # noqa: F401  (sets up the firmware path)
from tools.p1emu import emulator as E
from tools.p1emu import faults as F

PROFILES = ("nl", "nl4", "be", "lu", "se", "lt")


def is_file_target(port):
    if "://" in port:
        return False
    try:
        return not stat.S_ISCHR(os.stat(port).st_mode)
    except FileNotFoundError:
        return True


class FileSink:
    def __init__(self, path):
        self.f = open(path, "wb")

    def write(self, data):
        self.f.write(data)
        self.f.flush()

    def close(self):
        self.f.close()


def open_serial(port, baud):
    import serial

    # pyserial's RFC 2217 client has no write timeout (it raises NotImplementedError).
    wt = None if port.startswith("rfc2217://") else 5
    return serial.serial_for_url(port, baudrate=baud, bytesize=8, parity="N", stopbits=1,
                                 timeout=0, write_timeout=wt)


def data_request_line(spec, link):
    if spec == "always":
        return E.Always()
    if spec.startswith("file:"):
        return E.FileLine(spec[5:])
    if spec in ("rts", "dtr"):
        if link is None:
            raise SystemExit("--data-request %s needs a serial port" % spec)
        return E.ModemLine(link, spec)
    raise SystemExit("--data-request: always, rts, dtr or file:PATH")


def parser():
    p = argparse.ArgumentParser(prog="python -m tools.p1_emulate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", required=True, help="serial port, pty, pyserial URL or file")
    p.add_argument("--profile", required=True, choices=PROFILES)
    p.add_argument("--fault", action="append", default=[], metavar="NAME[:N]")
    p.add_argument("--fault-every", type=int, default=1, metavar="N")
    p.add_argument("--data-request", default="always", metavar="always|rts|dtr|file:PATH")
    p.add_argument("--period", type=float, help="sending period in (emulated) seconds")
    p.add_argument("--scale", type=float, default=1.0, help="wall seconds per emulated s")
    p.add_argument("--seconds", type=float, help="stop after N emulated seconds")
    p.add_argument("--count", type=int, help="stop after N telegrams sent")
    p.add_argument("--key", help="AES-128 key (hex): encrypted Smarty frames (lu)")
    p.add_argument("--system-title", default=E.DEFAULT_TITLE.decode(), help="8 characters, or 16 hexadecimal digits (as a "
                   "device.json holds it)")
    p.add_argument("--start", type=int, help="meter UTC at the start (default: now)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--late-by", type=float, help="'late': delay in emulated seconds")
    p.add_argument("--baud", type=int, default=115200, help="DSMR 5.0.2 6.1: 115200")
    p.add_argument("--trace", metavar="FILE", help="one JSON line per slot")
    return p


def system_title(text):
    """The 8 octets of the DLMS system title (Smarty 3.2.5), given as characters or hex."""
    if len(text) == 16:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    raw = text.encode()
    if len(raw) != 8:
        raise ValueError("--system-title: 8 characters or 16 hexadecimal digits, not %r"
                         % text)
    return raw


def main(argv=None):
    args = parser().parse_args(argv)
    if args.key and args.profile != "lu":
        raise SystemExit("--key: only the lu profile is encrypted")
    try:
        faults = F.parse_fault_args(args.fault, args.fault_every)
        emu = E.Emulator(args.profile, faults, period=args.period, start_utc=args.start,
                         seed=args.seed, key=bytes.fromhex(args.key) if args.key else None,
                         system_title=system_title(args.system_title), late_by=args.late_by)
    except ValueError as e:
        raise SystemExit(str(e))
    if args.seconds is None and args.count is None and is_file_target(args.port):
        raise SystemExit("writing to a file needs --seconds or --count")
    link = None
    if is_file_target(args.port):
        sink = FileSink(args.port)
    else:
        sink = link = open_serial(args.port, args.baud)
    dr = data_request_line(args.data_request, link)
    realtime = link is not None or args.data_request != "always"
    trace = open(args.trace, "w") if args.trace else None

    def on_slot(slot, times):
        if trace:
            trace.write(json.dumps({"index": slot.index, "time_s": round(slot.time_s, 6),
                                    "utc": slot.utc, "faults": slot.applied,
                                    "bytes": sum(len(w.data) for w in slot.writes),
                                    "sent": [round(t, 6) for t in times]}) + "\n")
            trace.flush()

    try:
        sent = E.run(emu, sink, dr, seconds=args.seconds, count=args.count, scale=args.scale,
                     realtime=realtime, on_slot=on_slot)
    except KeyboardInterrupt:
        sent = None
    finally:
        if link is not None:
            link.flush()
        sink.close()
        if trace:
            trace.close()
    if sent is not None:
        sys.stderr.write("[p1-emulate] %d telegrams sent (%s, faults: %s)\n"
                         % (sent, args.profile, ", ".join(sorted(faults)) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
