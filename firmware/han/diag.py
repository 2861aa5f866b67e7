# HAN diagnostics of the comms hub (seed 003 10.3 p; 12.3.5 link quality stored at
# installation and available on request; 12.3.6 the current signal strength; 12.2.14 a
# transaction log of communication events: joins, key updates, rejected messages,
# acknowledgements; 11.7 f: the most recent 40 of them).
#
# Per device of the coordinator's table, on top of the device inventory (han/inventory.py:
# last LQI/RSSI, frames in/out, MAC failures, security errors, duplicates) this adds:
#   - the installation link quality: LQI and RSSI of the device's association request
#     (the first frame it sends to join) and the UTC of that join, kept per EUI-64 in a
#     small record of the registers' store (KIND_INSTALL), written only when a device is
#     installed (first join after its registration) or removed;
#   - a smoothed live LQI and RSSI (exponential mean over about SMOOTH frames);
#   - failures the inventory does not see: APS acknowledgements missing after the
#     retries, frames the NWK or APS layer refused (bad MIC, replay, unknown key...);
#   - acknowledgements received, last seen (UTC, from the table's seconds counter);
#   - the battery (Power Configuration cluster 0x0001, ZCL 3.3.2.2.3: BatteryVoltage
#     0x0020 in 100 mV, BatteryPercentageRemaining 0x0021 in half percent) from any report
#     or read response a device sends; unknown until one arrives.
# Transaction events go to on_transaction(utc, code, a, b) (main points it at the meter's
# TRANSACTION log, rate limited and coalesced there); `a` is the device: the low 32 bits of
# its EUI-64 when known, else its short address.
#
# HanDiag.attach(node, ...) chains itself in front of the hooks the node already set (MAC
# monitor, association, admission, NWK/APS refusals, APS confirms, application frames):
# nothing of han/node.py changes. Every table is preallocated; the per-frame paths
# (rx_frame, tx_done, an acknowledged confirm) allocate nothing.
#
# report(write, log) answers the console's read-only "HUB STATUS" (app/console.py): one
# "HUB DEV {json}" line per device, one "HUB LOG {json}" line per transaction log entry
# (oldest first), then "HUB END <devices> <entries>". No key or secret is ever written.
import struct

from micropython import const

from han.mac import frame as fr
from han.mac.mac import RX_OK, SUCCESS
from han.mac.security import same_ext
from han.nwk.devices import VERIFIED
from registers.logs import (EV_HAN_ACKS, EV_HAN_JOIN_DENIED, EV_HAN_JOINED,  # noqa: F401
                            EV_HAN_KEY_VERIFIED, EV_HAN_NO_ACK, EV_HAN_NWK_KEY_SWITCHED,
                            EV_HAN_REJECTED, EV_HAN_REMOVED)

KIND_INSTALL = const(0xBA)  # record kind (docs/registers.md's list; 0xB0..0xB8 are taken)
ACK_LOG_S = const(3600)  # one EV_HAN_ACKS per device per hour: acks arrive every report
SMOOTH_SHIFT = const(3)  # live LQI: mean over about 2**3 frames
_MAGIC = const(0x44)  # "D"
_ENTRY = const(14)  # ext 8, lqi u8, rssi i8, utc u32
_HEAD = const(2)  # magic, count
# NWK refusal reasons that are no fault of the sender (han/nwk/layer.py): a frame for
# another node, a retransmission.
_NOT_FOR_US = const(1)
_DUPLICATE = const(7)
_POWER_CONFIG = const(0x0001)
_ATTR_VOLTAGE = const(0x0020)
_ATTR_PERCENT = const(0x0021)
_ZCL_READ_RESPONSE = const(0x01)
_ZCL_REPORT = const(0x0A)
_STATE_NAMES = ("empty", "registered", "joining", "joined", "verified")


def low32(ext):
    return (ext[4] << 24) | (ext[5] << 16) | (ext[6] << 8) | ext[7]


def _hex(b):
    return "".join("%02x" % x for x in b)


def _opt(v):
    return "null" if v is None else str(v)


