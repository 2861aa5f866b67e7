"""The rules the H1 cases hold telegrams to, as small functions over bytes (no Robot here):
line syntax, value formats per profile, the local time of a telegram, Smarty frames.

Formats are written from the specifications (DSMR 5.0.2 P1 companion standard 6.4 and
Table 6-1..6-3; e-MUCS H 1.7.1; Smarty 1.1.3; the Swedish H1 Bilaga 3) as docs/bap/h1.md
states them, not read from our builder.
"""
import calendar
import re

LINE = re.compile(rb"^\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3}(\([^()\r\n]*\))+$")
OBIS = re.compile(rb"^(\d+-\d+:\d+\.\d+\.\d+)", re.M)
SMARTY_AK = bytes.fromhex("00112233445566778899AABBCCDDEEFF")  # Smarty 1.1.3 3.2.5
ZONES = {"nl": "Europe/Amsterdam", "nl4": "Europe/Amsterdam", "be": "Europe/Brussels",
         "lu": "Europe/Luxembourg", "se": None, "lt": "Europe/Vilnius"}

# (obis pattern, value pattern) per profile: the F formats of each object kind.
_E93 = rb"\(\d{6}\.\d{3}\*kWh\)"  # F9(3,3)
_P53 = rb"\(\d{2}\.\d{3}\*kW\)"  # F5(3,3)
_V41 = rb"\(\d{3}\.\d\*V\)"  # F4(1,1)
_COUNT5 = rb"\(\d{5}\)"  # F5(0,0)
_CURRENT = {"nl": rb"\(\d{3}\*A\)", "nl4": rb"\(\d{3}\*A\)", "lu": rb"\(\d{3}\*A\)",
            "lt": rb"\(\d{3}\*A\)", "be": rb"\(\d{3}\.\d{2}\*A\)", "se": rb"\(\d{3}\.\d\*A\)"}
UNITS = {b"kWh", b"kvarh", b"kW", b"kvar", b"kVA", b"V", b"A", b"s", b"m3"}


def lines(telegram):
    """The data lines (after the header and the empty line, before "!")."""
    body = telegram.split(b"\r\n")
    return [ln for ln in body[2:] if ln and not ln.startswith(b"!")]


def objects(telegram):
    return [m.decode() for m in OBIS.findall(telegram)]


def energy_pattern(profile):
    return rb"\(\d{8}\.\d{3}\*kWh\)" if profile == "se" else _E93


def power_pattern(profile):
    return rb"\(\d{4}\.\d{3}\*kW\)" if profile == "se" else _P53


def current_pattern(profile):
    return _CURRENT[profile]


def voltage_pattern(profile):
    return _V41


def counter_pattern(profile):
    return _COUNT5


def line_of(telegram, obis):
    m = re.search(rb"^" + re.escape(obis.encode()) + rb"(\(.*)$", telegram, re.M)
    return m.group(1).rstrip(b"\r") if m else None


def utc_of_tst(tst, profile):
    """The UTC seconds of a TST YYMMDDhhmmssX of profile's zone (zoneinfo: the IANA rules
    decide the summer flag, which is checked against X)."""
    import datetime
    import zoneinfo

    d = tst.decode()
    naive = datetime.datetime(2000 + int(d[0:2]), int(d[2:4]), int(d[4:6]), int(d[6:8]),
                              int(d[8:10]), int(d[10:12]))
    zone = ZONES[profile]
    if zone is None:  # se: normal time all year (UTC+1)
        return calendar.timegm(naive.timetuple()) - 3600, d[12] == "W"
    for fold in (0, 1):
        local = naive.replace(tzinfo=zoneinfo.ZoneInfo(zone), fold=fold)
        summer = bool(local.dst())
        if summer == (d[12] == "S"):
            return int(local.timestamp()), True
    return int(naive.replace(tzinfo=zoneinfo.ZoneInfo(zone)).timestamp()), False


def frame_fields(raw):
    """(system title, security control, frame counter, ciphertext, tag, declared length,
    length as counted) of a Smarty frame (1.1.3 3.2.5); ValueError when it is too short
    to hold them."""
    if len(raw) < 2 or len(raw) < 2 + raw[1] + 8:
        raise ValueError("%d octets: too short for a Smarty frame" % len(raw))
    tl = raw[1]
    title = raw[2:2 + tl]
    p = 2 + tl
    if raw[p] == 0x82:
        length, p = int.from_bytes(raw[p + 1:p + 3], "big"), p + 3
    elif raw[p] == 0x81:
        length, p = raw[p + 1], p + 2
    else:
        length, p = raw[p], p + 1
    if len(raw) < p + 5 + 12:
        raise ValueError("%d octets: too short for a Smarty frame" % len(raw))
    sc = raw[p]
    counter = raw[p + 1:p + 5]
    body = raw[p + 5:]
    return title, sc, int.from_bytes(counter, "big"), body[:-12], body[-12:], length, \
        len(raw) - p


def open_frame(raw, key, ak=SMARTY_AK):
    """The plaintext of a Smarty frame (AES-128-GCM, IV = title + counter, AAD = security
    control + AK, 12-octet tag; `cryptography`), or None when the tag fails. (GCM mode
    with min_tag_length: the AESGCM class takes only full 16-octet tags.)"""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    try:
        title, sc, counter, ct, tag, _, _ = frame_fields(raw)
        dec = Cipher(algorithms.AES(key), modes.GCM(title + counter.to_bytes(4, "big"), tag,
                                                    min_tag_length=12)).decryptor()
        dec.authenticate_additional_data(bytes([sc]) + ak)
        return dec.update(ct) + dec.finalize()
    except Exception:
        return None
