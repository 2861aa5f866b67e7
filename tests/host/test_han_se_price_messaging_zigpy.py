# The Smart Energy Price (0x0700) and Messaging (0x0703) codecs (firmware/han/se) against
# independent implementations. Tier 1 only.
#  - zigpy 2.4 has no Price or Messaging commands (its clusters are stubs: checked below, so
#    that an upgrade that adds them shows up here). Its ZCL header parser reads every frame
#    we build; the payloads go through zigpy's own type codecs (uint32_t, LVBytes,
#    CharacterString, UTCTime, ...) in structs that follow SE 1.4 (07-5356-19) D.4.2.4.1
#    and D.5.2.3-4 field by field: zigpy reads our frames to the values our encoders were
#    given, and our parsers read what zigpy serialises.
#  - tshark 4.0 (packet-zbee-zcl-se.c, an independent reading of the same tables) names
#    each command and dissects each frame, in an unsecured APS data frame (Smart Energy
#    profile 0x0109), with no Malformed and no expert info, to the same field values.
import io
import subprocess

import zigpy.types as t
import zigpy.zcl.foundation as f
from zigpy.zcl.clusters.smartenergy import Messaging, Price

from han.pcap import PcapWriter
from han.se import messaging as sm
from han.se import price as sp
from han.zcl import frame as zf
from tests.host.zb_frames import unsecured_data_frame

UTC = 789004800        # 2025-01-01 00:00:00 UTC
UTC_1H = UTC + 3600
OPT = t.StructField(optional=True)


class ZPublishPrice(t.Struct):
    provider_id: t.uint32_t
    rate_label: t.LVBytes
    issuer_event_id: t.uint32_t
    current_time: t.UTCTime
    unit_of_measure: t.enum8
    currency: t.uint16_t
    price_trailing_digit_and_tier: t.bitmap8
    num_price_tiers_and_register_tier: t.bitmap8
    start_time: t.UTCTime
    duration_in_minutes: t.uint16_t
    price: t.uint32_t
    price_ratio: t.uint8_t = OPT
    generation_price: t.uint32_t = OPT
    generation_price_ratio: t.uint8_t = OPT
    alternate_cost_delivered: t.uint32_t = OPT
    alternate_cost_unit: t.enum8 = OPT
    alternate_cost_trailing_digit: t.bitmap8 = OPT
    number_of_block_thresholds: t.uint8_t = OPT
    price_control: t.bitmap8 = OPT
    number_of_generation_tiers: t.uint8_t = OPT
    generation_tier: t.enum8 = OPT
    extended_number_of_price_tiers: t.uint8_t = OPT
    extended_price_tier: t.enum8 = OPT
    extended_register_tier: t.enum8 = OPT


class ZGetCurrentPrice(t.Struct):
    command_options: t.bitmap8


class ZDisplayMessage(t.Struct):
    message_id: t.uint32_t
    message_control: t.bitmap8
    start_time: t.UTCTime
    duration_in_minutes: t.uint16_t
    message: t.CharacterString
    extended_message_control: t.bitmap8 = OPT


class ZCancelMessage(t.Struct):
    message_id: t.uint32_t
    message_control: t.bitmap8


class ZMessageConfirmation(t.Struct):
    message_id: t.uint32_t
    confirmation_time: t.UTCTime
    message_confirmation_control: t.bitmap8 = OPT
    message_confirmation_response: t.LVBytes = OPT


class Clock:
    def __init__(self):
        self.t = 0

    def utc(self):     # seconds since 1970, as registers.clock.MeterClock
        return self.t


def _config():
    return sp.PriceConfig(0x12345678, sp.CURRENCY_EUR,
                          [(b"Low", 1850, 4), (b"Normal", 2345, 4)])


def _ask(server, frame, utc, src=0x1234):
    h = zf.ZclHeader()
    p = zf.parse(frame, 0, len(frame), h)
    out = bytearray(82)
    server.clock.t = utc + 946684800
    return bytes(out[:server.handle(h, frame, p, len(frame), out, True, src)])


