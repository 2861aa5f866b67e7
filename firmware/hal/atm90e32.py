# Microchip (Atmel) ATM90E32AS poly-phase metering IC over SPI: the metering-IC driver
# contract of issue 15 (ICMetrology calls read() once per second). The chip samples,
# calibrates and integrates energy itself; this driver configures it, reads its RMS, mean
# power, power factor, frequency, status and energy registers, and turns its calibration
# registers into the metrology's gain/phase corrections.
#
# Sources: M90E32AS data sheet (Atmel-46003, 2013/2014) - SPI interface, register tables
# "Regular Energy Registers" (energy), "Power and Power Factor Registers" (Table-11),
# "Fundamental/Harmonic Power and Voltage/Current RMS Registers" (Table-12); application
# note Atmel-46103 (PL_constant = 4.5e11 / MC). Register map and SPI mode cross-checked
# against ESPHome's atm90e32 component. Facts that no available source confirmed are
# marked "assumed" where they are used.
from array import array

from micropython import const

# SPI (data sheet, SPI interface): mode 3 (clock idles high, data sampled on the rising
# edge), MSB first, <= 1 MHz here. A frame is a 16-bit address word - bit 15 = 1 read /
# 0 write, bits 9..0 the register address - then one 16-bit data word.
_READ = const(0x80)  # bit 15 of the address word, in its first byte
# Status and special registers
_METEREN = const(0x00)  # 1 = metering enabled
_SOFTRESET = const(0x70)  # writing 0x789A resets the chip
_RESET_KEY = const(0x789A)
_EMMSTATE0 = const(0x71)
_EMMSTATE1 = const(0x72)
_LASTSPIDATA = const(0x78)  # the last word read or written over SPI
_CRCDIGEST = const(0x7A)  # the chip's own CRC over its configuration registers
_CFGREGACCEN = const(0x7F)  # 0x55AA unlocks the configuration/calibration registers
_UNLOCK = const(0x55AA)
# Configuration registers
_PLCONSTH = const(0x31)  # meter constant PL_constant, high and low word
_PLCONSTL = const(0x32)
_MMODE0 = const(0x33)
_MMODE1 = const(0x34)  # PGA gains of the current channels
_PSTARTTH = const(0x35)  # all-phase start (no-load) thresholds: P, Q, S
_QSTARTTH = const(0x36)
_SSTARTTH = const(0x37)
_PPHASETH = const(0x38)  # per-phase thresholds below which a phase adds no energy
_QPHASETH = const(0x39)
# Calibration: PhiA/B/C 0x48/0x4A/0x4C; UgainA/IgainA 0x61/0x62, B +4, C +8
_PHI = const(0x48)
_UGAIN = const(0x61)
_IGAIN = const(0x62)
# Energy registers (read-clear, unsigned 16 bit): forward/reverse active, reactive, totals
_APENERGYT = const(0x80)
_ANENERGYT = const(0x84)
_RPENERGYT = const(0x88)
_RNENERGYT = const(0x8C)
# Measurements, A/B/C at +0/+1/+2 (Table-11, Table-12)
_PMEAN = const(0xB1)  # signed, 1 W per LSB (phases)
_QMEAN = const(0xB5)  # signed, 1 var per LSB
_SMEAN = const(0xB9)  # unsigned (MSB always 0), 1 VA per LSB
_PFMEAN = const(0xBD)  # signed, 0.001 per LSB
_LSB_OFFSET = const(0x10)  # PmeanALSB = PmeanA + 0x10 ...: bits 15..8 extend by 1/256
_URMS = const(0xD9)  # unsigned, 0.01 V per LSB
_IRMS = const(0xDD)  # unsigned, 0.001 A per LSB
_FREQ = const(0xF8)  # unsigned, 0.01 Hz per LSB

