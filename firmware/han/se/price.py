# Smart Energy Price cluster 0x0700 (ZigBee Smart Energy 1.4, 07-5356-19, D.4), server and
# client sides, over the ZCL codec in han.zcl. The hub publishes the price of the tariff
# the meter is running now; prices, labels and currency come from configuration.
#
# Publish Price payload (D.4.2.4.1), little endian, the first eleven fields mandatory:
#   provider id (uint32) | rate label (octet string, <= 12 octets, UTF-8) | issuer event
#   id (uint32) | current time (UTC) | unit of measure (enum8, Metering's UnitOfMeasure:
#   0 kWh) | currency (uint16, ISO 4217 numeric: 978 EUR) | trailing digit (high nibble)
#   and price tier (low nibble) | number of price tiers (high) and register tier (low) |
#   start time (UTC, 0 = now) | duration in minutes (uint16, 0xFFFF = until changed) |
#   price (uint32, currency per unit, trailing digit decimals)
# then thirteen optional fields, each present only if all before it are (SE 1.0 stops
# after the price, SE 1.1 after price control, SE 1.2+ has them all):
#   price ratio (uint8, 0xFF unused) | generation price (uint32, 0xFFFFFFFF unused) |
#   generation price ratio (0xFF) | alternate cost delivered (uint32, 0xFFFFFFFF) |
#   alternate cost unit (enum8, 0xFF) | alternate cost trailing digit (high nibble) |
#   number of block thresholds (0: no blocks) | price control (bit 0 acknowledgement
#   required, bit 1 more than 15 tiers) | number of generation tiers | generation tier |
#   extended number of price tiers | extended price tier | extended register tier
#   (SE 1.2+; 0 where the nibbles above suffice, which is always the case here: <= 15)
# Tshark's packet-zbee-zcl-se.c reads the optional fields the same way.
#
# Client -> server: Get Current Price (D.4.2.3.1: command options, bit 0 the requestor is
# Rx On When Idle and so takes unsolicited Publish Price: the server keeps it as a
# subscriber); Get Scheduled Prices (start time, number of events: answered with the
# current price, the only event this server knows); Price Acknowledgement (accepted; our
# Publish Price never asks for one).
#
# Server: PriceServer(config, active_tier, clock), a han.se.server.ClusterServer, where
# active_tier() returns the meter's current tariff number (registers
# view.tariff_indicator) and clock.utc() the UTC in seconds since 1970 (the clock
# han.se.time.TimeServer takes). The price tier and the register tier are the tariff
# number (tariff n accumulates in Metering's CurrentTier<n>SummationDelivered).
#   handle(h, buf, off, end, out, unicast, src=-1) -> n > 0 frame in out, 0 nothing to
#       send, -1 not for this server (as ClusterServer.handle; src: the requester's short
#       address, kept as a subscriber when it asks with Rx On When Idle). General
#       commands are answered from the Tier<n>PriceLabel attribute table.
#   tier_changed(out) -> n: 0 while the tier is the one last published, else an
#       unsolicited Publish Price for the caller to unicast to each of
#       subscribers[:n_subscribers]; call it from the node's periodic step.
# Client: build_get_current_price(out, seq, rx_on_idle) -> n; parse_publish_price(buf, p,
# end, pp) fills a preallocated PublishPrice. On air, times are ZCL UTC: seconds since
# 2000-01-01 UTC.
# Nothing allocates after construction while values stay small ints (below 2**30 on a
# 32-bit port: the "unused" 0xFFFFFFFF fields are written and read as -1, octet by octet).
from micropython import const

from han.se.server import ClusterServer
from han.zcl import dispatch as zd
from han.zcl import frame as zf
from han.zcl import general as zg
from han.zcl import types as zt

CLUSTER = const(0x0700)

# Command identifiers, D.4.2.3 (received by the server) and D.4.2.4 (generated).
GET_CURRENT_PRICE = const(0x00)
GET_SCHEDULED_PRICES = const(0x01)
PRICE_ACKNOWLEDGEMENT = const(0x02)
PUBLISH_PRICE = const(0x00)

OPT_RX_ON_IDLE = const(0x01)     # Get Current Price command options bit 0, D.4.2.3.1.1
UNIT_KWH = const(0x00)           # Metering UnitOfMeasure, pure binary (D.3.2.2.4.1)
CURRENCY_EUR = const(978)        # ISO 4217
DURATION_UNTIL_CHANGED = const(0xFFFF)
UNUSED8 = const(0xFF)            # price ratio, generation price ratio, alternate cost unit
UNUSED32 = const(-1)             # 0xFFFFFFFF on air: generation price, alternate cost
LABEL_MAX = const(12)            # rate label: a 12-octet octet string, D.4.2.4.1.1
OPTIONAL_FIELDS = const(13)
MAX_TIERS = const(15)            # the nibble fields; more needs the extended fields
_MANDATORY_LEN = const(28)       # the mandatory fields less the label's octets
PAYLOAD_MAX = const(59)          # 28 + 12 + the 19 octets of optional fields
ZCL_EPOCH_UNIX = const(946684800)   # ZCL UTCTime counts from 2000-01-01 (ZCL 2.6.2.14)


