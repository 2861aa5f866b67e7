# PAN coordinator and end-device roles over the MAC data service (mac.py) for a
# non-beacon-enabled PAN: PAN start after scans, beacon on request, association with
# short-address allocation, disassociation, orphan realignment (IEEE 802.15.4-2006 7.5.2,
# 7.5.3, 7.5.4). Polled like the MAC: step(now) returns the microseconds until it next
# has something to do (-1: only a received frame can wake it); call it before and after
# Mac.step.
#
# Association (7.5.3.1): the device sends an association request to the coordinator it
# chose by active scan; once acknowledged it waits macResponseWaitTime, then polls with a
# data request from its extended address; the coordinator has allocated a short address
# and holds the response for indirect transmission (Mac.send_frame, indirect), so sleepy
# and always-on devices associate the same way.
from micropython import const

from han.mac import cmdframes as cf
from han.mac import commands as cmd
from han.mac import frame as fr
from han.mac import scan
from han.mac.mac import SUCCESS

# macResponseWaitTime default 32 x aBaseSuperframeDuration = 30 720 symbols (2006
# Table 86) = 491.52 ms at 2.4 GHz.
MAC_RESPONSE_WAIT_US = const(491520)
DEFAULT_SCAN_DURATION = const(3)  # 138 ms per channel
ASSOC_ATTEMPTS = const(3)  # association requests before the device scans again

# Coordinator states.
C_IDLE = const(0)
C_ED_SCAN = const(1)
C_ACTIVE_SCAN = const(2)
C_RUNNING = const(3)

# End-device states.
D_IDLE = const(0)
D_SCAN = const(1)
D_REQUEST = const(2)  # association request queued, waiting for its ACK
D_RESPONSE_WAIT = const(3)  # macResponseWaitTime before polling
D_POLL = const(4)  # data request sent, waiting for the association response
D_ASSOCIATED = const(5)
D_ORPHAN = const(6)  # orphan notification sent on self.scanner.channel, waiting
D_LEAVING = const(7)  # disassociation notification queued


def _same(a, b):
    for i in range(8):
        if a[i] != b[i]:
            return False
    return True


