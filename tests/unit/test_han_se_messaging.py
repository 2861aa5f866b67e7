# Smart Energy Messaging cluster 0x0703 (firmware/han/se/messaging.py). Expected octets
# by hand from SE 1.4 (07-5356-19) D.5.2.3.1 Display Message: message id (uint32),
# message control, start time (UTC), duration in minutes, message (character string),
# extended message control; D.5.2.3.2 Cancel Message: id, control 00 (deprecated);
# D.5.2.4.2 Message Confirmation: id, confirmation time [, control [, response]]. ZCL
# header 19 = cluster specific + to client + disable default response; 01 = cluster
# specific to server. Tiers 1 and 2.
from han.se import messaging as sm
from han.zcl import frame as zf
from support import NoAllocation, UtcClock, at_zcl_utc, raises

UTC = 789004800        # 2025-01-01 00:00:00 UTC: on air 0042072F
UTC_1H = UTC + 3600    # on air 1050072F


Clock = UtcClock
_at = at_zcl_utc  # ZCL UTC counts from 2000-01-01


class Text:
    """Stands in for the registers' text message (registers/text.py)."""

    def __init__(self, data=b""):
        self.data = data

    def message(self):
        return self.data


def _server(text=b"Hello"):
    src = Text(text)
    log = []
    s = sm.MessagingServer(src.message, Clock(), lambda mid, utc, src: log.append((mid, utc, src)))
    return s, src, log


def _ask(server, frame, utc, src=-1, unicast=True):
    h = zf.ZclHeader()
    p = zf.parse(frame, 0, len(frame), h)
    out = bytearray(82)
    n = _at(server, utc).handle(h, frame, p, len(frame), out, unicast, src)
    return n if n <= 0 else bytes(out[:n])


def _display(seq, mid, text_hex, ext="00"):
    # control 84: medium importance (01 << 2), confirmation required (80); start time =
    # when the text was seen; duration FFFF (until changed).
    return bytes.fromhex("19" + seq + "00" + mid + "84" + mid + "FFFF" + text_hex + ext)


def test_get_last_message_answers_display_message():
    s, _, _ = _server()
    got = _ask(s, bytes.fromhex("01" "21" "00"), UTC, 0x2345)
    assert got == _display("21", "0042072F", "05" "48656C6C6F")
    assert s.subscribers[:s.n_subscribers] == [0x2345]


def test_no_message_not_found():
    s, src, _ = _server(b"")
    # Default Response (18), command 00, NOT_FOUND 8B.
    assert _ask(s, bytes.fromhex("01" "22" "00"), UTC) == bytes.fromhex("18220B008B")
    # A payload on Get Last Message: MALFORMED_COMMAND 80; unknown command: 81.
    assert _ask(s, bytes.fromhex("01" "23" "00" "00"), UTC) == bytes.fromhex("18230B0080")
    assert _ask(s, bytes.fromhex("01" "24" "07"), UTC) == bytes.fromhex("18240B0781")
    # Read Attributes: Messaging has none (UNSUPPORTED_ATTRIBUTE 86).
    assert _ask(s, bytes.fromhex("00" "25" "00" "0000"), UTC) == bytes.fromhex("1825010000" "86")


def test_changes_display_then_cancel():
    s, src, _ = _server(b"")
    out = bytearray(82)
    assert _at(s, UTC).message_changed(out) == 0
    src.data = b"Hello"
    n = _at(s, UTC).message_changed(out)
    assert bytes(out[:n]) == _display("01", "0042072F", "05" "48656C6C6F")
    assert _at(s, UTC + 1).message_changed(out) == 0
    src.data = bytes(bytearray(b"Hello"))  # the same text, a new object (a reload)
    assert _at(s, UTC + 2).message_changed(out) == 0
    src.data = b"Bye"
    n = _at(s, UTC_1H).message_changed(out)
    assert bytes(out[:n]) == _display("02", "1050072F", "03" "427965")
    src.data = b""
    n = _at(s, UTC_1H + 5).message_changed(out)
    # Cancel Message 01: the id of the message shown, control 00.
    assert bytes(out[:n]) == bytes.fromhex("19" "03" "01" "1050072F" "00")
    assert _ask(s, bytes.fromhex("01" "26" "00"), UTC_1H) == bytes.fromhex("18260B008B")


