# Analog Devices ADE7953 single-phase metering IC (phase current on channel A, neutral
# current on channel B) on SPI: the metering-IC driver contract of issue 15 (docs/metrology.md
# "Metering ICs"). Facts from the ADE7953 data sheet (Rev. B/C, "ADE7953 Registers",
# Tables 13-25; "SPI Interface"; "Active Energy Calculation"; "No-Load Detection"; "Period
# Measurement"); hal/ade7953_sim.py is the fake chip the tests drive it against.
#
# SPI frame (DS "SPI Interface"): CS low, register address (16 bits, MSB first), one command
# byte (0x80 read, 0x00 write), then the register's data MSB first; its width follows from
# the address: 0x0xx 8 bits, 0x1xx 16, 0x2xx 24, 0x3xx 32 (plus VERSION 0x702 and EX_REF 0x800,
# 8 bits). 0x3xx is the 32-bit path to the same locations as 0x2xx, the upper byte a sign
# extension (DS "ADE7953 Registers"). This driver reads through the 24-bit path: every value
# then fits MicroPython's small int on a 32-bit port (below 2**30), so the per-second reads
# allocate nothing (read_raw); the 32-bit path would make 0xFFxxxxxx values long ints.
#
# Energy. AENERGYA / RENERGYA are 24-bit signed accumulators of the chip's energy pulses (at
# most about 206.9 kHz with full-scale inputs, DS "Active Energy Calculation"); LCYCMODE bit 6
# RSTREAD (default 1) clears them on each read. This driver runs them FREE-RUNNING (RSTREAD
# = 0) and takes the difference of two reads modulo 2**24: a read that fails half way (SPI
# fault, an exception before the caller stored the result) loses nothing, since the counts
# stay in the chip until a later read takes them, and the register only becomes ambiguous
# after 2**23 counts between reads (40 s at full scale; we read every second). read_reset=True
# selects the chip's read-with-reset instead (its counts are then taken as they are; the
# energy registers are read last so that nothing after them can fail).
#
# A reset the chip did by itself (supply dip: IRQSTATA bit RESET) brings back its defaults,
# including RSTREAD = 1 and zeroed accumulators: the driver counts it (resets), takes the
# counts since the reset, and configures the chip again.
from micropython import const

# 8-bit registers (DS Table 13)
_DISNOLOAD = const(0x001)
_LCYCMODE = const(0x004)  # bit 6 RSTREAD; default 0x40
_PGA_V = const(0x007)
_PGA_IA = const(0x008)
_PGA_IB = const(0x009)
_UNLOCK = const(0x0FE)  # write 0xAD here, then 0x30 to 0x120 (DS: required setting)
_VERSION = const(0x702)
# 16-bit registers (DS Table 14)
_CONFIG = const(0x102)  # default 0x8004: COMM_LOCK bit 15, SWRST bit 7, HPFEN bit 2
_PHCALA = const(0x108)  # sign (bit 9) and magnitude (bits 8:0)
_PERIOD = const(0x10E)
_OPT = const(0x120)
# 24-bit registers (DS Table 15; +0x100 is the 32-bit path)
_ACCMODE = const(0x201)
_AP_NOLOAD = const(0x203)
_VAR_NOLOAD = const(0x204)
_VA_NOLOAD = const(0x205)
_AVA = const(0x210)
_AWATT = const(0x212)
_AVAR = const(0x214)
_IRMSA = const(0x21A)
_IRMSB = const(0x21B)
_VRMS = const(0x21C)
_AENERGYA = const(0x21E)
_RENERGYA = const(0x220)
_RSTIRQSTATA = const(0x22E)  # IRQSTATA, cleared by this read
_AIGAIN = const(0x280)
_AVGAIN = const(0x281)
_AWGAIN = const(0x282)
_AVARGAIN = const(0x283)
_AVAGAIN = const(0x284)
_BIGAIN = const(0x28C)