class HanDiag:
    def __init__(self, inventory, table, clock, store=None, on_transaction=None,
                 aps=None, st=None):
        self.inv = inventory
        self.table = table
        self.clock = clock
        self.aps = aps  # its pending frames name the destination of a confirm
        self.st = st  # the network state (key sequence number)
        self.on_transaction = on_transaction  # (utc, code, a, b)
        self.kind_of = None  # optional (short) -> "gas" / "display" / None
        n = len(inventory)
        self._n = n
        # Live, per inventory entry.
        self._lqi16 = [0] * n  # smoothed LQI x 16
        self._rssi16 = [0] * n  # smoothed RSSI x 16 (dBm)
        self._smoothed = bytearray(n)  # 1: the means hold a value
        self._acks = [0] * n
        self._acks_unlogged = [0] * n
        self._ack_logged_s = [-ACK_LOG_S] * n
        self._no_ack = [0] * n
        self._refused = [0] * n
        self._state = bytearray(table.state)  # table states as last seen (transitions)
        self._batt_mv = [-1] * n
        self._batt_half_pct = [-1] * n
        # Installation, per EUI-64 (persisted).
        m = table.size
        self._i_ext = [bytearray(8) for _ in range(m)]
        self._i_used = bytearray(m)
        self._i_lqi = bytearray(m)
        self._i_rssi = [0] * m
        self._i_utc = [0] * m
        # The last association request heard (its source is not in the tables yet).
        self._a_ext = bytearray(8)
        self._a_lqi = -1
        self._a_rssi = 0
        self._key_seq = -1 if st is None else st.key_seq
        self.refused_unknown = 0  # refusals from sources in no table
        self._buf = bytearray(_HEAD + _ENTRY * m)
        self._slots = store.slots("handiag", KIND_INSTALL, len(self._buf)) \
            if store is not None else None
        self._prev_monitor = None
        self._prev_assoc = None
        self._prev_admit = None
        self._prev_refused = None
        self._prev_aps_refused = None
        self._prev_confirm = None
        self._prev_removed = None
        self._prev_app = None
        self.load()

    # --- wiring --------------------------------------------------------------------------
    @classmethod
    def attach(cls, node, store=None, on_transaction=None):
        """Diagnostics for a han/node.py HanNode coordinator, chained in front of its
        hooks."""
        zb = node.zb
        d = cls(node.inventory, zb.table, node.clock, store, on_transaction, zb.aps, zb.st)
        d._prev_monitor = zb.monitor
        zb.monitor = d
        tc = zb.tc
        d._prev_assoc = tc.on_associated
        tc.on_associated = d._associated
        d._prev_removed = tc.on_removed
        tc.on_removed = d._removed
        role = zb.role_sm
        d._prev_admit = role.admit
        role.admit = d._admit
        d._prev_refused = zb.nwk.on_refused
        zb.nwk.on_refused = d._nwk_refused
        d._prev_aps_refused = zb.aps.on_refused
        zb.aps.on_refused = d._aps_refused
        d._prev_confirm = zb.aps.on_confirm
        zb.aps.on_confirm = d._confirm
        d._prev_app = zb.on_app
        zb.on_app = d._app
        gas = getattr(node.se, "gas", None)  # han/se/hub.py's gas relay
        if gas is not None:
            d.kind_of = lambda short: _relay_kind(gas, short)
        node.diag = d
        return d

    # --- installation records ------------------------------------------------------------
    def load(self):
        if self._slots is None:
            return False
        b = self._buf
        n = self._slots.load(b)
        if n < _HEAD or b[0] != _MAGIC:
            return False
        count = min(b[1], len(self._i_used), (n - _HEAD) // _ENTRY)
        for k in range(count):
            p = _HEAD + k * _ENTRY
            e = self._i_ext[k]
            for j in range(8):
                e[j] = b[p + j]
            self._i_lqi[k] = b[p + 8]
            r = b[p + 9]
            self._i_rssi[k] = r - 256 if r > 127 else r
            self._i_utc[k] = struct.unpack_from("<I", b, p + 10)[0]
            self._i_used[k] = 1
        return True

    def _save(self):
        if self._slots is None:
            return
        b = self._buf
        b[0] = _MAGIC
        k = 0
        for i in range(len(self._i_used)):
            if self._i_used[i]:
                p = _HEAD + k * _ENTRY
                b[p:p + 8] = self._i_ext[i]
                b[p + 8] = self._i_lqi[i]
                b[p + 9] = self._i_rssi[i] & 0xFF
                struct.pack_into("<I", b, p + 10, self._i_utc[i] & 0xFFFFFFFF)
                k += 1
        b[1] = k
        self._slots.save(b, _HEAD + k * _ENTRY)

    def _install_index(self, ext):
        for k in range(len(self._i_used)):
            if self._i_used[k] and same_ext(self._i_ext[k], ext):
                return k
        return -1

    def installation(self, ext):
        """(lqi, rssi, utc) recorded when ext was installed, or None."""
        k = self._install_index(ext)
        if k < 0:
            return None
        return self._i_lqi[k], self._i_rssi[k], self._i_utc[k]

    def _record_install(self, ext, lqi, rssi, utc):
        if self._install_index(ext) >= 0:
            return  # a rejoin or re-association is no new installation
        k = -1
        for j in range(len(self._i_used)):
            if not self._i_used[j]:
                k = j
                break
        if k < 0:
            # Full: the record of a device no longer in the trust centre's table goes.
            for j in range(len(self._i_used)):
                if self.table.find_ext(self._i_ext[j]) < 0:
                    k = j
                    break
        if k < 0:
            return
        self._i_ext[k][:] = ext
        self._i_lqi[k] = lqi
        self._i_rssi[k] = rssi
        self._i_utc[k] = utc
        self._i_used[k] = 1
        self._save()

    # --- MAC hooks (the node's Mac.monitor chain) ----------------------------------------
    def rx_frame(self, f, outcome, lqi, rssi, now):
        p = self._prev_monitor
        if p is not None:
            p.rx_frame(f, outcome, lqi, rssi, now)
        if outcome != RX_OK:
            return
        i = self.inv.index_of(f)
        if i < 0:
            # An association request (802.15.4 7.3.1: command 0x01 and the capability, from
            # the joiner's extended address): kept until the trust centre admits it.
            if f.frame_type == fr.FT_CMD and f.src_mode == fr.ADDR_EXT \
                    and f.payload_len == 2:
                self._a_ext[:] = f.src_ext
                self._a_lqi = lqi
                self._a_rssi = int(rssi)
            return
        r = int(rssi)
        if self._smoothed[i]:
            self._lqi16[i] += ((lqi << 4) - self._lqi16[i]) >> SMOOTH_SHIFT
            self._rssi16[i] += ((r << 4) - self._rssi16[i]) >> SMOOTH_SHIFT
        else:
            self._lqi16[i] = lqi << 4
            self._rssi16[i] = r << 4
            self._smoothed[i] = 1
        self._check_states()

    def tx_done(self, dst_short, dst_ext, status, now):
        p = self._prev_monitor
        if p is not None:
            p.tx_done(dst_short, dst_ext, status, now)
        if status == SUCCESS:
            self._check_states()

    def _check_states(self):
        # Key establishment and network key switches show as changes of the table and the
        # network state, found after the frames that cause them (no allocation unless an
        # event is logged).
        t = self.table
        s = self._state
        for i in range(t.size):
            v = t.state[i]
            if v != s[i]:
                s[i] = v
                if v == VERIFIED:
                    self._log(EV_HAN_KEY_VERIFIED, low32(t.ext[i]), t.short_of(i))
        st = self.st
        if st is not None and st.key_seq != self._key_seq:
            if self._key_seq >= 0:
                self._log(EV_HAN_NWK_KEY_SWITCHED, st.key_seq, 0)
            self._key_seq = st.key_seq

    # --- trust centre hooks --------------------------------------------------------------
    def _admit(self, ext, capability):
        i = self._prev_admit(ext, capability)
        if i == -1:
            self._log(EV_HAN_JOIN_DENIED, low32(ext), capability)
        return i

    def _associated(self, ext, short, now):
        if self._prev_assoc is not None:
            self._prev_assoc(ext, short, now)
        utc = self.clock.time()
        if self._a_lqi >= 0 and same_ext(self._a_ext, ext):
            self._record_install(ext, self._a_lqi, self._a_rssi, utc)
            self._a_lqi = -1
        i = self.inv.find_ext(ext)
        if i >= 0:
            self._smoothed[i] = 0  # the means start again from this join
        self._log(EV_HAN_JOINED, low32(ext), short)

    def _removed(self, short):
        # The entry is emptied but keeps its extended address (han/nwk/devices.py remove).
        t = self.table
        i = short - t.first_short
        if 0 <= i < t.size:
            ext = t.ext[i]
            self._log(EV_HAN_REMOVED, low32(ext), short)
            k = self._install_index(ext)
            if k >= 0:  # a device registered again later is a new installation
                self._i_used[k] = 0
                self._save()
        else:
            self._log(EV_HAN_REMOVED, short, short)
        if self._prev_removed is not None:
            self._prev_removed(short)

    # --- refusals, acknowledgements ------------------------------------------------------
    def _who(self, who):
        # (inventory index, device id for the log) of a refusal's source.
        inv = self.inv
        if isinstance(who, int):
            i = inv.find_short(who)
            return i, (low32(inv.ext_of(i)) if i >= 0 else who)
        return inv.find_ext(who), low32(who)

    def _refusal(self, reason, who, now):
        if reason == _NOT_FOR_US or reason == _DUPLICATE:
            return
        i, dev = self._who(who)
        if i >= 0:
            self._refused[i] += 1
        else:
            self.refused_unknown += 1
        self._log(EV_HAN_REJECTED, dev, reason)

    def _nwk_refused(self, reason, who, now):
        self._refusal(reason, who, now)
        if self._prev_refused is not None:
            self._prev_refused(reason, who, now)

    def _aps_refused(self, reason, who, now):
        self._refusal(reason, who, now)
        if self._prev_aps_refused is not None:
            self._prev_aps_refused(reason, who, now)

    def _confirm(self, tid, status):
        dst = self._dst_of(tid)
        i = self.inv.find_short(dst) if dst >= 0 else -1
        if i >= 0:
            if status == SUCCESS:
                self._acks[i] += 1
                self._acks_unlogged[i] += 1
                now_s = self.table.now_s
                if now_s - self._ack_logged_s[i] >= ACK_LOG_S:
                    self._ack_logged_s[i] = now_s
                    self._log(EV_HAN_ACKS, low32(self.inv.ext_of(i)), self._acks_unlogged[i])
                    self._acks_unlogged[i] = 0
            else:
                self._no_ack[i] += 1
                self._log(EV_HAN_NO_ACK, low32(self.inv.ext_of(i)), dst)
        if self._prev_confirm is not None:
            self._prev_confirm(tid, status)

    def _dst_of(self, tid):
        # The APS layer clears a pending frame's use flag before its confirm but keeps
        # its destination and transaction id (han/aps/layer.py _p_dst, _p_tid).
        a = self.aps
        if a is None:
            return -1
        tids = a._p_tid
        for k in range(len(tids)):
            if tids[k] == tid:
                return a._p_dst[k]
        return -1

    # --- application frames: the battery ------------------------------------------------
    def _app(self, src, src_ep, dst_ep, cluster, profile, buf, off, n, now,
             aps_secured=False):
        if cluster == _POWER_CONFIG and n >= 3:
            self._battery(src, buf, off, n)
        if self._prev_app is not None:
            self._prev_app(src, src_ep, dst_ep, cluster, profile, buf, off, n, now,
                           aps_secured)

    def _battery(self, src, buf, off, n):
        # ZCL 2.4.1: frame control, [manufacturer code,] sequence, command. Report
        # Attributes records: id u16, type, value; Read Attributes Response records: id
        # u16, status, [type, value]. Both attributes are uint8 (type 0x20).
        i = self.inv.find_short(src)
        fc = buf[off]
        if i < 0 or (fc & 0x03) != 0:  # a profile-wide command only
            return
        p = off + (5 if fc & 0x04 else 3)
        cmd = buf[p - 1]
        end = off + n
        if cmd != _ZCL_REPORT and cmd != _ZCL_READ_RESPONSE:
            return
        while p + 3 <= end:
            attr = buf[p] | buf[p + 1] << 8
            p += 2
            if cmd == _ZCL_READ_RESPONSE:
                status = buf[p]
                p += 1
                if status != 0:
                    continue
            if p + 2 > end or buf[p] != 0x20:
                return  # another type: the records after it cannot be walked here
            v = buf[p + 1]
            p += 2
            if v == 0xFF:
                continue  # invalid / unknown (ZCL 3.3.2.2.3)
            if attr == _ATTR_VOLTAGE:
                self._batt_mv[i] = v * 100
            elif attr == _ATTR_PERCENT:
                self._batt_half_pct[i] = v

    # --- transaction log -----------------------------------------------------------------
    def _log(self, code, a, b):
        cb = self.on_transaction
        if cb is not None:
            cb(self.clock.time(), code, a, b)

    # --- the console's answer (han/diag_report.py) ------------------------------------
    def report(self, write, log=None, utc=None):
        """The whole "HUB STATUS" answer: devices, the transaction log (an EventLog of
        registers/logs.py, or None), the end line. Returns the number of lines."""
        from han.diag_report import report

        return report(self, write, log, utc)


def _relay_kind(gas, short):
    # The hub's gas relay learnt the Metering device type of the devices reporting to it
    # (MeteringDeviceType 1: gas, SE 1.4 D.3.2.2.4.7).
    for k in range(len(gas.short)):
        if gas.short[k] == short and gas.dtype[k] >= 0:
            return "gas" if gas.dtype[k] == 1 else "meter"
    return None
