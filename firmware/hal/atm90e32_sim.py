# A fake ATM90E32AS for tests and simulated boards (never frozen into a real board's
# image): the chip as the driver sees it on the SPI bus. Byte-level frames (16-bit address
# word, bit 15 = read, then a 16-bit data word, MSB first), a 1024-word register file with
# the reset defaults the driver checks, the configuration lock (CfgRegAccEn = 0x55AA),
# soft reset, the LastSPIData echo, read-clear 16-bit energy registers, signed and unsigned
# measurement registers with their 8-bit LSB extensions, and the no-load thresholds.
#
# What the fake integrates is its own model of the chip's algorithm (the real chip's DSP
# is not public): each phase's V, I, P, Q come from hal.adc_sim.phase_quantities, scaled
# by Ugain/Igain relative to the values at which this "hardware" reads right (times the
# hardware's own gain errors) and rotated by the Phi delay less the hardware's phase
# error; energy is P (Q) times time at the meter constant, fractional counts carried per
# register and never lost. Registers the driver does not use (harmonics, fundamental,
# apparent energy, pulse outputs, sag/peak detectors) are not modelled.
import math
from array import array

from hal.adc_sim import phase_quantities
from hal.meter_ic_sim import SelectPin

_METEREN = 0x00
_PLCONSTH = 0x31
_PLCONSTL = 0x32
_MMODE0 = 0x33
_PSTARTTH = 0x35
_QSTARTTH = 0x36
_PPHASETH = 0x38
_QPHASETH = 0x39
_PHI = 0x48
_UGAIN = 0x61
_IGAIN = 0x62
_SOFTRESET = 0x70
_EMMSTATE0 = 0x71
_EMMSTATE1 = 0x72
_LASTSPIDATA = 0x78
_CRCDIGEST = 0x7A
_CFGREGACCEN = 0x7F
_ENERGY_FIRST = 0x80  # APenergyT..RNenergyC: 0x80 + 4 * kind + (0 total, 1..3 phase)
_ENERGY_LAST = 0x8F
_PMEANT = 0xB0
_QMEANT = 0xB4
_SMEANT = 0xB8
_PFMEANT = 0xBC
_LSB = 0x10
_URMS = 0xD9
_IRMS = 0xDD
_FREQ = 0xF8
_PANGLE = 0xF9
_TEMP = 0xFC
_START_LSB_PER_W = 3125.0  # 0.00032 W per LSB (as the driver assumes)
PHI_CLOCK_HZ = 4096000.0  # Phi delay unit (as the driver assumes)


def _s24_words(x):
    """A signed 24-bit value (units of 1/256 of the register's LSB) as (word, LSB word)."""
    if x > 0x7FFFFF:
        x = 0x7FFFFF
    elif x < -0x800000:
        x = -0x800000
    return (x >> 8) & 0xFFFF, (x & 0xFF) << 8


class _Spi:
    """machine.SPI-like: every byte goes through the chip's shift register."""

    def __init__(self, chip):
        self._chip = chip

    def write(self, buf):
        for b in buf:
            self._chip.shift(b)

    def readinto(self, buf, write=0):
        for k in range(len(buf)):
            buf[k] = self._chip.shift(write)

    def read(self, n, write=0):
        buf = bytearray(n)
        self.readinto(buf, write)
        return buf

    def write_readinto(self, wbuf, rbuf):
        for k in range(len(wbuf)):
            rbuf[k] = self._chip.shift(wbuf[k])


