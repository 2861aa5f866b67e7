# The HAN as the firmware runs it (main.run(han=...)): a ZigBee PRO node (han/zigbee.py)
# on the board's radio, and the application traffic of this stage (the Smart Energy
# clusters, the gas meter and the display come with the next issue):
#
# - "coordinator" (the meter's comms hub): forms the network, or comes back on it after a
#   reboot; it is the trust centre, admitting only the devices registered with their
#   install codes (register(), the authenticated configuration op OP_HAN_JOINER through
#   joiner_handler()); it keeps the device inventory (link quality, frames, last heard)
#   and raises tamper episodes from the MAC, NWK and APS layers and the trust centre's
#   refused joins (han/tamper.py), each handed to
#   on_tamper(utc, kind, device) which main points at the meter's tamper log: EV_TAMPER,
#   a = tamper kind, b = device = the low 32 bits of its extended address or its short
#   address. Each report is answered by a ZCL Default Response.
# - "device" (a HAN device for interoperability sessions and the two-board test): joins
#   by install code, then reports every report_ms a ZCL Report Attributes of the Metering
#   cluster's CurrentSummationDelivered (a count, a stand-in until the gas meter role).
#
# Every network event and every received frame is printed as one "han ..." line, the
# interface the emulated-board tests and make run read.
from micropython import const

from han.deadline import Deadline
from han.mac import commands as cmd
from han.tc.keys import install_code_link_key
from han.nwk.devices import JOINING, REGISTERED
from han.tc.joiner import J_JOINED
from han.zigbee import E_UP, ROLE_COORDINATOR, ROLE_END_DEVICE, ZigbeeNode

# Channels the PAN may use: 15, 20 and 25 sit between the 2.4 GHz Wi-Fi channels 1, 6 and
# 11 (ZigBee's usual preference); 11 is kept as a fourth choice.
DEFAULT_CHANNEL_MASK = (1 << 11) | (1 << 15) | (1 << 20) | (1 << 25)
DEFAULT_PAN_ID = const(0x4D45)  # preferred; another one is drawn if a neighbour uses it

SE_PROFILE = const(0x0109)  # Smart Energy (SE 1.4, 5.3.1)
METERING = const(0x0702)  # Metering cluster (ZCL 10.4)
BASIC = const(0x0000)
ENDPOINT = const(1)
# Device IDs (SE 1.4 Table 5-13): the hub is an energy service interface, the reporting
# device a metering device.
DEVICE_ESI = const(0x0500)
DEVICE_METER = const(0x0501)

# ZCL frame (ZCL 2.4.1): frame control, sequence, command. Global commands.
ZCL_REPORT_ATTRIBUTES = const(0x0A)
ZCL_DEFAULT_RESPONSE = const(0x0B)
_FC_SERVER_TO_CLIENT = const(0x08)  # direction bit: sent by the cluster's server
_FC_NO_DEFAULT_RESPONSE = const(0x10)
_ATTR_SUMMATION = const(0x0000)  # CurrentSummationDelivered (ZCL 10.4.2.2.1)
_TYPE_UINT48 = const(0x25)

# OP_HAN_JOINER payload (registers/config.py): action u8, then
#   JOINER_ADD:    EUI-64 (8, most significant octet first, as printed) + install code
#                  with its CRC-16/X-25 (8, 10, 14 or 18 octets; ZigBee 3.0 BDB 10.1)
#   JOINER_REMOVE: EUI-64: the device is told to leave (NWK Leave) and forgotten
JOINER_ADD = const(1)
JOINER_REMOVE = const(2)


def _hex(b):
    return "".join("%02x" % x for x in b)


def _low32(ext):
    return (ext[4] << 24) | (ext[5] << 16) | (ext[6] << 8) | ext[7]


