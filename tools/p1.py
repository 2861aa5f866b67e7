"""P1 (H1) reader for interoperability sessions, usable with any vendor's meter.

    .venv/bin/python -m tools.p1 read PORT_OR_FILE [--profile auto|nl|nl4|be|lu|se|lt]
                                 [--key HEX] [--ak HEX] [--json] [--log FILE]
                                 [--seconds N] [--count N] [--min-telegrams N]

PORT_OR_FILE is a serial port or a pty (read live with pyserial, 115200 8N1 by default) or a
capture file (raw bytes, e.g. what `make run RUN_ARGS="--uart1 build/p1.bin"` keeps).

Each telegram is framed (`/` ... `!` CRC CR LF; CRCs of 3 digits and telegrams without CRC,
as older meters send, are accepted and reported), its CRC-16/ARC checked, encrypted frames
(DLMS general-glo-ciphering, Smarty 1.1.3 3.2.5) decrypted with --key, decoded with
dsmr_parser, and printed as it arrives (or one JSON object per line with --json). Live, the
arrival times give the period and its jitter. --log FILE appends the raw bytes, which this
tool reads back as a capture. The exit status is 1 when a telegram failed its CRC, its
decryption or was cut short, or fewer than --min-telegrams arrived.
"""
import argparse
import json
import os
import statistics
import sys
import time

from tools import fwpath

fwpath.setup()
from native.crc16 import crc16_python  # noqa: E402  (after the firmware path is set up)

SMARTY_AK = "00112233445566778899AABBCCDDEEFF"  # Smarty 1.1.3 3.2.5, the same for all meters
MAX_TELEGRAM = 16384  # longer than any telegram: DSMR 5.0.2 allows a 2048-char text message
NOMINAL_PERIOD = {"nl": 1, "nl4": 10, "be": 1, "lu": 10, "se": 10, "lt": 1}
HEX = b"0123456789ABCDEFabcdef"


class Framer:
    """Splits a byte stream into plaintext telegrams and encrypted frames.

    feed(data, t) returns a list of (kind, raw bytes, arrival time of the first byte), kind
    one of "telegram", "frame", "partial" (a telegram cut by the start of another)."""

    def __init__(self):
        self.buf = bytearray()
        self.start_time = None
        self.last_time = None
        self.garbage = 0

    def feed(self, data, t=None):
        if data:
            if not self.buf:
                self.start_time = t
            self.last_time = t
            self.buf += data
        out = []
        while True:
            item = self._next()
            if item is None:
                return out
            out.append(item)

    def _drop(self, n, garbage=False):
        if garbage:
            self.garbage += n
        del self.buf[:n]
        self.start_time = self.last_time  # what is left came with the latest read

    def _next(self):
        buf = self.buf
        # Skip to a telegram header or a general-glo-ciphering tag.
        i = 0
        while i < len(buf) and buf[i] not in (0x2F, 0xDB):
            i += 1
        if i:
            self._drop(i, garbage=True)
        if not buf:
            return None
        t = self.start_time
        if buf[0] == 0xDB:
            return self._frame(t)
        bang = buf.find(b"!")
        restart = buf.find(b"/", 1)
        if restart != -1 and (bang == -1 or restart < bang):
            item = ("partial", bytes(buf[:restart]), t)
            self._drop(restart)
            return item
        if bang == -1:
            if len(buf) > MAX_TELEGRAM:
                self._drop(len(buf), garbage=True)
            return None
        j = bang + 1
        while j < len(buf) and j - bang <= 4 and buf[j] in HEX:
            j += 1
        if j >= len(buf) - 1 and not (j < len(buf) and buf[j] == 0x2F):
            return None  # the CRC and its CR LF are still on their way
        end = j + 2 if buf[j:j + 2] == b"\r\n" else j
        item = ("telegram", bytes(buf[:end]), t)
        self._drop(end)
        return item

    def _frame(self, t):
        buf = self.buf
        if len(buf) < 13:
            return None
        if buf[1] != 8:
            self._drop(1, garbage=True)
            return None if not buf else self._next()
        first = buf[10]
        if first < 0x80:
            size, head = first, 11
        elif first == 0x81:
            size, head = buf[11], 12
        elif first == 0x82:
            size, head = (buf[11] << 8) | buf[12], 13
        else:
            self._drop(1, garbage=True)
            return self._next()
        if len(buf) < head + size:
            return None
        item = ("frame", bytes(buf[:head + size]), t)
        self._drop(head + size)
        return item


