# Calibration: per phase, the gains of the voltage and current channels, the current
# channel's RMS noise floor (subtracted in quadrature), and the phase by which the voltage
# must be delayed to line up with the current (sensor phase error and sampling skew that the
# configuration does not already account for).
#
# Procedure (docs/metrology.md): with the meter uncalibrated (unity gains, zero phase),
#   1. apply a reference of known Vref, Iref at PF 1 for a few periods: gain_points() gives
#      the voltage and current gains from the measured Vrms, Irms;
#   2. apply the same at PF 0.5 inductive (current lagging 60 degrees): phase_point() gives
#      the phase correction from the measured P and S;
#   3. with the current input open, noise_point() gives the current noise floor.
# The record is stored with a CRC-32 (encode/decode); writing it is reserved to the
# authenticated configuration path (registers.config), never H1 or the HAN.
import math
import struct

from native.crc32 import crc32

_MAGIC = b"CAL1"
# Accepted ranges (issue 10 item 4; docs/registers.md "Configuration"): a front end whose gain is off by
# more than a factor 2 is a wiring or part fault, not something to calibrate away; a
# sensor/sampling phase error beyond 10 degrees likewise. The noise floor is subtracted in
# quadrature from Irms: above 1 A it would hide real load (a 5(60) A meter starts at 20 mA).
GAIN_MIN = 0.5
GAIN_MAX = 2.0
PHASE_MAX_DEG = 10.0
NOISE_MAX_A = 1.0
_PHASE_FMT = "<ffff"  # v_gain, i_gain, phase_deg, i_noise_a
_PHASE_SIZE = struct.calcsize(_PHASE_FMT)


class PhaseCalibration:
    def __init__(self, v_gain=1.0, i_gain=1.0, phase_deg=0.0, i_noise_a=0.0):
        self.v_gain = v_gain
        self.i_gain = i_gain
        self.phase_deg = phase_deg
        self.i_noise_a = i_noise_a


class Calibration:
    def __init__(self, phases=1):
        self.phases = [PhaseCalibration() for _ in range(phases)]

    def range_error(self, phases):
        """None when every value is usable on a meter of `phases` phases, else what is
        wrong (the configuration path refuses the whole record then)."""
        if len(self.phases) != phases:
            return "calibration is for %d phases, the meter has %d" % (len(self.phases),
                                                                       phases)
        for k, p in enumerate(self.phases):
            for value in (p.v_gain, p.i_gain, p.phase_deg, p.i_noise_a):
                if not math.isfinite(value):
                    return "phase %d: value not finite" % (k + 1)
            if not (GAIN_MIN <= p.v_gain <= GAIN_MAX and GAIN_MIN <= p.i_gain <= GAIN_MAX):
                return "phase %d: gain outside %.1f .. %.1f" % (k + 1, GAIN_MIN, GAIN_MAX)
            if not -PHASE_MAX_DEG <= p.phase_deg <= PHASE_MAX_DEG:
                return "phase %d: phase outside +-%.0f deg" % (k + 1, PHASE_MAX_DEG)
            if not 0.0 <= p.i_noise_a <= NOISE_MAX_A:
                return "phase %d: noise floor outside 0 .. %.1f A" % (k + 1, NOISE_MAX_A)
        return None

    def encode(self):
        """Bytes: magic, phase count, per phase four float32, CRC-32 of all before it."""
        body = bytearray(_MAGIC)
        body.append(len(self.phases))
        for p in self.phases:
            body.extend(struct.pack(_PHASE_FMT, p.v_gain, p.i_gain, p.phase_deg, p.i_noise_a))
        body.extend(struct.pack("<I", crc32(body)))
        return bytes(body)

    @staticmethod
    def decode(data):
        """The calibration in data; ValueError if it is not a whole, intact record."""
        if len(data) < 9 or bytes(data[:4]) != _MAGIC:
            raise ValueError("not a calibration record")
        count = data[4]
        size = 5 + count * _PHASE_SIZE
        if count < 1 or len(data) != size + 4:
            raise ValueError("calibration record has the wrong length")
        if struct.unpack("<I", bytes(data[size:size + 4]))[0] != crc32(data[:size]):
            raise ValueError("calibration record fails its CRC")
        cal = Calibration(count)
        for k in range(count):
            at = 5 + k * _PHASE_SIZE
            v, i, ph, noise = struct.unpack(_PHASE_FMT, bytes(data[at:at + _PHASE_SIZE]))
            cal.phases[k] = PhaseCalibration(v, i, ph, noise)
        return cal


_KIND = 0x80  # record kind in the registers' record store


class CalibrationStore:
    """The calibration record kept in the registers' record store (two slots, sequence and
    CRC-32, registers/store.py); written only through the configuration path."""

    def __init__(self, record_store, phases):
        self._slots = record_store.slots("calibration", _KIND, 5 + 4 * _PHASE_SIZE + 4)
        self._phases = phases

    def load(self):
        """The stored calibration, or None (a meter never calibrated, or a record that does
        not fit this meter's phases or holds values out of range, e.g. one stored before
        the configuration path checked them)."""
        buf = bytearray(5 + 4 * _PHASE_SIZE + 4)
        n = self._slots.load(buf)
        if n < 0:
            return None
        try:
            cal = Calibration.decode(buf[:n])
        except ValueError:
            return None
        return cal if cal.range_error(self._phases) is None else None

    def save(self, cal):
        data = cal.encode()
        self._slots.save(data, len(data))


def gain_point(phase_cal, measured_vrms, measured_irms, v_ref, i_ref):
    """Step 1: scale the gains so that the measured RMS values become the reference's."""
    if measured_vrms <= 0 or measured_irms <= 0:
        raise ValueError("no signal measured: check the reference source")
    phase_cal.v_gain *= v_ref / measured_vrms
    phase_cal.i_gain *= i_ref / measured_irms


def phase_point(phase_cal, measured_p, measured_s, ref_angle_deg=60.0):
    """Step 2: at a reference current lag of ref_angle_deg (PF 0.5 inductive), the measured
    angle acos(P/S) differs from it by the uncorrected phase error; add that to phase_deg."""
    if measured_s <= 0:
        raise ValueError("no signal measured: check the reference source")
    pf = max(-1.0, min(1.0, measured_p / measured_s))
    measured_angle = math.degrees(math.acos(pf))
    # The voltage is delayed by phase_deg: a measured lag larger than the reference means the
    # current arrives late relative to the voltage, so delay the voltage more.
    phase_cal.phase_deg += measured_angle - ref_angle_deg


def noise_point(phase_cal, measured_irms_open):
    """Step 3: the RMS reading with no current is the noise floor (in calibrated amps)."""
    phase_cal.i_noise_a = measured_irms_open