def utf8_fit(data, off, n, limit):
    """How many of the n octets at data[off:] fit in limit octets without cutting a
    UTF-8 sequence (the cut falls before a byte that is not a continuation 10xxxxxx)."""
    if n <= limit:
        return n
    while limit > 0 and data[off + limit] & 0xC0 == 0x80:
        limit -= 1
    return limit


def _put32(out, p, v):
    """uint32, -1 standing for 0xFFFFFFFF (no big int on a 32-bit port)."""
    if v == -1:
        if p < 0 or p + 4 > len(out):
            raise ValueError("ZCL output buffer too small")
        for i in range(4):
            out[p + i] = 0xFF
        return p + 4
    return zt.put(zt.UINT32, out, p, v)


def _get32(buf, p, end):
    if end - p >= 4 and buf[p] & buf[p + 1] & buf[p + 2] & buf[p + 3] == 0xFF:
        return -1
    return zt.get(zt.UINT32, buf, p, end)


class PublishPrice:
    """The fields of one Publish Price (names as in D.4.2.4.1); allocate once. optional:
    how many of the 13 optional fields build writes / parse found."""

    def __init__(self):
        self.label = bytearray(LABEL_MAX)
        self.clear()

    def clear(self):
        self.provider_id = 0
        self.label_len = 0
        self.issuer_event_id = 0
        self.current_time = 0
        self.unit = UNIT_KWH
        self.currency = 0
        self.trailing_digit = 0
        self.tier = 0
        self.n_tiers = 0
        self.register_tier = 0
        self.start_time = 0
        self.duration = DURATION_UNTIL_CHANGED
        self.price = 0
        self.price_ratio = UNUSED8
        self.generation_price = UNUSED32
        self.generation_price_ratio = UNUSED8
        self.alt_cost = UNUSED32
        self.alt_cost_unit = UNUSED8
        self.alt_cost_trailing_digit = 0
        self.n_block_thresholds = 0
        self.price_control = 0
        self.n_generation_tiers = 0
        self.generation_tier = 0
        self.ext_n_tiers = 0
        self.ext_tier = 0
        self.ext_register_tier = 0
        self.optional = OPTIONAL_FIELDS


def _nibbles(hi, lo):
    if not (0 <= hi <= 15 and 0 <= lo <= 15):
        raise ValueError("Publish Price nibble out of range")
    return (hi << 4) | lo


def build_publish_price(pp, out, off):
    """Publish Price payload from pp at out[off:]; return the end offset."""
    if pp.label_len > LABEL_MAX:
        raise ValueError("rate label longer than 12 octets")
    p = _put32(out, off, pp.provider_id)
    p = zt.put_str(zt.OCTET_STR, out, p, pp.label, pp.label_len)
    p = zt.put(zt.UINT32, out, p, pp.issuer_event_id)
    p = zt.put(zt.UTC, out, p, pp.current_time)
    p = zt.put(zt.ENUM8, out, p, pp.unit)
    p = zt.put(zt.UINT16, out, p, pp.currency)
    p = zt.put(zt.BITMAP8, out, p, _nibbles(pp.trailing_digit, pp.tier))
    p = zt.put(zt.BITMAP8, out, p, _nibbles(pp.n_tiers, pp.register_tier))
    p = zt.put(zt.UTC, out, p, pp.start_time)
    p = zt.put(zt.UINT16, out, p, pp.duration)
    p = _put32(out, p, pp.price)
    k = pp.optional
    if k > 0:
        p = zt.put(zt.UINT8, out, p, pp.price_ratio)
    if k > 1:
        p = _put32(out, p, pp.generation_price)
    if k > 2:
        p = zt.put(zt.UINT8, out, p, pp.generation_price_ratio)
    if k > 3:
        p = _put32(out, p, pp.alt_cost)
    if k > 4:
        p = zt.put(zt.ENUM8, out, p, pp.alt_cost_unit)
    if k > 5:
        p = zt.put(zt.BITMAP8, out, p, _nibbles(pp.alt_cost_trailing_digit, 0))
    if k > 6:
        p = zt.put(zt.UINT8, out, p, pp.n_block_thresholds)
    if k > 7:
        p = zt.put(zt.BITMAP8, out, p, pp.price_control)
    if k > 8:
        p = zt.put(zt.UINT8, out, p, pp.n_generation_tiers)
    if k > 9:
        p = zt.put(zt.ENUM8, out, p, pp.generation_tier)
    if k > 10:
        p = zt.put(zt.UINT8, out, p, pp.ext_n_tiers)
    if k > 11:
        p = zt.put(zt.ENUM8, out, p, pp.ext_tier)
    if k > 12:
        p = zt.put(zt.ENUM8, out, p, pp.ext_register_tier)
    return p


