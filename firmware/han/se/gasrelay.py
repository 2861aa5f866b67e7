# The hub's relay of a gas meter's readings (issue 12): Report Attributes of a Metering
# server on the HAN -> on_gas(litres, capture_utc, equipment_id), which main points at
# the registers' gas mailbox (registers/gas.py put), from which P1 and the hub's mirror
# endpoint read it.
#
# A report is relayed only when everything it needs is known for that device:
#   - the report itself carries CurrentSummationDelivered (0x0000) and
#     ReadingSnapShotTime (0x0007): the reading and its own capture time (a summation
#     without one is no P1 gas reading: the hub never stamps it with its own time);
#   - the device's units, read once per device with Read Attributes (0x0300
#     UnitOfMeasure, 0x0301 Multiplier, 0x0302 Divisor, 0x0306 MeteringDeviceType, 0x0308
#     MeterSerialNumber) or taken from a report that carries them: UnitOfMeasure m3
#     (0x01) or litres (0x07), or their BCD forms (0x81, 0x87: the summation's nibbles
#     are decimal digits, SE 1.4 D.3.2.2.4.1), MeteringDeviceType gas (0x01), Multiplier
#     and Divisor both read and non-zero. Litres = raw x Multiplier x 1000 / Divisor
#     (x 1 for litres), rounded down (an index shows only completed litres); a BCD
#     summation with a nibble above 9 is no reading. Nothing is assumed: a device that
#     does not say its
#     Multiplier and Divisor is never relayed (the 100x / 1000x errors users of SE hubs
#     meet come from a reader assuming them);
#   - its MeterSerialNumber (the equipment identifier P1 prints), from the first report
#     after its (re)join or from the read. A report with another identifier than the one
#     known is a new meter on that address: its units are read again.
# Until then the newest reading waits (one per device) and goes out when the read answer
# completes it; each report received meanwhile asks again (a sleepy meter answers at its
# next poll; no timer needed). Devices known: RAM only, DEVICES of them; after a hub
# reboot the units are read again at the first report.
#
#   GasRelay(on_gas, send)   send(dst, dst_ep, payload, n, now) -> sends a Metering
#                            Read Attributes request from the hub's endpoint
#   report(src, src_ep, buf, off, end, now)        a Report Attributes payload
#   read_response(src, seq, buf, off, end, now) -> True when it answered our read
from micropython import const

from han.zcl import frame as zf
from han.zcl import general as zg
from han.zcl import types as zt

DEVICES = const(4)
RETRY_US = const(50000)  # a units read the APS layer refused: again this soon
_SUMMATION = const(0x0000)
_SNAPSHOT = const(0x0007)
_UOM = const(0x0300)
_MULTIPLIER = const(0x0301)
_DIVISOR = const(0x0302)
_DEVICE_TYPE = const(0x0306)
_SERIAL = const(0x0308)
READ_IDS = (_UOM, _MULTIPLIER, _DIVISOR, _DEVICE_TYPE, _SERIAL)
UOM_M3 = const(0x01)  # UnitOfMeasure, binary m3 (SE 1.4 Table D-23)
UOM_LITRES = const(0x07)
UOM_BCD = const(0x80)  # the BCD form of a unit is the unit | 0x80
GAS = const(0x01)     # MeteringDeviceType gas metering (SE 1.4 Table D-26)
SERIAL_MAX = const(24)
_EPOCH = const(946684800)  # ZCL UTCTime counts from 2000-01-01 (2.6.2.14)
_INVALID_U32 = 0xFFFFFFFF
_INVALID_U48 = 0xFFFFFFFFFFFF


