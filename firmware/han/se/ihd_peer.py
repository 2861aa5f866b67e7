# One metering endpoint of the hub as the in-home display (ihd.py) knows it: the
# formatting set it read once, the values it shows (raw, as the server sent them), and the
# Configure Reporting frame that subscribes to them (ZCL revision 6, 07-5123, 2.5.7; SE 1.4
# Metering attributes as han/se/metering.py names them).
#
#   p = Peer(); p.clear(endpoint)
#   p.take(attr_id, value) -> True when a shown value changed (a Read Attributes Response
#       record or a Report Attributes record); allocates nothing for small-int values
#   build_configure(p, out, off) -> end offset (off: nothing to subscribe to); sets
#       p.watch_s, twice the shortest maximum interval: reports silent that long mean the
#       subscription is gone
#   p.show(raw, fmt) -> the text units.display gives (P1's digits), None for no value
#   DayCost: today's cost as the day's consumption grows, at the price in force then
#   view(display) -> the dict ihd.Display.view() returns (allocates: not for reports)
from micropython import const

from han.se import metering as mt
from han.se import units
from han.zcl import reporting as zr
from han.zcl import types as zt

KIND_NONE = const(0)
KIND_ELECTRIC = const(1)
KIND_GAS = const(2)

# Peer states: each request state is followed by its waiting state (+1).
P_READ = const(0)
P_READING = const(1)
P_CONFIG = const(2)
P_CONFIGURING = const(3)
P_SUBSCRIBED = const(4)
P_IDLE = const(5)        # refused us, or not a meter we show

# What a server has (bits of Peer.have): it answered the attribute, value or not.
H_SUMMATION = const(1)
H_DEMAND = const(2)
H_DAY = const(4)
H_SNAPSHOT = const(8)

# (min s, max s, reportable change) per subscribed attribute (2.5.7.1): the demand at
# P1's resolution (1 W) once a second at most; the summations at 1 Wh / 1 L.
DEMAND_REPORTING = (1, 30, 1)
SUMMATION_REPORTING = (5, 60, 1)
DAY_REPORTING = (5, 300, 1)
GAS_REPORTING = (1, 900, 1)       # the mirror changes when the gas meter reports (5 min)

# The one Read Attributes each endpoint gets: formatting, device type and the values.
READ_ATTRS = (mt.UNIT_OF_MEASURE, mt.MULTIPLIER, mt.DIVISOR, mt.SUMMATION_FORMATTING,
              mt.DEMAND_FORMATTING, mt.HISTORICAL_CONSUMPTION_FORMATTING,
              mt.METERING_DEVICE_TYPE, mt.CURRENT_SUMMATION_DELIVERED,
              mt.INSTANTANEOUS_DEMAND, mt.CURRENT_DAY_CONSUMPTION_DELIVERED,
              mt.READING_SNAPSHOT_TIME)

# Invalid values (ZCL Table 2-10): the server has no value.
_INVALID_U48 = 0xFFFFFFFFFFFF
_INVALID_U32 = 0xFFFFFFFF
_INVALID_U24 = const(0xFFFFFF)
_INVALID_S24 = const(-0x800000)
_MIRROR = const(127)     # MeteringDeviceType 127 + n: the mirror of a meter of type n
_COST_SCALE = const(7)   # the cost is kept in Wh x 10**-7 currency per kWh
_ZCL_EPOCH_UNIX = const(946684800)


class Peer:
    """Raw values are None when the server has none or sent its invalid value."""

    def __init__(self):
        self.clear(0)

    def clear(self, ep):
        self.ep = ep
        self.kind = KIND_NONE
        self.state = P_READ
        self.seq = -1
        self.sent = 0            # ticks of the request in flight
        self.heard_s = 0         # display seconds of the last frame from it
        self.watch_s = 0
        self.have = 0
        self.uom = 0
        self.mult = 1
        self.div = 1
        self.sfmt = 0
        self.dfmt = 0
        self.hfmt = 0
        self.summation = None
        self.demand = None
        self.day = None
        self.snapshot = None     # ZCL UTC (seconds since 2000)

    def take(self, a, v):
        if a == mt.CURRENT_SUMMATION_DELIVERED:
            v = None if v == _INVALID_U48 else v
            old = self.summation
            self.summation = v
            self.have |= H_SUMMATION
        elif a == mt.INSTANTANEOUS_DEMAND:
            v = None if v == _INVALID_S24 else v
            old = self.demand
            self.demand = v
            self.have |= H_DEMAND
        elif a == mt.CURRENT_DAY_CONSUMPTION_DELIVERED:
            v = None if v == _INVALID_U24 else v
            old = self.day
            self.day = v
            self.have |= H_DAY
        elif a == mt.READING_SNAPSHOT_TIME:
            v = None if v == _INVALID_U32 else v
            old = self.snapshot
            self.snapshot = v
            self.have |= H_SNAPSHOT
        else:
            if a == mt.UNIT_OF_MEASURE:
                self.uom = v
            elif a == mt.MULTIPLIER:
                self.mult = v if v > 0 else 1
            elif a == mt.DIVISOR:
                self.div = v if v > 0 else 1
            elif a == mt.SUMMATION_FORMATTING:
                self.sfmt = v
            elif a == mt.DEMAND_FORMATTING:
                self.dfmt = v
            elif a == mt.HISTORICAL_CONSUMPTION_FORMATTING:
                self.hfmt = v
            elif a == mt.METERING_DEVICE_TYPE:
                k = v - _MIRROR if v >= _MIRROR else v
                self.kind = KIND_ELECTRIC if k == mt.DEVICE_ELECTRIC else (
                    KIND_GAS if k == mt.DEVICE_GAS else KIND_NONE)
            return False
        return old != v

    def show(self, raw, fmt):
        return None if raw is None else units.display(raw, self.mult, self.div, fmt)