class Coordinator:
    """PAN coordinator (short address 0x0000). start(): energy-detect scan of the channel
    mask, quietest channel; active scan, a PAN ID no beacon heard uses; then runs."""

    def __init__(self, mac, channel_mask, rand_bits, pan_id=None, max_devices=16,
                 first_short=0x0001, scan_duration=DEFAULT_SCAN_DURATION):
        self.mac = mac
        self.scanner = scan.Scanner(mac)
        self.channel_mask = channel_mask
        self.rand_bits = rand_bits
        self.preferred_pan = pan_id
        self.scan_duration = scan_duration
        self.first_short = first_short
        self.state = C_IDLE
        self.channel = 0
        self.association_permit = True
        self.dev_ext = [bytearray(8) for _ in range(max_devices)]
        self.dev_cap = bytearray(max_devices)
        self.dev_used = bytearray(max_devices)
        self.associations = 0
        self.disassociations = 0
        self.realignments = 0
        self.association_denied = 0
        # Observers (han/inventory.py): on_associated(ext, short, now) after a successful
        # association, on_disassociated(ext, now) when a device leaves or is removed.
        self.on_associated = None
        self.on_disassociated = None
        # admit(ext, capability) -> slot index, or -1 to deny (ZigBee's trust centre
        # decides; None: first free slot). MAC disassociation and orphan commands are
        # unsecured: a ZigBee network (NWK Leave and Rejoin, secured) ignores them.
        self.admit = None
        self.accept_unsecured_leave = True
        # on_response_sent(ext, short, now): the association response reached the device
        # (its ACK came): what the upper layers send it next finds it associated.
        self.on_response_sent = None
        self._resp_handle = [0] * max_devices
        mac.on_frame_sent = self._frame_sent
        self._f = fr.FrameFields()
        self._buf = bytearray(40)
        self._bf = cmd.BeaconFields()
        self.beacon_payload = None  # the upper layer's (ZigBee: han/zigbee.py), or none
        mac.on_command = self._command

    def start(self, now):
        m = self.mac
        m.short_addr = 0x0000
        m.coordinator_short = 0x0000
        m.radio.set_addresses(fr.BROADCAST, 0x0000, m.ext_addr)
        self.state = C_ED_SCAN
        self.scanner.start_ed(self.channel_mask, self.scan_duration, now)

    def step(self, now):
        s = self.scanner
        if self.state == C_ED_SCAN and s.step(now) < 0:
            self.channel = s.quietest_channel()
            self.state = C_ACTIVE_SCAN
            s.start_active(self.channel_mask, self.scan_duration, now)
        if self.state == C_ACTIVE_SCAN and s.step(now) < 0:
            self._begin(now)
        if self.state == C_ED_SCAN or self.state == C_ACTIVE_SCAN:
            return s.step(now)
        return -1

    def start_at(self, channel, pan_id, now):
        """Run at once on a known channel and PAN ID (no scans)."""
        self.mac.short_addr = 0x0000
        self.mac.coordinator_short = 0x0000
        self.channel = channel
        self.preferred_pan = pan_id
        self._begin(now)

    def _begin(self, now):
        # A PAN ID no coordinator in range uses (2006 7.5.2.2, PAN ID conflict avoided).
        pan = self.preferred_pan
        while pan is None or pan >= fr.BROADCAST or self.scanner.pan_in_use(pan):
            pan = self.rand_bits(16)
        m = self.mac
        m.pan_id = pan
        m.radio.set_channel(self.channel)
        m.radio.set_addresses(pan, 0x0000, m.ext_addr)
        self.state = C_RUNNING

    @property
    def pan_id(self):
        return self.mac.pan_id

    def short_of(self, ext):
        i = self._find(ext)
        return self.first_short + i if i >= 0 else -1

    def _find(self, ext):
        for i in range(len(self.dev_used)):
            if self.dev_used[i] and _same(self.dev_ext[i], ext):
                return i
        return -1

    def _command(self, f, buf, c, now):
        if self.state != C_RUNNING:
            return
        p = f.header_len + 1
        if c == cmd.CMD_BEACON_REQUEST:
            self._bf.clear()
            self._bf.association_permit = self.association_permit
            n = cf.beacon(self._f, self._buf, self.mac.pan_id, 0x0000, self._bf,
                          self.beacon_payload)
            self.mac.send_frame(self._buf, n, now)
        elif c == cmd.CMD_ASSOC_REQUEST and f.src_mode == fr.ADDR_EXT:
            self._associate(f.src_ext, buf[p], now)
        elif not self.accept_unsecured_leave:
            return
        elif c == cmd.CMD_DISASSOC_NOTIFICATION and f.src_mode == fr.ADDR_EXT:
            i = self._find(f.src_ext)
            if i >= 0:
                self._forget(i, now)
        elif c == cmd.CMD_ORPHAN_NOTIFICATION and f.src_mode == fr.ADDR_EXT:
            i = self._find(f.src_ext)
            if i >= 0:  # one of ours: tell it where it is (2006 7.5.2.1.4)
                n = cf.coord_realignment(self._f, self._buf, self.mac.pan_id,
                                         self.mac.ext_addr, 0x0000, self.channel,
                                         f.src_ext, self.first_short + i)
                self.mac.send_frame(self._buf, n, now)
                self.realignments += 1

    def _associate(self, ext, capability, now):
        status = cmd.ASSOC_SUCCESS
        i = self._find(ext)  # a device that associates again keeps its address
        full = False
        if self.admit is not None:
            i = self.admit(ext, capability)  # -2: the table is full
            full = i == -2
            if i < 0 or i >= len(self.dev_used):
                i = -1
                self.association_denied += 1
        elif i < 0:
            for j in range(len(self.dev_used)):
                if not self.dev_used[j]:
                    i = j
                    break
        if not self.association_permit or (i < 0 and not full and self.admit is not None):
            status = cmd.ASSOC_ACCESS_DENIED
        elif i < 0:
            status = cmd.ASSOC_PAN_AT_CAPACITY
        short = cf.UNASSOCIATED
        if status == cmd.ASSOC_SUCCESS:
            self.dev_used[i] = 1
            self.dev_cap[i] = capability
            e = self.dev_ext[i]
            for j in range(8):
                e[j] = ext[j]
            short = self.first_short + i
            sec = self.mac.security
            if sec is not None:
                sec.devices.add(ext, short)
            if not capability & cmd.CAP_ALLOCATE_ADDRESS:
                short = cf.NO_SHORT
            self.associations += 1
            if self.on_associated is not None:
                self.on_associated(e, short, now)
        n = cf.assoc_response(self._f, self._buf, self.mac.pan_id, ext, self.mac.ext_addr,
                              short, status)
        h = self.mac.send_frame(self._buf, n, now, indirect=True, dst_ext=ext)
        if status == cmd.ASSOC_SUCCESS:
            self._resp_handle[i] = h

    def _frame_sent(self, handle, status):
        for i in range(len(self._resp_handle)):
            if handle and self._resp_handle[i] == handle:
                self._resp_handle[i] = 0
                if status == SUCCESS and self.dev_used[i] and self.on_response_sent:
                    self.on_response_sent(self.dev_ext[i], self.first_short + i,
                                          self.mac.clock.ticks_us())
                return

    def _forget(self, i, now):
        self.dev_used[i] = 0
        self.disassociations += 1
        if self.on_disassociated is not None:
            self.on_disassociated(self.dev_ext[i], now)
        sec = self.mac.security
        if sec is not None:
            sec.devices.add(self.dev_ext[i], cf.NO_SHORT)  # keeps its frame counter

    def restore(self, i, ext, capability):
        """Slot i holds ext again (state restored after a reboot): same address."""
        self.dev_used[i] = 1
        self.dev_cap[i] = capability
        self.dev_ext[i][:] = ext

    def release(self, i, now=0):
        """Free slot i without a disassociation frame (the NWK layer removed it)."""
        if self.dev_used[i] and self.on_disassociated is not None:
            self.on_disassociated(self.dev_ext[i], now)
        self.dev_used[i] = 0

    def disassociate(self, ext, now):
        """Coordinator-initiated disassociation (7.5.3.2): indirect to a device that
        sleeps, direct to one whose receiver is on. False if the device is unknown."""
        i = self._find(ext)
        if i < 0:
            return False
        n = cf.disassoc_notification(self._f, self._buf, self.mac.pan_id, ext,
                                     self.mac.ext_addr, cmd.DISASSOC_BY_COORDINATOR)
        sleepy = not self.dev_cap[i] & cmd.CAP_RX_ON_IDLE
        self.mac.send_frame(self._buf, n, now, indirect=sleepy, dst_ext=ext)
        self._forget(i, now)
        return True


