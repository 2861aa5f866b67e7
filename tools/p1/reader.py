"""`python -m tools.p1 read`: the strict reader (its options and exit codes: tools/p1/__init__)."""
import json
import os
import statistics
import sys
import time

from tools.p1 import checks, decode
from tools.p1.framing import FRAME_OVERHEAD, MAX_TELEGRAM, Framer, frame_head

SMARTY_AK = "00112233445566778899AABBCCDDEEFF"  # Smarty 1.1.3 3.2.5, the same for all meters
# Our profiles' telegram periods (firmware/h1/profiles.py): DSMR 5 and its variants send
# every second (5.0.2 6.1), DSMR 4.x, Smarty and the Swedish H1 every 10 s.
NOMINAL_PERIOD = {"nl": 1, "nl4": 10, "be": 1, "lu": 10, "se": 10, "lt": 1}
# Periods of the dsmr_parser specifications that are not one of our profiles.
SPEC_PERIOD = {"V2_2": 10, "V3": 10, "V4": 10, "V5": 1, "BELGIUM_FLUVIUS": 1,
               "LUXEMBOURG_SMARTY": 10, "MSN": 10, "SWEDEN": 10, "EON_HUNGARY": 10}
# A reader sees arrival times through a USB-serial adapter (latency timer up to 16 ms) and
# its OS's scheduling: 10 % of the period, at least 100 ms, unless --period-tolerance.
PERIOD_TOLERANCE = 0.10
PERIOD_TOLERANCE_MIN_S = 0.1
EXIT_OK, EXIT_FAULTS, EXIT_USAGE, EXIT_TOO_FEW = 0, 1, 2, 3


class UsageError(Exception):
    """A bad option or an unreadable source: exit status 2."""


def _opt(args, name, default=None):
    return getattr(args, name, default)  # tools/emu_run.py passes only a few attributes


