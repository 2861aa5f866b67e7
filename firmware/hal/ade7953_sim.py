# A fake ADE7953 on a fake SPI bus, for the tests and the simulated boards (never frozen on
# a real board). It behaves as the ADE7953 data sheet describes the chip on the bus; the
# driver (hal/ade7953.py) knows nothing of it. What it models, from the data sheet:
# - frames: CS low, 16-bit address, command byte 0x80 (read) / 0x00 (write), data MSB first,
#   width by address range (0x0xx 8, 0x1xx 16, 0x2xx 24, 0x3xx 32 bits; VERSION 0x702 and
#   EX_REF 0x800 8 bits); any other command byte does nothing; a write takes effect when
#   its last data byte has arrived, a frame cut short writes nothing;
# - 0x3xx is the 32-bit path to the 0x2xx locations: reads sign-extend the signed registers,
#   writes keep the low 24 bits; read-only registers ignore writes; WRITE_PROTECT (0x040)
#   bits 0/1/2 lock the 8/16/24-32-bit registers;
# - register 0x120 takes a write only right after the key 0xAD was written to 0xFE (the
#   next frame locks it again); `optimum` tells whether 0x120 holds the required 0x30;
# - CONFIG bit 7 (SWRST) and brownout(): every register back to its default, accumulators
#   at zero, IRQSTATA bit RESET set;
# - AENERGYx / RENERGYx / APENERGYx: 24-bit signed accumulators that wrap (overflow flags
#   AEOFx etc., half-full flags AEHFx at 2**22), cleared by a read when LCYCMODE bit 6
#   (RSTREAD) is set; counts accrue at P / (energy per count) with fractions carried;
# - no-load: with X in xx_NOLOAD, energy stops accruing below full scale / (1.4 (65536 - X))
#   (DISNOLOAD bits 0..2 switch it off), the unlatched ACCMODE bits 16..21 and the latched
#   IRQSTATx bits 6..8 show it;
# - gains: AVGAIN, AIGAIN (and BIGAIN) scale RMS, powers and energies, AWGAIN / AVARGAIN /
#   AVAGAIN their own power and energy; PHCALA (sign and magnitude, steps of 4 / CLKIN;
#   sign clear = voltage delayed) shifts the phase between V and I;
# - PERIOD = 223.75 kHz / f - 1; no voltage: IRQSTATA bit ZXTO after ZXTOUT / 223.75 kHz.
# Not modelled: line-cycle accumulation (LCYCMODE bits 0..5), CF outputs, peaks, sag,
# offsets (xRMSOS, xWATTOS), the waveform registers (they read 0), CRC.
import math

from hal.adc_sim import phase_quantities
from hal.meter_ic_sim import SelectPin

_RMS_FS = 9032007
_POWER_FS = 4862401
_CLKIN = 3579545
_PERIOD_HZ = 223750
_ONE = 0x400000

_DEFAULTS = {0x000: 0, 0x001: 0, 0x004: 0x40, 0x007: 0, 0x008: 0, 0x009: 0, 0x040: 0,
             0x0FD: 0, 0x0FE: 0, 0x0FF: 0, 0x800: 0,
             0x100: 0xFFFF, 0x101: 0, 0x102: 0x8004, 0x103: 0x3F, 0x104: 0x3F, 0x107: 0x300,
             0x108: 0, 0x109: 0, 0x10A: 0, 0x10B: 0, 0x10C: 0, 0x10D: 0, 0x10E: 0,
             0x110: 0, 0x120: 0,
             0x200: 0, 0x201: 0, 0x203: 58393, 0x204: 58393, 0x205: 58393,
             0x224: 0xFFFFFF, 0x225: 0xFFFFFF, 0x22C: 0x100000, 0x22D: 0, 0x22E: 0,
             0x22F: 0, 0x230: 0, 0x231: 0,
             0x280: _ONE, 0x281: _ONE, 0x282: _ONE, 0x283: _ONE, 0x284: _ONE,
             0x286: 0, 0x288: 0, 0x289: 0, 0x28A: 0, 0x28B: 0,
             0x28C: _ONE, 0x28D: _ONE, 0x28E: _ONE, 0x28F: _ONE, 0x290: _ONE,
             0x292: 0, 0x295: 0, 0x296: 0, 0x297: 0}