def _our_frames():
    """(name, cluster, ZCL frame) of every Price and Messaging command we build."""
    frames = []
    tier = [2]
    ps = sp.PriceServer(_config(), lambda: tier[0], Clock())
    out = bytearray(82)
    frames.append(("get_current_price", sp.CLUSTER,
                   bytes(out[:sp.build_get_current_price(out, 0x21, True)])))
    frames.append(("publish", sp.CLUSTER, _ask(ps, frames[-1][2], UTC)))
    tier[0] = 1
    ps.clock.t = UTC_1H + 946684800
    frames.append(("publish_t1", sp.CLUSTER, bytes(out[:ps.tier_changed(out)])))
    pp = sp.PublishPrice()       # the SE 1.0 form: mandatory fields only
    pp.provider_id, pp.issuer_event_id, pp.current_time = 7, UTC, UTC
    pp.label[:3] = b"Day"
    pp.label_len, pp.currency, pp.trailing_digit, pp.tier = 3, 826, 2, 1
    pp.n_tiers, pp.register_tier, pp.price, pp.optional = 1, 1, 1999, 0
    h = zf.ZclHeader()
    zf.set_header(h, zf.FT_CLUSTER, zf.TO_CLIENT, 0x23, sp.PUBLISH_PRICE, True)
    frames.append(("publish_se10", sp.CLUSTER,
                   bytes(out[:sp.build_publish_price(pp, out, zf.build(h, out, 0))])))
    text = [b"Hello"]
    ms = sm.MessagingServer(lambda: text[0], Clock())
    mc = sm.MessagingClient()
    frames.append(("get_last", sm.CLUSTER, bytes(out[:mc.build_get_last_message(out, 0x30)])))
    frames.append(("display", sm.CLUSTER, _ask(ms, frames[-1][2], UTC)))
    h = zf.ZclHeader()
    p = zf.parse(frames[-1][2], 0, len(frames[-1][2]), h)
    mc.receive(h, frames[-1][2], p, len(frames[-1][2]))
    frames.append(("confirm", sm.CLUSTER, bytes(out[:mc.build_confirmation(out, 0x31, UTC_1H)])))
    _ask(ms, frames[-1][2], UTC_1H)
    frames.append(("confirm_yes", sm.CLUSTER,
                   bytes(out[:mc.build_confirmation(out, 0x32, UTC_1H, sm.CONFIRM_YES,
                                                    b"OK", 2)])))
    frames.append(("display_confirmed", sm.CLUSTER,
                   _ask(ms, bytes(out[:mc.build_get_last_message(out, 0x33)]), UTC_1H)))
    text[0] = "Prix élevé demain".encode()
    frames.append(("display_new", sm.CLUSTER, bytes(out[:ms.message_changed(out)])))
    text[0] = b""
    ms.clock.t += 60
    frames.append(("cancel", sm.CLUSTER, bytes(out[:ms.message_changed(out)])))
    return frames


FRAMES = dict((name, (cluster, zcl)) for name, cluster, zcl in _our_frames())
SCHEMA = {"get_current_price": ZGetCurrentPrice, "publish": ZPublishPrice,
          "publish_t1": ZPublishPrice, "publish_se10": ZPublishPrice,
          "get_last": None, "display": ZDisplayMessage, "confirm": ZMessageConfirmation,
          "confirm_yes": ZMessageConfirmation, "display_confirmed": ZDisplayMessage,
          "display_new": ZDisplayMessage, "cancel": ZCancelMessage}


def _zigpy(name):
    hdr, rest = f.ZCLHeader.deserialize(FRAMES[name][1])
    schema = SCHEMA[name]
    if schema is None:
        return hdr, rest
    payload, rest = schema.deserialize(rest)
    assert rest == b"", name
    return hdr, payload


