# The simulated gas meter's volume register (issue 12, the gas meter role): what a G4
# diaphragm meter's index would count, driven by a deterministic consumption scenario, so
# that a host or emulated gas meter has a real, growing register to report.
#
# Scenario: a rate in millilitres per second for each local hour of the day (PROFILE: a
# heated house in winter, heating in the morning and the evening, little at night),
# scaled per local day by a factor k/8, k = 6..10 drawn from the seed (day_factor: a
# 15-bit LCG over the seed and the local day number, the same on every runtime). Rates are
# whole ml/s, so the volume between two instants is an exact sum of rate x seconds over
# the whole UTC hours between them: advancing in one step or in many gives the same
# litres, and the register is a pure function of time from its anchor (litres, utc).
# Local hours come from the Time client's zone and DST (whole-hour offsets, as every EU
# zone: a local hour then starts on a UTC hour).
#
# The register only grows: advance(utc) with a time before its own is ignored. It is
# anchored at the first synced time (nothing is counted before the meter knows the time of
# day), then kept in the record store: (litres, ml, utc) saved at the anchor and then at
# most once per SAVE_EVERY_S (24 flash writes a day). After a reboot it resumes from the
# saved point and counts forward to the new time: the gas that flowed meanwhile is counted
# as the scenario says (the index of a real meter runs without its radio CPU), so a value
# reported after a reboot is never below one reported before it.
#
#   r = GasRegister(store=None, start_litres=0, seed=1, profile=PROFILE)
#   r.load() -> True when a saved register was restored
#   r.advance(utc, local_of) -> litres at utc (the first call anchors the register there)
#   r.rate_mls(local) -> ml/s at a local time (seconds since 1970, local)
import struct

from micropython import const

# ml/s per local hour 0..23 (x 3.6 = litres per hour): 6 267.6 L a day at k = 8.
PROFILE = (3, 3, 3, 3, 3, 8, 150, 260, 180, 60, 30, 30,
           40, 30, 30, 30, 60, 150, 220, 200, 140, 70, 30, 8)
SAVE_EVERY_S = const(3600)
LITRES_MAX = const(99999999)  # F8(3,3) m3 shows 99 999.999 m3; the index rolls over there
_HOUR = const(3600)
_DAY = const(86400)
_KIND = const(0xB8)  # record kind in the record store (han: 0xB0 network, 0xB1 counters)
_MAGIC = const(0x47)  # "G"
_FMT = "<BBIHI"  # magic, version 1, litres, ml (0..999), utc of the value
_RECORD = const(12)


def day_factor(seed, day):
    """k in 6..10 (the day's consumption is k/8 of the profile) for a local day number
    (local seconds // 86400): x = (seed ^ day * 7919) & 0x7FFF, then twice
    x = (x * 25173 + 13849) & 0x7FFF; k = 6 + x % 5. Small ints on 32-bit ports."""
    x = (seed ^ (day * 7919)) & 0x7FFF
    x = (x * 25173 + 13849) & 0x7FFF
    x = (x * 25173 + 13849) & 0x7FFF
    return 6 + x % 5


class GasRegister:
    def __init__(self, store=None, start_litres=0, seed=1, profile=PROFILE):
        if not 0 <= start_litres <= LITRES_MAX:
            raise ValueError("gas register: 0 .. 99 999 999 litres")
        if len(profile) != 24:
            raise ValueError("gas profile: 24 hourly rates")
        for v in profile:
            if not 0 <= v <= 10000:
                raise ValueError("gas profile: 0 .. 10 000 ml/s")
        self.seed = seed & 0x7FFF
        self.profile = profile
        self.litres = start_litres
        self.ml = 0           # the litre in progress, 0..999 ml
        self.utc = 0          # the time the value belongs to (0: not anchored yet)
        self._saved_utc = 0
        self._slots = store.slots("gasreg", _KIND, _RECORD) if store is not None else None
        self._buf = bytearray(_RECORD)
        self.saves = 0
        self.save_errors = 0
        self.at_limit = False

    def load(self):
        if self._slots is None:
            return False
        buf = self._buf
        if self._slots.load(buf) != _RECORD:
            return False
        magic, version, litres, ml, utc = struct.unpack_from(_FMT, buf, 0)
        if magic != _MAGIC or version != 1 or litres > LITRES_MAX or ml > 999 or utc == 0:
            return False  # not ours: start afresh rather than invent a value
        self.litres = litres
        self.ml = ml
        self.utc = utc
        self._saved_utc = utc
        return True

    def rate_mls(self, local):
        k = day_factor(self.seed, local // _DAY)
        return self.profile[(local // _HOUR) % 24] * k // 8

    def advance(self, utc, local_of):
        """Count up to utc (UTC seconds since 1970); local_of(utc) -> local seconds.
        Returns the litres."""
        t = self.utc
        if t == 0:
            self.utc = utc
            self._save()
            return self.litres
        if utc <= t:
            return self.litres  # never backwards
        ml = self.ml
        litres = self.litres
        while t < utc:
            e = (t // _HOUR + 1) * _HOUR
            if e > utc:
                e = utc
            ml += self.rate_mls(local_of(t)) * (e - t)
            if ml >= 1000:
                litres += ml // 1000
                ml %= 1000
            t = e
        if litres > LITRES_MAX:  # end of the index's scale: it stops, never wraps back
            litres = LITRES_MAX
            ml = 0
            self.at_limit = True
        self.litres = litres
        self.ml = ml
        self.utc = utc
        if utc - self._saved_utc >= SAVE_EVERY_S:
            self._save()
        return litres

    def _save(self):
        if self._slots is None:
            return
        struct.pack_into(_FMT, self._buf, 0, _MAGIC, 1, self.litres, self.ml, self.utc)
        try:
            self._slots.save(self._buf, _RECORD)
        except OSError:
            self.save_errors += 1  # kept in RAM; written at the next chance
            return
        self._saved_utc = self.utc
        self.saves += 1