def _record(p, out, q, bit, attr, typ, cfg):
    if not p.have & bit:
        return q
    if cfg[1] * 2 < p.watch_s:
        p.watch_s = cfg[1] * 2
    return zr.put_report_config(out, q, attr, typ, cfg[0], cfg[1], cfg[2])


def build_configure(p, out, off):
    """Configure Reporting records of what p has and the display shows, from out[off]."""
    p.watch_s = 0x20000
    q = off
    if p.kind == KIND_ELECTRIC:
        q = _record(p, out, q, H_DEMAND, mt.INSTANTANEOUS_DEMAND, zt.INT24, DEMAND_REPORTING)
        q = _record(p, out, q, H_SUMMATION, mt.CURRENT_SUMMATION_DELIVERED, zt.UINT48,
                    SUMMATION_REPORTING)
        q = _record(p, out, q, H_DAY, mt.CURRENT_DAY_CONSUMPTION_DELIVERED, zt.UINT24,
                    DAY_REPORTING)
    elif p.kind == KIND_GAS:
        q = _record(p, out, q, H_SUMMATION, mt.CURRENT_SUMMATION_DELIVERED, zt.UINT48,
                    GAS_REPORTING)
        q = _record(p, out, q, H_SNAPSHOT, mt.READING_SNAPSHOT_TIME, zt.UTC, GAS_REPORTING)
    return q


class DayCost:
    """Today's cost: each growth of the day's consumption (Wh) costed at the price in
    force when it was seen; a drop of the consumption is a new day. The consumption
    before the first price known is costed at that price."""

    def __init__(self):
        self.rate = -1          # the price in 10**-7 currency per kWh; -1: none yet
        self.total = 0          # Wh x rate
        self.day = None         # the consumption costed so far

    def price(self, price, trailing_digit, day):
        if day is not None:
            self.add(day)       # what was used until now, at the old price
        self.rate = price * 10 ** (_COST_SCALE - trailing_digit) \
            if trailing_digit <= _COST_SCALE else 0
        if day is not None and self.day is None:
            self.add(day)

    def add(self, day):
        if self.rate < 0:
            return
        base = self.day
        self.day = day
        if base is None or day < base:
            self.total = day * self.rate
        else:
            self.total += (day - base) * self.rate

    def text(self):
        """Currency with two decimals (the minor unit of EUR), or None."""
        if self.day is None:
            return None
        return units.display(self.total, 1, 10 ** (_COST_SCALE + 3), units.formatting(1, 2, True))


def _text(octets):
    """A ZCL string as text (UTF-8, ZCL 07-5123 2.6.2): a hub that sends other octets
    gets them shown as '?', the rest of the view unharmed."""
    try:
        return octets.decode()
    except ValueError:  # UnicodeError (MicroPython), UnicodeDecodeError (CPython)
        return "".join([chr(b) if 0x20 <= b < 0x7F else "?" for b in octets])


def view(d):
    e, g = d.elec, d.gas
    t = d.time
    v = {"kw": None, "kwh": None, "kwh_today": None, "gas_m3": None, "gas_captured": None,
         "tier": d.tier, "price": None, "currency": None, "rate_label": None,
         "cost_today": None, "message": None, "message_id": None,
         "utc": t.utc(d.secs) if t.synced else None}
    if e is not None:
        v["kw"] = e.show(e.demand, e.dfmt)
        v["kwh"] = e.show(e.summation, e.sfmt)
        v["kwh_today"] = e.show(e.day, e.hfmt)
    if g is not None:
        v["gas_m3"] = g.show(g.summation, g.sfmt)
        if g.snapshot is not None:
            v["gas_captured"] = g.snapshot + _ZCL_EPOCH_UNIX
    pp = d.pp
    if d.price is not None:
        td = pp.trailing_digit
        v["price"] = units.display(pp.price, 1, 10 ** td, units.formatting(1, min(td, 7), True))
        v["currency"] = pp.currency
        v["rate_label"] = _text(bytes(pp.label[:pp.label_len]))
        v["cost_today"] = d.cost.text()
    m = d.msg
    if m.shown:
        v["message"] = _text(bytes(m.message.text[:m.message.text_len]))
        v["message_id"] = m.message.message_id
    return v