def parse_publish_price(buf, off, end, pp):
    """Publish Price payload at buf[off:end] into pp (optional fields absent keep their
    unused values; a label over 12 octets is cut at a UTF-8 boundary). ValueError when a
    mandatory field is missing or the label runs past the end. Returns end."""
    if off < 0 or end > len(buf) or off > end:
        raise ValueError("Publish Price outside its buffer")
    pp.clear()
    if end - off < 5:
        raise ValueError("Publish Price truncated")
    pp.provider_id = _get32(buf, off, end)
    n = zt.str_len(zt.OCTET_STR, buf, off + 4, end)
    p = off + 5
    if n < 0:
        n = 0
    m = utf8_fit(buf, p, n, LABEL_MAX)
    for i in range(m):
        pp.label[i] = buf[p + i]
    pp.label_len = m
    p += n
    if end - p < _MANDATORY_LEN - 5:
        raise ValueError("Publish Price truncated")
    pp.issuer_event_id = zt.get(zt.UINT32, buf, p, end)
    pp.current_time = zt.get(zt.UTC, buf, p + 4, end)
    pp.unit = buf[p + 8]
    pp.currency = buf[p + 9] | (buf[p + 10] << 8)
    pp.trailing_digit = buf[p + 11] >> 4
    pp.tier = buf[p + 11] & 0x0F
    pp.n_tiers = buf[p + 12] >> 4
    pp.register_tier = buf[p + 12] & 0x0F
    pp.start_time = zt.get(zt.UTC, buf, p + 13, end)
    pp.duration = buf[p + 17] | (buf[p + 18] << 8)
    pp.price = _get32(buf, p + 19, end)
    p += 23
    k = 0
    # Each optional field: (octets) in order; stop at the first that is not whole.
    if end - p >= 1:
        pp.price_ratio = buf[p]
        p += 1
        k = 1
    if k == 1 and end - p >= 4:
        pp.generation_price = _get32(buf, p, end)
        p += 4
        k = 2
    if k == 2 and end - p >= 1:
        pp.generation_price_ratio = buf[p]
        p += 1
        k = 3
    if k == 3 and end - p >= 4:
        pp.alt_cost = _get32(buf, p, end)
        p += 4
        k = 4
    while 4 <= k < OPTIONAL_FIELDS and p < end:
        v = buf[p]
        if k == 4:
            pp.alt_cost_unit = v
        elif k == 5:
            pp.alt_cost_trailing_digit = v >> 4
        elif k == 6:
            pp.n_block_thresholds = v
        elif k == 7:
            pp.price_control = v
        elif k == 8:
            pp.n_generation_tiers = v
        elif k == 9:
            pp.generation_tier = v
        elif k == 10:
            pp.ext_n_tiers = v
        elif k == 11:
            pp.ext_tier = v
        else:
            pp.ext_register_tier = v
        p += 1
        k += 1
    pp.optional = k
    return end


def build_get_current_price(out, seq, rx_on_idle=True, h=None):
    """Whole Get Current Price frame (client -> server) into out; its length."""
    if h is None:
        h = zf.ZclHeader()
    zf.set_header(h, zf.FT_CLUSTER, zf.TO_SERVER, seq, GET_CURRENT_PRICE)
    p = zf.build(h, out, 0)
    return zg.put8(out, p, OPT_RX_ON_IDLE if rx_on_idle else 0)


class PriceConfig:
    """Provider, currency, unit and one (rate label, price, trailing digit) per tier,
    tier 1 first: the tariff numbers of the meter. Checked whole here (configuration
    path), so that publishing cannot fail on it later."""

    def __init__(self, provider_id, currency, tiers, unit=UNIT_KWH):
        if not 0 <= provider_id <= 0xFFFFFFFF or not 0 <= currency <= 0xFFFF \
                or not 0 <= unit <= 0xFF:
            raise ValueError("price configuration out of range")
        if not 1 <= len(tiers) <= MAX_TIERS:
            raise ValueError("1 to 15 price tiers")
        self.provider_id = provider_id
        self.currency = currency
        self.unit = unit
        self.labels = []
        self.prices = []
        self.digits = []
        for label, price, digit in tiers:
            label = label.encode() if isinstance(label, str) else bytes(label)
            if len(label) > LABEL_MAX or not 0 <= price < 0xFFFFFFFF \
                    or not 0 <= digit <= 15:
                raise ValueError("price tier out of range")
            self.labels.append(label)
            self.prices.append(price)
            self.digits.append(digit)


