# Metering cluster server 0x0702 (SE 1.4, Metering cluster; attribute ids as zigpy's
# smartenergy.Metering and tshark's packet-zbee-zcl-se.c list them). One server for the
# electricity meter (the hub), the gas meter and the hub's mirror of the gas meter: what
# it serves comes from a duck-typed source, how to read it from units.Units.
#
#   MeteringServer(source, units, device_type=DEVICE_ELECTRIC)
#
# The source (sources.py has the registers' ones):
#   source.directions        1: delivered only; 2: received (export) too
#   source.summation(d)      d 0 delivered / 1 received, in the units' raw unit
#   source.tier_count        tariffs served as CurrentTierN (0: none); source.tier(n, d)
#   optional, each attribute present only when the source has it:
#   source.demand()          signed, in the demand's raw unit (W): InstantaneousDemand
#   source.status()          bitmap8 Status (else always 0: no fault known)
#   source.capture_utc()     UTC s since 1970 when the summation was read: the capture
#                            time (ReadingSnapShotTime 0x0007: SE's time at which the
#                            summations were last updated)
#   source.consumption(p)    p = DAY, PREVIOUS_DAY, WEEK, MONTH: delivered in that period
# A value of None is sent as its type's invalid value (Table 2-10: all ones; int24
# 0x800000): "no value" rather than a wrong one. Values past a 24-bit type are clamped below
# its invalid value. Everything is read only and reportable except the unit attributes.
from micropython import const

from han.se.server import ClusterServer
from han.zcl import dispatch as zd
from han.zcl import types as zt

CLUSTER = const(0x0702)

# Reading Information set.
CURRENT_SUMMATION_DELIVERED = const(0x0000)
CURRENT_SUMMATION_RECEIVED = const(0x0001)
READING_SNAPSHOT_TIME = const(0x0007)
# TOU Information set: CurrentTierN: delivered 0x0100 + 2(N-1), received 0x0101 + 2(N-1).
TIER_BASE = const(0x0100)
# Meter Status set.
STATUS = const(0x0200)
# Formatting set.
UNIT_OF_MEASURE = const(0x0300)
MULTIPLIER = const(0x0301)
DIVISOR = const(0x0302)
SUMMATION_FORMATTING = const(0x0303)
DEMAND_FORMATTING = const(0x0304)
HISTORICAL_CONSUMPTION_FORMATTING = const(0x0305)
METERING_DEVICE_TYPE = const(0x0306)
# Historical Consumption set.
INSTANTANEOUS_DEMAND = const(0x0400)
CURRENT_DAY_CONSUMPTION_DELIVERED = const(0x0401)
PREVIOUS_DAY_CONSUMPTION_DELIVERED = const(0x0403)
CURRENT_WEEK_CONSUMPTION_DELIVERED = const(0x0430)
CURRENT_MONTH_CONSUMPTION_DELIVERED = const(0x0440)

# MeteringDeviceType (bitmap8 on air, an enumeration in effect): + 0x7F = mirrored.
DEVICE_ELECTRIC = const(0x00)
DEVICE_GAS = const(0x01)
DEVICE_MIRRORED_GAS = const(0x80)

# Status bits (bitmap8, electricity/gas meters).
STATUS_CHECK_METER = const(0x01)
STATUS_LOW_BATTERY = const(0x02)
STATUS_TAMPER = const(0x04)
STATUS_POWER_FAILURE = const(0x08)
STATUS_POWER_QUALITY = const(0x10)
STATUS_LEAK = const(0x20)
STATUS_SERVICE_DISCONNECT = const(0x40)

# source.consumption periods.
DAY = const(0)
PREVIOUS_DAY = const(1)
WEEK = const(2)
MONTH = const(3)

MAX_TIERS = const(48)   # CurrentTier1..48 (0x0100..0x015F)

_INVALID_U48 = 0xFFFFFFFFFFFF
_INVALID_U32 = 0xFFFFFFFF
_INVALID_U24 = const(0xFFFFFF)
_INVALID_S24 = const(-0x800000)
_EPOCH = const(946684800)   # ZCL UTCTime counts from 2000-01-01 (2.6.2.14)


def _summation(fn, d):
    def get():
        v = fn(d)
        return _INVALID_U48 if v is None else v
    return get