# MMode0 bits (data sheet, MMode0): EnPC/EnPB/EnPA (0-2: phases counted in the all-phase
# sum; ABSEnP/ABSEnQ bits 3-4 left 0 = arithmetic sum, so opposite phases net), CF2varh
# (7), 3P3W (8, left 0 = 3P4W), 001LSB (9: energy registers count 0.01 CF instead of
# 0.1 CF - assumed from the family's MMode0 table), Freq60Hz (12).
_MMODE0_3P4W = const(0x0087)
_MMODE0_001LSB = const(0x0200)
_MMODE0_60HZ = const(0x1000)
# Reset defaults that identify the chip: PL_constant = 140625000 (3200 imp/kWh).
_PLCONST_DEFAULT = const(140625000)
# Start thresholds: 1 LSB = 0.00032 W (assumed; the value ESPHome uses for these
# registers). 1 / 0.00032 = 3125 LSB per watt.
_START_LSB_PER_W = const(3125)
# PhiX (assumed layout): bit 15 set = the voltage channel is delayed, clear = the current
# channel; bits 9..0 = the delay in periods of the chip's 4.096 MHz metering clock.
_PHI_DELAY_V = const(0x8000)
_PHI_MAX = const(1023)
PHI_CLOCK_HZ = 4096000
# Gain registers are unsigned 16 bit; the reading scales with the register value.
_GAIN_MAX = const(0xFFFF)

# The per-second reads, in order (their raw words land in self.raw at the same index).
_N_ENERGY = const(4)  # AP, AN, RP, RN energy totals first
_PH_BASE = const(4)  # then 11 words per phase
_PH_STRIDE = const(11)
_TAIL = const(37)  # Freq, EMMState0, EMMState1, MeterEn, CRCDigest
_N_READS = const(42)


def _s16(w):
    return w - 0x10000 if w & 0x8000 else w


def _gcd(a, b):
    while b:
        a, b = b, a % b
    return a


