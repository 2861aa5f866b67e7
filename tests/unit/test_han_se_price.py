# Smart Energy Price cluster 0x0700 (firmware/han/se/price.py). Expected octets by hand
# from SE 1.4 (07-5356-19) D.4.2.4.1 Publish Price: provider id, rate label (octet string),
# issuer event id, current time, unit of measure, currency, trailing digit << 4 | tier,
# number of tiers << 4 | register tier, start time, duration, price, then the optional
# fields; all little endian. ZCL header 19 = cluster specific (01) + to client (08) +
# disable default response (10). Tiers 1 and 2.
from han.se import price as sp
from han.zcl import frame as zf
from support import NoAllocation, UtcClock, at_zcl_utc, raises

UTC = 789004800        # 2025-01-01 00:00:00 UTC: 0x2F074200, on air 0042072F
UTC_1H = UTC + 3600    # 0x2F075010, on air 1050072F

# Publish Price of tier 2 "Normal", 0.2345 EUR/kWh, provider 0x12345678, seen at UTC.
TIER2 = ("78563412" "06" "4E6F726D616C" "0042072F" "0042072F" "00" "D203" "42" "22"
         "0042072F" "FFFF" "29090000"
         # ratio, generation price, its ratio, alternate cost, unit, trailing digit,
         # block thresholds, price control, generation tiers, generation tier, extended
         # number of tiers, extended tier, extended register tier: unused / none.
         "FF" "FFFFFFFF" "FF" "FFFFFFFF" "FF" "00" "00" "00" "00" "00" "00" "00" "00")


Clock = UtcClock
_at = at_zcl_utc  # ZCL UTC counts from 2000-01-01


class Tariff:
    def __init__(self, tier):
        self.tier = tier

    def active_tier(self):
        return self.tier


def _server(tier=2):
    cfg = sp.PriceConfig(0x12345678, sp.CURRENCY_EUR,
                         [(b"Low", 1850, 4), ("Normal", 2345, 4)])
    src = Tariff(tier)
    return sp.PriceServer(cfg, src.active_tier, Clock()), src


def _ask(server, frame, utc, src=-1, unicast=True, out=None):
    h = zf.ZclHeader()
    p = zf.parse(frame, 0, len(frame), h)
    out = out if out is not None else bytearray(82)
    n = _at(server, utc).handle(h, frame, p, len(frame), out, unicast, src)
    return n if n <= 0 else bytes(out[:n])


def test_get_current_price_answers_publish_price():
    s, _ = _server()
    # Get Current Price: cluster specific to server (01), seq 21, command 00, options 01.
    got = _ask(s, bytes.fromhex("01" "21" "00" "01"), UTC, 0x1234)
    assert got == bytes.fromhex("19" "21" "00" + TIER2)
    assert len(got) == 3 + 28 + 6 + 19   # mandatory, label, the 13 optional fields
    assert s.subscribers[:s.n_subscribers] == [0x1234]
    # Without the Rx On When Idle option the requester is not subscribed.
    _ask(s, bytes.fromhex("01" "22" "00" "00"), UTC, 0x5678)
    assert s.n_subscribers == 1


def test_tier_change_publishes_unsolicited():
    s, src = _server()
    out = bytearray(82)
    assert _at(s, UTC).tier_changed(out) > 0       # the first look is a change
    assert _at(s, UTC + 10).tier_changed(out) == 0
    src.tier = 1
    n = _at(s, UTC_1H).tier_changed(out)
    # Our own sequence number 02; "Low", 0.1850 EUR/kWh, tier 1 of 2, register tier 1.
    assert bytes(out[:n]) == bytes.fromhex(
        "19" "02" "00" "78563412" "03" "4C6F77" "1050072F" "1050072F" "00" "D203" "41" "21"
        "1050072F" "FFFF" "3A070000"
        "FF" "FFFFFFFF" "FF" "FFFFFFFF" "FF" "00" "00" "00" "00" "00" "00" "00" "00")
    # Two changes within one second still get increasing issuer event ids.
    src.tier = 2
    _at(s, UTC_1H).tier_changed(out)
    assert s.pp.issuer_event_id == UTC_1H + 1


def test_tier_without_price_and_errors():
    s, src = _server(tier=3)     # a tariff the configuration has no price for
    out = bytearray(82)
    assert _at(s, UTC).tier_changed(out) == 0
    # Default Response (to client, disable DR: 18), NOT_FOUND 8B for command 00.
    assert _ask(s, bytes.fromhex("01" "30" "00" "01"), UTC) == bytes.fromhex("18300B008B")
    src.tier = 1
    # Malformed Get Current Price (no options octet): MALFORMED_COMMAND 80.
    assert _ask(s, bytes.fromhex("01" "31" "00"), UTC) == bytes.fromhex("18310B0080")
    # Unknown command 0x09: UNSUP_CLUSTER_COMMAND 81; a broadcast gets no Default Response.
    assert _ask(s, bytes.fromhex("01" "32" "09"), UTC) == bytes.fromhex("18320B0981")
    assert _ask(s, bytes.fromhex("01" "32" "09"), UTC, unicast=False) == 0
    # Price Acknowledgement (provider, event, ack time, control): accepted, SUCCESS.
    ack = "01" "33" "02" "78563412" "0042072F" "1050072F" "00"
    assert _ask(s, bytes.fromhex(ack), UTC) == bytes.fromhex("18330B0200")
    # Get Scheduled Prices (start time 0, 1 event) answered with the current price.
    got = _ask(s, bytes.fromhex("01" "34" "01" "00000000" "01"), UTC)
    assert got[:3] == bytes.fromhex("193400") and got[8:11] == b"Low"
    # A server -> client command is not the server's.
    assert _ask(s, bytes.fromhex("09" "35" "00") + bytes(28), UTC) == -1