def _tier(fn, n, d):
    def get():
        v = fn(n, d)
        return _INVALID_U48 if v is None else v
    return get


def _u24(fn, arg):
    def get():
        v = fn(arg)
        if v is None:
            return _INVALID_U24
        return v if v < _INVALID_U24 else _INVALID_U24 - 1
    return get


def _u32(fn, arg):
    def get():
        v = fn(arg)
        if v is None:
            return _INVALID_U32
        return v if v < _INVALID_U32 else _INVALID_U32 - 1
    return get


def _demand(fn):
    def get():
        v = fn()
        if v is None:
            return _INVALID_S24
        if v > 0x7FFFFF:
            return 0x7FFFFF
        return v if v > _INVALID_S24 else _INVALID_S24 + 1
    return get


def _capture(fn):
    def get():
        v = fn()
        return _INVALID_U32 if v is None else v - _EPOCH
    return get


class MeteringServer(ClusterServer):
    def __init__(self, source, units, device_type=DEVICE_ELECTRIC):
        self.source = source
        self.units = units
        self.device_type = device_type
        rr = zd.READ | zd.REPORT
        r = zd.READ
        s = source
        attrs = [zd.Attr(CURRENT_SUMMATION_DELIVERED, zt.UINT48, rr,
                         getter=_summation(s.summation, 0))]
        if s.directions > 1:
            attrs.append(zd.Attr(CURRENT_SUMMATION_RECEIVED, zt.UINT48, rr,
                                 getter=_summation(s.summation, 1)))
        if s.tier_count > MAX_TIERS:
            raise ValueError("at most 48 tiers")
        for n in range(1, s.tier_count + 1):
            for d in range(s.directions):
                attrs.append(zd.Attr(TIER_BASE + 2 * (n - 1) + d, zt.UINT48, rr,
                                     getter=_tier(s.tier, n, d)))
        if hasattr(s, "capture_utc"):
            attrs.append(zd.Attr(READING_SNAPSHOT_TIME, zt.UTC, rr,
                                 getter=_capture(s.capture_utc)))
        if hasattr(s, "status"):
            attrs.append(zd.Attr(STATUS, zt.BITMAP8, rr, getter=s.status))
        else:
            attrs.append(zd.Attr(STATUS, zt.BITMAP8, rr, value=0))
        attrs += [
            zd.Attr(UNIT_OF_MEASURE, zt.ENUM8, r, value=units.unit_of_measure),
            zd.Attr(MULTIPLIER, zt.UINT24, r, value=units.multiplier),
            zd.Attr(DIVISOR, zt.UINT24, r, value=units.divisor),
            zd.Attr(SUMMATION_FORMATTING, zt.BITMAP8, r, value=units.summation_fmt),
            zd.Attr(METERING_DEVICE_TYPE, zt.BITMAP8, r, value=device_type),
        ]
        if hasattr(s, "demand"):
            attrs.append(zd.Attr(DEMAND_FORMATTING, zt.BITMAP8, r, value=units.demand_fmt))
            attrs.append(zd.Attr(INSTANTANEOUS_DEMAND, zt.INT24, rr,
                                 getter=_demand(s.demand)))
        if hasattr(s, "consumption"):
            c = s.consumption
            attrs += [
                zd.Attr(HISTORICAL_CONSUMPTION_FORMATTING, zt.BITMAP8, r,
                        value=units.history_fmt),
                zd.Attr(CURRENT_DAY_CONSUMPTION_DELIVERED, zt.UINT24, rr,
                        getter=_u24(c, DAY)),
                zd.Attr(PREVIOUS_DAY_CONSUMPTION_DELIVERED, zt.UINT24, rr,
                        getter=_u24(c, PREVIOUS_DAY)),
                zd.Attr(CURRENT_WEEK_CONSUMPTION_DELIVERED, zt.UINT24, rr,
                        getter=_u24(c, WEEK)),
                zd.Attr(CURRENT_MONTH_CONSUMPTION_DELIVERED, zt.UINT32, rr,
                        getter=_u32(c, MONTH)),
            ]
        ClusterServer.__init__(self, CLUSTER, zd.AttrTable(attrs))