def check_crc(telegram):
    """'ok', 'bad' or 'none' (no CRC digits after '!')."""
    bang = telegram.rindex(b"!")
    digits = telegram[bang + 1:].strip()
    if not digits:
        return "none"
    return "ok" if crc16_python(telegram[:bang + 1]) == int(digits, 16) else "bad"


def decrypt(frame, key, ak):
    """(plaintext, frame counter, authenticated) of a Smarty frame."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    head = 11 if frame[10] < 0x80 else 12 if frame[10] == 0x81 else 13
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


def guess_profile(text):
    if "0-0:96.1.4(" in text:
        return "be"
    if "0-0:42.0.0(" in text:
        return "lu"
    if "1-3:0.2.8(4" in text:
        return "nl4"
    if "1-3:0.2.8(" not in text and "1-0:3.8.0(" in text:
        return "se"
    return "nl"


def spec_for(profile):
    from dsmr_parser import telegram_specifications as specs

    return {"nl": specs.V5, "nl4": specs.V4, "be": specs.BELGIUM_FLUVIUS, "lu": specs.MSN,
            "se": specs.SWEDEN, "lt": specs.V5}[profile]


def decode(text, profile):
    from dsmr_parser.parsers import TelegramParser

    spec = dict(spec_for(profile))
    spec.pop("general_global_cipher", None)  # already decrypted here
    return TelegramParser(spec, apply_checksum_validation=False).parse(text)


class Session:
    def __init__(self, args, out=sys.stdout):
        self.args = args
        self.out = out
        self.framer = Framer()
        self.key = bytes.fromhex(args.key) if args.key else None
        self.ak = bytes.fromhex(args.ak)
        self.count = 0
        self.errors = 0
        self.arrivals = []
        self.verdicts = {}

    def emit(self, record, lines):
        if self.args.json:
            self.out.write(json.dumps(record) + "\n")
        else:
            for line in lines:
                self.out.write(line + "\n")
        self.out.flush()

    def handle(self, kind, raw, t):
        self.count += 1
        record = {"n": self.count, "kind": kind, "bytes": len(raw)}
        lines = []
        if t is not None:
            record["arrival"] = round(t, 4)
            if self.arrivals:
                record["interval_s"] = round(t - self.arrivals[-1], 4)
            self.arrivals.append(t)
        ok = True
        text = None
        if kind == "partial":
            ok = False
            lines.append("[p1] #%d partial telegram, %d bytes (cut by the next header)"
                         % (self.count, len(raw)))
        elif kind == "frame":
            record["system_title"] = raw[2:10].hex().upper()
            if self.key is None:
                ok = False
                lines.append("[p1] #%d encrypted frame, %d bytes: no --key" % (self.count,
                                                                                len(raw)))
            else:
                plain, counter, authentic = decrypt(raw, self.key, self.ak)
                record.update(frame_counter=counter, authenticated=authentic)
                lines.append("[p1] #%d encrypted frame, %d bytes, counter %d, tag %s"
                             % (self.count, len(raw), counter, "ok" if authentic else "BAD"))
                ok = authentic
                if plain.startswith(b"/"):
                    text = plain
                else:
                    ok = False
                    lines.append("[p1]   decryption gave no telegram: wrong key?")
        else:
            text = raw
        if text is not None:
            crc = check_crc(text)
            record["crc"] = crc
            ok = ok and crc != "bad"
            head = text.split(b"\r\n", 1)[0].decode("ascii", "replace")
            lines.append("[p1] #%d telegram %d bytes, CRC %s, header %s%s" % (
                self.count, len(text), crc, head,
                "" if "interval_s" not in record else ", after %.3f s" % record["interval_s"]))
            decoded = text.decode("ascii", "replace")
            profile = self.args.profile
            if profile == "auto":
                profile = guess_profile(decoded)
            record["profile"] = profile
            try:
                telegram = decode(decoded, profile)
                record["values"] = json.loads(telegram.to_json())
                for name, value in telegram:
                    lines.append("[p1]   %-45s %s" % (name, _show(value)))
            except Exception as e:  # a reader must keep going on a line it cannot read
                record["decode_error"] = str(e)
                lines.append("[p1]   decode error: %s" % e)
                for line in decoded.splitlines()[2:]:
                    lines.append("[p1]   %s" % line)
        record["ok"] = ok
        self.verdicts[kind] = self.verdicts.get(kind, 0) + 1
        if not ok:
            self.errors += 1
        self.emit(record, lines)

    def feed(self, data, t=None):
        for kind, raw, start in self.framer.feed(data, t):
            self.handle(kind, raw, start)

    def period_stats(self):
        if len(self.arrivals) < 2:
            return None
        intervals = [b - a for a, b in zip(self.arrivals, self.arrivals[1:])]
        nominal = NOMINAL_PERIOD.get(self.args.profile) or statistics.median(intervals)
        return {
            "intervals": len(intervals),
            "mean_s": round(statistics.mean(intervals), 4),
            "min_s": round(min(intervals), 4),
            "max_s": round(max(intervals), 4),
            "jitter_stdev_s": round(statistics.pstdev(intervals), 4),
            "max_deviation_s": round(max(abs(i - nominal) for i in intervals), 4),
            "nominal_s": nominal,
        }

    def summary(self):
        result = {"summary": True, "records": self.count, "errors": self.errors,
                  "kinds": self.verdicts, "garbage_bytes": self.framer.garbage,
                  "pending_bytes": len(self.framer.buf)}
        stats = self.period_stats()
        if stats:
            result["period"] = stats
        if self.args.json:
            self.out.write(json.dumps(result) + "\n")
        else:
            self.out.write("[p1] %d records, %d with errors, %d stray bytes, %d pending%s\n" % (
                self.count, self.errors, self.framer.garbage, len(self.framer.buf),
                "" if not stats else (", period mean %.3f s (min %.3f, max %.3f, jitter "
                                      "%.4f s)" % (stats["mean_s"], stats["min_s"],
                                                   stats["max_s"], stats["jitter_stdev_s"]))))
        return result


def _show(value):
    if isinstance(value, list):
        return "; ".join(_show(v) for v in value)
    return str(value).strip().replace("\n", " ").replace("\t", "")


def read_file(session, path):
    with open(path, "rb") as f:
        session.feed(f.read())


def read_port(session, port, args):
    import serial

    link = serial.serial_for_url(port, baudrate=args.baud, bytesize=args.bytesize,
                                 parity=args.parity, stopbits=1, timeout=0.05)
    log = open(args.log, "ab") if args.log else None
    deadline = time.monotonic() + args.seconds if args.seconds else None
    try:
        while deadline is None or time.monotonic() < deadline:
            data = link.read(4096)
            if data:
                if log:
                    log.write(data)
                    log.flush()
                session.feed(data, time.monotonic())
            if args.count and session.count >= args.count:
                break
    except KeyboardInterrupt:
        pass
    finally:
        link.close()
        if log:
            log.close()


def cmd_read(args, out=sys.stdout):
    session = Session(args, out)
    if os.path.isfile(args.source):
        read_file(session, args.source)
    else:
        read_port(session, args.source, args)
    result = session.summary()
    complete = sum(v for k, v in session.verdicts.items() if k != "partial")
    if session.errors or complete < args.min_telegrams:
        return 1
    return 0 if result else 1


def main(argv=None, out=sys.stdout):
    parser = argparse.ArgumentParser(prog="python -m tools.p1", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    read = sub.add_parser("read", help="read, check and decode P1 telegrams")
    read.add_argument("source", metavar="PORT_OR_FILE")
    read.add_argument("--profile", default="auto", choices=["auto"] + sorted(NOMINAL_PERIOD),
                      help="decoding specification (default: guessed per telegram)")
    read.add_argument("--key", help="AES-128 encryption key (hex) for encrypted frames")
    read.add_argument("--ak", default=SMARTY_AK, help="authentication key (hex)")
    read.add_argument("--json", action="store_true", help="one JSON object per line")
    read.add_argument("--log", metavar="FILE", help="append the raw bytes read to FILE")
    read.add_argument("--seconds", type=float, help="stop reading a port after N seconds")
    read.add_argument("--count", type=int, default=0, help="stop after N records")
    read.add_argument("--min-telegrams", type=int, default=1,
                      help="exit 1 unless at least N complete telegrams/frames (default 1)")
    read.add_argument("--baud", type=int, default=115200, help="DSMR 5.0.2 6.1: 115200")
    read.add_argument("--bytesize", type=int, default=8, choices=(7, 8))
    read.add_argument("--parity", default="N", choices=("N", "E", "O"))
    args = parser.parse_args(argv)
    return cmd_read(args, out)


if __name__ == "__main__":
    sys.exit(main())