class EndDevice:
    """join(): active scan, best coordinator permitting association, associate, poll for
    the response. rejoin(): orphan notification on each channel, coordinator realignment,
    falling back to join(). The MAC's poll_interval_us (sleepy devices) applies only while
    associated."""

    def __init__(self, mac, channel_mask, capability, scan_duration=DEFAULT_SCAN_DURATION):
        self.mac = mac
        self.scanner = scan.Scanner(mac)
        self.channel_mask = channel_mask
        self.capability = capability | cmd.CAP_ALLOCATE_ADDRESS
        self.scan_duration = scan_duration
        self.state = D_IDLE
        self.status = -1  # association status of the last response
        self.coord_ext = bytearray(8)
        self.channel = 0
        self.attempts = 0
        self.joins = 0
        self.rejoins = 0
        self._pan = 0
        self._coord_short = 0
        self._deadline = 0
        self._handle = 0
        self._poll_interval = mac.poll_interval_us
        self.accept_unsecured_leave = True  # False in a ZigBee network (NWK Leave)
        self._f = fr.FrameFields()
        self._buf = bytearray(40)
        mac.on_command = self._command
        mac.on_frame_sent = self._sent
        self._unassociated()

    @property
    def associated(self):
        return self.state == D_ASSOCIATED

    def _unassociated(self):
        m = self.mac
        m.short_addr = cf.UNASSOCIATED
        m.poll_interval_us = 0
        m.radio.set_addresses(fr.BROADCAST, cf.UNASSOCIATED, m.ext_addr)

    def join(self, now):
        self._unassociated()
        self.attempts = 0
        self.state = D_SCAN
        self.scanner.start_active(self.channel_mask, self.scan_duration, now)

    def rejoin(self, now):
        """Orphaned (e.g. after a reset that kept the extended address): 7.5.2.1.4."""
        self._unassociated()
        self.scanner.channel = scan.FIRST_CHANNEL - 1
        self.mac.hold_rx = True
        self.mac.radio.on()
        self._orphan_next(now)

    def _orphan_next(self, now):
        s = self.scanner
        ch = s.channel + 1
        while ch <= scan.LAST_CHANNEL and not (self.channel_mask >> ch) & 1:
            ch += 1
        if ch > scan.LAST_CHANNEL:
            self.mac.hold_rx = False
            self.join(now)  # no coordinator knows us: associate afresh
            return
        s.channel = ch
        self.mac.radio.set_channel(ch)
        n = cf.orphan_notification(self._f, self._buf, self.mac.ext_addr)
        self.mac.send_frame(self._buf, n, now)
        self.state = D_ORPHAN
        self._deadline = self.mac.clock.ticks_add(now, MAC_RESPONSE_WAIT_US)

    def disassociate(self, now):
        if self.state != D_ASSOCIATED:
            return False
        n = cf.disassoc_notification(self._f, self._buf, self._pan, self.coord_ext,
                                     self.mac.ext_addr, cmd.DISASSOC_BY_DEVICE)
        self._handle = self.mac.send_frame(self._buf, n, now)
        self.state = D_LEAVING
        return True

    def _request(self, now):
        m = self.mac
        m.pan_id = self._pan
        m.coordinator_short = self._coord_short
        m.radio.set_channel(self.channel)
        m.radio.set_addresses(self._pan, cf.UNASSOCIATED, m.ext_addr)
        n = cf.assoc_request(self._f, self._buf, self._pan, self._coord_short, m.ext_addr,
                             self.capability)
        self._handle = m.send_frame(self._buf, n, now)
        self.attempts += 1
        self.state = D_REQUEST

    def _sent(self, handle, status):
        if handle != self._handle:
            return
        now = self.mac.clock.ticks_us()
        if self.state == D_REQUEST:
            if status == SUCCESS:
                self.state = D_RESPONSE_WAIT
                self._deadline = self.mac.clock.ticks_add(now, MAC_RESPONSE_WAIT_US)
            else:
                self._retry(now)
        elif self.state == D_LEAVING:
            self.state = D_IDLE
            self._unassociated()

    def _retry(self, now):
        if self.attempts < ASSOC_ATTEMPTS:
            self._request(now)
        else:
            self.join(now)

    def step(self, now):
        diff = self.mac.clock.ticks_diff
        if self.state == D_SCAN:
            d = self.scanner.step(now)
            if d >= 0:
                return d
            i = self.scanner.best_coordinator()
            if i < 0:
                self.join(now)  # nothing heard: scan again
                return 0
            s = self.scanner
            self._pan = s.pan_id[i]
            self._coord_short = s.coord_short[i]
            self.channel = s.pan_channel[i]
            self._request(now)
            return -1
        if self.state == D_RESPONSE_WAIT or self.state == D_POLL or self.state == D_ORPHAN:
            d = diff(self._deadline, now)
            if d > 0:
                return d
            if self.state == D_RESPONSE_WAIT:
                # Extract the response (7.5.3.1): a data request from our extended address.
                self.mac.poll(now)
                self.state = D_POLL
                self._deadline = self.mac.clock.ticks_add(now, MAC_RESPONSE_WAIT_US)
                return MAC_RESPONSE_WAIT_US
            if self.state == D_POLL:
                self._retry(now)  # no response (NO_DATA): ask again
                return 0
            self._orphan_next(now)
            return 0
        return -1

    def _command(self, f, buf, c, now):
        p = f.header_len + 1
        if c == cmd.CMD_ASSOC_RESPONSE and (self.state == D_POLL
                                            or self.state == D_RESPONSE_WAIT):
            if f.dst_mode != fr.ADDR_EXT or not _same(f.dst_ext, self.mac.ext_addr):
                return
            self.status = buf[p + 2]
            if self.status == cmd.ASSOC_PAN_AT_CAPACITY:
                self.join(now)  # another coordinator may have room
                return
            if self.status != cmd.ASSOC_SUCCESS:
                self.state = D_IDLE  # access denied: the application decides
                return
            if f.src_mode == fr.ADDR_EXT:
                for j in range(8):
                    self.coord_ext[j] = f.src_ext[j]
            self._joined(cf.u16_at(buf, p), self._pan, self._coord_short, self.channel)
            self.joins += 1
        elif c == cmd.CMD_COORD_REALIGNMENT and self.state == D_ORPHAN:
            if f.dst_mode != fr.ADDR_EXT or not _same(f.dst_ext, self.mac.ext_addr):
                return
            if f.src_mode == fr.ADDR_EXT:
                for j in range(8):
                    self.coord_ext[j] = f.src_ext[j]
            self.mac.hold_rx = False
            self._joined(cf.u16_at(buf, p + 5), cf.u16_at(buf, p), cf.u16_at(buf, p + 2),
                         buf[p + 4])
            self.rejoins += 1
        elif (c == cmd.CMD_DISASSOC_NOTIFICATION and self.state == D_ASSOCIATED
              and self.accept_unsecured_leave and f.src_mode == fr.ADDR_EXT and _same(f.src_ext, self.coord_ext)):
            self.state = D_IDLE
            self._unassociated()

    def resume(self, short, pan, coord_short, channel, coord_ext):
        """Associated again from saved state (a reboot): no frame is exchanged."""
        self.coord_ext[:] = coord_ext
        self._joined(short, pan, coord_short, channel)

    def _joined(self, short, pan, coord_short, channel):
        m = self.mac
        self.channel = channel
        self._pan = pan
        self._coord_short = coord_short
        m.pan_id = pan
        m.short_addr = short
        m.coordinator_short = coord_short
        m.radio.set_channel(channel)
        m.radio.set_addresses(pan, short, m.ext_addr)
        m.poll_interval_us = self._poll_interval
        sec = m.security
        if sec is not None:
            sec.devices.add(self.coord_ext, coord_short)
        self.state = D_ASSOCIATED
