# Units of the Metering cluster, decided in one place (SE 1.4 Metering, Formatting attribute
# set: UnitOfMeasure 0x0300, Multiplier 0x0301, Divisor 0x0302, SummationFormatting
# 0x0303, DemandFormatting 0x0304, HistoricalConsumptionFormatting 0x0305), and the one
# rule every reader applies: shown value = raw x Multiplier / Divisor, printed with the
# formatting's digits.
#
# A formatting bitmap8: bits 0-2 digits right of the decimal point, bits 3-6 digits left of
# it, bit 7 suppress leading zeros. The units below match P1 digit for digit (DSMR 5.0.2
# Table 6-3): energy F9(3,3) kWh from Wh, power F5(3,3) kW from W, gas F8(3,3) m3 (F8(2,2)
# for meters above G6); leading zeros are kept, as P1 prints them, so display() of an
# attribute is the very string of the P1 line.
#
#   electricity() / gas(decimals) -> Units; display(raw, multiplier, divisor, formatting)
#   -> str; put_display(buf, pos, ...) -> end writes it into a caller buffer.
from micropython import const

# UnitOfMeasure (enum8), binary forms.
UOM_KWH = const(0x00)   # kWh and kW
UOM_M3 = const(0x01)    # m3 and m3/h

_ZERO = const(0x30)
_POINT = const(0x2E)
_MINUS = const(0x2D)


def formatting(left, right, suppress_leading_zeros=False):
    """The formatting bitmap8 of left integer digits (0-15) and right decimals (0-7)."""
    if not (0 <= left <= 15 and 0 <= right <= 7):
        raise ValueError("formatting digits out of range")
    return right | (left << 3) | (0x80 if suppress_leading_zeros else 0)


class Units:
    """How one meter's Metering attributes are to be read; the server publishes these
    fields as its Formatting attributes."""

    def __init__(self, unit_of_measure, multiplier, divisor, summation_fmt, demand_fmt,
                 history_fmt):
        if not (1 <= multiplier <= 0xFFFFFF and 1 <= divisor <= 0xFFFFFF):
            raise ValueError("Multiplier and Divisor are 1..2**24-1")
        self.unit_of_measure = unit_of_measure
        self.multiplier = multiplier
        self.divisor = divisor
        self.summation_fmt = summation_fmt
        self.demand_fmt = demand_fmt
        self.history_fmt = history_fmt


def electricity():
    """Sources in Wh (summations, day/week/month) and W (demand): Divisor 1000 gives kWh
    and kW with three decimals: F9(3,3) kWh and F5(3,3) kW as P1 prints them."""
    return Units(UOM_KWH, 1, 1000, formatting(6, 3), formatting(2, 3), formatting(6, 3))


def gas(decimals=3):
    """Sources in 10**-decimals m3 (and m3/h): G4/G6 meters read in litres, F8(3,3) m3;
    larger ones in 10 L steps, F8(2,2) (DSMR 5.0.2 Table 6-3 note 2)."""
    if decimals not in (2, 3):
        raise ValueError("gas resolution: 2 or 3 decimals")
    d = 10 ** decimals
    return Units(UOM_M3, 1, d, formatting(8 - decimals, decimals),
                 formatting(3, decimals), formatting(8 - decimals, decimals))


def put_display(buf, pos, raw, multiplier, divisor, fmt):
    """Write raw x multiplier / divisor as the formatting fmt shows it (rounded half away
    from zero to its decimals, as P1 rounds); return the end. A value wider than the
    formatting's left digits keeps all its digits."""
    if divisor <= 0 or multiplier <= 0:
        raise ValueError("Multiplier and Divisor must be positive")
    right = fmt & 7
    left = (fmt >> 3) & 15
    suppress = fmt & 0x80
    scaled = raw * multiplier * 10 ** right
    half = divisor // 2
    q = (scaled + half) // divisor if scaled >= 0 else -((half - scaled) // divisor)
    if q < 0:
        buf[pos] = _MINUS
        pos += 1
        q = -q
    digits = 1
    while q >= 10 ** digits:
        digits += 1
    width = digits if digits > right else right + 1   # at least one integer digit
    if not suppress and width < left + right:
        width = left + right
    end = pos + width + (1 if right else 0)
    p = end - 1
    for i in range(width):
        if i == right and right:
            buf[p] = _POINT
            p -= 1
        buf[p] = _ZERO + q % 10
        q //= 10
        p -= 1
    return end


def display(raw, multiplier, divisor, fmt):
    """The shown value of a raw attribute as text, e.g. display(123456, 1, 1000, 0x33)
    is '000123.456'."""
    buf = bytearray(48)
    n = put_display(buf, 0, raw, multiplier, divisor, fmt)
    return bytes(buf[:n]).decode()
