# Identify cluster server 0x0003 (ZCL revision 6, 07-5123, 3.5): IdentifyTime counts down
# the seconds the device still identifies itself (an LED blinking, a display flashing).
#
#   IdentifyServer(now_s, on_identify=None)
#       now_s() -> seconds of a clock that does not jump (the node's monotonic seconds);
#       on_identify(seconds) is told each time identifying starts (seconds > 0) or is
#       stopped by a command (0), so the device can drive its indicator.
#
# Commands received (3.5.2.3): Identify 0x00 (IdentifyTime, uint16 seconds; 0 stops),
# Identify Query 0x01 (no payload): answered by Identify Query Response 0x00 (timeout,
# uint16) while identifying; otherwise the device "takes no further action" (3.5.2.3.2),
# which 2.5.12.2 criterion 4 lets override the Default Response. Writing IdentifyTime
# (3.5.2.2.1, read/write) starts or stops identifying as the command does. Trigger Effect
# (0x40, optional) is not supported.
from micropython import const

from han.se.server import ClusterServer
from han.zcl import dispatch as zd
from han.zcl import frame as zf
from han.zcl import general as zg
from han.zcl import types as zt

CLUSTER = const(0x0003)
IDENTIFY_TIME = const(0x0000)      # 3.5.2.2.1

CMD_IDENTIFY = const(0x00)          # client -> server, 3.5.2.3.1
CMD_IDENTIFY_QUERY = const(0x01)    # client -> server, 3.5.2.3.2
CMD_IDENTIFY_QUERY_RSP = const(0x00)  # server -> client, 3.5.2.4.1


class IdentifyServer(ClusterServer):
    def __init__(self, now_s, on_identify=None):
        self._now = now_s
        self._on_identify = on_identify
        self._until = 0
        ClusterServer.__init__(self, CLUSTER, zd.AttrTable([
            zd.Attr(IDENTIFY_TIME, zt.UINT16, zd.READ | zd.WRITE, getter=self.remaining,
                    setter=self._write)]))

    def remaining(self):
        """Seconds left to identify (the IdentifyTime attribute); 0 when not identifying."""
        left = self._until - self._now()
        return left if left > 0 else 0

    def identify(self, seconds):
        """Identify for seconds (0 stops), as the command and a write do."""
        self._until = self._now() + seconds if seconds > 0 else 0
        if self._on_identify is not None:
            self._on_identify(seconds)

    def _write(self, value, commit):
        if not 0 <= value <= 0xFFFF:
            return zg.INVALID_VALUE
        if commit:
            self.identify(value)
        return zg.SUCCESS

    def command(self, h, buf, off, end, out, unicast):
        cmd = h.command
        if cmd == CMD_IDENTIFY:
            if end - off < 2:
                return self.default_response(h, out, zg.MALFORMED_COMMAND, unicast)
            self.identify(buf[off] | (buf[off + 1] << 8))
            return self.default_response(h, out, zg.SUCCESS, unicast)
        if cmd == CMD_IDENTIFY_QUERY:
            left = self.remaining()
            if left == 0:
                return 0
            n = self.response_header(h, out, zf.FT_CLUSTER, CMD_IDENTIFY_QUERY_RSP)
            return zg.put16(out, n, left)
        return self.default_response(h, out, zg.UNSUP_CLUSTER_COMMAND, unicast)