class GasRelay:
    def __init__(self, on_gas, send):
        self.on_gas = on_gas
        self.send = send
        n = DEVICES
        self.short = [-1] * n
        self.ep = bytearray(n)
        self.uom = [-1] * n        # -1: not known yet
        self.mult = [-1] * n
        self.div = [-1] * n
        self.dtype = [-1] * n
        self.serial = [None] * n   # bytes of the equipment identifier
        self.raw = [-1] * n        # the reading waiting for the units (-1: none)
        self.capture = [0] * n     # its capture time, UTC s since 1970
        self.read_seq = [-1] * n
        self._next = 0             # the entry replaced when all are taken
        self._seq = 0x80
        self._h = zf.ZclHeader()
        self._rec = zg.AttrRecord()
        self._out = bytearray(16)
        self.relayed = 0
        self.refused = 0          # on_gas said no (the mailbox refused it)
        self.not_gas = 0          # readings of a device that is no gas meter in m3
        self.no_units = 0         # readings of a device that did not say its units
        self.not_bcd = 0          # BCD summations with a nibble above 9
        self.reads = 0

    def _entry(self, src, ep):
        for i in range(DEVICES):
            if self.short[i] == src:
                return i
        i = self._next
        self._next = (i + 1) % DEVICES
        self.short[i] = src
        self.ep[i] = ep
        self._forget(i)
        return i

    def forget(self, src):
        """The device at src was removed: its units are no longer known (another device
        may be given the address)."""
        for i in range(DEVICES):
            if self.short[i] == src:
                self.short[i] = -1
                self._forget(i)

    def _forget(self, i):
        self.uom[i] = self.mult[i] = self.div[i] = self.dtype[i] = -1
        self.serial[i] = None
        self.raw[i] = -1
        self.read_seq[i] = -1

    def _learn(self, i, rec, buf, reported=False):
        """An attribute record (report or read answer) that describes the device."""
        a, t = rec.attr_id, rec.type
        if a == _UOM and t == zt.ENUM8:
            self.uom[i] = rec.value
        elif a == _MULTIPLIER and t == zt.UINT24:
            self.mult[i] = rec.value
        elif a == _DIVISOR and t == zt.UINT24:
            self.div[i] = rec.value
        elif a == _DEVICE_TYPE and t == zt.BITMAP8:
            self.dtype[i] = rec.value
        elif a == _SERIAL and t == zt.OCTET_STR:
            p = rec.value_off
            n = zt.str_len(t, buf, p, rec.value_end)
            if n < 1 or n > SERIAL_MAX:
                return
            p += 1
            old = self.serial[i]
            if old is not None and len(old) == n:
                same = True
                for k in range(n):
                    if old[k] != buf[p + k]:
                        same = False
                        break
                if same:
                    return
            if old is not None and reported:
                self._forget(i)  # another meter on this address: read its units again
            self.serial[i] = bytes(buf[p:p + n])

    def report(self, src, src_ep, buf, off, end, now):
        rec = self._rec
        raw = capture = -1
        try:
            p = off
            while p < end:
                p = zg.next_attr_record(buf, p, end, rec)
                if rec.attr_id == _SUMMATION and rec.type == zt.UINT48:
                    raw = rec.value
                elif rec.attr_id == _SNAPSHOT and rec.type == zt.UTC:
                    capture = rec.value
        except ValueError:
            return  # malformed: nothing of it is used
        if raw < 0 or raw == _INVALID_U48 or capture < 0 or capture == _INVALID_U32:
            return  # no reading with its own capture time (and no entry taken for it)
        i = self._entry(src, src_ep)
        self.ep[i] = src_ep
        p = off
        while p < end:  # whole: the first pass parsed it
            p = zg.next_attr_record(buf, p, end, rec)
            self._learn(i, rec, buf, True)
        self.raw[i] = raw
        self.capture[i] = capture + _EPOCH
        self._try(i, now)

    def step(self, now):
        """The hub's periodic call: a reading waiting for its meter's units whose Read
        Attributes could not be sent (the APS layer was full) asks again now; else it
        would wait for the meter's next report and be replaced by it, never reaching P1.
        Microseconds until it wants the next call (-1: nothing waits)."""
        wait = -1
        for i in range(DEVICES):
            if self.raw[i] >= 0 and self.read_seq[i] < 0:
                self._try(i, now)
                if self.raw[i] >= 0 and self.read_seq[i] < 0:
                    wait = RETRY_US
        return wait

    def _try(self, i, now):
        if self.raw[i] < 0:
            return
        if self.dtype[i] < 0 or self.uom[i] < 0 or self.mult[i] < 0 or self.div[i] < 0 \
                or self.serial[i] is None:
            self._read(i, now)
            return
        raw = self.raw[i]
        self.raw[i] = -1
        uom = self.uom[i]
        unit = uom & ~UOM_BCD
        if self.dtype[i] != GAS or (unit != UOM_M3 and unit != UOM_LITRES):
            self.not_gas += 1
            return
        if self.mult[i] == 0 or self.div[i] == 0:
            self.no_units += 1
            return
        if uom & UOM_BCD:
            raw = _from_bcd(raw)
            if raw < 0:
                self.not_bcd += 1
                return
        litres = raw * self.mult[i] * (1000 if unit == UOM_M3 else 1) // self.div[i]
        if self.on_gas is not None and self.on_gas(litres, self.capture[i], self.serial[i]):
            self.relayed += 1
        else:
            self.refused += 1

    def _read(self, i, now):
        out = self._out
        self._seq = (self._seq + 1) & 0xFF
        zf.set_header(self._h, zf.FT_GLOBAL, zf.TO_SERVER, self._seq, zg.READ_ATTRIBUTES)
        n = zg.build_read_attributes(out, zf.build(self._h, out, 0), READ_IDS)
        if self.send(self.short[i], self.ep[i], out, n, now):
            self.read_seq[i] = self._seq
            self.reads += 1

    def read_response(self, src, seq, buf, off, end, now):
        i = -1
        for k in range(DEVICES):
            if self.short[k] == src and self.read_seq[k] == seq:
                i = k
        if i < 0:
            return False
        self.read_seq[i] = -1
        rec = self._rec
        try:
            p = off
            while p < end:
                p = zg.next_read_record(buf, p, end, rec)
                if rec.status != zg.SUCCESS:
                    # Not supported: the device does not say it, and it is never assumed
                    # (0 / 0xFF: known to be unusable, as a Divisor of 0 would be).
                    a = rec.attr_id
                    if a == _MULTIPLIER:
                        self.mult[i] = 0
                    elif a == _DIVISOR:
                        self.div[i] = 0
                    elif a == _UOM:
                        self.uom[i] = 0xFF
                    elif a == _DEVICE_TYPE:
                        self.dtype[i] = 0xFF
                    continue
                self._learn(i, rec, buf)
        except ValueError:
            return True
        if self.serial[i] is None:
            self.raw[i] = -1  # no identifier: P1 cannot name the meter; dropped
            self.no_units += 1
            return True
        self._try(i, now)
        return True


def _from_bcd(v):
    """The value of a BCD-coded summation (a decimal digit per nibble), -1 if a nibble is
    not a digit."""
    out = 0
    scale = 1
    while v:
        d = v & 0xF
        if d > 9:
            return -1
        out += d * scale
        scale *= 10
        v >>= 4
    return out