class PriceServer(ClusterServer):
    def __init__(self, config, active_tier, clock, max_subscribers=8):
        labels = config.labels
        ClusterServer.__init__(self, CLUSTER, zd.AttrTable([
            zd.Attr(i, zt.OCTET_STR, zd.READ, getter=lambda i=i: labels[i])
            for i in range(len(labels))]))   # Tier<n>PriceLabel 0x0000 + n - 1, D.4.2.2.1
        self.config = config
        self._active_tier = active_tier
        self.clock = clock
        self.pp = PublishPrice()
        self.tier = 0            # the tier pp describes; 0 before the first
        self.seq = 0             # our transaction sequence numbers (unsolicited frames)
        self.pushed_tier = 0      # the tier last sent to the subscribers (hub.py keeps it)
        self.subscribers = [0] * max_subscribers   # short addresses, Rx On When Idle
        self.n_subscribers = 0
        self._src = -1

    def _utc(self):
        return self.clock.utc() - ZCL_EPOCH_UNIX

    def _observe(self, utc):
        """Follow the meter's tariff; True when it changed since the last look (a new
        price event: its issuer event id is the UTC time it was seen, kept increasing)."""
        t = self._active_tier()
        if t == self.tier:
            return False
        pp = self.pp
        self.tier = t
        pp.issuer_event_id = utc if utc > pp.issuer_event_id else pp.issuer_event_id + 1
        pp.start_time = utc
        if not 1 <= t <= len(self.config.labels):
            return True          # a tariff without a price: nothing is published
        c = self.config
        i = t - 1
        label = c.labels[i]
        n = len(label)
        for j in range(n):
            pp.label[j] = label[j]
        pp.label_len = n
        pp.provider_id = c.provider_id
        pp.unit = c.unit
        pp.currency = c.currency
        pp.trailing_digit = c.digits[i]
        pp.tier = pp.register_tier = t
        pp.n_tiers = len(c.labels)
        pp.price = c.prices[i]
        pp.duration = DURATION_UNTIL_CHANGED
        return True

    def _publish(self, out, seq, utc):
        if not 1 <= self.tier <= len(self.config.labels):
            return 0
        self.pp.current_time = utc
        zf.set_header(self.rh, zf.FT_CLUSTER, zf.TO_CLIENT, seq, PUBLISH_PRICE, True)
        return build_publish_price(self.pp, out, zf.build(self.rh, out, 0))

    def tier_changed(self, out):
        """An unsolicited Publish Price into out when the tariff changed (its length), else
        0. The caller unicasts it to each of subscribers[:n_subscribers]. A change a Get
        Current Price saw first is still pushed here."""
        utc = self._utc()
        self._observe(utc)
        if self.tier == self.pushed_tier:
            return 0
        self.pushed_tier = self.tier
        self.seq = (self.seq + 1) & 0xFF
        return self._publish(out, self.seq, utc)

    def repush(self, out):
        """The last unsolicited Publish Price again (same sequence number), for the
        subscribers it did not reach."""
        return self._publish(out, self.seq, self._utc())

    def handle(self, h, buf, off, end, out, unicast, src=-1):
        self._src = src
        return ClusterServer.handle(self, h, buf, off, end, out, unicast)

    def command(self, h, buf, p, end, out, unicast):
        cmd = h.command
        if cmd == GET_CURRENT_PRICE or cmd == GET_SCHEDULED_PRICES:
            if end - p != (1 if cmd == GET_CURRENT_PRICE else 5):
                status = zg.MALFORMED_COMMAND
            else:
                if cmd == GET_CURRENT_PRICE and buf[p] & OPT_RX_ON_IDLE and self._src >= 0:
                    self.subscribe(self._src)
                utc = self._utc()
                self._observe(utc)
                n = self._publish(out, h.seq, utc)
                if n:
                    return n
                status = zg.NOT_FOUND    # no price for the running tariff
        elif cmd == PRICE_ACKNOWLEDGEMENT:
            status = zg.SUCCESS if end - p == 13 else zg.MALFORMED_COMMAND
        else:
            status = zg.UNSUP_CLUSTER_COMMAND
        return self.default_response(h, out, status, unicast)