def test_confirmation_logged_and_flagged():
    s, _, log = _server()
    _ask(s, bytes.fromhex("01" "21" "00"), UTC)
    # Message Confirmation of 0x2F074200 at UTC_1H; default response SUCCESS (00).
    assert _ask(s, bytes.fromhex("01" "30" "01" "0042072F" "1050072F"), UTC_1H, 0x2345) == \
        bytes.fromhex("18300B0100")
    assert log == [(UTC, UTC_1H, 0x2345)]  # the display that confirmed: 0x2345
    # The extended message control now says confirmed (01).
    assert _ask(s, bytes.fromhex("01" "31" "00"), UTC_1H) == \
        _display("31", "0042072F", "05" "48656C6C6F", "01")
    # SE 1.2 form with control "yes" (02) and a response "OK"; default response disabled.
    assert _ask(s, bytes.fromhex("11" "32" "01" "0042072F" "1050072F" "02" "02" "4F4B"),
                UTC_1H) == 0
    assert log[-1] == (UTC, UTC_1H, -1)  # the caller gave no source
    # Truncated, and a response string running past the end: MALFORMED_COMMAND.
    assert _ask(s, bytes.fromhex("01" "33" "01" "0042072F" "10"), UTC) == \
        bytes.fromhex("18330B0180")
    assert _ask(s, bytes.fromhex("01" "34" "01" "0042072F" "1050072F" "02" "05" "4F"),
                UTC) == bytes.fromhex("18340B0180")
    assert len(log) == 2
    # An id the hub never sent (0x2F074201, and 0): NOT_FOUND (8B), nothing logged.
    for mid in ("0142072F", "00000000"):
        assert _ask(s, bytes.fromhex("01" "35" "01" + mid + "1050072F"), UTC_1H, 0x2345) \
            == bytes.fromhex("18350B018B")
    assert len(log) == 2 and s.unknown_confirmations == 2


def test_long_text_cut_at_utf8_boundary():
    # "a" + 40 x "é" (C3 A9) = 81 octets: octet 66 is the second half of an "é", so the
    # message keeps 65 octets ("a" + 32 "é").
    text = b"a" + "é".encode() * 40
    s, _, _ = _server(text)
    got = _ask(s, bytes.fromhex("01" "21" "00"), UTC)
    assert got[14] == 65 and got[15:80] == text[:65] and got[80] == 0 and len(got) == 81
    assert len(got) <= 82
    # A limit of 66 octets of plain ASCII fills the 82-octet APS payload exactly.
    s, _, _ = _server(b"x" * 100)
    got = _ask(s, bytes.fromhex("01" "21" "00"), UTC)
    assert len(got) == 82 and got[14] == 66