def test_zigpy_has_no_price_or_messaging_commands():
    for cluster in (Price, Messaging):
        assert not cluster.server_commands and not cluster.client_commands


def test_zigpy_headers():
    to_client = {"publish", "publish_t1", "publish_se10", "display", "display_confirmed",
                 "display_new", "cancel"}
    seqs = {"get_current_price": 0x21, "publish": 0x21, "publish_t1": 1,
            "publish_se10": 0x23, "get_last": 0x30, "display": 0x30, "confirm": 0x31,
            "confirm_yes": 0x32, "display_confirmed": 0x33, "display_new": 1, "cancel": 2}
    commands = {"get_current_price": 0, "publish": 0, "publish_t1": 0, "publish_se10": 0,
                "get_last": 0, "display": 0, "confirm": 1, "confirm_yes": 1,
                "display_confirmed": 0, "display_new": 0, "cancel": 1}
    for name in FRAMES:
        hdr, _ = _zigpy(name)
        fc = hdr.frame_control
        assert fc.is_cluster and not fc.is_manufacturer_specific, name
        assert hdr.direction == (f.Direction.Server_to_Client if name in to_client
                                 else f.Direction.Client_to_Server), name
        assert (hdr.tsn, hdr.command_id) == (seqs[name], commands[name]), name
        assert fc.disable_default_response == (name in to_client), name
    assert _zigpy("get_last")[1] == b""


def test_zigpy_reads_publish_price():
    _, p = _zigpy("publish")
    assert (p.provider_id, p.rate_label, p.issuer_event_id, p.unit_of_measure, p.currency,
            p.price_trailing_digit_and_tier, p.num_price_tiers_and_register_tier,
            p.duration_in_minutes, p.price) == (0x12345678, b"Normal", UTC, 0, 978, 0x42,
                                                0x22, 0xFFFF, 2345)
    assert p.current_time == UTC and p.start_time == UTC
    assert (p.price_ratio, p.generation_price, p.generation_price_ratio,
            p.alternate_cost_delivered, p.alternate_cost_unit,
            p.alternate_cost_trailing_digit, p.number_of_block_thresholds, p.price_control,
            p.number_of_generation_tiers, p.generation_tier,
            p.extended_number_of_price_tiers, p.extended_price_tier,
            p.extended_register_tier) == (0xFF, 0xFFFFFFFF, 0xFF, 0xFFFFFFFF, 0xFF, 0, 0, 0,
                                          0, 0, 0, 0, 0)
    _, p = _zigpy("publish_t1")
    assert (p.rate_label, p.issuer_event_id, p.price_trailing_digit_and_tier,
            p.num_price_tiers_and_register_tier, p.price) == (b"Low", UTC_1H, 0x41, 0x21, 1850)
    _, p = _zigpy("publish_se10")
    assert (p.provider_id, p.rate_label, p.currency, p.price_trailing_digit_and_tier,
            p.num_price_tiers_and_register_tier, p.price, p.price_ratio) == \
        (7, b"Day", 826, 0x21, 0x11, 1999, None)
    _, p = _zigpy("get_current_price")
    assert p.command_options == sp.OPT_RX_ON_IDLE


def test_zigpy_reads_messaging():
    _, p = _zigpy("display")
    assert (p.message_id, p.message_control, p.start_time, p.duration_in_minutes,
            p.message, p.extended_message_control) == (UTC, 0x84, UTC, 0xFFFF, "Hello", 0)
    _, p = _zigpy("display_confirmed")
    assert p.extended_message_control == sm.EXT_CONFIRMED
    _, p = _zigpy("display_new")
    assert (p.message_id, p.message) == (UTC_1H, "Prix élevé demain")
    _, p = _zigpy("confirm")
    assert (p.message_id, p.confirmation_time, p.message_confirmation_control) == \
        (UTC, UTC_1H, None)
    _, p = _zigpy("confirm_yes")
    assert (p.message_confirmation_control, p.message_confirmation_response) == (2, b"OK")
    _, p = _zigpy("cancel")
    assert (p.message_id, p.message_control) == (UTC_1H, 0)


