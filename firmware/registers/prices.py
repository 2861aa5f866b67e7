# The prices the hub publishes on the HAN (Smart Energy Price cluster 0x0700, issue 12):
# the energy provider, the currency, the unit priced and, per tariff of the meter, a rate
# label, a price and its trailing digit. Set only through the configuration path
# (OP_SET_PRICES, registers/config.py) and kept in the record store so the displays see the
# same prices after a power cut. The registers never import han: main builds
# han.se.price.PriceConfig(p.provider_id, p.currency, p.tiers, p.unit) from a Prices.
#
# OP_SET_PRICES payload, which is also the stored record (little endian):
#   provider id u32 (SE 1.4 D.4.2.4.1.1: any value)
#   currency u16: ISO 4217 numeric code, 1..999 (978 EUR, 752 SEK)
#   unit u8: SE 1.4 Metering UnitOfMeasure, binary forms 0x00 kWh .. 0x0D kvarh (D.3.2.2.4.1;
#       the BCD forms 0x80.. say how a Metering value is encoded, which a price is not)
#   tier count u8: 1..15 (Publish Price carries the number of tiers in a nibble; tier n is
#       the meter's tariff n)
#   then per tier, tier 1 first:
#     trailing digit u8: 0..15 (digits right of the decimal point, a nibble on air)
#     price u32: 0..0xFFFFFFFE (0xFFFFFFFF reads as "unused" to some clients)
#     label length u8: 1..12 (the rate label, an octet string of at most 12 octets), then
#     the label: well-formed UTF-8 (RFC 3629), what displays print
# The length must be exact: 8 + sum(6 + label length) octets, 14 .. 278.
# Refusals: the shape (truncated, octets left over, label not UTF-8) -> REJECT_MALFORMED;
# a value outside its range above -> REJECT_RANGE. Parsing checks everything before the
# caller stores or applies anything.
import struct

from micropython import const

from registers.config import REJECT_MALFORMED, REJECT_RANGE, Rejected

MAX_TIERS = const(15)  # SE 1.4 D.4.2.4.1: number of price tiers, 4-bit field
LABEL_MAX = const(12)  # SE 1.4 D.4.2.4.1.1: rate label, octet string of <= 12 octets
DIGIT_MAX = const(15)  # SE 1.4 D.4.2.4.1: trailing digit, 4-bit field
UNIT_MAX = const(0x0D)  # SE 1.4 D.3.2.2.4.1: kvar & kvarh, the last binary unit
CURRENCY_MAX = const(999)  # ISO 4217: three-digit numeric codes
PRICE_MAX = 0xFFFFFFFE  # a plain int: above MicroPython's small ints on 32-bit ports
HEAD = const(8)  # provider 4, currency 2, unit 1, tier count 1
TIER_HEAD = const(6)  # trailing digit 1, price 4, label length 1
MAX_RECORD = const(278)  # HEAD + MAX_TIERS * (TIER_HEAD + LABEL_MAX)
_KIND = const(0xD0)  # record kind in the registers' record store


class Prices:
    """A checked price table. tiers: [(label bytes, price, trailing digit)], tier 1 first
    (the order han.se.price.PriceConfig takes); data: the payload it came from, which is
    what the store keeps."""

    def __init__(self, provider_id, currency, unit, tiers, data):
        self.provider_id = provider_id
        self.currency = currency
        self.unit = unit
        self.tiers = tiers
        self.data = data