class ATM90E32:
    """Driver of one ATM90E32AS (three phases) on a machine.SPI-like bus (configured for
    mode 3) with its chip-select pin. chip_settings: line_hz (50/60), ugain / igain (the
    gain register values at which this board reads volts and amps right: the nominal that
    calibration factors multiply; one value or one per phase), pga (MMode1), pl_const
    (PL_constant: the energy count's size), start_w / phase_start_w (no-load thresholds
    of the all-phase sum and of one phase, watts), loss_v (a phase under it has lost its
    voltage: 40 % of 230 V by default), sleep_ms (a wait function; time's by default)."""

    PHASES = 3
    # One count of read()'s return = 0.01 CF pulse. A CF pulse is 1/MC kWh and the meter
    # constant MC = 4.5e11 / PL_constant (application note), so a count is
    # 3.6e9 mWs * PL_constant / 4.5e11 / 100 = PL_constant / 12500 mWs: 11250 mWs
    # (11.25 Ws) at the default 140625000. Instances set their own from pl_const.
    ENERGY_MWS_PER_COUNT = (11250, 1)

    def __init__(self, spi, cs, line_hz=50, ugain=7305, igain=27518, pga=0,
                 pl_const=_PLCONST_DEFAULT, start_w=2.4, phase_start_w=0.24, loss_v=92.0,
                 sleep_ms=None):
        if line_hz not in (50, 60):
            raise ValueError("line_hz is 50 or 60")
        if not 0 < pl_const < 1 << 32:
            raise ValueError("pl_const out of range")
        self._spi = spi
        self._cs = cs
        self.line_hz = line_hz
        self.ugain = self._per_phase(ugain)
        self.igain = self._per_phase(igain)
        self.pga = pga
        self.pl_const = pl_const
        g = _gcd(pl_const, 12500)
        self.ENERGY_MWS_PER_COUNT = (pl_const // g, 12500 // g)
        self.start_lsb = self._threshold(start_w)
        self.phase_start_lsb = self._threshold(phase_start_w)
        self.loss_v = float(loss_v)
        self._sleep_ms = sleep_ms
        self._tx = bytearray(4)
        self._rx = bytearray(4)
        addrs = [_APENERGYT, _ANENERGYT, _RPENERGYT, _RNENERGYT]
        for k in range(3):
            addrs += [_URMS + k, _URMS + _LSB_OFFSET + k, _IRMS + k, _IRMS + _LSB_OFFSET + k,
                      _PMEAN + k, _PMEAN + _LSB_OFFSET + k, _QMEAN + k, _QMEAN + _LSB_OFFSET + k,
                      _SMEAN + k, _SMEAN + _LSB_OFFSET + k, _PFMEAN + k]
        addrs += [_FREQ, _EMMSTATE0, _EMMSTATE1, _METEREN, _CRCDIGEST]
        self._addrs = array("H", addrs)
        self.raw = array("i", [0] * _N_READS)  # last words read, in _addrs order
        # Energy words read but not yet returned by read(): a read that fails part-way
        # (OSError from the bus) leaves them here for the next one.
        self.pending = array("i", [0] * _N_ENERGY)
        self.recoveries = 0  # times read() found the chip reset and configured it again
        self.calibration = [(0x0000,) * 3 for _ in range(3)]  # (Ugain, Igain, Phi) written
        self.crc = -1  # CRCDigest after the last configuration
        self.status0 = self.status1 = 0  # EMMState0/1 words of the last read
        self.transfer_errors = 0  # energy words whose echo in LastSPIData differed
        self.config_lost = False  # CRC digest or MeterEn changed and not yet repaired
        self._last_good_hz = float(line_hz)

    @staticmethod
    def _per_phase(v):
        vals = tuple(v) if isinstance(v, (tuple, list)) else (v, v, v)
        if len(vals) != 3 or not all(0 < x <= _GAIN_MAX for x in vals):
            raise ValueError("gain register values 1..65535, one or three")
        return vals

    @staticmethod
    def _threshold(watts):
        lsb = int(watts * _START_LSB_PER_W + 0.5)
        if not 0 <= lsb <= 0xFFFF:
            raise ValueError("start threshold out of range")
        return lsb

    # -- SPI words ------------------------------------------------------------------------
    def read_reg(self, addr):
        """One register read: 16-bit address word with the read bit, then the data word.
        Allocates nothing (preallocated buffers, small ints)."""
        tx = self._tx
        tx[0] = _READ | ((addr >> 8) & 0x03)
        tx[1] = addr & 0xFF
        tx[2] = 0
        tx[3] = 0
        self._cs.value(0)
        self._spi.write_readinto(tx, self._rx)
        self._cs.value(1)
        return (self._rx[2] << 8) | self._rx[3]

    def write_reg(self, addr, value):
        tx = self._tx
        tx[0] = (addr >> 8) & 0x03
        tx[1] = addr & 0xFF
        tx[2] = (value >> 8) & 0xFF
        tx[3] = value & 0xFF
        self._cs.value(0)
        self._spi.write_readinto(tx, self._rx)
        self._cs.value(1)

    def _write_checked(self, addr, value):
        self.write_reg(addr, value)
        if self.read_reg(_LASTSPIDATA) != value or self.read_reg(addr) != value:
            raise OSError("ATM90E32: register 0x%02X did not take 0x%04X" % (addr, value))

    def _wait_ms(self, ms):
        if self._sleep_ms is not None:
            self._sleep_ms(ms)
            return
        import time

        if hasattr(time, "sleep_ms"):
            time.sleep_ms(ms)
        else:
            time.sleep(ms / 1000)

    # -- configuration --------------------------------------------------------------------
    def begin(self):
        """Soft reset, identify (the PL_constant reset default and the LastSPIData echo),
        then configure: meter constant, 3P4W at line_hz with 0.01 CF energy resolution,
        PGA, start thresholds, nominal gains, no phase correction; verify each write and
        lock the configuration again. OSError when the chip does not answer as itself."""
        self.write_reg(_SOFTRESET, _RESET_KEY)
        self._wait_ms(6)  # the reset takes 5 ms (data sheet, SoftReset)
        if (self.read_reg(_PLCONSTH) << 16 | self.read_reg(_PLCONSTL)) != _PLCONST_DEFAULT:
            raise OSError("ATM90E32 not answering (PL_constant reset value)")
        self.write_reg(_CFGREGACCEN, _UNLOCK)
        if self.read_reg(_LASTSPIDATA) != _UNLOCK:
            raise OSError("ATM90E32 not answering (LastSPIData echo)")
        mmode0 = _MMODE0_3P4W | _MMODE0_001LSB | (_MMODE0_60HZ if self.line_hz == 60 else 0)
        for addr, value in ((_PLCONSTH, self.pl_const >> 16), (_PLCONSTL, self.pl_const & 0xFFFF),
                            (_MMODE0, mmode0), (_MMODE1, self.pga),
                            (_PSTARTTH, self.start_lsb), (_QSTARTTH, self.start_lsb),
                            (_SSTARTTH, self.start_lsb), (_PPHASETH, self.phase_start_lsb),
                            (_QPHASETH, self.phase_start_lsb)):
            self._write_checked(addr, value)
        for k in range(3):
            for addr, value in self.calibration_registers(k, 1.0, 1.0, 0.0):
                self._write_checked(addr, value)
            self.calibration[k] = (self.ugain[k], self.igain[k], 0)
        self._write_checked(_METEREN, 1)
        self._lock()
        for k in range(_N_ENERGY):  # start every energy register from zero
            self.read_reg(self._addrs[k])
            self.pending[k] = 0
        self.config_lost = False

    def _recover(self):
        # The chip lost its configuration (a reset: MeterEn 0, CRC changed). Configure it
        # again with the calibration it had; what it counted before is already pending.
        pending = list(self.pending)
        cal = list(self.calibration)
        self.begin()
        self.write_reg(_CFGREGACCEN, _UNLOCK)
        try:
            for k in range(3):
                u, i, phi = cal[k]
                for addr, value in ((_UGAIN + 4 * k, u), (_IGAIN + 4 * k, i), (_PHI + 2 * k, phi)):
                    self._write_checked(addr, value)
                self.calibration[k] = cal[k]
        finally:
            self._lock()
        for k in range(_N_ENERGY):
            self.pending[k] = pending[k]
        self.recoveries += 1

    def _lock(self):
        self.write_reg(_CFGREGACCEN, 0)
        # The ATM90E32AS has no checksum registers to update after a calibration write
        # (unlike the ATM90E26/E36 CS0..CS3): it keeps its own CRC digest of the
        # configuration, which is recorded here and watched by read().
        self.crc = self.read_reg(_CRCDIGEST)

    def calibration_registers(self, phase, v_gain, i_gain, phase_deg):
        """[(register, value)] for Ugain, Igain and Phi of `phase` (0-based): gains are
        factors of the nominal register values, phase_deg delays the voltage (> 0) or the
        current (< 0) by that many degrees at line_hz. ValueError if they do not fit."""
        if not 0 <= phase < 3:
            raise ValueError("phase 0..2")
        for x in (v_gain, i_gain, phase_deg):
            if not -1e6 < x < 1e6:  # NaN fails every comparison
                raise ValueError("calibration value not finite")
        u = int(self.ugain[phase] * v_gain + 0.5)
        i = int(self.igain[phase] * i_gain + 0.5)
        if not (0 < u <= _GAIN_MAX and 0 < i <= _GAIN_MAX):
            raise ValueError("gain outside the 16-bit gain register")
        ticks = int(abs(phase_deg) * PHI_CLOCK_HZ / (360.0 * self.line_hz) + 0.5)
        if ticks > _PHI_MAX:
            raise ValueError("phase correction beyond %.2f deg" % self.phase_max_deg())
        phi = (ticks | _PHI_DELAY_V) if phase_deg > 0 and ticks else ticks
        return [(_UGAIN + 4 * phase, u), (_IGAIN + 4 * phase, i), (_PHI + 2 * phase, phi)]

    def phase_max_deg(self):
        return _PHI_MAX * 360.0 * self.line_hz / PHI_CLOCK_HZ

    def apply_calibration(self, phase, v_gain, i_gain, phase_deg):
        """Unlock, write the phase's calibration registers, verify each by reading it back,
        lock again (the whole set is computed first: nothing is written if it does not
        fit)."""
        regs = self.calibration_registers(phase, v_gain, i_gain, phase_deg)
        self.write_reg(_CFGREGACCEN, _UNLOCK)
        try:
            for addr, value in regs:
                self._write_checked(addr, value)
        finally:
            self._lock()
        self.calibration[phase] = (regs[0][1], regs[1][1], regs[2][1])

    # -- once per second ------------------------------------------------------------------
    def fetch(self):
        """Read every per-second register into self.raw (allocates nothing). Each energy
        word is checked against the chip's LastSPIData echo: the chip clears an energy
        register as it sends it, so a word garbled on the wire is taken from the echo
        instead (no count lost); each energy register is read exactly once per call (no
        count doubled)."""
        addrs = self._addrs
        raw = self.raw
        for k in range(_N_ENERGY):
            w = self.read_reg(addrs[k])
            echo = self.read_reg(_LASTSPIDATA)
            if echo != w:
                echo2 = self.read_reg(_LASTSPIDATA)  # the echo of reading the echo itself
                if echo2 == echo:
                    w = echo
                self.transfer_errors += 1
            raw[k] = w
            self.pending[k] += w
        for k in range(_N_ENERGY, _N_READS):
            raw[k] = self.read_reg(addrs[k])

    def read(self, results):
        """Fill results[0..2] (PhaseResult) from the chip and return the net (active,
        reactive) energy counts since the previous read (import/inductive > 0)."""
        self.fetch()
        raw = self.raw
        self.status0 = raw[_TAIL + 1]
        self.status1 = raw[_TAIL + 2]
        if raw[_TAIL + 3] != 1 or raw[_TAIL + 4] != self.crc:
            self.config_lost = True  # the chip reset or its configuration changed
            self._recover()
        hz = raw[_TAIL] / 100.0
        for k in range(3):
            b = _PH_BASE + _PH_STRIDE * k
            r = results[k]
            r.vrms = (raw[b] * 256 + (raw[b + 1] >> 8)) / 25600.0
            r.irms = (raw[b + 2] * 256 + (raw[b + 3] >> 8)) / 256000.0
            r.p_w = (_s16(raw[b + 4]) * 256 + (raw[b + 5] >> 8)) / 256.0
            r.q_var = (_s16(raw[b + 6]) * 256 + (raw[b + 7] >> 8)) / 256.0
            r.s_va = (raw[b + 8] * 256 + (raw[b + 9] >> 8)) / 256.0
            r.pf = _s16(raw[b + 10]) / 1000.0
            # Phase loss (EMMState1 bits 10..8 for A..C) or under loss_v.
            lost = bool(self.status1 & (0x400 >> k)) or r.vrms < self.loss_v
            r.voltage_lost = lost
            valid = not lost and 45.0 <= hz <= 65.0
            r.freq_measured_hz = 0.0 if lost else hz
            r.freq_valid = valid
            if valid and k == 0:
                self._last_good_hz = hz
            r.freq_hz = hz if valid else self._last_good_hz
        pend = self.pending
        active = pend[0] - pend[1]
        reactive = pend[2] - pend[3]
        for k in range(_N_ENERGY):
            pend[k] = 0
        return active, reactive

    @property
    def no_load(self):
        """EMMState0 TPNOLOADST (bit 5): the all-phase active power is under PStartTh."""
        return bool(self.status0 & 0x20)
