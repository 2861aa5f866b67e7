"""Line-by-line decoding of a P1 telegram with a dsmr_parser specification.

dsmr_parser's TelegramParser.parse() silently skips the lines no object of its specification
matches and logs (with a traceback, to the root logger) the lines whose values do not parse.
A test engineer needs the opposite: every line accounted for. So this module runs each
object's line pattern of the chosen specification itself, parses the matched text with the
object's own value parser, and reports for every data line of the telegram either its
decoded value or why it was not decoded (no object of the specification has its OBIS code,
or its value does not match the object's format). Values are kept as decimal strings: a
float would turn a long digit string into Infinity in JSON.
"""
import bisect
import copy
import datetime
import logging
import re
from decimal import Decimal

# dsmr_parser logs parse failures with exc_info; this reader reports them itself.
logging.getLogger("dsmr_parser").addHandler(logging.NullHandler())
logging.getLogger("dsmr_parser").propagate = False

# Our P1 profiles (firmware/h1/profiles.py) and the dsmr_parser specification of each.
PROFILE_SPEC = {"nl": "V5", "nl4": "V4", "be": "BELGIUM_FLUVIUS", "lu": "MSN", "se": "SWEDEN",
                "lt": "V5"}
# The other way round, for a guessed specification (first profile wins).
SPEC_PROFILE = {"V5": "nl", "V4": "nl4", "BELGIUM_FLUVIUS": "be", "MSN": "lu",
                "LUXEMBOURG_SMARTY": "lu", "SWEDEN": "se"}
# Order in which equally good guesses are preferred: the general DSMR versions first, then
# the national variants, vendor-specific tables last.
GUESS_ORDER = ("V5", "V4", "V2_2", "V3", "BELGIUM_FLUVIUS", "LUXEMBOURG_SMARTY", "MSN",
               "SWEDEN", "EON_HUNGARY", "ISKRA_IE", "Q3D", "SAGEMCOM_T210_D_R")
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")
GROUP = re.compile(r"\(([^()]*)\)")

_specs = None


def spec_names():
    """Every telegram specification of the installed dsmr_parser, by its name there."""
    global _specs
    if _specs is None:
        from dsmr_parser import telegram_specifications as ts

        _specs = {}
        for name in dir(ts):
            value = getattr(ts, name)
            if name.isupper() and isinstance(value, dict) and "objects" in value:
                _specs[name] = Spec(name, value)
    return _specs


def spec(name):
    """The Spec called name (case-insensitive); KeyError with the known names if none."""
    specs = spec_names()
    key = name.upper()
    if key not in specs:
        raise KeyError("unknown specification %r; dsmr_parser %s has %s" % (
            name, _version(), ", ".join(sorted(specs))))
    return specs[key]


def _version():
    try:
        from importlib.metadata import version

        return version("dsmr_parser")
    except Exception:  # only for a message
        return "?"


class Spec:
    def __init__(self, name, table):
        self.name = name
        self.table = table
        self.checksum = bool(table.get("checksum_support"))
        self.encrypted = bool(table.get("general_global_cipher"))
        self.objects = [(re.compile(o["obis_reference"], re.DOTALL | re.MULTILINE),
                         o["value_parser"], o["value_name"]) for o in table["objects"]]
        # All patterns in one, so a telegram is scanned once per specification.
        try:
            self.combined = re.compile("|".join(
                "(?P<o%d>%s)" % (i, o["obis_reference"]) for i, o in enumerate(table["objects"])),
                re.DOTALL | re.MULTILINE)
        except re.error:
            self.combined = None


class Line:
    """One data line: its number in the telegram (1 = header), text and verdict."""

    def __init__(self, number, start, text):
        self.number = number
        self.start = start
        self.text = text
        self.name = None  # the object's name once decoded
        self.value = None
        self.failure = None  # the value parser's complaint, if the pattern matched

    @property
    def obis(self):
        return self.text.split("(", 1)[0]


def data_lines(text):
    """The lines between the header's blank line and '!', as Line objects (LF or CR LF)."""
    lines = []
    pos = 0
    number = 0
    bang = text.rfind("!")
    end = bang if bang != -1 else len(text)
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl == -1 else nl + 1
        number += 1
        body = text[pos:stop].rstrip("\r\n")
        if number > 1 and body:  # line 1 is the header; blank lines carry nothing
            lines.append(Line(number, pos, body))
        pos = stop
    return lines


def decode(text, spec_):
    """Decode text (a whole plaintext telegram) with a Spec: its data lines, each with
    .name/.value when decoded, else .failure (None: no object for its OBIS code)."""
    lines = data_lines(text)
    starts = [line.start for line in lines]
    if spec_.combined is None:  # one pattern at a time, as dsmr_parser does
        for obj in spec_.objects:
            for m in obj[0].finditer(text):
                _take(lines, starts, m, obj)
        return lines
    for m in spec_.combined.finditer(text):
        first = spec_.objects[int(m.lastgroup[1:])]
        if _take(lines, starts, m, first) is False:
            # That object refused the value: another one may take the line.
            for obj in spec_.objects:
                if obj is not first:
                    other = obj[0].match(text, m.start())
                    if other and _take(lines, starts, other, obj):
                        break
    return lines


