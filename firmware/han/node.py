# The HAN as the firmware runs it (main.run(han=...)): the IEEE 802.15.4 MAC and a role
# over the board's radio, secured at level 5 with the network key, and the application
# traffic of this stage (the ZigBee-style clusters come with the next issue):
#
# - "coordinator" (the meter's comms hub): scans the channel mask, starts a PAN, accepts
#   associations (device inventory + tamper detection; each tamper episode is handed to
#   on_tamper(utc, kind, device), which main points at the meter's tamper log: EV_TAMPER,
#   a = tamper kind (han/tamper.py), b = device = low 32 bits of the device's extended
#   address or its short address), answers every report with a message;
# - "device" (a HAN device stand-in for interoperability sessions and the two-board test):
#   joins the PAN by active scan and association, then sends a report every report_ms.
#
# Every received data frame and every association is printed as one "han ..." line, the
# interface the emulated-board tests and make run read.
from micropython import const

from han.mac import commands as cmd
from han.mac import frame as fr
from han.mac.mac import Mac
from han.mac.roles import C_RUNNING, Coordinator, EndDevice
from han.mac.security import MacSecurity
from han.run import step_once
from registers.counters import RamCounterStore

# Channels the PAN may use: 15, 20 and 25 sit between the 2.4 GHz Wi-Fi channels 1, 6 and
# 11 (ZigBee's usual preference); 11 is kept as a fourth choice.
DEFAULT_CHANNEL_MASK = (1 << 11) | (1 << 15) | (1 << 20) | (1 << 25)
DEFAULT_PAN_ID = const(0x4D45)  # preferred; another one is drawn if a neighbour uses it
KEY_INDEX = const(1)
APP_DISPATCH = const(0x3F)  # 6LoWPAN "not a LoWPAN frame" (RFC 4944 5.1): tools/han/sim.py
_REPORT = const(0x01)
_REPLY = const(0x80)
_PAYLOAD = const(12)


def _hex(b):
    return "".join("%02x" % x for x in b)


class HanNode:
    """role: "coordinator" or "device". ext: 8-byte extended address (MSB first). key: the
    16-byte network key. counters: load/save store for the outgoing frame counter
    (han/counters.py over the registers' store; RAM when None). rand_bits: a uniform
    random source (random.getrandbits seeded per device)."""

    def __init__(self, radio, clock, role, ext, key, rand_bits, counters=None, out=print,
                 channel_mask=DEFAULT_CHANNEL_MASK, pan_id=DEFAULT_PAN_ID, report_ms=2000,
                 on_tamper=None):
        if role not in ("coordinator", "device"):
            raise ValueError("HAN role must be 'coordinator' or 'device'")
        if len(ext) != 8 or len(key) != 16:
            raise ValueError("extended address is 8 bytes, the key 16")
        self.role = role
        self.clock = clock
        self.out = out
        self.on_tamper = on_tamper  # (utc, kind, device) -> None: the HAN writes no log
        self.report_ms = report_ms
        sec = MacSecurity(ext, counters if counters is not None else RamCounterStore())
        sec.keys.add(key, 1, KEY_INDEX)
        coordinator = role == "coordinator"
        self.mac = Mac(radio, clock, ext, 0xFFFF, 0xFFFF, rand_bits, security=sec,
                       key_index=KEY_INDEX, extra_wait_us=getattr(radio, "latency_us", 0),
                       on_data=self._on_data)
        self.inventory = None
        if coordinator:
            from han.inventory import DeviceInventory
            from han.tamper import TamperDetector

            self.role_sm = Coordinator(self.mac, channel_mask, rand_bits, pan_id=pan_id)
            self.inventory = DeviceInventory(clock)
            self.inventory.attach(self.role_sm)
            self.inventory.tamper = TamperDetector(self.inventory, self._on_tamper)
            # After the inventory (attach replaces it): print, then let it record.
            self._inv_associated = self.role_sm.on_associated
            self.role_sm.on_associated = self._on_associated
        else:
            self.role_sm = EndDevice(self.mac, channel_mask, cmd.CAP_RX_ON_IDLE)
        self._payload = bytearray(_PAYLOAD)
        self._joined = False
        self._next_report = 0
        self.reports_sent = 0
        self.received = 0
        self.tamper_events = 0

    def start(self):
        now = self.clock.ticks_us()
        if self.role == "coordinator":
            self.role_sm.start(now)
        else:
            self.role_sm.join(now)

    # --- events --------------------------------------------------------------------------
    def _on_associated(self, ext, short, now):
        self._inv_associated(ext, short, now)
        self.out("han associated %s short 0x%04x" % (_hex(ext), short))

    def _on_tamper(self, kind, address, now):
        self.tamper_events += 1
        if isinstance(address, int):
            b = address
        else:
            b = (address[4] << 24) | (address[5] << 16) | (address[6] << 8) | address[7]
        self.out("han tamper kind %d source %s" % (
            kind, ("0x%04x" % address) if isinstance(address, int) else _hex(address)))
        if self.on_tamper is not None:
            self.on_tamper(self.clock.time(), kind, b)

    def _on_data(self, f, buf, lqi):
        self.received += 1
        p = buf[f.header_len:f.header_len + f.payload_len]
        if f.src_mode == fr.ADDR_SHORT:
            src = f.src_addr
        elif f.src_mode == fr.ADDR_EXT and self.role == "coordinator":
            src = self.role_sm.short_of(f.src_ext)  # secured frames carry the extended one
        else:
            src = -1
        secured = 1 if f.security else 0
        self.out("han rx from %s len %d lqi %d secured %d kind 0x%02x n %d" % (
            _hex(f.src_ext) if f.src_mode == fr.ADDR_EXT else "0x%04x" % f.src_addr,
            len(p), lqi, secured, p[1] if len(p) > 1 else 0, p[2] if len(p) > 2 else 0))
        if self.role == "coordinator" and len(p) > 2 and p[0] == APP_DISPATCH \
                and p[1] == _REPORT and src >= 0:
            self._send(src, _REPLY, p[2])

    def _send(self, dst, kind, n):
        p = self._payload
        p[0] = APP_DISPATCH
        p[1] = kind
        p[2] = n & 0xFF
        s = self.mac.short_addr
        p[3] = s >> 8
        p[4] = s & 0xFF
        return self.mac.send(dst, p, _PAYLOAD, self.clock.ticks_us())

    # --- the polled machine --------------------------------------------------------------
    def step(self, now):
        """One pass; returns the microseconds until the next is due."""
        wait = step_once(self.role_sm, self.mac, now)
        if self.role == "device":
            if self.role_sm.associated and not self._joined:
                self._joined = True
                self._next_report = now
                self.out("han joined pan 0x%04x short 0x%04x channel %d" % (
                    self.mac.pan_id, self.mac.short_addr, self.role_sm.channel))
            if self._joined and self.clock.ticks_diff(now, self._next_report) >= 0:
                self._next_report = self.clock.ticks_add(now, self.report_ms * 1000)
                if self._send(self.mac.coordinator_short, _REPORT, self.reports_sent):
                    self.reports_sent += 1
        elif self.role_sm.state == C_RUNNING and not self._joined:
            self._joined = True
            self.out("han pan 0x%04x channel %d started" % (self.mac.pan_id,
                                                             self.role_sm.channel))
        return wait

    async def run(self, seconds=None):
        from hal.aio import sleep_us

        self.start()
        start = self.clock.ticks_ms()
        while seconds is None or self.clock.ticks_diff(self.clock.ticks_ms(), start) < \
                seconds * 1000:
            await sleep_us(self.step(self.clock.ticks_us()))
