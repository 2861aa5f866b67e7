# NWK command payloads (firmware/han/nwk/commands.py, ZigBee spec 3.4) and APS command
# payloads (firmware/han/aps/commands.py, 4.4.11) against octets written by hand from the
# spec's field layouts; truncated and unknown commands raise ValueError. Portable: tiers
# 1 and 2.
from han.aps import commands as ac
from han.nwk import commands as nc
from support import raises

EXT = bytes.fromhex("0004A30B00000102")  # on air: 02 01 00 00 0B A3 04 00
TC = bytes.fromhex("0004A30B00C0FFEE")  # on air: EE FF C0 00 0B A3 04 00
KEY = bytes(range(16))


def test_nwk_commands_by_hand():
    b = bytearray(8)
    # Leave 0x04, options: bit 6 request (0x40) | bit 5 rejoin (0x20).
    assert nc.build_leave(b, 0, nc.LEAVE_REQUEST | nc.LEAVE_REJOIN) == 2
    assert bytes(b[:2]) == b"\x04\x60"
    # Rejoin request 0x06 + capability 0x80 (allocate address) | 0x08 (rx on when idle).
    assert nc.build_rejoin_request(b, 0, 0x88) == 2 and bytes(b[:2]) == b"\x06\x88"
    # Rejoin response 0x07, address 0x1234 little endian, status 0.
    assert nc.build_rejoin_response(b, 0, 0x1234, 0) == 4
    assert bytes(b[:4]) == b"\x07\x34\x12\x00"
    # Network status 0x03, status 0x11 (bad frame counter), destination 0xABCD.
    assert nc.build_network_status(b, 0, nc.STATUS_BAD_FRAME_COUNTER, 0xABCD) == 4
    assert bytes(b[:4]) == b"\x03\x11\xcd\xab"
    # End device timeout request 0x0B, index 8 (256 minutes), configuration 0.
    assert nc.build_ed_timeout_request(b, 0, 8) == 3 and bytes(b[:3]) == b"\x0b\x08\x00"
    assert nc.ed_timeout_seconds(0) == 10 and nc.ed_timeout_seconds(8) == 256 * 60
    assert nc.build_ed_timeout_response(b, 0, 0, 1) == 3 and bytes(b[:3]) == b"\x0c\x00\x01"
    assert nc.parse(b"\x07\x34\x12\x00", 0, 4) == nc.REJOIN_RESPONSE


def test_nwk_commands_refuse_bad_input():
    b = bytearray(8)
    raises(ValueError, nc.build_leave, b, 0, 0x01)  # reserved option bits
    raises(ValueError, nc.build_ed_timeout_request, b, 0, 15)
    raises(ValueError, nc.build_rejoin_response, bytearray(3), 0, 1, 0)
    raises(ValueError, nc.parse, b"\x07\x34\x12", 0, 3)  # truncated rejoin response
    raises(ValueError, nc.parse, b"\x0f\x00", 0, 2)  # unknown command
    raises(ValueError, nc.parse, b"", 0, 0)


def test_transport_key_network_by_hand():
    b = bytearray(40)
    assert ac.build_transport_nwk_key(b, 0, KEY, 3, EXT, TC) == 35
    want = (b"\x05\x01" + KEY + b"\x03" + bytes.fromhex("020100000BA30400")
            + bytes.fromhex("EEFFC0000BA30400"))
    assert bytes(b[:35]) == want
    assert ac.parse(b, 0, 35) == 0x05


def test_transport_key_tclk_verify_confirm_request_switch_by_hand():
    b = bytearray(40)
    assert ac.build_transport_tclk(b, 0, KEY, EXT, TC) == 34
    assert bytes(b[:34]) == (b"\x05\x04" + KEY + bytes.fromhex("020100000BA30400")
                             + bytes.fromhex("EEFFC0000BA30400"))
    assert ac.build_request_tclk(b, 0) == 2 and bytes(b[:2]) == b"\x08\x04"
    assert ac.build_verify_key(b, 0, EXT, KEY) == 26
    assert bytes(b[:26]) == b"\x0f\x04" + bytes.fromhex("020100000BA30400") + KEY
    assert ac.build_confirm_key(b, 0, 0, EXT) == 11
    assert bytes(b[:11]) == b"\x10\x00\x04" + bytes.fromhex("020100000BA30400")
    assert ac.build_switch_key(b, 0, 7) == 2 and bytes(b[:2]) == b"\x09\x07"
    assert ac.build_remove_device(b, 0, EXT) == 9
    assert bytes(b[:9]) == b"\x07" + bytes.fromhex("020100000BA30400")
    assert ac.build_update_device(b, 0, EXT, 0x0102, ac.UPDATE_TC_REJOIN) == 12
    assert bytes(b[:12]) == b"\x06" + bytes.fromhex("020100000BA30400") + b"\x02\x01\x03"


def test_aps_commands_refuse_bad_input():
    raises(ValueError, ac.parse, b"\x05\x01" + KEY, 0, 18)  # network key without seq/addrs
    raises(ValueError, ac.parse, b"\x05\x07" + bytes(40), 0, 42)  # unknown key type
    raises(ValueError, ac.parse, b"\x0f\x04" + bytes(10), 0, 12)  # Verify Key truncated
    raises(ValueError, ac.parse, b"\x42\x00", 0, 2)  # unknown command
    raises(ValueError, ac.build_transport_tclk, bytearray(33), 0, KEY, EXT, TC)
    raises(ValueError, ac.build_verify_key, bytearray(40), 0, EXT, KEY[:15])
