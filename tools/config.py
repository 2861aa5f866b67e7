"""Build signed configuration commands for the meter and deliver them over its console.

    .venv/bin/python -m tools.config [--key HEX | --key-file F] [--counter N]
        [--counter-file F] [--port PORT] [--baud 115200] [--timeout 10] SUBCOMMAND ...

    set-clock [--utc N | --now]                    OP_SET_CLOCK (default: now)
    set-calendar --active | --passive --activation UTC   FILE.json
    set-calibration FILE.json                      OP_SET_CALIBRATION
    set-text MESSAGE [--hex]                       OP_SET_TEXT_MESSAGE (P1 0-0:96.13.0)
    reset-log ID                                   OP_RESET_LOG (0 standard .. 3 transaction)
    provision FILE.json                            OP_PROVISION (app/provision.py record)
    han-join EUI64 INSTALL_CODE                    OP_HAN_JOINER: the hub's trust centre
                                                   admits this device (code with its CRC)
    han-remove EUI64                               OP_HAN_JOINER: the device must leave
    set-prices FILE.json                           OP_SET_PRICES: the prices the hub
                                                   publishes on the HAN (Price cluster)
    set-gas-alert DURATION                         OP_SET_GAS_ALERT: the gas-silent alert
                                                   after DURATION without a reading
                                                   (seconds, or 90s / 45m / 3h / 2d)

A command is op u8 | counter u32 LE | payload, its tag HMAC-SHA256(key, command)
(docs/registers.md "Configuration"). The counter must exceed the last one the meter
consumed: by default it is max(last used + 1, current UNIX time), the last used kept in a
counter file (next to --key-file as F.counter, else ~/.config/meter-fw/counter-<key id>), so
counters keep growing across runs and machines. The command, tag and console line are
printed as hex; with --port the line `CFG <command> <tag>` is typed on the board's console
(a serial port or the emulated board's pty) and the board's answer `CFG OK <op> <counter>`
or `CFG REJECTED <reason>` is printed; the exit status is 0 only for CFG OK. JSON formats:
docs/config.md.
"""
import argparse
import calendar as _calendar
import datetime
import hashlib
import hmac
import json
import os
import struct
import sys
import time

from tools import fwpath

fwpath.setup()
from metrology.calibration import Calibration, PhaseCalibration  # noqa: E402
from registers import clock as fwclock  # noqa: E402  (the clock's limits)
from registers import config as fwconfig  # noqa: E402  (op numbers only)
from registers import prices as fwprices  # noqa: E402  (the meter's checks of a price table)
from registers import tou  # noqa: E402

MIN_KEY = 16


# ---- commands ------------------------------------------------------------------------------
def command(op, counter, payload=b""):
    if not 0 < counter <= 0xFFFFFFFF:
        raise ValueError("counter must be 1 .. 2**32-1")
    return struct.pack("<BI", op, counter) + bytes(payload)


def sign(key, cmd):
    return hmac.new(key, cmd, hashlib.sha256).digest()


def console_line(cmd, tag):
    return "CFG %s %s" % (cmd.hex(), tag.hex())


def parse_utc(text):
    """UNIX seconds, or an ISO 8601 date-time (a missing zone means UTC)."""
    text = str(text).strip()
    if text.isdigit():
        return int(text)
    when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return _calendar.timegm(when.utctimetuple())


def clock_payload(utc):
    if not fwclock.MIN_UTC <= utc <= fwclock.MAX_UTC:
        raise ValueError("the meter takes 2000-01-01T00:00:00Z .. 2099-12-31T23:59:59Z")
    return struct.pack("<I", utc)


def _minute(text):
    hours, minutes = str(text).split(":")
    value = int(hours) * 60 + int(minutes)
    if not 0 <= value < 1440:
        raise ValueError("switch time %s outside 00:00 .. 23:59" % text)
    return value


def _month_day(text):
    parts = [int(p) for p in str(text).split("-")]
    if len(parts) == 2:
        return 0, parts[0], parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    raise ValueError("date %s is MM-DD or YYYY-MM-DD" % text)