def utf8_ok(data, off, n):
    """True when data[off:off+n] is well-formed UTF-8 (RFC 3629: no overlong forms, no
    surrogates, nothing above U+10FFFF). MicroPython's decode() does not check this on
    every port, and a display must be able to print the label."""
    i = off
    end = off + n
    while i < end:
        b = data[i]
        if b < 0x80:
            i += 1
            continue
        if 0xC2 <= b <= 0xDF:
            k, lo, hi = 1, 0x80, 0xBF
        elif 0xE0 <= b <= 0xEF:
            k = 2
            lo = 0xA0 if b == 0xE0 else 0x80  # E0 80..9F would be overlong
            hi = 0x9F if b == 0xED else 0xBF  # ED A0..BF are UTF-16 surrogates
        elif 0xF0 <= b <= 0xF4:
            k = 3
            lo = 0x90 if b == 0xF0 else 0x80  # F0 80..8F would be overlong
            hi = 0x8F if b == 0xF4 else 0xBF  # F4 90.. is above U+10FFFF
        else:
            return False  # a continuation byte first, C0/C1 (overlong) or F5..FF
        if i + k >= end:
            return False  # the sequence runs past the label
        c = data[i + 1]
        if not lo <= c <= hi:
            return False
        for j in range(2, k + 1):
            if data[i + j] & 0xC0 != 0x80:
                return False
        i += k + 1
    return True


def parse(payload):
    """The OP_SET_PRICES payload checked whole -> Prices; Rejected otherwise (nothing is
    stored or changed here)."""
    data = bytes(payload)
    n = len(data)
    if n < HEAD:
        raise Rejected(REJECT_MALFORMED, "prices: provider, currency, unit, tier count")
    provider_id, currency, unit, count = struct.unpack_from("<IHBB", data, 0)
    if not 1 <= currency <= CURRENCY_MAX:
        raise Rejected(REJECT_RANGE, "prices: currency is an ISO 4217 number 1..999")
    if unit > UNIT_MAX:
        raise Rejected(REJECT_RANGE, "prices: unit is a UnitOfMeasure 0x00..0x0D")
    if not 1 <= count <= MAX_TIERS:
        raise Rejected(REJECT_RANGE, "prices: 1 to 15 tiers")
    tiers = []
    p = HEAD
    for _ in range(count):
        if n - p < TIER_HEAD:
            raise Rejected(REJECT_MALFORMED, "prices: tier %d truncated" % (len(tiers) + 1))
        digit, price, length = struct.unpack_from("<BIB", data, p)
        if digit > DIGIT_MAX:
            raise Rejected(REJECT_RANGE, "prices: trailing digit 0..15")
        if price > PRICE_MAX:
            raise Rejected(REJECT_RANGE, "prices: price 0..0xFFFFFFFE")
        if not 1 <= length <= LABEL_MAX:
            raise Rejected(REJECT_RANGE, "prices: rate label of 1 to 12 octets")
        p += TIER_HEAD
        if n - p < length:
            raise Rejected(REJECT_MALFORMED, "prices: tier %d label truncated"
                           % (len(tiers) + 1))
        if not utf8_ok(data, p, length):
            raise Rejected(REJECT_MALFORMED, "prices: rate label is not UTF-8")
        tiers.append((data[p:p + length], price, digit))
        p += length
    if p != n:
        raise Rejected(REJECT_MALFORMED, "prices: %d octets after the last tier" % (n - p))
    return Prices(provider_id, currency, unit, tiers, data)


class PriceStore:
    """The prices in the record store (two slots and a CRC: the old or the new table after
    a power cut, never a mix). prices: the table in use, None when none was ever set."""

    def __init__(self, store):
        self._slots = store.slots("prices", _KIND, MAX_RECORD)
        self.prices = None
        self.invalid = 0  # a stored record this firmware refuses (kept unused, counted)

    def load(self):
        """The stored table (also in .prices), or None."""
        buf = bytearray(MAX_RECORD)
        n = self._slots.load(buf)
        self.prices = None
        if n > 0:
            try:
                self.prices = parse(memoryview(buf)[:n])
            except ValueError:
                self.invalid += 1  # a later firmware's stricter rule, or a bug: no prices
        return self.prices

    def save(self, prices):
        """Store prices (a parse() result), then use it: a failed write (OSError) leaves
        the previous table in use and in flash."""
        self._slots.save(prices.data, len(prices.data))
        self.prices = prices


def handler(store, on_change=None):
    """(parse, apply) of OP_SET_PRICES for ConfigSession's handlers: apply stores first,
    then calls on_change(prices) (main: the hub publishes the new table at once)."""

    def apply(prices):
        store.save(prices)
        if on_change is not None:
            on_change(prices)

    return parse, apply