class HanNode:
    """role: "coordinator", "device" or "display" (an always-on end device whose se is a
    han/se/ihd.py Display). ext: the radio's 8-byte extended address (MSB
    first). store: the registers' record store (han/nwk/store.py keeps the network there).
    install_code: the device's own install code with its CRC (device role). network_key:
    the network key (coordinator; None: a random one at the first start). rand_bits: a
    uniform random source for backoffs and sequence numbers (random.getrandbits seeded per
    device). keys: where the coordinator's secret keys come from (han/tc/keygen.py; None:
    a seeded PRNG, for simulations only). se: the node's Smart Energy application
    (han/se/hub.py Hub: its router's endpoints replace the stand-in endpoint). Role "gas":
    a sleepy end device whose se is a han/se/gasmeter.py GasMeter (which slows the polls
    once joined)."""

    def __init__(self, radio, clock, role, ext, store, rand_bits, install_code=None,
                 network_key=None, out=print, channel_mask=DEFAULT_CHANNEL_MASK,
                 pan_id=DEFAULT_PAN_ID, report_ms=2000, on_tamper=None, sleepy=False,
                 keys=None, se=None):
        if role not in ("coordinator", "device", "display", "gas"):
            raise ValueError("HAN role must be 'coordinator', 'device', 'display' or 'gas'")
        if role == "gas":
            if se is None:
                raise ValueError("a gas meter needs its application (han/se/gasmeter.py)")
            sleepy = True  # a battery meter: served by indirect transmission
        if role == "display" and se is None:
            raise ValueError("a display needs its application (han/se/ihd.py Display)")
        if len(ext) != 8:
            raise ValueError("the extended address is 8 bytes")
        coordinator = role == "coordinator"
        link_key = None
        if not coordinator:
            if install_code is None:
                raise ValueError("a HAN device needs its install code (han_install_code)")
            link_key = install_code_link_key(install_code)  # ValueError: length or CRC
        elif network_key is not None and len(network_key) != 16:
            raise ValueError("the network key is 16 bytes")
        self.role = role
        self.clock = clock
        self.out = out
        self.on_tamper = on_tamper  # (utc, kind, device) -> None: the HAN writes no log
        self.report_ms = report_ms
        ep = (ENDPOINT, SE_PROFILE, DEVICE_ESI if coordinator else DEVICE_METER, 1,
              [BASIC] if coordinator else [BASIC, METERING], [METERING] if coordinator else [])
        cap = 0 if sleepy else cmd.CAP_RX_ON_IDLE
        self.se = se
        endpoints = [ep] if se is None else se.router.simple_descriptors()
        self.zb = ZigbeeNode(radio, clock, ROLE_COORDINATOR if coordinator else ROLE_END_DEVICE,
                             ext, store, rand_bits, channel_mask, pan_id=pan_id,
                             link_key=link_key, network_key=network_key,
                             capability=None if coordinator else cap,
                             poll_interval_us=500000 if sleepy else 0, endpoints=endpoints,
                             keys=keys)
        if se is not None:
            se.router.send = self.zb.send
            se.router.room = self.zb.aps.has_room
            if hasattr(se, "attach"):  # display: ZDO responses; gas meter: APS confirms
                se.attach(self.zb)
        self.zb.on_event = self._event
        self.zb.on_app = self._app
        self.mac = self.zb.mac
        self.inventory = None
        self.tamper = None
        if coordinator:
            from han.inventory import DeviceInventory
            from han.tamper import TamperDetector

            inv = DeviceInventory(clock, self.zb.table.size)
            self.zb.tc.on_associated = self._associated
            if se is not None and hasattr(se, "device_removed"):
                self.zb.tc.on_removed = se.device_removed
            self.zb.role_sm.on_disassociated = inv.disassociated
            self.zb.monitor = inv
            self.inventory = inv
            self.tamper = TamperDetector(inv, self._on_tamper)
            self.zb.nwk.on_refused = self.tamper.nwk_refused
            self.zb.aps.on_refused = self.tamper.aps_refused
            self.zb.tc.on_join_denied = self.tamper.join_denied
        self._zcl = bytearray(12)
        self._zcl_seq = 0
        self._next_report = Deadline(clock)
        self._up = False
        self.reports_sent = 0
        self.received = 0
        self.tamper_events = 0

    # --- the trust centre's registrations (coordinator) ----------------------------------
    def register(self, ext, install_code):
        """Allow ext to join with the link key of its install code (with CRC); persisted.
        ValueError: bad code or CRC, or the device table is full."""
        key = install_code_link_key(install_code)
        if self.zb.tc.register(ext, key) < 0:
            raise ValueError("HAN device table full")
        self.out("han registered %s" % _hex(ext))

    def unregister(self, ext):
        """Tell ext to leave and forget it; False when it was not registered."""
        removed = self.zb.tc.remove(ext, self.clock.ticks_us())
        if removed:
            self.out("han removed %s" % _hex(ext))
        return removed

    def power_fail_warning(self):
        """The supply is failing: the incoming frame counters are saved now (else the
        frames of the last second could be replayed once after the power returns)."""
        self.zb.power_fail_warning()

    def start(self):
        self.zb.start()
        if self.inventory is not None and self.zb.resumed:
            # The devices of the restored table are known: their first frames after the
            # reboot are no "unknown device" (the false tamper event of issue 11).
            t = self.zb.table
            for i in range(t.size):
                if t.state[i] >= JOINING:
                    self.inventory.associated(t.ext[i], t.short_of(i))
                    if self.se is not None and hasattr(self.se, "device_resumed"):
                        self.se.device_resumed(t.short_of(i), self.clock.ticks_us())

    # --- events --------------------------------------------------------------------------
    def _event(self, text):
        self.out("han " + text)

    def _associated(self, ext, short, now):
        self.inventory.associated(ext, short, now)
        self.out("han associated %s short 0x%04x" % (_hex(ext), short))

    def _on_tamper(self, kind, address, now):
        self.tamper_events += 1
        if isinstance(address, int):
            b = address
            who = "0x%04x" % address
        else:
            b = _low32(address)
            who = _hex(address)
        self.out("han tamper kind %d source %s" % (kind, who))
        if self.on_tamper is not None:
            self.on_tamper(self.clock.time(), kind, b)

    def _app(self, src, src_ep, dst_ep, cluster, profile, buf, off, n, now,
             aps_secured=False):
        self.received += 1
        zcl = n >= 3 and profile == SE_PROFILE
        self.out("han rx from 0x%04x ep %d cluster 0x%04x len %d zcl 0x%02x seq %d" % (
            src, src_ep, cluster, n, buf[off + 2] if zcl else 0, buf[off + 1] if zcl else 0))
        if self.se is not None and self.se.router.receive(src, src_ep, dst_ep, cluster, profile,
                                                          buf, off, n, now, aps_secured):
            return
        if self.role == "coordinator" and zcl and buf[off + 2] == ZCL_REPORT_ATTRIBUTES \
                and not buf[off] & _FC_NO_DEFAULT_RESPONSE:
            # ZCL 2.5.12.2: a command without a specific response, default response
            # not disabled: answered with the status of its handling.
            z = self._zcl
            z[0] = _FC_NO_DEFAULT_RESPONSE  # to the server, profile-wide command
            z[1] = buf[off + 1]
            z[2] = ZCL_DEFAULT_RESPONSE
            z[3] = ZCL_REPORT_ATTRIBUTES
            z[4] = 0  # SUCCESS
            self.zb.send(src, src_ep, cluster, SE_PROFILE, ENDPOINT, z, 5, now)

    def _report(self, now):
        z = self._zcl
        self._zcl_seq = (self._zcl_seq + 1) & 0xFF
        z[0] = _FC_SERVER_TO_CLIENT
        z[1] = self._zcl_seq
        z[2] = ZCL_REPORT_ATTRIBUTES
        z[3] = _ATTR_SUMMATION & 0xFF
        z[4] = _ATTR_SUMMATION >> 8
        z[5] = _TYPE_UINT48
        v = self.reports_sent
        for i in range(6):
            z[6 + i] = (v >> (8 * i)) & 0xFF
        return self.zb.send(0x0000, ENDPOINT, METERING, SE_PROFILE, ENDPOINT, z, 12, now)

    # --- the polled machine --------------------------------------------------------------
    def step(self, now):
        """One pass; the microseconds until the next is due (-1: a frame wakes it)."""
        wait = self.zb.step(now)
        if self.se is not None and self.zb.st.has_key:
            w = self.se.step(now)
            if w >= 0 and (wait < 0 or w < wait):
                wait = w
        if self.role == "device":
            up = self.zb.state == E_UP and self.zb.joiner.state == J_JOINED
            if up and not self._up:
                self._next_report.set(now, 0)
            self._up = up
            if up:
                left = self._next_report.wait(now)
                if left <= 0:
                    self._next_report.set(now, self.report_ms * 1000)  # legs: han/deadline.py
                    if self._report(now):
                        self.reports_sent += 1
                    left = self._next_report.wait(now)
                if wait < 0 or left < wait:
                    wait = left
        return wait

    async def run(self, seconds=None, idle_us=2000):
        # The radio drivers have no receive interrupt wired to asyncio: an idle node polls
        # its radio every idle_us (han/run.py).
        from hal.aio import sleep_us

        self.start()
        start = self.clock.ticks_ms()
        while seconds is None or self.clock.ticks_diff(self.clock.ticks_ms(), start) < \
                seconds * 1000:
            wait = self.step(self.clock.ticks_us())
            await sleep_us(idle_us if wait < 0 or wait > idle_us else wait)


