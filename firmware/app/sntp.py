# Time from the network (issue 10 item 5): a Simple NTP client (RFC 4330) for boards with
# Wi-Fi. The codec is pure (the request built in a caller's buffer, the reply parsed; once
# an hour, so its few small allocations do not matter); sync_task() asks a server over UDP every period and hands the time to the
# registers' set_clock when the meter's clock is unsynchronised or off by MAX_SKEW_S or more
# (a small drift is not worth a clock-set event and a load-profile CAD mark every hour).
import struct

from micropython import const

from hal.aio import sleep_ms

PACKET = const(48)  # RFC 4330 4: the NTP header without extensions or authenticator
PORT = const(123)
_NTP_TO_UNIX = const(2208988800)  # seconds from 1900-01-01 to 1970-01-01
_ERA = 4294967296  # 2**32 s: NTP era length (RFC 4330 3: era 1 begins in 2036)
_MODE_CLIENT = const(3)
_MODE_SERVER = const(4)
_VERSION = const(4)
_LI_ALARM = const(3)  # leap indicator 3: the server's clock is not synchronised
MAX_SKEW_S = const(2)
PERIOD_S = const(3600)
TIMEOUT_MS = const(5000)


def request(buf):
    """An SNTP client request in buf[:48] (LI 0, version 4, mode 3, everything else 0)."""
    for i in range(PACKET):
        buf[i] = 0
    buf[0] = (_VERSION << 3) | _MODE_CLIENT
    return PACKET


def parse(buf, n):
    """The server's transmit time (whole UTC seconds since 1970) of a reply of n octets;
    ValueError for anything that is not a usable server reply (RFC 4330 5: mode 4, stratum
    1..15, leap indicator not 3, transmit timestamp not zero)."""
    if n < PACKET:
        raise ValueError("short SNTP reply")
    first = buf[0]
    if first & 7 != _MODE_SERVER:
        raise ValueError("not a server reply")
    if first >> 6 == _LI_ALARM:
        raise ValueError("server not synchronised")
    stratum = buf[1]
    if not 1 <= stratum <= 15:
        raise ValueError("stratum %d (kiss-o'-death or invalid)" % stratum)
    seconds, fraction = struct.unpack_from(">II", buf, 40)
    if seconds == 0 and fraction == 0:
        raise ValueError("no transmit timestamp")
    if seconds < 0x80000000:
        seconds += _ERA  # RFC 4330 3: MSB 0 means era 1 (from 2036-02-07 06:28:16 UTC)
    return seconds - _NTP_TO_UNIX + (1 if fraction >= 0x80000000 else 0)


def apply(registers, utc):
    """Hand a server time to the registers; returns the correction made in seconds (0 when
    the clock was synchronised and close enough)."""
    now = registers.clock.utc()
    if registers.clock.synced and -MAX_SKEW_S < utc - now < MAX_SKEW_S:
        return 0
    registers.set_clock(utc)  # ValueError outside 2000 .. 2099: refused, nothing changes
    return utc - now


async def sync_task(registers, open_socket, out=print, period_s=PERIOD_S,
                    timeout_ms=TIMEOUT_MS, poll_ms=100):
    """Ask the server every period_s (sooner after a failure). open_socket() returns a
    non-blocking UDP socket connected to the server (the board's network does that), or
    raises OSError while the network is down."""
    buf = bytearray(PACKET)  # the request
    while True:
        wait_s = period_s
        sock = None
        try:
            sock = open_socket()
            sock.send(memoryview(buf)[:request(buf)])
            waited = 0
            reply = b""
            while waited < timeout_ms:
                try:
                    reply = sock.recv(PACKET)  # once an hour: the small allocation is fine
                except OSError:  # EAGAIN: nothing yet
                    reply = b""
                if reply:
                    break
                await sleep_ms(poll_ms)
                waited += poll_ms
            if not reply:
                raise OSError(110)  # ETIMEDOUT
            moved = apply(registers, parse(reply, len(reply)))
            if moved:
                out("sntp: clock set, moved %d s" % moved)
        except (OSError, ValueError) as e:
            out("sntp: no time (%s)" % e)
            wait_s = 60
        finally:
            if sock is not None:
                sock.close()
        for _ in range(wait_s):  # in steps of a second: the supervisor sees it alive
            await sleep_ms(1000)