def calendar_bytes(spec, max_tariff=16):
    """The tou.py encoding of a JSON calendar (docs/config.md), validated as the meter will."""
    day_names = list(spec["days"])
    week_names = list(spec["weeks"])

    def index(names, name, what):
        if name not in names:
            raise ValueError("unknown %s %r" % (what, name))
        return names.index(name)

    days = [[(_minute(at), int(tariff)) for at, tariff in spec["days"][name]]
            for name in day_names]
    weeks = []
    for name in week_names:
        profile = spec["weeks"][name]
        if len(profile) != 7:
            raise ValueError("week %r needs 7 day names (Monday .. Sunday)" % name)
        weeks.append(tuple(index(day_names, d, "day") for d in profile))
    seasons = []
    for season in spec["seasons"]:
        _, month, day = _month_day(season["start"])
        seasons.append((month, day, index(week_names, season["week"], "week")))
    special = []
    for entry in spec.get("special", []):
        year, month, day = _month_day(entry["date"])
        special.append((year, month, day, index(day_names, entry["day"], "day")))
    data = tou.build(seasons, weeks, days, special, int(spec.get("id", 0)))
    tou.Calendar(data, max_tariff)  # ValueError with the reason, before anything is sent
    if len(data) > tou.MAX_CALENDAR_BYTES:
        raise ValueError("calendar of %d octets exceeds %d" % (len(data),
                                                               tou.MAX_CALENDAR_BYTES))
    return data


def calibration_bytes(spec):
    phases = spec["phases"]
    cal = Calibration(len(phases))
    for k, p in enumerate(phases):
        cal.phases[k] = PhaseCalibration(float(p.get("v_gain", 1.0)),
                                         float(p.get("i_gain", 1.0)),
                                         float(p.get("phase_deg", 0.0)),
                                         float(p.get("i_noise_a", 0.0)))
    problem = cal.range_error(len(phases))
    if problem:
        raise ValueError(problem)
    return cal.encode()


def provision_bytes(spec):
    """The provisioning record (app/provision.py) from JSON: text fields as strings, the
    others as hex strings."""
    from app.provision import FIELDS, Provisioning

    fields = {}
    for _tag, (name, _lengths, text) in FIELDS.items():
        if name in spec and spec[name] is not None:
            value = spec[name]
            fields[name] = value.encode("ascii") if text else bytes.fromhex(value)
    unknown = set(spec) - set(fields) - {name for name, _, _ in FIELDS.values()}
    if unknown:
        raise ValueError("unknown provisioning fields: %s" % ", ".join(sorted(unknown)))
    return Provisioning(**fields).encode()


# ISO 4217 numeric codes by letter code: the currencies of the markets around ours; any other
# currency is given by its number.
CURRENCIES = {"EUR": 978, "SEK": 752, "DKK": 208, "NOK": 578, "GBP": 826, "CHF": 756,
              "PLN": 985, "CZK": 203, "HUF": 348, "RON": 946, "BGN": 975, "USD": 840}
# SE 1.4 Metering UnitOfMeasure, binary forms (D.3.2.2.4.1): what a price is per.
UNITS = {"kWh": 0x00, "m3": 0x01, "ft3": 0x02, "ccf": 0x03, "US gal": 0x04, "imp gal": 0x05,
         "BTU": 0x06, "l": 0x07, "kPa gauge": 0x08, "kPa absolute": 0x09, "mcf": 0x0A,
         "unitless": 0x0B, "MJ": 0x0C, "kvarh": 0x0D}
_PRICE_KEYS = {"provider", "currency", "unit", "tiers"}
_TIER_KEYS = {"label", "price"}