for _a in range(0x210, 0x22C):
    _DEFAULTS.setdefault(_a, 0)
_READ_ONLY = set([0x0FD, 0x0FF, 0x702, 0x10A, 0x10B, 0x10C, 0x10D, 0x10E, 0x22D, 0x22E,
                  0x230, 0x231] + list(range(0x210, 0x224)) + list(range(0x226, 0x22C)))
_SIGNED = set(list(range(0x210, 0x219)) + list(range(0x21E, 0x224))
              + [0x286, 0x288, 0x289, 0x28A, 0x28B, 0x292, 0x295, 0x296, 0x297])
_ENERGY = (0x21E, 0x220, 0x222, 0x21F, 0x221, 0x223)  # A: active, reactive, apparent; B
_RESET = 1 << 20
_ZXTO = 1 << 14


def _width(addr):
    if addr == 0x702 or addr == 0x800:
        return 1
    return (addr >> 8) + 1 if addr < 0x400 else 0


def _to24(v):
    v = int(round(v))
    v = max(-0x800000, min(0x7FFFFF, v))
    return v & 0xFFFFFF


class _IrqPin:
    """The IRQ output (active low) as an input machine.Pin."""

    def __init__(self, chip):
        self._chip = chip

    def value(self, v=None):
        return self._chip.irq_level()


class _Spi:
    """machine.SPI's transfer methods, one byte of the chip's shift register at a time."""

    def __init__(self, chip):
        self._chip = chip

    def write(self, buf):
        for i in range(len(buf)):
            self._chip._clock(buf[i])

    def readinto(self, buf, write=0):
        for i in range(len(buf)):
            buf[i] = self._chip._clock(write)

    def write_readinto(self, wbuf, rbuf):
        for i in range(len(wbuf)):
            rbuf[i] = self._chip._clock(wbuf[i])


