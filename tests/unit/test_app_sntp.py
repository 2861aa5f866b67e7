# The SNTP client's codec (app/sntp.py, RFC 4330), on replies built here field by field.
import struct

from app import sntp
from hal.clock import FakeClock
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from support import raises

UNIX_2026_11_30 = 1796004251  # 2026-11-30 02:04:11 UTC


def reply(unix_s, fraction=0, li=0, version=4, mode=4, stratum=2):
    buf = bytearray(48)
    buf[0] = (li << 6) | (version << 3) | mode
    buf[1] = stratum
    ntp = (unix_s + 2208988800) & 0xFFFFFFFF  # RFC 868/4330: seconds since 1900
    struct.pack_into(">II", buf, 40, ntp, fraction)
    return buf


def test_request_is_version_4_client_mode():
    buf = bytearray(48)
    assert sntp.request(buf) == 48
    assert buf[0] == 0x23 and bytes(buf[1:]) == bytes(47)  # LI 0, VN 4, mode 3


def test_reply_gives_unix_seconds_rounded():
    assert sntp.parse(reply(UNIX_2026_11_30), 48) == UNIX_2026_11_30
    assert sntp.parse(reply(UNIX_2026_11_30, 0x80000000), 48) == UNIX_2026_11_30 + 1
    assert sntp.parse(reply(UNIX_2026_11_30, 0x7FFFFFFF), 48) == UNIX_2026_11_30


def test_era_1_after_2036():
    # 2040-01-01 00:00:00 UTC = 2208988800 s after 1970: NTP seconds wrap in 2036.
    assert sntp.parse(reply(2208988800), 48) == 2208988800


def test_unusable_replies_are_refused():
    raises(ValueError, sntp.parse, reply(UNIX_2026_11_30), 47)
    raises(ValueError, sntp.parse, reply(UNIX_2026_11_30, mode=3), 48)  # a client's packet
    raises(ValueError, sntp.parse, reply(UNIX_2026_11_30, li=3), 48)  # unsynchronised
    raises(ValueError, sntp.parse, reply(UNIX_2026_11_30, stratum=0), 48)  # kiss-o'-death
    raises(ValueError, sntp.parse, reply(UNIX_2026_11_30, stratum=16), 48)
    raises(ValueError, sntp.parse, reply(-2208988800), 48)  # transmit timestamp zero


def _regs(utc, synced):
    clock = FakeClock(utc=utc)
    regs = MeterRegisters(clock, MemoryFs())
    regs.boot(utc, clock_trusted=synced)
    return clock, regs


def test_apply_syncs_an_unsynchronised_clock_and_ignores_small_drift():
    clock, regs = _regs(0, synced=False)  # a board at 1970: resumes at 2000, unsynced
    assert not regs.clock.synced
    assert sntp.apply(regs, UNIX_2026_11_30) == UNIX_2026_11_30 - 946684800
    assert regs.clock.synced and clock.time() == UNIX_2026_11_30
    assert sntp.apply(regs, UNIX_2026_11_30 + 1) == 0  # within MAX_SKEW_S: left alone
    assert sntp.apply(regs, UNIX_2026_11_30 + 5) == 5
    assert clock.time() == UNIX_2026_11_30 + 5
    raises(ValueError, sntp.apply, regs, 4102444800)  # 2100: out of range, refused
    assert clock.time() == UNIX_2026_11_30 + 5