def decimal_price(value):
    """A price written as a decimal string ("0.2345") or a whole number -> (price, trailing
    digit) exactly: (2345, 4). The digits written after the point are kept ("0.20" is 20
    with 2 digits): they are the precision a display shows. No float is ever involved."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("price %r: write it as a decimal string, e.g. \"0.2345\"" % (value,))
    text = str(value).strip()
    whole, dot, frac = text.partition(".")
    if not (whole.isdigit() and whole.isascii()) or (
            dot and not (frac.isdigit() and frac.isascii())):
        raise ValueError("price %r: digits with at most one decimal point, not negative"
                         % (value,))
    if len(frac) > fwprices.DIGIT_MAX:
        raise ValueError("price %s: at most %d decimals" % (text, fwprices.DIGIT_MAX))
    price = int(whole + frac)
    if price > fwprices.PRICE_MAX:
        raise ValueError("price %s: %d in units of its last decimal exceeds %d"
                         % (text, price, fwprices.PRICE_MAX))
    return price, len(frac)


def _code(value, table, what):
    if isinstance(value, bool):
        raise ValueError("%s %r" % (what, value))
    if isinstance(value, int):
        return value
    for name, number in table.items():
        if str(value).lower() == name.lower():
            return number
    raise ValueError("unknown %s %r (%s, or its number)" % (what, value, ", ".join(table)))


def prices_bytes(spec):
    """The OP_SET_PRICES payload (firmware/registers/prices.py) from JSON, checked as the
    meter will check it (the firmware's own parse) before anything is sent."""
    if not isinstance(spec, dict):
        raise ValueError("prices: a JSON object")
    unknown = set(spec) - _PRICE_KEYS
    if unknown:
        raise ValueError("unknown price fields: %s" % ", ".join(sorted(unknown)))
    provider = spec["provider"]
    if isinstance(provider, bool) or not isinstance(provider, int) \
            or not 0 <= provider <= 0xFFFFFFFF:
        raise ValueError("provider: a number 0 .. 4294967295")
    currency = _code(spec["currency"], CURRENCIES, "currency")
    unit = _code(spec.get("unit", "kWh"), UNITS, "unit")
    if not 1 <= currency <= fwprices.CURRENCY_MAX:
        raise ValueError("currency: an ISO 4217 number 1 .. 999 (978 EUR)")
    if not 0 <= unit <= fwprices.UNIT_MAX:
        raise ValueError("unit: %s, or 0 .. 13" % ", ".join(UNITS))
    tiers = spec["tiers"]
    if not isinstance(tiers, list) or not 1 <= len(tiers) <= fwprices.MAX_TIERS:
        raise ValueError("tiers: a list of 1 to %d tiers" % fwprices.MAX_TIERS)
    data = struct.pack("<IHBB", provider, currency, unit, len(tiers))
    for n, tier in enumerate(tiers, 1):
        if not isinstance(tier, dict):
            raise ValueError("tier %d: a JSON object with label and price" % n)
        unknown = set(tier) - _TIER_KEYS
        if unknown:
            raise ValueError("tier %d: unknown fields %s" % (n, ", ".join(sorted(unknown))))
        if not isinstance(tier["label"], str):
            raise ValueError("tier %d: label is a string" % n)
        label = tier["label"].encode("utf-8")
        if not 1 <= len(label) <= fwprices.LABEL_MAX:
            raise ValueError("tier %d: label %r is %d octets of UTF-8 (1 .. %d)"
                             % (n, tier["label"], len(label), fwprices.LABEL_MAX))
        price, digit = decimal_price(tier["price"])
        data += struct.pack("<BIB", digit, price, len(label)) + label
    fwprices.parse(data)  # Rejected (a ValueError) with the meter's reason
    return data


# ---- key and counter -----------------------------------------------------------------------
def load_key(hex_key=None, key_file=None):
    if hex_key:
        key = bytes.fromhex(hex_key)
    elif key_file:
        with open(key_file, "rb") as f:
            raw = f.read()
        try:
            key = bytes.fromhex(raw.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            key = raw  # a binary key file
    else:
        raise ValueError("give --key HEX or --key-file F")
    if len(key) < MIN_KEY:
        raise ValueError("the key is at least 16 octets")
    return key


def default_counter_file(key, key_file=None):
    if key_file:
        return key_file + ".counter"
    key_id = hashlib.sha256(b"meter-fw config key id" + key).hexdigest()[:16]
    return os.path.join(os.path.expanduser("~"), ".config", "meter-fw", "counter-" + key_id)


def next_counter(path, requested=None, now=None):
    """The counter to use: requested, else max(last used + 1, now). Records it in path."""
    last = 0
    try:
        with open(path) as f:
            last = int(f.read().strip() or 0)
    except FileNotFoundError:
        pass
    if requested is not None:
        counter = requested
    else:
        counter = max(last + 1, int(time.time() if now is None else now))
    if counter > last:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % counter)
        os.replace(tmp, path)
    return counter


# ---- delivery ------------------------------------------------------------------------------
def deliver(port, line, baud=115200, timeout=10.0, out=print):
    """Type line on the console at port and return the board's answer line (or None)."""
    import serial

    with serial.Serial(port, baud, timeout=0.2) as ser:
        ser.reset_input_buffer()
        ser.write(line.encode("ascii") + b"\r\n")
        ser.flush()
        deadline = time.monotonic() + timeout
        pending = b""
        while time.monotonic() < deadline:
            pending += ser.read(256)
            while b"\n" in pending:
                raw, pending = pending.split(b"\n", 1)
                text = raw.decode("ascii", "replace").strip()
                if text.startswith("CFG OK") or text.startswith("CFG REJECTED"):
                    return text
    return None


def build(args):
    """(op, payload) for the parsed arguments."""
    if args.sub == "set-clock":
        utc = parse_utc(args.utc) if args.utc is not None else int(time.time())
        return fwconfig.OP_SET_CLOCK, clock_payload(utc)
    if args.sub == "set-calendar":
        with open(args.file) as f:
            data = calendar_bytes(json.load(f), args.tariffs)
        if args.passive:
            if args.activation is None:
                raise ValueError("--passive needs --activation UTC")
            return fwconfig.OP_SET_PASSIVE_CALENDAR, (clock_payload(parse_utc(args.activation))
                                                      + data)
        return fwconfig.OP_SET_ACTIVE_CALENDAR, data
    if args.sub == "set-calibration":
        with open(args.file) as f:
            return fwconfig.OP_SET_CALIBRATION, calibration_bytes(json.load(f))
    if args.sub == "set-text":
        data = bytes.fromhex(args.message) if args.hex else args.message.encode("utf-8")
        if len(data) > fwconfig.MAX_PAYLOAD:
            raise ValueError("a text message is at most 1024 octets")
        return fwconfig.OP_SET_TEXT_MESSAGE, data
    if args.sub == "reset-log":
        if not 0 <= args.id <= 3:
            raise ValueError("log id 0 .. 3")
        return fwconfig.OP_RESET_LOG, bytes([args.id])
    if args.sub == "provision":
        with open(args.file) as f:
            return fwconfig.OP_PROVISION, provision_bytes(json.load(f))
    if args.sub == "set-prices":
        with open(args.file) as f:
            return fwconfig.OP_SET_PRICES, prices_bytes(json.load(f))
    if args.sub == "set-gas-alert":
        return fwconfig.OP_SET_GAS_ALERT, gas_alert_payload(args.duration)
    if args.sub in ("han-join", "han-remove"):
        return fwconfig.OP_HAN_JOINER, han_joiner_payload(
            args.eui64, args.install_code if args.sub == "han-join" else None)
    raise ValueError("no subcommand")


def gas_alert_payload(duration):
    """OP_SET_GAS_ALERT payload: seconds u32 LE, from "10800", "180m", "3h" or "2d"; the
    meter's range (60 s .. 30 days) is checked here too, before anything is sent."""
    from registers.gas import silent_after_ok

    text = str(duration).strip().lower()
    scale = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(text[-1:], None)
    digits = text[:-1] if scale else text
    if not digits.isdigit():
        raise ValueError("gas alert: a whole number of seconds, or with s, m, h or d")
    seconds = int(digits) * (scale or 1)
    if not silent_after_ok(seconds):
        raise ValueError("gas alert: 60 s .. 30 days")
    return struct.pack("<I", seconds)


def _hex_arg(text, what):
    clean = str(text).replace(":", "").replace("-", "").replace(" ", "")
    try:
        return bytes.fromhex(clean)
    except ValueError:
        raise ValueError("%s: hex digits expected" % what)


def han_joiner_payload(eui64, install_code=None):
    """OP_HAN_JOINER payload (firmware/han/node.py): action, EUI-64 as printed (most
    significant octet first), install code with its CRC-16/X-25 for a join."""
    from han.node import JOINER_ADD, JOINER_REMOVE
    from han.tc.keys import install_code_link_key

    ext = _hex_arg(eui64, "EUI-64")
    if len(ext) != 8:
        raise ValueError("EUI-64: 16 hex digits")
    if install_code is None:
        return bytes([JOINER_REMOVE]) + ext
    code = _hex_arg(install_code, "install code")
    install_code_link_key(code)  # ValueError: length or CRC, before anything is sent
    return bytes([JOINER_ADD]) + ext + code


def parser():
    p = argparse.ArgumentParser(prog="python -m tools.config",
                                description="Signed configuration commands for the meter.")
    p.add_argument("--key", help="HMAC key as hex (>= 16 octets)")
    p.add_argument("--key-file", help="file holding the key (hex text or raw octets)")
    p.add_argument("--counter", type=int, help="command counter (default: see --help text)")
    p.add_argument("--counter-file", help="where the last counter used is kept")
    p.add_argument("--port", help="deliver through this console (serial port or pty)")
    p.add_argument("--baud", type=int, default=115200)
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for CFG ...")
    sub = p.add_subparsers(dest="sub", required=True)
    s = sub.add_parser("set-clock", help="set the meter's UTC clock")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--utc", help="UNIX seconds or ISO 8601 (e.g. 2026-03-29T01:00:00Z)")
    g.add_argument("--now", action="store_true", help="this machine's time (the default)")
    s = sub.add_parser("set-calendar", help="load a tariff calendar (JSON)")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--active", action="store_true", help="replace the active calendar now")
    g.add_argument("--passive", action="store_true", help="activate at --activation")
    s.add_argument("--activation", help="UNIX seconds or ISO 8601 (passive only)")
    s.add_argument("--tariffs", type=int, default=4, help="the meter's tariff count (4)")
    s.add_argument("file")
    s = sub.add_parser("set-calibration", help="store a calibration (JSON)")
    s.add_argument("file")
    s = sub.add_parser("set-text", help="set the P1 text message (<= 1024 octets)")
    s.add_argument("message")
    s.add_argument("--hex", action="store_true", help="MESSAGE is hex octets")
    s = sub.add_parser("reset-log", help="clear a log (0 standard, 1 fault, 2 tamper, 3 tx)")
    s.add_argument("id", type=int)
    s = sub.add_parser("provision", help="write the provisioning record (JSON)")
    s.add_argument("file")
    s = sub.add_parser("han-join", help="let a HAN device join the hub by its install code")
    s.add_argument("eui64", help="the device's IEEE address, 16 hex digits as printed")
    s.add_argument("install_code", help="install code with its CRC-16 (as printed), hex")
    s = sub.add_parser("han-remove", help="make a HAN device leave and forget it")
    s.add_argument("eui64")
    s = sub.add_parser("set-prices", help="the prices the hub publishes on the HAN (JSON)")
    s.add_argument("file")
    s = sub.add_parser("set-gas-alert", help="raise gas-silent after this long without a "
                                             "gas reading (default 900 s)")
    s.add_argument("duration", help="seconds, or with a unit: 90s, 45m, 3h, 2d")
    return p


def main(argv=None, out=print):
    args = parser().parse_args(argv)
    try:
        key = load_key(args.key, args.key_file)
        op, payload = build(args)
    except (ValueError, KeyError, OSError) as e:
        out("error: %s" % e)
        return 2
    counter_file = args.counter_file or default_counter_file(key, args.key_file)
    counter = next_counter(counter_file, args.counter)
    cmd = command(op, counter, payload)
    if len(cmd) > fwconfig.MAX_COMMAND:
        out("error: command of %d octets exceeds %d" % (len(cmd), fwconfig.MAX_COMMAND))
        return 2
    tag = sign(key, cmd)
    line = console_line(cmd, tag)
    out("op %d counter %d" % (op, counter))
    out("command %s" % cmd.hex())
    out("tag %s" % tag.hex())
    out("line %s" % line)
    if args.port:
        answer = deliver(args.port, line, args.baud, args.timeout)
        out(answer or "no answer from the board within %.0f s" % args.timeout)
        return 0 if answer and answer.startswith("CFG OK") else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