def test_we_read_what_zigpy_serialises():
    data = ZPublishPrice(
        provider_id=0xCAFE, rate_label=b"Peak", issuer_event_id=UTC + 5,
        current_time=t.UTCTime(UTC + 6), unit_of_measure=0, currency=752,
        price_trailing_digit_and_tier=0x33, num_price_tiers_and_register_tier=0x43,
        start_time=t.UTCTime(0), duration_in_minutes=120, price=4100, price_ratio=15,
        generation_price=900, generation_price_ratio=5, alternate_cost_delivered=233,
        alternate_cost_unit=1, alternate_cost_trailing_digit=0x30,
        number_of_block_thresholds=0, price_control=1).serialize()
    pp = sp.PublishPrice()
    sp.parse_publish_price(data, 0, len(data), pp)
    assert (pp.provider_id, bytes(pp.label[:pp.label_len]), pp.issuer_event_id,
            pp.current_time, pp.currency, pp.trailing_digit, pp.tier, pp.n_tiers,
            pp.register_tier, pp.start_time, pp.duration, pp.price, pp.price_ratio,
            pp.generation_price, pp.generation_price_ratio, pp.alt_cost, pp.alt_cost_unit,
            pp.alt_cost_trailing_digit, pp.n_block_thresholds, pp.price_control,
            pp.optional) == (0xCAFE, b"Peak", UTC + 5, UTC + 6, 752, 3, 3, 4, 3, 0, 120,
                             4100, 15, 900, 5, 233, 1, 3, 0, 1, 8)
    # zigpy 2.4 writes a character string's length in characters, not octets (ZCL 2.6.2:
    # octets): non-ASCII text from it is malformed on air, so its message here is ASCII.
    assert t.CharacterString("à").serialize() == b"\x01\xc3\xa0"
    hdr = f.ZCLHeader.cluster(tsn=0x50, command_id=0,
                              direction=f.Direction.Server_to_Client).serialize()
    body = ZDisplayMessage(message_id=0x01020304, message_control=0x0C,
                           start_time=t.UTCTime(0), duration_in_minutes=30,
                           message="Coupure a 14h").serialize()
    frame = hdr + body
    h = zf.ZclHeader()
    p = zf.parse(frame, 0, len(frame), h)
    c = sm.MessagingClient()
    assert c.receive(h, frame, p, len(frame)) == sm.DISPLAYED
    m = c.message
    assert (m.message_id, m.control, m.start_time, m.duration, m.ext_control) == \
        (0x01020304, 0x0C, 0, 30, -1)
    assert bytes(m.text[:m.text_len]) == b"Coupure a 14h"
    cancel = f.ZCLHeader.cluster(tsn=0x51, command_id=1, direction=f.Direction
                                 .Server_to_Client).serialize() \
        + ZCancelMessage(message_id=0x01020304, message_control=0).serialize()
    p = zf.parse(cancel, 0, len(cancel), h)
    assert c.receive(h, cancel, p, len(cancel)) == sm.CANCELLED
    # A Message Confirmation and a Get Current Price from zigpy, answered by our servers.
    log = []
    ms = sm.MessagingServer(lambda: b"Hi", Clock(), lambda mid, utc, src: log.append((mid, utc)))
    conf = f.ZCLHeader.cluster(tsn=0x52, command_id=1).serialize() + ZMessageConfirmation(
        message_id=UTC, confirmation_time=t.UTCTime(UTC_1H), message_confirmation_control=1,
        message_confirmation_response=b"No thanks").serialize()
    assert _ask(ms, conf, UTC) == bytes.fromhex("18520B0100")
    assert log == [(UTC, UTC_1H)]
    gcp = f.ZCLHeader.cluster(tsn=0x53, command_id=0).serialize() + \
        ZGetCurrentPrice(command_options=1).serialize()
    ps = sp.PriceServer(_config(), lambda: 1, Clock())
    rsp = _ask(ps, gcp, UTC, 0x0042)
    _, rest = f.ZCLHeader.deserialize(rsp)
    assert ZPublishPrice.deserialize(rest)[0].rate_label == b"Low"
    assert ps.subscribers[:ps.n_subscribers] == [0x0042]