class ADE7953Sim:
    """The fake chip. v_fs / ia_fs / ib_fs / wh_per_count: the board's front end as the
    driver is told it (hal.ade7953.ADE7953); v_gain_error / i_gain_error / i_phase_deg: what
    the real front end adds (relative gain errors, extra current lag in degrees); offset_w:
    a residual active power on channel A whatever the load (an idle front end's crosstalk
    and noise, which the no-load threshold must hold back)."""

    def __init__(self, v_fs=350.0, ia_fs=44.19, ib_fs=44.19, wh_per_count=None,
                 v_gain_error=0.0, i_gain_error=0.0, i_phase_deg=0.0, offset_w=0.0,
                 version=2):
        if wh_per_count is None:
            wh_per_count = (int(v_fs * ia_fs * 1000 + 0.5), 1000 * 206900 * 3600)
        self.v_fs, self.ia_fs, self.ib_fs = v_fs, ia_fs, ib_fs
        self.ws_per_count = 3600.0 * wh_per_count[0] / wh_per_count[1]
        self.v_gain_error = v_gain_error
        self.i_gain_error = i_gain_error
        self.i_phase_deg = i_phase_deg
        self.offset_w = offset_w
        self.version = version
        self.spi = _Spi(self)
        self.cs = SelectPin(self)
        self.irq = _IrqPin(self)
        self.scenario = None
        self.freq_hz = 50.0
        self.neutral_irms = None
        self.frames = 0
        self.brownout()  # power-on: defaults and the RESET flag

    # -- the load -----------------------------------------------------------------------
    def set_load(self, phase, scenario, freq_hz=50.0, neutral_irms=None):
        """phase 0 only; neutral_irms: the current on channel B (None: the phase current,
        as in a healthy installation)."""
        if phase != 0:
            raise ValueError("the ADE7953 has one phase")
        self.scenario = scenario
        self.freq_hz = freq_hz
        self.neutral_irms = neutral_irms
        self._update()

    def advance(self, seconds):
        """Integrate energy for `seconds` as the chip would: counts with fractions carried,
        24-bit wrap, no-load gating."""
        self._update()
        regs = self.regs
        noload = self._noload
        accmode = regs[0x201] & 0x3FFF
        for i in range(6):
            if noload[i]:  # ACCMODE bits 16..21: ACTNLOAD, VANLOAD, VARNLOAD of A, then B
                accmode |= 1 << (16 + (0, 2, 1)[i % 3] + 3 * (i // 3))
                continue
            # The chip's signed inner accumulator gives a pulse each time its magnitude
            # reaches the threshold: whole counts toward zero, the signed rest carried.
            total = self._rates[i] * seconds + self._frac[i]
            n = int(total)
            self._frac[i] = total - n
            self._add(i, n)
        regs[0x201] = accmode
        status = 0
        if self._v_code == 0:
            self._no_zx_s += seconds
            if self._no_zx_s >= regs[0x100] / _PERIOD_HZ:
                status |= _ZXTO
        else:
            self._no_zx_s = 0.0
        for k in range(3):  # no-load entered: the latched interrupt flags (bits 6..8)
            if noload[k]:
                status |= 1 << (6 + k)
            if noload[3 + k]:
                regs[0x230] |= 1 << (6 + k)
        regs[0x22D] |= status

    def _add(self, i, n):
        addr = _ENERGY[i]
        regs = self.regs
        v = regs[addr]
        if v & 0x800000:
            v -= 0x1000000
        v += n
        flag = 0
        while v > 0x7FFFFF:
            v -= 0x1000000
            flag |= 1 << (3 + i % 3)  # AEOF / VAREOF / VAEOF
        while v < -0x800000:
            v += 0x1000000
            flag |= 1 << (3 + i % 3)
        if v >= 0x400000 or v < -0x400000:
            flag |= 1 << (i % 3)  # AEHF / VAREHF / VAEHF
        regs[addr] = v & 0xFFFFFF
        regs[0x22D if i < 3 else 0x230] |= flag

    def _update(self):
        # Instantaneous registers and energy rates from the load, gains and phase setting.
        regs = self.regs
        gv = regs[0x281] / _ONE * (1 + self.v_gain_error)
        gi = regs[0x280] / _ONE * (1 + self.i_gain_error)
        gib = regs[0x28C] / _ONE * (1 + self.i_gain_error)
        v = i = p = q = 0.0
        if self.scenario is not None:
            v, i, p, q = phase_quantities(self.scenario)
        ib = i if self.neutral_irms is None else self.neutral_irms
        ph = regs[0x108]
        steps = -(ph & 0x1FF) if ph & 0x200 else ph & 0x1FF
        delta = math.radians(self.i_phase_deg - steps * 4.0 / _CLKIN * 360.0 * self.freq_hz)
        c, s = math.cos(delta), math.sin(delta)
        p, q = p * c - q * s + self.offset_w, q * c + p * s
        fs = self.v_fs * self.ia_fs
        pa = p * gv * gi * regs[0x282] / _ONE
        qa = q * gv * gi * regs[0x283] / _ONE
        sa = v * i * gv * gi * regs[0x284] / _ONE
        k = ib / i if i else 0.0
        pb = p * k * gv * gib * regs[0x28E] / _ONE
        qb = q * k * gv * gib * regs[0x28F] / _ONE
        sb = v * ib * gv * gib * regs[0x290] / _ONE
        self._v_code = _to24(min(v * gv / self.v_fs, 1.9) * _RMS_FS)
        regs[0x21C] = self._v_code
        regs[0x21A] = _to24(min(i * gi / self.ia_fs, 1.9) * _RMS_FS)
        regs[0x21B] = _to24(min(ib * gib / self.ib_fs, 1.9) * _RMS_FS)
        for addr, w in ((0x212, pa), (0x214, qa), (0x210, sa), (0x213, pb), (0x215, qb),
                        (0x211, sb)):
            regs[addr] = _to24(w / fs * _POWER_FS)
        if self._v_code:
            regs[0x10E] = int(_PERIOD_HZ / self.freq_hz + 0.5) - 1
        regs[0x10A] = int(32767 * pa / sa) & 0xFFFF if sa else 0
        sign = (0x400 if pa < 0 else 0) | (0x800 if pb < 0 else 0) | \
            (0x1000 if qa < 0 else 0) | (0x2000 if qb < 0 else 0)
        regs[0x201] = (regs[0x201] & ~0x3C00) | sign
        per_count = self.ws_per_count
        self._rates = [pa / per_count, qa / per_count, sa / per_count,
                       pb / per_count, qb / per_count, sb / per_count]
        full = fs / per_count  # counts per second at full-scale power
        dis = regs[0x001]
        self._noload = []
        for n in range(6):
            kind = n % 3  # AP, VAR, VA
            y = 1.4 * (65536 - regs[0x203 + kind])
            below = y <= 1 or abs(self._rates[n]) < full / y
            self._noload.append(below and not dis & (1 << kind))

    def noload_threshold_w(self, kind=0):
        """The no-load threshold (line W, var or VA at nominal gains) that AP_NOLOAD
        (kind 0), VAR_NOLOAD (1) or VA_NOLOAD (2) sets: full-scale power / 1.4 (65536 - X)."""
        y = 1.4 * (65536 - self.regs[0x203 + kind])
        fs = self.v_fs * self.ia_fs
        return fs if y <= 1 else fs / y

    @property
    def optimum(self):
        return self.regs[0x120] == 0x30

    def brownout(self):
        """What a supply dip or SWRST does: defaults back, accumulators zero, RESET flag."""
        self.regs = dict(_DEFAULTS)
        self.regs[0x702] = self.version
        self.regs[0x22D] = _RESET
        self._key = False
        self._frac = [0.0] * 6
        self._no_zx_s = 0.0
        self._start()
        self._update()

    def irq_level(self):
        """The IRQ pin: low while an enabled IRQSTATA flag is set."""
        return 0 if self.regs[0x22D] & self.regs[0x22C] else 1

    # -- the SPI port -------------------------------------------------------------------
    def select(self, low):
        """Chip select (hal.meter_ic_sim.SelectPin): low starts a frame, high ends it."""
        if low:
            self._start()
        else:
            self._end()

    def _start(self):
        self._pos = 0
        self._addr = 0
        self._cmd = -1
        self._out = 0
        self._data = 0
        self._width = 0

    def _clock(self, b):
        pos = self._pos
        self._pos = pos + 1
        if pos == 0:
            self._addr = b << 8
            return 0
        if pos == 1:
            self._addr |= b
            self._width = _width(self._addr)
            return 0
        if pos == 2:
            self._cmd = b
            if b == 0x80 and self._width:
                self._out = self._read(self._addr)
            return 0
        k = pos - 3
        n = self._width
        if k >= n:
            return 0
        if self._cmd == 0x80:
            return (self._out >> (8 * (n - 1 - k))) & 0xFF
        if self._cmd == 0:
            self._data = (self._data << 8) | b
        return 0

    def _end(self):
        wrote = self._cmd == 0 and self._width and self._pos == 3 + self._width
        key = False
        if wrote:
            self.frames += 1
            addr = self._addr
            if addr == 0x0FE and self._data == 0xAD:
                key = True
            self._write(addr, self._data)
            self.regs[0x0FD] = 0xCA
        elif self._cmd == 0x80 and self._width:
            self.frames += 1
            self.regs[0x0FD] = 0x35
        self._key = key
        self._start()

    def _read(self, addr):
        regs = self.regs
        wide = addr >= 0x300 and addr < 0x400
        base = addr - 0x100 if wide else addr
        v = regs.get(base, 0)
        if base == 0x22E:
            v = regs[0x22D]
            regs[0x22D] = 0
        elif base == 0x231:
            v = regs[0x230]
            regs[0x230] = 0
        elif base in _ENERGY and regs[0x004] & 0x40:
            regs[base] = 0
        if wide and base in _SIGNED and v & 0x800000:
            v |= 0xFF000000
        return v

    def _write(self, addr, value):
        regs = self.regs
        base = addr - 0x100 if 0x300 <= addr < 0x400 else addr
        if base not in regs or base in _READ_ONLY:
            return
        protect = regs[0x040]
        cls = 0 if base < 0x100 else (1 if base < 0x200 else 2)
        if base != 0x040 and protect & (1 << cls):
            return
        if base == 0x120 and not self._key:
            return
        value &= (1 << (8 * _width(base))) - 1
        if base == 0x102 and value & 0x80:
            self.brownout()
            return
        regs[base] = value
        self._update()