class Session:
    """Reads a stream fed in pieces (feed), one output record per telegram or frame, and
    a summary (summary). live=True: a port, where the bytes before the first header are
    the tail of a telegram sent before we listened, and the one under way when we stop is
    cut by us, not by the meter."""

    def __init__(self, args, out=sys.stdout, live=True):
        self.args = args
        self.out = out
        self.live = live
        self.framer = Framer()
        key = _opt(args, "key")
        self.key = bytes.fromhex(key) if key else None
        self.ak = bytes.fromhex(_opt(args, "ak") or SMARTY_AK)
        self.lenient = bool(_opt(args, "lenient"))
        self.require_decoded = bool(_opt(args, "require_decoded"))
        name = _opt(args, "spec")
        self.spec = decode.spec(name) if name else None
        self.profile = _opt(args, "profile", "auto") or "auto"
        self.nominal = _opt(args, "period")
        if self.nominal is None and self.profile != "auto":
            self.nominal = NOMINAL_PERIOD[self.profile]
        elif self.nominal is None and self.spec is not None:
            self.nominal = SPEC_PERIOD.get(self.spec.name)
        self.tolerance = _opt(args, "period_tolerance")
        self.count = 0
        self.errors = 0
        self.warnings = 0
        self.arrivals = []
        self.verdicts = {}
        self.summary_faults = []
        self.last_guess = None
        self._guesses = {}

    # -- output ------------------------------------------------------------------------
    def emit(self, record, lines):
        if _opt(self.args, "json"):
            self.out.write(json.dumps(record) + "\n")
        else:
            for line in lines:
                self.out.write(line + "\n")
        self.out.flush()

    def fault(self, faults, lines, code, message, strict=True):
        """Record a fault; strict ones are errors unless --lenient. Returns its level."""
        if strict == checks.WARN or (strict and self.lenient):
            level = "warning"
            self.warnings += 1
        else:
            level = "error"
        faults.append({"code": code, "level": level, "message": message})
        lines.append("[p1]   %s %s: %s" % ("ERROR" if level == "error" else "warning",
                                           code, message))
        return level

    # -- one item ----------------------------------------------------------------------
    def handle(self, item):
        kind, raw, t = item.kind, item.raw, item.t
        self.count += 1
        record = {"n": self.count, "kind": kind, "bytes": len(raw)}
        lines, faults = [], []
        if t is not None:
            record["arrival"] = round(t, 4)
            if self.arrivals:
                record["interval_s"] = round(t - self.arrivals[-1], 4)
            self.arrivals.append(t)
        hard = []  # errors no --lenient excuses (bad CRC, no key, failed decryption)
        if item.stray:
            self._stray(item.stray, item.stray_head, faults, lines, first=self.count == 1)
        text = None
        if kind == "partial":
            lines.append("[p1] #%d partial telegram, %d bytes (cut by the next header)"
                         % (self.count, len(raw)))
            self.fault(faults, lines, "partial", "telegram cut short after %d bytes: a new "
                       "'/' came before its '!'" % len(raw))
        elif kind == "overlong":
            lines.append("[p1] #%d over-long telegram: no '!' within %d bytes"
                         % (self.count, MAX_TELEGRAM))
            self.fault(faults, lines, "telegram-long", "no '!' within %d bytes, more than a "
                       "telegram can hold at 115200 baud in its 1 s (DSMR 5.0.2 6.1); the "
                       "rest up to the next header is skipped, nothing is decoded"
                       % MAX_TELEGRAM)
        elif kind == "frame":
            text = self._frame(raw, record, faults, lines, hard)
        else:
            text = raw
        if text is not None:
            self._telegram(text, record, faults, lines, hard)
        self._period(record, faults, lines)
        ok = not hard and not any(f["level"] == "error" for f in faults)
        record["faults"] = faults
        record["ok"] = ok
        self.verdicts[kind] = self.verdicts.get(kind, 0) + 1
        if not ok:
            self.errors += 1
        self.emit(record, lines)

    def _stray(self, n, head, faults, lines, first):
        looks = b"!" in head or (b":" in head and b"(" in head)
        message = "%d stray bytes outside any telegram%s (first: %r)" % (
            n, ": a telegram that lost its '/'?" if looks else "", head[:24])
        if first and self.live:
            lines.append("[p1]   note: %d bytes before the first header (the end of a "
                         "telegram sent before we listened)" % n)
        else:
            self.fault(faults, lines, "stray", message)

    def _frame(self, raw, record, faults, lines, hard):
        record["system_title"] = raw[2:10].hex().upper()
        size = len(raw) - frame_head(raw)
        if self.key is None:
            lines.append("[p1] #%d encrypted frame, %d bytes: no --key" % (self.count, len(raw)))
            hard.append("no key")
            return None
        if size < FRAME_OVERHEAD + 1:
            lines.append("[p1] #%d encrypted frame, %d bytes" % (self.count, len(raw)))
            hard.append("short")
            self.fault(faults, lines, "frame-short", "%d bytes after the header: fewer than "
                       "security byte, frame counter, 12-byte tag and any data" % size, False)
            return None
        try:
            plain, counter, authentic = decrypt(raw, self.key, self.ak)
        except Exception as e:  # any key or frame the cipher refuses
            hard.append("decrypt")
            lines.append("[p1] #%d encrypted frame, %d bytes" % (self.count, len(raw)))
            self.fault(faults, lines, "decrypt", "cannot decrypt: %s" % e, False)
            return None
        record.update(frame_counter=counter, authenticated=authentic)
        lines.append("[p1] #%d encrypted frame, %d bytes, counter %d, tag %s"
                     % (self.count, len(raw), counter, "ok" if authentic else "BAD"))
        if not authentic:
            hard.append("tag")
            faults.append({"code": "tag", "level": "error",
                           "message": "GCM tag does not authenticate (wrong key or --ak?)"})
        if plain.startswith(b"/") and b"!" in plain:
            return plain
        hard.append("plain")
        lines.append("[p1]   decryption gave no telegram: wrong key?")
        return None

    def _telegram(self, text, record, faults, lines, hard):
        decoded = text.decode("latin-1")
        spec, reason = self._choose_spec(decoded)
        record["spec"] = spec.name
        record["profile"] = (self.profile if self.profile != "auto"
                             else decode.SPEC_PROFILE.get(spec.name, "other"))
        crc, end_faults = checks.check_end(text, spec)
        record["crc"] = crc
        head = text.split(b"\n", 1)[0].rstrip(b"\r").decode("ascii", "replace")
        record["header"] = head
        lines.append("[p1] #%d telegram %d bytes, CRC %s, header %s%s" % (
            self.count, len(text), crc, head,
            "" if "interval_s" not in record else ", after %.3f s" % record["interval_s"]))
        if reason:
            record["guess"] = reason
            if reason != self.last_guess:
                lines.append("[p1]   spec %s" % reason)
                self.last_guess = reason
        for code, message, strict in end_faults + checks.check_lines(text):
            if self.fault(faults, lines, code, message, strict) == "error" and not strict:
                hard.append(code)
        values, undecoded = {}, []
        for line in decode.decode(decoded, spec):
            if line.name is None:
                undecoded.append({"line": line.number, "text": line.text[:80],
                                  "reason": line.failure or "OBIS %s is not in %s"
                                  % (line.obis[:20], spec.name)})
            elif line.value is not None:
                entry = line.value if isinstance(line.value, dict) else {"values": line.value}
                entry = dict(entry, obis=line.obis)
                if line.name in values:  # several M-Bus channels: a list
                    old = values[line.name]
                    values[line.name] = (old if isinstance(old, list) else [old]) + [entry]
                else:
                    values[line.name] = entry
                lines.append("[p1]   %-45s %s" % (line.name, _show(line.value)))
        record["values"] = values
        record["undecoded"] = undecoded
        for u in undecoded:
            self.fault(faults, lines, "undecoded", "line %d %r: %s"
                       % (u["line"], u["text"][:40], u["reason"]),
                       True if self.require_decoded else checks.WARN)

    def _choose_spec(self, text):
        if self.spec is not None:
            return self.spec, None
        if self.profile != "auto":
            return decode.spec(decode.PROFILE_SPEC[self.profile]), None
        # One guess per set of OBIS codes: a meter sends the same lines every time.
        key = tuple(line.split("(", 1)[0] for line in text.splitlines()[:80])
        if key not in self._guesses:
            if len(self._guesses) > 64:
                self._guesses.clear()
            self._guesses[key] = decode.guess(text)
        return self._guesses[key]

    def _period(self, record, faults, lines):
        if "interval_s" not in record or not self.nominal:
            return
        tol = self._tolerance(self.nominal)
        if abs(record["interval_s"] - self.nominal) > tol:
            self.fault(faults, lines, "period", "%.3f s since the previous telegram, outside "
                       "%.3f s +- %.3f s" % (record["interval_s"], self.nominal, tol))

    def _tolerance(self, nominal):
        if self.tolerance is not None:
            return self.tolerance
        return max(PERIOD_TOLERANCE * nominal, PERIOD_TOLERANCE_MIN_S)

    # -- stream ------------------------------------------------------------------------
    def feed(self, data, t=None):
        for item in self.framer.feed(data, t):
            self.handle(item)

    def finish(self):
        """The input ended: the last telegram if only its CR LF is missing, then the
        faults of what is left over."""
        for item in self.framer.finish():
            self.handle(item)
        f = self.framer
        lines = []
        if f.stray:
            self._stray(f.stray, f.stray_head, self.summary_faults, lines, first=False)
        pending = len(f.buf)
        if pending:
            message = "the last %s is truncated: %d bytes, %s" % (
                "encrypted frame" if f.buf[0] == 0xDB else "telegram", pending,
                "no '!'" if f.buf[0] != 0xDB else "shorter than its length field")
            if self.live:
                lines.append("[p1] note: %s (cut when the read stopped)" % message)
            else:
                self.fault(self.summary_faults, lines, "truncated", message)
        stats = self.period_stats()
        if stats and stats.get("outside"):
            self.fault(self.summary_faults, lines, "period", "%d of %d intervals outside "
                       "%.3f s +- %.3f s (min %.3f s, max %.3f s)" % (
                           stats["outside"], stats["intervals"], stats["nominal_s"],
                           stats["tolerance_s"], stats["min_s"], stats["max_s"]))
        if not _opt(self.args, "json"):
            for line in lines:
                self.out.write(line + "\n")

    def period_stats(self):
        if len(self.arrivals) < 2:
            return None
        intervals = [b - a for a, b in zip(self.arrivals, self.arrivals[1:])]
        nominal = self.nominal or statistics.median(intervals)
        tol = self._tolerance(nominal)
        stats = {
            "intervals": len(intervals),
            "mean_s": round(statistics.mean(intervals), 4),
            "min_s": round(min(intervals), 4),
            "max_s": round(max(intervals), 4),
            "jitter_stdev_s": round(statistics.pstdev(intervals), 4),
            "max_deviation_s": round(max(abs(i - nominal) for i in intervals), 4),
            "nominal_s": nominal,
            "tolerance_s": tol,
        }
        # Against a given period each telegram was judged as it came; against the median
        # (no period known) only here, once there are enough intervals to have a median.
        if not self.nominal and len(intervals) >= 3:
            stats["outside"] = sum(1 for i in intervals if abs(i - nominal) > tol)
        return stats

    def summary(self):
        if not self.framer.final:
            self.finish()
        errors = self.errors + sum(1 for f in self.summary_faults if f["level"] == "error")
        result = {"summary": True, "records": self.count, "errors": errors,
                  "warnings": self.warnings, "kinds": self.verdicts,
                  "garbage_bytes": self.framer.garbage, "pending_bytes": len(self.framer.buf),
                  "skipped_bytes": self.framer.skipped, "faults": self.summary_faults}
        stats = self.period_stats()
        if stats:
            result["period"] = stats
        if _opt(self.args, "json"):
            self.out.write(json.dumps(result) + "\n")
        else:
            self.out.write("[p1] %d records, %d with errors, %d warnings, %d stray bytes, %d "
                           "pending%s\n" % (
                               self.count, errors, self.warnings, self.framer.garbage,
                               len(self.framer.buf),
                               "" if not stats else (
                                   ", period mean %.3f s (min %.3f, max %.3f, jitter %.4f s)"
                                   % (stats["mean_s"], stats["min_s"], stats["max_s"],
                                      stats["jitter_stdev_s"]))))
        self.out.flush()
        return result