class ATM90E32Sim:
    """ugain_ref / igain_ref: the gain register values at which this hardware reads
    volts and amps right (the board's nominal; one per phase); v_error / i_error: the
    hardware's gain errors (0.02 = reads 2 % high at the reference gain); phase_error_deg:
    extra lag the current sensor adds. spi and cs are what the driver is given."""

    PHASES = 3

    def __init__(self, ugain_ref=7305, igain_ref=27518, v_error=0.0, i_error=0.0,
                 phase_error_deg=0.0):
        self.ugain_ref = self._three(ugain_ref)
        self.igain_ref = self._three(igain_ref)
        self.v_error = self._three(v_error)
        self.i_error = self._three(i_error)
        self.phase_error_deg = self._three(phase_error_deg)
        self.regs = array("H", [0] * 1024)
        self.loads = [None, None, None]
        self.freq_hz = 50.0
        self.spi = _Spi(self)
        self.cs = SelectPin(self)
        self.corrupt_reads = 0  # garble the wire word of this many coming energy reads
        self.frames = 0  # complete SPI frames seen
        self._frac = [0.0] * 16  # fractional counts carried per energy register
        self._selected = False
        self._pos = 0
        self._hi = 0
        self._addr = 0
        self._wire = 0
        self._wd = 0
        self.reset()

    @staticmethod
    def _three(v):
        return list(v) if isinstance(v, (tuple, list)) else [v, v, v]

    def reset(self):
        """Power-on / soft reset: every register to its default, energy and carries to 0."""
        regs = self.regs
        for k in range(len(regs)):
            regs[k] = 0
        regs[_PLCONSTH] = 0x0861  # PL_constant 140625000 = 3200 imp/kWh
        regs[_PLCONSTL] = 0xC468
        regs[_MMODE0] = 0x0087  # 3P4W, 50 Hz, all phases summed, CF2 = reactive
        regs[_TEMP] = 25
        for k in range(16):
            self._frac[k] = 0.0
        self._update_crc()

    # -- the load -------------------------------------------------------------------------
    def set_load(self, phase, scenario, freq_hz=50.0):
        """What phase `phase` (0-based) carries: a hal.adc_sim.PhaseScenario (None: no
        voltage, no current); the frequency is common to the chip."""
        self.loads[phase] = scenario
        self.freq_hz = float(freq_hz)

    def measure(self, k):
        """Phase k as the chip measures it with its present registers: (vrms, irms, p, q)."""
        sc = self.loads[k]
        if sc is None:
            return 0.0, 0.0, 0.0, 0.0
        v, i, p, q = phase_quantities(sc)
        regs = self.regs
        kv = regs[_UGAIN + 4 * k] / self.ugain_ref[k] * (1.0 + self.v_error[k])
        ki = regs[_IGAIN + 4 * k] / self.igain_ref[k] * (1.0 + self.i_error[k])
        phi = regs[_PHI + 2 * k]
        delay = 360.0 * self.freq_hz * (phi & 0x3FF) / PHI_CLOCK_HZ
        lag = self.phase_error_deg[k] + (-delay if phi & 0x8000 else delay)
        d = math.radians(lag)  # extra lag: S * e^(j d)
        c, s = math.cos(d), math.sin(d)
        return v * kv, i * ki, (p * c - q * s) * kv * ki, (p * s + q * c) * kv * ki

    def advance(self, seconds):
        """Let `seconds` pass at the present load: update the measurement registers and
        integrate energy into the read-clear registers (16-bit, wrapping if not read in
        time - assumed; the driver reads them every second)."""
        regs = self.regs
        on = regs[_METEREN] == 1
        mm0 = regs[_MMODE0]
        count_ws = (regs[_PLCONSTH] << 16 | regs[_PLCONSTL]) / 12500000.0  # 0.01 CF in Ws
        if not mm0 & 0x0200:
            count_ws *= 10.0  # 0.1 CF per count
        p_th = regs[_PPHASETH] / _START_LSB_PER_W
        q_th = regs[_QPHASETH] / _START_LSB_PER_W
        p_sum = q_sum = s_sum = 0.0
        any_v = False
        status1 = 0
        for k in range(3):
            v, i, p, q = self.measure(k) if on else (0.0, 0.0, 0.0, 0.0)
            s = v * i
            any_v = any_v or v > 1.0
            if self.loads[k] is None or v == 0.0:
                status1 |= 0x400 >> k  # phase loss
            self._write_measurements(k + 1, v, i, p, q, s)
            pe = p if abs(p) >= p_th else 0.0  # a phase under its threshold adds nothing
            qe = q if abs(q) >= q_th else 0.0
            if on:
                self._accumulate(1 + k, pe, seconds, count_ws)
                self._accumulate(9 + k, qe, seconds, count_ws)
            if mm0 & (0x4 >> k):  # EnPA/EnPB/EnPC: counted in the all-phase sum
                p_sum += pe
                q_sum += qe
                s_sum += s
        status0 = 0
        if abs(p_sum) < regs[_PSTARTTH] / _START_LSB_PER_W:
            status0 |= 0x20  # TPNOLOADST: no active energy accumulates
        elif on:
            self._accumulate(0, p_sum, seconds, count_ws)
        if abs(q_sum) < regs[_QSTARTTH] / _START_LSB_PER_W:
            status0 |= 0x40  # TQNOLOADST
        elif on:
            self._accumulate(8, q_sum, seconds, count_ws)
        status1 |= (0x08 if p_sum >= 0 else 0) | (0x80 if q_sum >= 0 else 0)
        regs[_EMMSTATE0] = status0
        regs[_EMMSTATE1] = status1
        # Totals: 4 W (var, VA) per LSB, 4/256 in the LSB word (Table-11).
        regs[_PMEANT], regs[_PMEANT + _LSB] = _s24_words(int(round(p_sum * 64)))
        regs[_QMEANT], regs[_QMEANT + _LSB] = _s24_words(int(round(q_sum * 64)))
        regs[_SMEANT], regs[_SMEANT + _LSB] = _s24_words(int(round(s_sum * 64)))
        regs[_PFMEANT] = int(round(1000 * p_sum / s_sum)) & 0xFFFF if s_sum > 0 else 0
        regs[_FREQ] = int(round(self.freq_hz * 100)) if any_v and on else 0

    def _write_measurements(self, k, v, i, p, q, s):
        regs = self.regs
        x = min(int(round(v * 25600)), 0xFFFFFF)  # 0.01 V per LSB, 8 more bits below
        regs[_URMS + k - 1], regs[_URMS + _LSB + k - 1] = x >> 8, (x & 0xFF) << 8
        x = min(int(round(i * 256000)), 0xFFFFFF)  # 0.001 A per LSB
        regs[_IRMS + k - 1], regs[_IRMS + _LSB + k - 1] = x >> 8, (x & 0xFF) << 8
        regs[_PMEANT + k], regs[_PMEANT + _LSB + k] = _s24_words(int(round(p * 256)))
        regs[_QMEANT + k], regs[_QMEANT + _LSB + k] = _s24_words(int(round(q * 256)))
        regs[_SMEANT + k], regs[_SMEANT + _LSB + k] = _s24_words(int(round(s * 256)))
        pf = int(round(1000 * p / s)) if s > 0 else 0  # signed like P, 0.001 per LSB
        regs[_PFMEANT + k] = pf & 0xFFFF
        ang = int(round(10 * math.degrees(math.atan2(q, p)))) if s > 0 else 0
        regs[_PANGLE + k - 1] = ang & 0xFFFF  # 0.1 degree per LSB, signed

    def _accumulate(self, index, power, seconds, count_ws):
        # index: 0..3 active T/A/B/C, 8..11 reactive; the reverse register is 4 further.
        if power < 0:
            index += 4
            power = -power
        c = self._frac[index] + power * seconds / count_ws
        n = int(c)
        self._frac[index] = c - n
        a = _ENERGY_FIRST + index
        self.regs[a] = (self.regs[a] + n) & 0xFFFF

    def carried(self, index):
        """The fractional count register 0x80 + index holds beyond its integer value."""
        return self._frac[index]

    # -- the SPI slave --------------------------------------------------------------------
    def select(self, low):
        self._selected = low
        self._pos = 0

    def shift(self, b):
        """One byte in on SDI, the byte returned goes out on SDO."""
        if not self._selected:
            return 0xFF
        pos = self._pos
        self._pos = pos + 1
        if pos == 0:
            self._hi = b
            return 0
        read = self._hi & 0x80
        if pos == 1:
            self._addr = ((self._hi & 0x03) << 8) | b
            if read:
                self._wire = self._read(self._addr)
            return 0
        if pos == 2:
            if read:
                return self._wire >> 8
            self._wd = b << 8
            return 0
        if pos == 3:
            self.frames += 1
            if read:
                return self._wire & 0xFF
            self._write(self._addr, self._wd | b)
        return 0

    def _read(self, addr):
        regs = self.regs
        value = regs[addr]
        regs[_LASTSPIDATA] = value
        if _ENERGY_FIRST <= addr <= _ENERGY_LAST:
            regs[addr] = 0  # read-clear: the chip has sent it
            if self.corrupt_reads > 0:
                self.corrupt_reads -= 1
                return value ^ 0x0101  # garbled on the wire, right in LastSPIData
        return value

    def _write(self, addr, value):
        regs = self.regs
        regs[_LASTSPIDATA] = value
        if addr == _SOFTRESET:
            if value == 0x789A:
                self.reset()
            return
        if addr == _CFGREGACCEN or addr == _METEREN:
            regs[addr] = value
            return
        if addr < 0x70:  # configuration and calibration: only while unlocked
            if regs[_CFGREGACCEN] == 0x55AA:
                regs[addr] = value
                self._update_crc()
        # status, energy and measurement registers are read-only

    def _update_crc(self):
        # The chip's digest algorithm is not given; any function of the configuration
        # registers serves (the driver only compares it with itself).
        regs = self.regs
        crc = 0xFFFF
        for a in range(0x70):
            crc = ((crc << 5) ^ (crc >> 11) ^ regs[a]) & 0xFFFF
        regs[_CRCDIGEST] = crc