def test_client_display_cancel_confirm():
    c = sm.MessagingClient()
    h = zf.ZclHeader()
    frame = _display("21", "0042072F", "05" "48656C6C6F")
    p = zf.parse(frame, 0, len(frame), h)
    assert c.receive(h, frame, p, len(frame)) == sm.DISPLAYED
    m = c.message
    assert (m.message_id, m.control, m.start_time, m.duration, bytes(m.text[:m.text_len]),
            m.ext_control) == (UTC, 0x84, UTC, 0xFFFF, b"Hello", 0)
    out = bytearray(20)
    n = c.build_confirmation(out, 0x40, UTC_1H)
    assert bytes(out[:n]) == bytes.fromhex("01" "40" "01" "0042072F" "1050072F")
    n = c.build_confirmation(out, 0x41, UTC_1H, sm.CONFIRM_YES, b"OK", 2)
    assert bytes(out[:n]) == bytes.fromhex("01" "41" "01" "0042072F" "1050072F" "02024F4B")
    assert bytes(out[:c.build_get_last_message(out, 0x42)]) == bytes.fromhex("014200")
    # SE 1.1 form without extended control.
    frame = frame[:-1]
    p = zf.parse(frame, 0, len(frame), h)
    c.receive(h, frame, p, len(frame))
    assert c.message.ext_control == -1
    # A cancel of another id leaves the message; of this one, cancels it.
    other = bytes.fromhex("19" "22" "01" "01000000" "00")
    p = zf.parse(other, 0, len(other), h)
    assert c.receive(h, other, p, len(other)) == 0 and c.shown
    cancel = bytes.fromhex("19" "23" "01" "0042072F" "00")
    p = zf.parse(cancel, 0, len(cancel), h)
    assert c.receive(h, cancel, p, len(cancel)) == sm.CANCELLED and not c.shown
    # Malformed: a Display Message whose string runs past the end.
    bad = bytes.fromhex("19" "24" "00" "0042072F" "84" "0042072F" "FFFF" "09" "4142")
    p = zf.parse(bad, 0, len(bad), h)
    raises(ValueError, c.receive, h, bad, p, len(bad))
    # The client's buffer is the limit: a 5-octet buffer keeps "Hello" of "Hello!".
    small = sm.MessagingClient(5)
    frame = _display("25", "0042072F", "06" "48656C6C6F21")
    p = zf.parse(frame, 0, len(frame), h)
    small.receive(h, frame, p, len(frame))
    assert bytes(small.message.text[:small.message.text_len]) == b"Hello"
    raises(ValueError, sm.build_message_confirmation, out, 0, 1, UTC, 2, b"x" * 21, 21)


def test_no_allocation():
    s, src, log = _server()
    h = zf.ZclHeader()
    req = bytes.fromhex("01" "21" "00")
    conf = bytes.fromhex("11" "30" "01" "0042072F" "1050072F")
    out = bytearray(82)
    c = sm.MessagingClient()
    s.on_confirmed = None
    p = zf.parse(req, 0, len(req), h)
    _at(s, UTC).handle(h, req, p, len(req), out, True, 0x2345)    # warm up
    new = b"Meter reading at 12:00"
    with NoAllocation():
        p = zf.parse(req, 0, len(req), h)
        n = s.handle(h, req, p, len(req), out, True, 0x2345)
        p = zf.parse(out, 0, n, h)
        c.receive(h, out, p, n)
        p = zf.parse(conf, 0, len(conf), h)
        s.handle(h, conf, p, len(conf), out, True, 0x2345)
        src.data = new
        s.clock.t += 3600
        m = s.message_changed(out)
    assert n == 3 + 12 + 5 + 1 and m == 3 + 12 + len(new) + 1
    assert bytes(c.message.text[:c.message.text_len]) == b"Hello" and s.confirmed is False


def test_change_seen_by_a_request_is_still_pushed():
    s, src, _ = _server(b"One")
    out = bytearray(82)
    assert _at(s, UTC).message_changed(out) > 0           # "One", id 0x2F074200
    src.data = b"Two"
    got = _ask(s, bytes.fromhex("01" "50" "00"), UTC_1H, 0x0042)
    assert got == _display("50", "1050072F", "03" "54776F")
    n = _at(s, UTC_1H).message_changed(out)               # still pushed, once
    assert bytes(out[:n]) == _display("02", "1050072F", "03" "54776F")
    assert _at(s, UTC_1H).message_changed(out) == 0
    # Cleared, then set again before the next push: the new message replaces the shown one.
    src.data = b""
    _ask(s, bytes.fromhex("01" "51" "00"), UTC_1H + 1)
    src.data = b"Three"
    n = _at(s, UTC_1H + 2).message_changed(out)
    assert bytes(out[1:8]) == bytes.fromhex("03" "00" "1250072F" "84")
    # Cleared after a Get Last Message saw a newer text: the cancel names what the
    # subscribers show (the last pushed id).
    src.data = b"Four"
    _ask(s, bytes.fromhex("01" "52" "00"), UTC_1H + 3)
    src.data = b""
    n = _at(s, UTC_1H + 4).message_changed(out)
    assert bytes(out[:n]) == bytes.fromhex("19" "04" "01" "1250072F" "00")