def decrypt(frame, key, ak):
    """(plaintext, frame counter, authenticated) of a Smarty frame (Smarty 1.1.3 3.2.5)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    head = frame_head(frame)
    counter = frame[head + 1:head + 5]
    iv = frame[2:10] + counter
    data, tag = frame[head + 5:-12], frame[-12:]
    try:
        dec = Cipher(algorithms.AES(key), modes.GCM(iv, tag, min_tag_length=12)).decryptor()
        dec.authenticate_additional_data(bytes([frame[head]]) + ak)
        return dec.update(data) + dec.finalize(), int.from_bytes(counter, "big"), True
    except Exception:  # wrong AK or tampered: CTR alone still shows what was sent
        j0 = iv + b"\x00\x00\x00\x02"  # GCM's first data counter block (SP 800-38D 7.1)
        dec = Cipher(algorithms.AES(key), modes.CTR(j0)).decryptor()
        return dec.update(data) + dec.finalize(), int.from_bytes(counter, "big"), False


def _show(value):
    if isinstance(value, list):
        return "; ".join(_show(v) for v in value)
    if isinstance(value, dict):
        v, unit = value.get("value"), value.get("unit")
        text = "" if v is None else str(v)
        return text + (" " + unit if unit else "")
    return str(value)


def read_file(session, path):
    with open(path, "rb") as f:
        session.feed(f.read())


def read_port(session, port, args):
    import serial

    try:
        link = serial.serial_for_url(port, baudrate=args.baud, bytesize=args.bytesize,
                                     parity=args.parity, stopbits=1, timeout=0.05)
    except (serial.SerialException, ValueError, OSError) as e:
        raise UsageError("cannot open %s: %s" % (port, e))
    log = open(args.log, "ab") if args.log else None
    started = False  # the log starts at the first header, so it reads back cleanly
    deadline = time.monotonic() + args.seconds if args.seconds else None
    try:
        while deadline is None or time.monotonic() < deadline:
            data = link.read(4096)
            if data:
                if log:
                    if not started:
                        cut = min([i for i in (data.find(b"/"), data.find(b"\xdb")) if i >= 0],
                                  default=-1)
                        started = cut >= 0
                        data_to_log = data[cut:] if started else b""
                    else:
                        data_to_log = data
                    log.write(data_to_log)
                    log.flush()
                session.feed(data, time.monotonic())
            if args.count and session.count >= args.count:
                break
    except KeyboardInterrupt:
        pass
    except (OSError, serial.SerialException) as e:
        session.summary_faults.append({"code": "port", "level": "error",
                                       "message": "reading %s failed: %s" % (port, e)})
    finally:
        link.close()
        if log:
            log.close()


def cmd_read(args, out=sys.stdout):
    """Read args.source; the exit status (see the package docstring)."""
    try:
        live = not os.path.isfile(args.source)
        session = Session(args, out, live=live)
        if live:
            read_port(session, args.source, args)
        else:
            read_file(session, args.source)
    except (UsageError, KeyError, ValueError, OSError) as e:
        # KeyError: an unknown --spec; ValueError: a --key or --ak that is not hex.
        sys.stderr.write("p1 read: %s\n" % (e.args[0] if e.args else e))
        return EXIT_USAGE
    return exit_status(session, args)


def read_bytes(data, args, out):
    """The exit status of reading data as a capture file (for tests and fuzzing)."""
    session = Session(args, out, live=False)
    session.feed(data)
    return exit_status(session, args, quiet=True)


def exit_status(session, args, quiet=False):
    result = session.summary()
    if result["errors"]:
        return EXIT_FAULTS
    complete = session.verdicts.get("telegram", 0) + session.verdicts.get("frame", 0)
    if complete < _opt(args, "min_telegrams", 1):
        if not quiet:
            sys.stderr.write("p1 read: %d complete telegrams, fewer than --min-telegrams %d\n"
                             % (complete, args.min_telegrams))
        return EXIT_TOO_FEW
    return EXIT_OK


def add_arguments(read):
    from tools.p1.decode import spec_names

    read.add_argument("source", metavar="PORT_OR_FILE")
    read.add_argument("--profile", default="auto", choices=["auto"] + sorted(NOMINAL_PERIOD),
                      help="our P1 profile: its dsmr_parser specification and period "
                           "(default: the specification guessed per telegram)")
    read.add_argument("--spec", metavar="NAME",
                      help="decode with this dsmr_parser specification: %s"
                           % ", ".join(sorted(spec_names())))
    read.add_argument("--key", help="AES-128 encryption key (hex) for encrypted frames")
    read.add_argument("--ak", default=SMARTY_AK, help="authentication key (hex)")
    read.add_argument("--json", action="store_true", help="one JSON object per line")
    read.add_argument("--lenient", action="store_true",
                      help="framing, line-ending, CRC-form, length and period faults are "
                           "warnings (still counted), for logging sessions")
    read.add_argument("--require-decoded", action="store_true",
                      help="a line the specification cannot decode is an error (default: "
                           "a warning, listed)")
    read.add_argument("--period", type=float, metavar="S",
                      help="nominal telegram period (default: the profile's or spec's; "
                           "with neither, the median of the intervals)")
    read.add_argument("--period-tolerance", type=float, metavar="S",
                      help="allowed deviation from the period (default 10%%, at least 0.1 s)")
    read.add_argument("--log", metavar="FILE", help="append the raw bytes read to FILE")
    read.add_argument("--seconds", type=float, help="stop reading a port after N seconds")
    read.add_argument("--count", type=int, default=0, help="stop after N records")
    read.add_argument("--min-telegrams", type=int, default=1,
                      help="exit 3 unless at least N complete telegrams/frames (default 1)")
    read.add_argument("--baud", type=int, default=115200, help="DSMR 5.0.2 6.1: 115200")
    read.add_argument("--bytesize", type=int, default=8, choices=(7, 8))
    read.add_argument("--parity", default="N", choices=("N", "E", "O"))