_GAIN_ONE = const(0x400000)  # nominal gain (all gain registers' default)
_GAIN_MIN = const(0x200000)  # the gain registers cover 0.5 .. 1.5 of nominal
_GAIN_MAX = const(0x600000)
_PHCAL_MAX = const(383)  # largest PHCALx magnitude the chip takes
CLKIN_HZ = 3579545  # the chip's clock; PHCALx steps 4 / CLKIN, PERIOD counts CLKIN / 16
PERIOD_HZ = 223750  # frequency = PERIOD_HZ / (PERIOD + 1) (DS "Period Measurement")
RMS_FULL_SCALE = 9032007  # xRMS code of a full-scale sine (0.5 V peak at the pins, PGA 1)
POWER_FULL_SCALE = 4862401  # AWATT/AVAR/AVA code with both inputs at full scale, in phase
ENERGY_FULL_SCALE_HZ = 206900  # energy counts per second at full-scale power (about)

_IRQ_RESET = const(1 << 20)  # IRQSTATA: end of a reset (DS Table 23)
_IRQ_ZXTO = const(1 << 14)  # no voltage zero crossing within ZXTOUT
_ACTNLOAD_A = const(1 << 16)  # ACCMODE: channel A active energy in no-load
_MASK24 = const(0xFFFFFF)
_SIGN24 = const(0x800000)
_WRAP24 = const(0x1000000)
_PGA_CODES = {1: 0, 2: 1, 4: 2, 8: 3, 16: 4, 22: 5}  # PGA_x bits 2:0 (22: channel A only)

# raw[] indices filled by read_raw()
R_VRMS, R_IRMSA, R_IRMSB, R_AWATT, R_AVAR, R_AVA, R_PERIOD, R_ACCMODE, R_STATUS = range(9)


def _gcd(a, b):
    while b:
        a, b = b, a % b
    return a


def nominal_wh_per_count(p_fs_mw):
    """The exact Wh per energy count of a front end whose full-scale power (V and I at the
    chip's full scale, in phase) is p_fs_mw milliwatts: that power gives about 206.9 kHz of
    counts (DS "Active Energy Calculation"); calibration (AWGAIN or the V/I gains) trims
    the rest."""
    return (p_fs_mw, 1000 * ENERGY_FULL_SCALE_HZ * 3600)


def noload_register(dynamic_range):
    """AP/VAR/VA_NOLOAD value for a no-load threshold of full scale / dynamic_range
    (DS "Setting the No-Load Thresholds": X = 65536 - Y / 1.4; the default 58393 is
    Y = 10000)."""
    if not 2 <= dynamic_range <= 91750:
        raise ValueError("no-load dynamic range out of 2 .. 91750")
    return 65536 - (dynamic_range * 10 + 7) // 14


def _s24(v):
    return v - _WRAP24 if v & _SIGN24 else v


def _s16(v):
    return v - 0x10000 if v & 0x8000 else v


