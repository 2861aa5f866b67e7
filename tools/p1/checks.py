"""The strict checks of one plaintext telegram: its end, its CRC, its lines.

Each check returns faults as (code, message, strict): strict faults are errors unless the
reader runs --lenient (then warnings, still counted); the others are always errors (a CRC
that does not match) or always warnings (marked "warn").
"""
import re

from native.crc16 import crc16_python

from tools.p1.framing import MAX_LINE

CRC_TAIL = re.compile(rb"!([0-9A-Fa-f]*)(\r?)(\n?)\Z")
WARN = "warn"


def check_crc(telegram):
    """'ok', 'bad' or 'none' (no CRC digits after '!')."""
    bang = telegram.rindex(b"!")
    digits = telegram[bang + 1:].strip()
    if not digits:
        return "none"
    try:
        return "ok" if crc16_python(telegram[:bang + 1]) == int(digits, 16) else "bad"
    except ValueError:
        return "bad"


def check_end(telegram, spec):
    """(crc verdict, faults) of the part from '!' on: P1 companion standard 5.0.2 6.2:
    '!' CRC CR LF, the CRC as 4 hexadecimal characters, MSB first; DSMR 4 and 5 and their
    national variants carry one (spec.checksum), DSMR 2.2 and 3 end '!' CR LF."""
    faults = []
    bang = telegram.rindex(b"!")
    m = CRC_TAIL.match(telegram, bang)
    digits, cr, lf = (m.group(1), m.group(2), m.group(3)) if m else (b"", b"", b"")
    if not m:
        faults.append(("crc-form", "after '!' comes %r, not a CRC and CR LF"
                       % telegram[bang + 1:bang + 9].decode("latin-1"), True))
    crc = "none"
    if digits:
        crc = "ok" if crc16_python(telegram[:bang + 1]) == int(digits, 16) else "bad"
        if crc == "bad":
            faults.append(("crc-bad", "CRC %s does not match the telegram (computed %04X)"
                           % (digits.decode(), crc16_python(telegram[:bang + 1])), False))
        if digits != digits.upper():
            faults.append(("crc-lowercase", "CRC %s in lower case: the standard writes 4 "
                           "upper-case hex digits (DSMR 5.0.2 6.2)" % digits.decode(), True))
        if len(digits) < 4:
            faults.append(("crc-short", "CRC %s has %d digits, the standard writes 4 "
                           "(read as %04X, as some meters send it)"
                           % (digits.decode(), len(digits), int(digits, 16)), WARN))
    elif m and spec is not None and spec.checksum:
        faults.append(("crc-missing", "no CRC after '!': %s telegrams carry one (DSMR 4 and "
                       "5, P1 companion standard 5.0.2 6.2)" % spec.name, True))
    if m and not (cr and lf):
        what = "LF only" if lf else "CR only" if cr else "nothing"
        faults.append(("no-crlf", "the telegram ends with %s after '!%s', not CR LF"
                       % (what, digits.decode()), True))
    return crc, faults


def check_lines(telegram):
    """Faults of the lines before '!': endings, the header's empty line, lengths, bytes."""
    faults = []
    body = telegram[:telegram.rindex(b"!")]
    lines = body.split(b"\n")
    lf_only = [i + 1 for i, line in enumerate(lines[:-1]) if not line.endswith(b"\r")]
    if lf_only:
        faults.append(("lf-only", "%d line(s) end with LF only (first: line %d); the "
                       "standard's lines end CR LF" % (len(lf_only), lf_only[0]), True))
    bare_cr = [i + 1 for i, line in enumerate(lines) if b"\r" in line.rstrip(b"\r")]
    if bare_cr:
        faults.append(("bare-cr", "a CR not followed by LF in line %d" % bare_cr[0], True))
    if lines[-1]:
        faults.append(("no-eol-before-bang", "'!' does not start a line (line %d: %r...)"
                       % (len(lines), lines[-1][:40].decode("latin-1")), True))
    if len(lines) < 3 or lines[1].rstrip(b"\r"):
        faults.append(("header-blank", "the identification line is not followed by an empty "
                       "line (DSMR 5.0.2 6.2: / XXX5 Ident CR LF CR LF Data)", True))
    for i, line in enumerate(lines):
        if len(line) + 1 > MAX_LINE:
            faults.append(("line-long", "line %d is %d characters long, over the %d a P1 "
                           "line can be (a 2048-character text message)"
                           % (i + 1, len(line) + 1, MAX_LINE), True))
            break
    for i, line in enumerate(lines):
        text = line.rstrip(b"\r")
        bad = [c for c in text if c < 0x20 or c > 0x7E]
        if bad:
            where = "the identification line" if i == 0 else "line %d" % (i + 1)
            faults.append(("bad-byte", "%s holds byte 0x%02X (not printable ASCII)"
                           % (where, bad[0]), WARN if i == 0 else True))
            if i:
                break
    return faults