# --- tshark -------------------------------------------------------------------------------

FIELDS = ["_ws.col.Info", "zbee_zcl.cmd.tsn", "zbee_zcl_se.price.provider_id",
          "zbee_zcl_se.price.rate_label", "zbee_zcl_se.price.issuer_event_id",
          "zbee_zcl_se.price.unit_of_measure", "zbee_zcl_se.price.currency",
          "zbee_zcl_se.price.tier", "zbee_zcl_se.price.trailing_digit",
          "zbee_zcl_se.price.number_of_price_tiers", "zbee_zcl_se.price.register_tier",
          "zbee_zcl_se.price.duration_in_minutes", "zbee_zcl_se.price.price",
          "zbee_zcl_se.price.price.ratio", "zbee_zcl_se.price.generation_price",
          "zbee_zcl_se.price.alternate_cost.unit", "zbee_zcl_se.price.control",
          "zbee_zcl_se.price.extended_register_tier", "zbee_zcl_se.price.command_options",
          "zbee_zcl_se.msg.message.id", "zbee_zcl_se.msg.message.ctrl",
          "zbee_zcl_se.msg.message.ctrl.importance", "zbee_zcl_se.msg.message.ctrl.confirm",
          "zbee_zcl_se.msg.message.duration", "zbee_zcl_se.msg.message",
          "zbee_zcl_se.msg.message.ext.ctrl", "zbee_zcl_se.msg.message.confirm.ctrl",
          "_ws.malformed", "_ws.expert"]


def _tshark(tmp_path):
    stream = io.BytesIO()
    w = PcapWriter(stream)
    names = list(FRAMES)
    for i, name in enumerate(names):
        cluster, zcl = FRAMES[name]
        buf, n = unsecured_data_frame(0x0109, 1, cluster, zcl, i)
        w.write(1000000 * i, buf, n)
    path = tmp_path / "se_price_msg.pcap"
    path.write_bytes(stream.getvalue())
    verbose = subprocess.run(["tshark", "-r", str(path), "-V"], capture_output=True,
                             text=True, check=True).stdout
    cmd = ["tshark", "-r", str(path), "-T", "fields", "-E", "separator=|",
           "-E", "occurrence=a", "-E", "aggregator=,"]
    for field in FIELDS:
        cmd += ["-e", field]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = [dict(zip(FIELDS, line.split("|"))) for line in out.splitlines()]
    assert len(rows) == len(names)
    return dict(zip(names, rows)), verbose