def joiner_handler(node):
    """(parse, apply) of the configuration op OP_HAN_JOINER on the coordinator: parse checks
    all of the payload (action, EUI-64, install code length and CRC, room in the table)
    before anything changes; apply registers (persisted) or removes."""
    from registers.config import REJECT_MALFORMED, REJECT_TOO_LONG, Rejected

    def parse(payload):
        if len(payload) < 9 or payload[0] not in (JOINER_ADD, JOINER_REMOVE):
            raise Rejected(REJECT_MALFORMED, "HAN joiner: action u8 + EUI-64 [+ code]")
        ext = bytes(payload[1:9])
        if ext == b"\x00" * 8 or ext == b"\xff" * 8:
            raise Rejected(REJECT_MALFORMED, "HAN joiner: reserved EUI-64")
        if payload[0] == JOINER_REMOVE:
            if len(payload) != 9:
                raise Rejected(REJECT_MALFORMED, "HAN joiner removal: EUI-64 only")
            return JOINER_REMOVE, ext, None
        code = bytes(payload[9:])
        try:
            install_code_link_key(code)
        except ValueError as e:
            raise Rejected(REJECT_MALFORMED, "HAN joiner: " + str(e))
        t = node.zb.table
        if t.find_ext(ext) < 0 and t.count(REGISTERED) >= t.size:
            raise Rejected(REJECT_TOO_LONG, "HAN device table full")
        return JOINER_ADD, ext, code

    def apply(parsed):
        action, ext, code = parsed
        if action == JOINER_ADD:
            node.register(ext, code)
        else:
            node.unregister(ext)

    return parse, apply
