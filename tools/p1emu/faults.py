# The faults the P1 emulator can inject, as byte-level edits of a telegram our builder made.
# What each one breaks and which reader check must catch it is documented in
# tools/p1_emulate.py; here is only how.
#
# Edits are applied in a fixed order (STAGES): meter-state faults before the telegram is
# built, then line edits (each recomputes the CRC, so the edit is the only defect), then line
# endings, then the CRC text, then the framing, then encryption (Luxembourg with --key), then
# whole-frame byte faults, then the timing of the sending.
from native.crc16 import crc16_python

CRLF = b"\r\n"
UNKNOWN_OBIS_LINE = b"0-0:96.99.9(00000042)\r\n"  # in no DSMR/e-MUCS/Smarty/SE/LT table
LONG_TEXT_OCTETS = 2050  # 4100 hex digits: over DSMR 5.0.2's 2048-character text (Sn<=2048)
PROBE_OBIS = b"1-0:1.7.0("  # actual import power: in every profile

# name -> stage. Stages run in this order.
STATE, LINE, ENDINGS, CRC, FRAMING, CRYPT, BYTES, TIMING = range(8)
FAULTS = {
    "stale": STATE, "backwards": STATE,
    "truncate-line": LINE, "bad-obis": LINE, "long-line": LINE, "nul": LINE,
    "tst-flag": LINE, "no-blank": LINE,
    "lf": ENDINGS,
    "crc": CRC, "crc-lower": CRC, "crc-short": CRC, "no-crc": CRC,
    "drop-slash": FRAMING, "no-final-crlf": FRAMING,
    "counter-repeat": CRYPT, "bad-tag": CRYPT,
    "partial": BYTES, "7e1": BYTES,
    "period": TIMING, "late": TIMING, "duplicate": TIMING, "drop": TIMING,
    "garbage": TIMING, "slow": TIMING, "dr-ignore": TIMING,
}
ENCRYPTED_ONLY = ("counter-repeat", "bad-tag")


def crc_of(body):
    """CRC-16/ARC of body (from '/' up to and including '!'), DSMR 5.0.2 6.2."""
    return crc16_python(body)


def split(telegram):
    """(body up to and including '!', CRC text, line end after the CRC)."""
    bang = telegram.rindex(b"!")
    tail = telegram[bang + 1:]
    digits = tail.rstrip(b"\r\n")
    return telegram[:bang + 1], digits, tail[len(digits):]


def reseal(body, end=CRLF):
    return body + b"%04X" % crc_of(body) + end


def _edit_line(telegram, edit):
    body, _, end = split(telegram)
    return reseal(edit(body), end)


def _find_line(body, prefix):
    start = body.find(b"\n" + prefix)
    if start < 0:
        return -1, -1
    start += 1
    return start, body.index(b"\n", start) + 1


def truncate_line(telegram):
    # The probe line loses the second half of its value and its ')'; the CR LF stays.
    def edit(body):
        start, stop = _find_line(body, PROBE_OBIS)
        line = body[start:stop].rstrip(b"\r\n")
        keep = len(PROBE_OBIS) + (len(line) - len(PROBE_OBIS) - 1) // 2  # value w/o ')'
        return body[:start] + line[:keep] + body[stop - 2:]
    return _edit_line(telegram, edit)


def _insert_after_timestamp(body, line):
    start, stop = _find_line(body, b"0-0:1.0.0(")
    return body[:stop] + line + body[stop:]


def bad_obis(telegram):
    return _edit_line(telegram, lambda body: _insert_after_timestamp(body, UNKNOWN_OBIS_LINE))


def long_line(telegram):
    text = b"0-0:96.13.0(" + b"54" * LONG_TEXT_OCTETS + b")\r\n"  # 'T' repeated, as hex

    def edit(body):
        start, stop = _find_line(body, b"0-0:96.13.0(")
        if start < 0:  # profiles without a text line get one
            return _insert_after_timestamp(body, text)
        return body[:start] + text + body[stop:]
    return _edit_line(telegram, edit)


def nul(telegram):
    def edit(body):
        start, _ = _find_line(body, PROBE_OBIS)
        at = start + len(PROBE_OBIS)
        return body[:at] + b"\x00" + body[at:]
    return _edit_line(telegram, edit)


def tst_flag(telegram):
    # The season letter of 0-0:1.0.0 says the opposite of the truth (S <-> W).
    def edit(body):
        start, stop = _find_line(body, b"0-0:1.0.0(")
        at = stop - 4  # ... X ) CR LF
        flag = b"W" if body[at:at + 1] == b"S" else b"S"
        return body[:at] + flag + body[at + 1:]
    return _edit_line(telegram, edit)


def no_blank(telegram):
    def edit(body):
        head = body.index(CRLF)
        return body[:head] + body[head + 2:]  # header CR LF CR LF -> header CR LF
    return _edit_line(telegram, edit)


def lf(telegram):
    body, _, _ = split(telegram)
    return reseal(body.replace(CRLF, b"\n"), b"\n")


def crc_wrong(telegram):
    body, _, end = split(telegram)
    return body + b"%04X" % (crc_of(body) ^ 0xFFFF) + end


def crc_lower(telegram):
    """The right CRC in lower case; None when it has no letter (the fault cannot show)."""
    body, digits, end = split(telegram)
    if digits == digits.lower():
        return None
    return body + digits.lower() + end


def crc_short(telegram):
    body, digits, end = split(telegram)
    return body + digits[1:] + end


def no_crc(telegram):
    body, _, end = split(telegram)
    return body + end


def drop_slash(telegram):
    return telegram[1:]


def no_final_crlf(telegram):
    return telegram[:-2] if telegram.endswith(CRLF) else telegram.rstrip(b"\n")


def partial(data):
    return data[:len(data) // 2]


def seven_e1(data):
    # What a 7E1 sender puts on the wire, as an 8N1 receiver reads it: the even parity bit
    # arrives as bit 7 (both frames are 10 bits long).
    out = bytearray(data)
    for i, b in enumerate(out):
        low = b & 0x7F
        out[i] = low | (bin(low).count("1") & 1) << 7
    return bytes(out)


LINE_EDITS = {
    "truncate-line": truncate_line, "bad-obis": bad_obis, "long-line": long_line, "nul": nul,
    "tst-flag": tst_flag, "no-blank": no_blank,
}
CRC_EDITS = {"crc": crc_wrong, "crc-lower": crc_lower, "crc-short": crc_short,
             "no-crc": no_crc}
FRAMING_EDITS = {"drop-slash": drop_slash, "no-final-crlf": no_final_crlf}
BYTE_EDITS = {"partial": partial, "7e1": seven_e1}


def garbage_bytes(rng, n):
    """n random bytes that cannot start a telegram or a frame ('/', 0xDB) nor end one ('!')."""
    out = bytearray()
    while len(out) < n:
        b = rng.randrange(256)
        if b not in (0x2F, 0x21, 0xDB):
            out.append(b)
    return bytes(out)


def parse_fault_args(names, every):
    """{name: N} from ["crc", "late:3", ...]: the fault hits telegrams N, 2N, 3N, ..."""
    out = {}
    for item in names:
        name, _, n = item.partition(":")
        if name not in FAULTS:
            raise ValueError("unknown fault %r (known: %s)" % (name, ", ".join(sorted(FAULTS))))
        n = int(n) if n else every
        if n < 1:
            raise ValueError("fault %s: every N needs N >= 1" % name)
        out[name] = n
    return out