def _take(lines, starts, m, obj):
    """Decode match m with obj = (pattern, parser, name) onto the lines it covers: True if
    decoded, False if the parser refused it, None if it starts no free line."""
    pattern, parser, name = obj
    first = bisect.bisect_left(starts, m.start())
    last = bisect.bisect_left(starts, m.end())
    covered = lines[first:last]
    if not covered or covered[0].start != m.start() or covered[0].name:
        return None  # not at a line start (a pattern matched inside a value) or done
    try:
        if hasattr(parser, "buffer_types"):
            parser = copy.deepcopy(parser)  # its parse() extends its own list of formats
        value = jsonable(parser.parse(m.group(0)))
        _check_values(value, m.group(0))
    except Exception as e:  # any value a parser refuses, however it refuses it
        for line in covered:
            line.failure = "%s: %s" % (name, _reason(e))
        return False
    covered[0].name, covered[0].value, covered[0].failure = name, value, None
    for line in covered[1:]:  # a DSMR 2.2 gas reading's value on its own line
        line.name, line.failure = name, None
    return True


def _reason(e):
    text = str(e) if not isinstance(e, (KeyError, IndexError)) else type(e).__name__
    text = text if len(text) < 120 else text[:117] + "..."
    return text or type(e).__name__


def _check_values(value, text):
    """Refuse what dsmr_parser lets through: a number not written as digits with an
    optional fraction (Decimal accepts 1E5, NaN, Infinity) and a timestamp that its
    parser turned into None (a line with no empty "()" has no value that may be None)."""
    for v in _leaves(value):
        if isinstance(v, tuple):
            raise ValueError("value %r is not a number in Fn/In format" % v[1])
        if v is None and "()" not in text:
            raise ValueError("a value (a timestamp?) does not match its format")


def _leaves(value):
    if isinstance(value, dict):
        yield value.get("value")
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def jsonable(obj):
    """A dsmr_parser object as plain JSON types, numbers as decimal strings."""
    if isinstance(obj, list):
        return [jsonable(o) for o in obj]
    values = getattr(obj, "values", None)
    if values is None:
        return _plain(obj)
    out = [{"value": _plain(v.get("value")), "unit": v.get("unit")} for v in values]
    return out[0] if len(out) == 1 else out


def _plain(v):
    if isinstance(v, Decimal):
        text = str(v)
        return text if NUMBER.match(text) else ("bad", text)  # caught by _check_values
    if isinstance(v, datetime.datetime):
        return v.isoformat()
    if isinstance(v, (int, str)) or v is None:
        return v if not isinstance(v, int) or isinstance(v, bool) else str(v)
    return str(v)


def score(text, spec_):
    """(decoded lines, data lines) of text under spec_."""
    lines = decode(text, spec_)
    return sum(1 for line in lines if line.name), len(lines)


# A national or vendor variant is guessed only when the telegram carries its marks, so
# that one shared OBIS code cannot decide: 0-0:42.0.0 (COSEM logical device name) is in
# E.ON Hungary's telegrams as well as in Luxembourg's, whose also carry 1-3:0.2.8.
REQUIRES = {"BELGIUM_FLUVIUS": ("0-0:96.1.4(",),  # e-MUCS version
            "LUXEMBOURG_SMARTY": ("0-0:42.0.0(", "1-3:0.2.8("),
            "MSN": ("0-0:42.0.0(", "1-3:0.2.8("),
            "EON_HUNGARY": ("0-0:42.0.0(",)}
# Between specifications that decode as many lines, the one the version line names wins.
VERSION_MARK = {"V4": "1-3:0.2.8(4", "V5": "1-3:0.2.8(5"}


def _has(text, mark):
    return text.startswith(mark) or ("\n" + mark) in text


def guess(text):
    """(Spec, reason) for a telegram whose specification is not given.

    Conservative: of the specifications whose marks the telegram carries (REQUIRES), the
    one that decodes the most lines wins; on a tie, the one its version line names, then
    the more general one (GUESS_ORDER)."""
    specs = spec_names()
    results = []
    tables = set()
    for rank, name in enumerate(GUESS_ORDER):
        if name not in specs or not all(_has(text, m) for m in REQUIRES.get(name, ())):
            continue
        if id(specs[name].table) in tables:
            continue  # V3 is V2_2 in dsmr_parser: one try, the alias named in the reason
        tables.add(id(specs[name].table))
        decoded, total = score(text, specs[name])
        named = name in VERSION_MARK and _has(text, VERSION_MARK[name])
        results.append((-decoded, not named, rank, name, total))
    results.sort()
    best = results[0]
    reason = "guessed %s: decodes %d of %d lines" % (best[3], -best[0], best[4])
    alias = [n for n, s in specs.items() if s.table is specs[best[3]].table and n != best[3]]
    if alias:
        reason += " (dsmr_parser's %s is the same table)" % ", ".join(sorted(alias))
    if len(results) > 1:
        second = results[1]
        reason += "; next best %s: %d" % (second[3], -second[0])
    return specs[best[3]], reason