# Per frame: the command tshark names, and field values (those our encoders were given).
EXPECTED = {
    "get_current_price": ("Get Current Price", {"zbee_zcl_se.price.command_options": "0x01"}),
    "publish": ("Publish Price", {
        "zbee_zcl_se.price.provider_id": "305419896", "zbee_zcl_se.price.rate_label": "Normal",
        "zbee_zcl_se.price.issuer_event_id": str(UTC),
        "zbee_zcl_se.price.unit_of_measure": "0x00",
        "zbee_zcl_se.price.currency": "0x03d2",   # 978
        "zbee_zcl_se.price.tier": "0x02", "zbee_zcl_se.price.trailing_digit": "0x04",
        "zbee_zcl_se.price.number_of_price_tiers": "0x02",
        "zbee_zcl_se.price.register_tier": "0x02",
        "zbee_zcl_se.price.duration_in_minutes": "65535", "zbee_zcl_se.price.price": "2345",
        "zbee_zcl_se.price.price.ratio": "255",
        "zbee_zcl_se.price.generation_price": "4294967295",
        "zbee_zcl_se.price.alternate_cost.unit": "0xff", "zbee_zcl_se.price.control": "0x00",
        "zbee_zcl_se.price.extended_register_tier": "0x00"}),
    "publish_t1": ("Publish Price", {
        "zbee_zcl_se.price.rate_label": "Low", "zbee_zcl_se.price.issuer_event_id": str(UTC_1H),
        "zbee_zcl_se.price.tier": "0x01", "zbee_zcl_se.price.register_tier": "0x01",
        "zbee_zcl_se.price.price": "1850"}),
    "publish_se10": ("Publish Price", {
        "zbee_zcl_se.price.provider_id": "7", "zbee_zcl_se.price.rate_label": "Day",
        "zbee_zcl_se.price.currency": "0x033a", "zbee_zcl_se.price.trailing_digit": "0x02",
        "zbee_zcl_se.price.price": "1999", "zbee_zcl_se.price.price.ratio": ""}),
    "get_last": ("Get Last Message", {}),
    "display": ("Display Message", {
        "zbee_zcl_se.msg.message.id": "0x2f074200", "zbee_zcl_se.msg.message.ctrl": "0x84",
        "zbee_zcl_se.msg.message.ctrl.importance": "0x01",
        "zbee_zcl_se.msg.message.ctrl.confirm": "1",
        "zbee_zcl_se.msg.message.duration": "65535", "zbee_zcl_se.msg.message": "Hello",
        "zbee_zcl_se.msg.message.ext.ctrl": "0x00"}),
    "confirm": ("Message Confirmation", {"zbee_zcl_se.msg.message.id": "0x2f074200",
                                         "zbee_zcl_se.msg.message.confirm.ctrl": ""}),
    # tshark 4.0 files the response string under the message field; control bit 0 clear
    # ("no" not returned).
    "confirm_yes": ("Message Confirmation", {"zbee_zcl_se.msg.message.id": "0x2f074200",
                                             "zbee_zcl_se.msg.message": "OK",
                                             "zbee_zcl_se.msg.message.confirm.ctrl": "0"}),
    "display_confirmed": ("Display Message", {"zbee_zcl_se.msg.message.ext.ctrl": "0x01"}),
    # tshark 4.0 shows ZigBee strings as ASCII: each octet of an "é" becomes U+FFFD; the
    # length octet counts octets (19), so the extended control after it is read right.
    "display_new": ("Display Message", {"zbee_zcl_se.msg.message.id": "0x2f075010",
                                        "zbee_zcl_se.msg.message":
                                        "Prix \ufffd\ufffdlev\ufffd\ufffd demain",
                                        "zbee_zcl_se.msg.message.ext.ctrl": "0x00"}),
    "cancel": ("Cancel Message", {"zbee_zcl_se.msg.message.id": "0x2f075010",
                                  "zbee_zcl_se.msg.message.ctrl": "0x00"}),
}


def test_tshark_dissects_price_and_messaging(tmp_path):
    rows, verbose = _tshark(tmp_path)
    assert "Malformed" not in verbose
    assert "Current Time: Jan  1, 2025 00:00:00.000000000 UTC" in verbose
    assert "Confirmation Time: Jan  1, 2025 01:00:00.000000000 UTC" in verbose
    assert "Response: OK" in verbose
    assert set(rows) == set(EXPECTED)
    for name, (command, fields) in EXPECTED.items():
        r = rows[name]
        assert r["_ws.malformed"] == "" and r["_ws.expert"] == "", (name, r)
        assert command in r["_ws.col.Info"], (name, r["_ws.col.Info"])
        assert int(r["zbee_zcl.cmd.tsn"]) == FRAMES[name][1][1], name
        for field, want in fields.items():
            assert r[field] == want, (name, field, r[field])