class ADE7953:
    """The ADE7953 behind the metering-IC contract. Chip settings (keywords):
    v_fs, ia_fs, ib_fs: line volts / amps RMS that give a full-scale input (the board's
    divider and shunts, after the PGA); wh_per_count: exact (num, den) Wh per energy count
    at nominal gains (nominal_wh_per_count from the same front end, or a measured value);
    pga_v / pga_ia / pga_ib: PGA gains written at begin(); noload_range: the no-load
    threshold as full scale / this (default the chip's 10000); read_reset: energy registers
    read-with-reset instead of free-running; nominal_v, nominal_hz, loss_fraction: when the
    voltage counts as lost; sleep_ms: the board's sleep (waits after a reset).

    Channel B (the neutral) is reported on results[0].i_neutral (A RMS): with a healthy
    installation it equals the phase current; a large difference means current returning
    another way (a tamper or an earth fault) - the caller decides what to log."""

    PHASES = 1
    ENERGY_MWS_PER_COUNT = (1, 1)  # replaced per instance from wh_per_count

    def __init__(self, spi, cs, v_fs=350.0, ia_fs=44.19, ib_fs=44.19, wh_per_count=None,
                 pga_v=1, pga_ia=1, pga_ib=1, noload_range=10000, read_reset=False,
                 nominal_v=230.0, nominal_hz=50.0, loss_fraction=0.4, sleep_ms=None):
        for pga, allowed in ((pga_v, 16), (pga_ia, 22), (pga_ib, 16)):
            if pga not in _PGA_CODES or pga > allowed:
                raise ValueError("PGA gain must be 1, 2, 4, 8, 16 (22 on channel A)")
        if not (v_fs > 0 and ia_fs > 0 and ib_fs > 0):
            raise ValueError("full-scale values must be positive")
        if wh_per_count is None:
            wh_per_count = nominal_wh_per_count(int(v_fs * ia_fs * 1000 + 0.5))
        num, den = wh_per_count
        if num <= 0 or den <= 0:
            raise ValueError("wh_per_count must be positive")
        num *= 3600000  # Wh -> mWs
        g = _gcd(num, den)
        self.ENERGY_MWS_PER_COUNT = (num // g, den // g)
        self._spi = spi
        self._cs = cs
        self._sleep_ms = sleep_ms
        self._pga = (_PGA_CODES[pga_v], _PGA_CODES[pga_ia], _PGA_CODES[pga_ib])
        self._noload = noload_register(noload_range)
        self.read_reset = read_reset
        self.nominal_hz = nominal_hz
        self._v_lsb = v_fs / RMS_FULL_SCALE
        self._ia_lsb = ia_fs / RMS_FULL_SCALE
        self._ib_lsb = ib_fs / RMS_FULL_SCALE
        self._w_lsb = v_fs * ia_fs / POWER_FULL_SCALE
        self._v_lost = nominal_v * loss_fraction
        self._tx = bytearray(7)  # address (2), command, data (up to 4)
        self._rx = bytearray(7)
        tx, rx = memoryview(self._tx), memoryview(self._rx)
        self._txv = (tx[:4], tx[:5], tx[:6], tx[:7])
        self._rxv = (rx[:4], rx[:5], rx[:6], rx[:7])
        from array import array

        self.raw = array("l", [0] * 9)  # last register values (R_* indices)
        self._last_p = 0  # free-running: the accumulators' last raw 24-bit values
        self._last_q = 0
        self._pending_reset = False
        self.delta_p = 0  # counts of the last read_raw()
        self.delta_q = 0
        self.version = None
        self.resets = 0  # resets the chip did by itself since begin()
        self.noload = False  # channel A active energy in the chip's no-load state

    # -- SPI access (DS "SPI Interface") -------------------------------------------------
    def _xfer(self, addr, cmd, width, value):
        tx = self._tx
        tx[0] = addr >> 8
        tx[1] = addr & 0xFF
        tx[2] = cmd
        for k in range(width):
            tx[3 + k] = (value >> (8 * (width - 1 - k))) & 0xFF
        self._cs.value(0)
        self._spi.write_readinto(self._txv[width - 1], self._rxv[width - 1])
        self._cs.value(1)

    @staticmethod
    def width(addr):
        """Data bytes of the register at addr (DS: by address range)."""
        if addr == _VERSION or addr == 0x800:
            return 1
        return (addr >> 8) + 1 if addr < 0x400 else 0

    def read_reg(self, addr):
        """The register's raw unsigned value (24-bit path: below 2**24, a small int)."""
        n = self.width(addr)
        self._xfer(addr, 0x80, n, 0)
        rx = self._rx
        v = 0
        for k in range(n):
            v = (v << 8) | rx[3 + k]
        return v

    def write_reg(self, addr, value):
        self._xfer(addr, 0x00, self.width(addr), value)

    # -- start-up ------------------------------------------------------------------------
    def begin(self):
        """Software reset, then the data sheet's required setting, our mode, gains at unity,
        no-load thresholds; OSError if the chip does not answer as an ADE7953."""
        config = self.read_reg(_CONFIG)
        self.write_reg(_CONFIG, config | 0x80)  # SWRST
        for _ in range(20):
            if self.read_reg(_RSTIRQSTATA) & _IRQ_RESET:
                break
            if self._sleep_ms:
                self._sleep_ms(10)
        else:
            raise OSError("ADE7953: no end-of-reset flag")
        # Defaults after a reset (DS Tables 13, 14): a bus with no chip reads 0x00 or 0xFF.
        if self.read_reg(_LCYCMODE) != 0x40 or self.read_reg(_CONFIG) != 0x8004:
            raise OSError("ADE7953: register defaults do not match")
        self.version = self.read_reg(_VERSION)
        self._configure()
        self.resets = 0

    def _configure(self):
        self.write_reg(_CONFIG, 0x0004)  # COMM_LOCK cleared: the chip stays on SPI; HPF on
        self.write_reg(_UNLOCK, 0xAD)
        self.write_reg(_OPT, 0x30)
        pv, pa, pb = self._pga
        self.write_reg(_PGA_V, pv)
        self.write_reg(_PGA_IA, pa)
        self.write_reg(_PGA_IB, pb)
        for reg in (_AP_NOLOAD, _VAR_NOLOAD, _VA_NOLOAD):
            self.write_reg(reg, self._noload)
        self.write_reg(_DISNOLOAD, 0)
        for reg in (_AIGAIN, _AVGAIN, _AWGAIN, _AVARGAIN, _AVAGAIN, _BIGAIN):
            self.write_reg(reg, _GAIN_ONE)
        self.write_reg(_PHCALA, 0)
        lcyc = 0x40 if self.read_reset else 0x00
        self.write_reg(_LCYCMODE, lcyc)
        if (self.read_reg(_LCYCMODE) != lcyc or self.read_reg(_AP_NOLOAD) != self._noload
                or self.read_reg(_AIGAIN) != _GAIN_ONE or self.read_reg(_PGA_IA) != pa):
            raise OSError("ADE7953: configuration does not read back")
        # Start the energy baselines: in read-with-reset mode this read clears them.
        self._last_p = self.read_reg(_AENERGYA)
        self._last_q = self.read_reg(_RENERGYA)
        if self.read_reset:
            self._last_p = self._last_q = 0
        self.read_reg(_RSTIRQSTATA)  # drop the flags of the start-up

    # -- calibration ---------------------------------------------------------------------
    def calibration_registers(self, phase, v_gain, i_gain, phase_deg):
        """[(register, value)]: AVGAIN and AIGAIN carry the gains (they scale RMS and every
        power and energy, so the power gains stay nominal); PHCALA delays the voltage by
        phase_deg at the nominal frequency (negative: the current). ValueError outside the
        registers' range."""
        if phase != 0:
            raise ValueError("the ADE7953 measures one phase")
        regs = []
        for reg, gain in ((_AVGAIN, v_gain), (_AIGAIN, i_gain)):
            if not -1e30 < gain < 1e30:
                raise ValueError("gain not finite")
            code = int(gain * _GAIN_ONE + 0.5)
            if not _GAIN_MIN <= code <= _GAIN_MAX:
                raise ValueError("gain %.4f outside the chip's 0.5 .. 1.5" % gain)
            regs.append((reg, code))
        if not -1e30 < phase_deg < 1e30:
            raise ValueError("phase not finite")
        steps = phase_deg / 360.0 / self.nominal_hz * CLKIN_HZ / 4
        mag = int(abs(steps) + 0.5)
        if mag > _PHCAL_MAX:
            raise ValueError("phase %.3f deg outside the chip's +-%.3f deg" % (
                phase_deg, _PHCAL_MAX * 4 * 360.0 * self.nominal_hz / CLKIN_HZ))
        regs.append((_PHCALA, (0x200 | mag) if steps < 0 and mag else mag))
        for reg in (_AWGAIN, _AVARGAIN, _AVAGAIN):
            regs.append((reg, _GAIN_ONE))
        return regs

    def apply_calibration(self, phase, v_gain, i_gain, phase_deg):
        regs = self.calibration_registers(phase, v_gain, i_gain, phase_deg)
        for reg, value in regs:
            self.write_reg(reg, value)
        for reg, value in regs:
            if self.read_reg(reg) != value:
                raise OSError("ADE7953: calibration register 0x%03X does not read back" % reg)

    # -- once per second -----------------------------------------------------------------
    def read_raw(self):
        """Read the status, measurement and energy registers into self.raw and set
        delta_p / delta_q (the counts since the previous read). Allocates nothing; state
        changes only after every register was read (an OSError leaves the counts to the
        next read), except a seen reset flag, which is kept."""
        raw = self.raw
        status = self.read_reg(_RSTIRQSTATA)
        if status & _IRQ_RESET:
            self._pending_reset = True
        raw[R_STATUS] = status
        raw[R_VRMS] = self.read_reg(_VRMS)
        raw[R_IRMSA] = self.read_reg(_IRMSA)
        raw[R_IRMSB] = self.read_reg(_IRMSB)
        raw[R_AWATT] = self.read_reg(_AWATT)
        raw[R_AVAR] = self.read_reg(_AVAR)
        raw[R_AVA] = self.read_reg(_AVA)
        raw[R_PERIOD] = self.read_reg(_PERIOD)
        raw[R_ACCMODE] = self.read_reg(_ACCMODE)
        # Energy last (read-with-reset: nothing after these reads can fail).
        ep = self.read_reg(_AENERGYA)
        eq = self.read_reg(_RENERGYA)
        if self._pending_reset or self.read_reset:
            # Read-with-reset, or after a reset of the chip (its accumulators restarted
            # at zero and are read-with-reset by default): the value is the count.
            dp = _s24(ep)
            dq = _s24(eq)
        else:
            dp = _s24((ep - self._last_p) & _MASK24)
            dq = _s24((eq - self._last_q) & _MASK24)
        self._last_p = ep
        self._last_q = eq
        self.delta_p = dp
        self.delta_q = dq
        self.noload = bool(raw[R_ACCMODE] & _ACTNLOAD_A)

    def read(self, results):
        """The contract's read(): results[0] filled, (active, reactive) counts returned."""
        self.read_raw()
        if self._pending_reset:
            # The chip reset itself: its registers are back at their defaults. The counts
            # since that reset were just taken (read-with-reset cleared them).
            self.resets += 1
            self._configure()
            self._last_p = self._last_q = 0
            self._pending_reset = False
        raw = self.raw
        r = results[0]
        r.vrms = raw[R_VRMS] * self._v_lsb
        r.irms = raw[R_IRMSA] * self._ia_lsb
        r.i_neutral = raw[R_IRMSB] * self._ib_lsb
        r.p_w = _s24(raw[R_AWATT]) * self._w_lsb
        r.q_var = _s24(raw[R_AVAR]) * self._w_lsb
        s = _s24(raw[R_AVA]) * self._w_lsb
        r.s_va = s if s > 0 else -s
        r.pf = r.p_w / r.s_va if r.s_va > 0 else 0.0
        lost = r.vrms < self._v_lost or bool(raw[R_STATUS] & _IRQ_ZXTO)
        r.voltage_lost = lost
        period = raw[R_PERIOD]
        f = PERIOD_HZ / (period + 1)
        r.freq_valid = not lost and 45.0 <= f <= 65.0
        r.freq_measured_hz = f if r.freq_valid else 0.0
        if r.freq_valid:
            r.freq_hz = f
        elif not r.freq_hz:
            r.freq_hz = self.nominal_hz
        return self.delta_p, self.delta_q