def test_rate_label_attributes():
    s, _ = _server()
    # Read Attributes 0x0000 (Tier1PriceLabel), 0x0001, 0x0002 (none): octet string 41.
    got = _ask(s, bytes.fromhex("00" "40" "00" "0000" "0100" "0200"), UTC)
    assert got == bytes.fromhex("18" "40" "01" "0000" "00" "41" "03" "4C6F77"
                                "0100" "00" "41" "06" "4E6F726D616C" "020086")


def test_client_parses_publish_price():
    frame = bytes.fromhex("19" "21" "00" + TIER2)
    h = zf.ZclHeader()
    p = zf.parse(frame, 0, len(frame), h)
    pp = sp.PublishPrice()
    sp.parse_publish_price(frame, p, len(frame), pp)
    assert bytes(pp.label[:pp.label_len]) == b"Normal"
    assert (pp.provider_id, pp.issuer_event_id, pp.current_time, pp.unit, pp.currency,
            pp.trailing_digit, pp.tier, pp.n_tiers, pp.register_tier, pp.start_time,
            pp.duration, pp.price) == (0x12345678, UTC, UTC, 0, 978, 4, 2, 2, 2, UTC,
                                       0xFFFF, 2345)
    assert (pp.price_ratio, pp.generation_price, pp.alt_cost, pp.alt_cost_unit,
            pp.optional) == (0xFF, -1, -1, 0xFF, 13)
    # The SE 1.0 form (mandatory fields only) and a cut inside the optional fields.
    short = bytes.fromhex(TIER2)[:34]
    sp.parse_publish_price(short, 0, len(short), pp)
    assert pp.optional == 0 and pp.price == 2345 and pp.price_ratio == 0xFF
    sp.parse_publish_price(short + bytes.fromhex("0A0100"), 0, 37, pp)
    assert pp.optional == 1 and pp.price_ratio == 10 and pp.generation_price == -1
    raises(ValueError, sp.parse_publish_price, short[:33], 0, 33, pp)
    raises(ValueError, sp.parse_publish_price, bytes.fromhex("7856341209414243"), 0, 8, pp)


def test_client_label_cut_at_utf8_boundary():
    # A 13-octet label "a" + 6 x "é" (C3 A9) from another server: cut to 11 octets, not 12.
    label = b"a" + "é".encode() * 6
    data = bytearray(bytes.fromhex("01000000") + bytes([13]) + label + bytes(23))
    pp = sp.PublishPrice()
    sp.parse_publish_price(data, 0, len(data), pp)
    assert pp.label_len == 11 and bytes(pp.label[:11]) == b"a" + "é".encode() * 5


def test_build_get_current_price_and_round_trip():
    out = bytearray(8)
    assert bytes(out[:sp.build_get_current_price(out, 0x45, True)]) == \
        bytes.fromhex("01450001")
    assert bytes(out[:sp.build_get_current_price(out, 0x46, False)]) == \
        bytes.fromhex("01460000")
    pp = sp.PublishPrice()
    pp.label[:3] = b"Day"
    pp.label_len, pp.price, pp.tier, pp.n_tiers, pp.optional = 3, 2999, 1, 2, 8
    buf = bytearray(64)
    n = sp.build_publish_price(pp, buf, 0)
    assert n == 28 + 3 + 1 + 4 + 1 + 4 + 1 + 1 + 1 + 1   # 8 optional fields: 14 octets
    back = sp.PublishPrice()
    sp.parse_publish_price(buf, 0, n, back)
    assert (back.label_len, back.price, back.tier, back.optional) == (3, 2999, 1, 8)


def test_config_refuses_bad_values():
    raises(ValueError, sp.PriceConfig, 1, 978, [])
    raises(ValueError, sp.PriceConfig, 1, 978, [(b"x" * 13, 1, 2)])
    raises(ValueError, sp.PriceConfig, 1, 978, [(b"T1", 1, 16)])
    raises(ValueError, sp.PriceConfig, 1, 978, [(b"T", 1, 2)] * 16)
    raises(ValueError, sp.PriceConfig, 1, 0x10000, [(b"T1", 1, 2)])


def test_no_allocation():
    s, src = _server()
    h = zf.ZclHeader()
    req = bytes.fromhex("01" "21" "00" "01")
    out = bytearray(82)
    pp = sp.PublishPrice()
    p = zf.parse(req, 0, len(req), h)
    _at(s, UTC).handle(h, req, p, len(req), out, True, 0x1234)     # warm up
    s.tier_changed(out)
    with NoAllocation():
        p = zf.parse(req, 0, len(req), h)
        n = s.handle(h, req, p, len(req), out, True, 0x1234)
        sp.parse_publish_price(out, 3, n, pp)
        src.tier = 1
        s.clock.t += 3600
        m = s.tier_changed(out)
    assert n == 56 and m == 53 and pp.price == 2345


def test_change_seen_by_a_request_is_still_pushed():
    s, src = _server(tier=1)
    out = bytearray(82)
    assert _at(s, UTC).tier_changed(out) > 0
    src.tier = 2
    # A display asks first: it gets tier 2 (seq 50) ...
    got = _ask(s, bytes.fromhex("01" "50" "00" "01"), UTC_1H, 0x0042)
    assert got[:3] == bytes.fromhex("195000") and got[25] == 0x42   # tier 2, 4 digits
    # ... and the subscribers still get the change pushed, once.
    n = _at(s, UTC_1H).tier_changed(out)
    assert n == 56 and out[1] == 2 and out[25] == 0x42
    assert _at(s, UTC_1H + 1).tier_changed(out) == 0
