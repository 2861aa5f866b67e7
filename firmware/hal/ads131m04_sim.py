# A faithful fake of the TI ADS131M04 at SPI-byte level, for the driver (hal/ads131m04.py)
# and the metrology on every tier: the chip's registers, commands, frames and conversions
# behind the fake SPI bus, CS, DRDY and SYNC/RESET pins the driver is given, and a clock
# (hal.clock interface) that moves with what the chip and its host do (those three in
# hal/ads131m04_sim_bus.py).
# Facts from TI's data sheet (SBAS890; section names are the data sheet's):
#
# - register file with the "Register Map" reset values (ID 24xxh, STATUS 0500h, MODE 0510h,
#   CLOCK 0F0Eh, GAIN1 0000h, CFG 0600h, CHn_GCAL_MSB 8000h, the rest 0000h);
# - frames of response + 4 channel words + CRC in the MODE.WLENGTH word size (16, 24, 32
#   zero-padded, 32 sign-extended), each command answered in the NEXT frame ("Commands"):
#   NULL -> STATUS, RESET -> FF24h (full frame only), STANDBY/WAKEUP/LOCK/UNLOCK -> their
#   own code, RREG one register -> its value, several -> E000h | a << 7 | n then the values
#   and no channel data, WREG -> 010a aaaa ammm mmmm; while locked only NULL, UNLOCK, RREG;
# - CRC-16 (CCITT or ANSI by MODE.CRC_TYPE, seed FFFFh) on every output frame; with
#   MODE.RX_CRC_EN the input CRC checked, a failing command dropped and STATUS.CRC_ERR set;
# - conversions at fMOD / OSR (fMOD = CLKIN / 2, CLKIN 8.192 MHz) from the analog inputs,
#   scaled by the PGA gain (full scale +-1.2 V / gain) and clipped at -2^23 .. 2^23 - 1,
#   then the offset and gain calibration (CHn_OCAL, CHn_GCAL: 800000h = 1); a disabled
#   channel reads 0; a 2-deep FIFO ("Collecting Data for the First Time or After a Pause")
#   of which the newest two are kept; DRDY low while a conversion waits to be read
#   (DRDY_FMT 0); STANDBY stops conversions; SYNC/RESET low >= 2048 CLKIN periods resets,
#   shorter resynchronises; writing CLOCK restarts the conversions.
# Not modelled: PHASEn (kept, sampling instants do not move), DC block, global chop,
# current detect, the register map CRC, the SPI timeout, the brief DRDY high pulse.
#
# The analog inputs: per channel None (shorted: noise only) or (kind, phase, volts_per_unit)
# with kind "v" (volts at the pin per volt of the phase's voltage: a divider) or "i" (per
# amp of its current: shunt or CT burden), from PhaseScenario (hal/adc_sim.py conventions:
# current lag angle_deg, harmonics, phase k rotated by -120 k degrees). Waveforms are
# tabulated at each rate change (a whole number of seconds), and noise (noise_lsb rms in
# codes) drawn from a table: what runs per frame is integer work on preallocated arrays,
# allocation-free on the unix port (its 62-bit small ints; the time base needs them).
import math
from array import array

from hal.adc_sim import PhaseScenario
from hal.ads131m04_sim_bus import U_PER_US, SimBus, SimClock, SimPin

_RESET_REGS = {0x00: 0x2400, 0x01: 0x0500, 0x02: 0x0510, 0x03: 0x0F0E, 0x06: 0x0600}
_GCAL_MSB = (0x0C, 0x11, 0x16, 0x1B)  # CHn_GCAL_MSB, reset 8000h
_OSR = (128, 256, 512, 1024, 2048, 4096, 8192, 16256)
_U_PER_TMOD = 1000  # fMOD period in the clock's time unit (U_PER_US per us)
_U_PER_CLKIN = 500
_UNIT = 1 << 30  # analog table unit: 1.2 V / 2^30 (1/128 LSB at gain 1)
_NOISE_LEN = 1009  # prime: the noise does not repeat with the waveform table


def crc16(data, n, poly):
    """Bitwise CRC-16, MSB first, seed FFFFh (independent of the driver's table)."""
    crc = 0xFFFF
    for i in range(n):
        crc ^= data[i] << 8
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


class ADS131M04Sim:
    def __init__(self, phases=(PhaseScenario(230.0, 5.0, 60.0),), freq_hz=50.0,
                 inputs=(("v", 0, 1 / 354.4), ("i", 0, 24.9 / 2000), None, None),
                 noise_lsb=8.0, clock=None, sclk_hz=8192000, poll_us=1, seed=1, chip_id=0x2401):
        self.phases = tuple(phases)
        self.freq_hz = freq_hz
        self.inputs = tuple(inputs)
        self.clock = clock or SimClock()
        self.spi = SimBus(self)
        self.cs = SimPin(self, "cs", 1)
        self.drdy = SimPin(self, "drdy", 1)
        self.sync_reset = SimPin(self, "sync_reset", 1)
        self._bit_u = 4096000000 // sclk_hz
        self._poll_u = poll_us * U_PER_US
        self._chip_id = chip_id  # ID: 24xxh, the low byte is not specified
        self._noise = array("i", [0] * _NOISE_LEN)
        x = seed & 0x3FFFFFFF or 1
        for k in range(_NOISE_LEN):  # Irwin-Hall (4 uniforms), unit variance
            total = 0
            for _ in range(4):
                x = (x * 1664525 + 1013904223) & 0x3FFFFFFF
                total += x
            self._noise[k] = int((total / 0x40000000 - 2.0) * 1.7320508 * noise_lsb)
        self._in = bytearray(272)  # up to 64 register words of 32 bits and more
        self._out = bytearray(272)
        self._fifo = array("i", [0] * 8)  # two conversions of four channels, oldest first
        self._last = array("i", [0] * 4)  # what a frame shows when nothing new waits
        self._resp = array("H", [0] * 66)  # response words of the next frame
        # Test hook, a bit error on MISO: byte flip[0] of an output frame XOR flip[1],
        # after flip[2] more frames; flip[0] = -1: none.
        self.flip = array("i", [-1, 0, 0])
        self.crc_in_errors = 0
        self.fifo_overflows = 0
        self.conversions = 0
        self.frames_seen = 0
        self._low_u = 0
        self.power_on()

    # -- state ----------------------------------------------------------------------------
    def power_on(self):
        """Registers to their reset values, conversions restarting (also RESET, the pin)."""
        self.regs = array("H", [0] * 64)
        for a, v in _RESET_REGS.items():
            self.regs[a] = v
        self.regs[0] = self._chip_id
        for a in _GCAL_MSB:
            self.regs[a] = 0x8000
        self.locked = False
        self.standby = False
        self.crc_err = False
        self._fill = 0
        self._nresp = 1
        self._resp[0] = 0
        self._data_in_frame = True
        self._status_pending = True
        self._pos = 0
        self._tables_for = -1
        self._restart()

    def _restart(self):
        osr = _OSR[(self.regs[3] >> 2) & 7]
        if osr != self._tables_for:
            self._build_tables(osr)
        self._period_u = osr * _U_PER_TMOD
        self._next_u = self.clock.u + self._period_u
        self._n = 0
        self._fill = 0

    def _build_tables(self, osr):
        self._tables_for = osr
        rate = 4096000.0 / osr
        seconds = 1
        while seconds < 10 and abs(self.freq_hz * seconds - round(self.freq_hz * seconds)) > 1e-9:
            seconds += 1
        self._len = length = int(round(rate * seconds))
        self._tables = []
        w = 2 * math.pi * self.freq_hz
        for spec in self.inputs:
            if spec is None:
                self._tables.append(None)
                continue
            kind, k, per_unit = spec
            ph = self.phases[k]
            rot = -2 * math.pi * k / 3
            if kind == "v":
                amp = ph.vrms
                terms = [(1, 1.0, rot)] + [(o, vf, o * rot + math.radians(vd))
                                           for o, vf, _, vd, _ in ph.harmonics]
            else:
                amp = ph.irms
                lag = rot - math.radians(ph.angle_deg)
                terms = [(1, 1.0, lag)] + [(o, i_f, o * lag + math.radians(idg))
                                           for o, _, i_f, _, idg in ph.harmonics]
            peak = amp * math.sqrt(2) * per_unit * _UNIT / 1.2
            table = array("i", [0] * length)
            for n in range(length):
                t = n / rate
                v = 0.0
                for order, frac, phase in terms:
                    v += frac * math.sin(order * w * t + phase)
                v = int(round(peak * v))
                table[n] = v if -_UNIT < v < _UNIT else (_UNIT - 1 if v > 0 else 1 - _UNIT)
            self._tables.append(table)

    # -- conversions ----------------------------------------------------------------------
    def _update(self):
        now = self.clock.u
        if self.standby or now < self._next_u:
            return
        due = (now - self._next_u) // self._period_u + 1
        if due > 2:  # only the newest two can still be in the FIFO
            skip = due - 2
            self._n += skip
            self.conversions += skip
            self.fifo_overflows += skip + self._fill
            self._fill = 0
            self._next_u += skip * self._period_u
            due = 2
        for _ in range(due):
            self._convert()
            self._next_u += self._period_u

    def _convert(self):
        fifo = self._fifo
        if self._fill == 2:  # full: the oldest is overwritten
            for c in range(4):
                fifo[c] = fifo[4 + c]
            self._fill = 1
            self.fifo_overflows += 1
        base = 4 * self._fill
        n = self._n % self._len
        regs = self.regs
        gains = regs[4]
        for c in range(4):
            code = 0
            if regs[3] & (0x100 << c):
                table = self._tables[c]
                g = (gains >> (4 * c)) & 7
                if table is not None:
                    code = (table[n] + (1 << (6 - g)) >> (7 - g)) if g < 7 else table[n]
                code += self._noise[(self._n + 257 * c) % _NOISE_LEN]
                a = 0x0A + 5 * c
                ocal = (regs[a] << 8) | (regs[a + 1] >> 8)
                if ocal:
                    code -= ocal - 0x1000000 if ocal & 0x800000 else ocal
                gcal = (regs[a + 2] << 8) | (regs[a + 3] >> 8)
                if gcal != 0x800000:
                    code = (code * gcal) >> 23
                code = 0x7FFFFF if code > 0x7FFFFF else (-0x800000 if code < -0x800000 else code)
            fifo[base + c] = code
        self._fill += 1
        self._n += 1
        self.conversions += 1

    # -- pins -----------------------------------------------------------------------------
    def _pin_read(self, pin):
        if pin is not self.drdy:
            return pin._level
        self._update()
        if self._fill:
            self.clock.u += self._poll_u
            return 0
        # Nothing waits: the host's poll loop ran meanwhile. Half the way to the next
        # conversion per poll keeps a polling host cheap and its DRDY timing exact.
        if not self.standby:
            self.clock.u += max(self._poll_u, (self._next_u - self.clock.u) // 2)
        else:
            self.clock.u += self._poll_u
        return 1

    def _pin_edge(self, pin, level):
        if pin is self.sync_reset:
            if level == 0:
                self._low_u = self.clock.u
            elif self.clock.u - self._low_u >= 2048 * _U_PER_CLKIN:
                self.power_on()
            else:
                self._restart()
        elif pin is self.cs:
            if level == 0:
                self._begin_frame()
            else:
                self._end_frame()

    # -- frames ---------------------------------------------------------------------------
    def word_bytes(self):
        return (2, 3, 4, 4)[(self.regs[2] >> 8) & 3]

    def status(self):
        regs = self.regs
        value = (regs[2] & 0x0F00)  # CRC_TYPE, RESET, WLENGTH mirror MODE
        if self.locked:
            value |= 0x8000
        if self.crc_err:
            value |= 0x1000
        if self._fill:
            value |= (regs[3] >> 8) & 0xF  # DRDYn: new data on the enabled channels
        return value

    def _put16(self, at, value, w):
        out = self._out
        out[at] = value >> 8
        out[at + 1] = value & 0xFF
        for i in range(2, w):
            out[at + i] = 0

    def _begin_frame(self):
        self._update()
        w = self.word_bytes()
        wl = (self.regs[2] >> 8) & 3
        at = 0
        for k in range(self._nresp):
            word = self._resp[k]
            if k == 0 and self._status_pending:
                word = self.status()
                self.crc_err = False
            self._put16(at, word, w)
            at += w
        self._data_in_frame = self._nresp == 1
        if self._data_in_frame:
            src = self._fifo if self._fill else self._last
            for c in range(4):
                code = src[c]
                self._last[c] = code
                out = self._out
                if wl == 0:  # 16-bit words: the 16 MSBs
                    out[at] = (code >> 16) & 0xFF
                    out[at + 1] = (code >> 8) & 0xFF
                else:
                    i = at + 1 if wl == 3 else at
                    if wl == 3:
                        out[at] = 0xFF if code < 0 else 0
                    out[i] = (code >> 16) & 0xFF
                    out[i + 1] = (code >> 8) & 0xFF
                    out[i + 2] = code & 0xFF
                    if wl == 2:
                        out[at + 3] = 0
                at += w
        poly = 0x8005 if self.regs[2] & 0x0800 else 0x1021
        self._put16(at, crc16(self._out, at, poly), w)
        self._out_len = at + w
        if self.flip[0] >= 0:
            if self.flip[2] > 0:
                self.flip[2] -= 1
            else:
                self._out[self.flip[0]] ^= self.flip[1]
                self.flip[0] = -1
        self._pos = 0

    def _shift(self, wbuf, rbuf, fill=0):
        if self.cs._level:
            if rbuf is not None:
                for i in range(len(rbuf)):
                    rbuf[i] = 0
            return
        n = len(wbuf) if wbuf is not None else len(rbuf)
        pos = self._pos
        for i in range(n):
            if rbuf is not None:
                rbuf[i] = self._out[pos] if pos < self._out_len else 0
            if pos < len(self._in):
                self._in[pos] = wbuf[i] if wbuf is not None else fill
            pos += 1
        self._pos = pos
        self.clock.u += n * 8 * self._bit_u

    def _end_frame(self):
        w = self.word_bytes()
        got = self._pos
        if self._data_in_frame and self._fill and got >= 5 * w:
            fifo = self._fifo
            for c in range(4):  # the oldest conversion has been read
                fifo[c] = fifo[4 + c]
            self._fill -= 1
        self.frames_seen += 1
        self._nresp = 1
        self._status_pending = True
        if got < 2:
            return
        self._command(w, got)

    def _word(self, k, w):
        return (self._in[k * w] << 8) | self._in[k * w + 1]

    def _command(self, w, got):
        cmd = self._word(0, w)
        top = cmd >> 13
        count = min((cmd & 0x7F) + 1, 64) if top in (3, 5) else 0
        data_words = count if top == 3 else 0
        if got < (1 + data_words) * w:
            return  # frame too short for the command: not decoded
        if self.regs[2] & 0x1000:  # RX_CRC_EN: the host's CRC follows its command/data
            at = (1 + data_words) * w
            poly = 0x8005 if self.regs[2] & 0x0800 else 0x1021
            if got < at + 2 or crc16(self._in, at, poly) != self._word(1 + data_words, w):
                self.crc_err = True
                self.crc_in_errors += 1
                return
        if self.locked and not (cmd == 0 or cmd == 0x0655 or top == 5):
            return  # locked: only NULL, UNLOCK and RREG
        if cmd == 0x0011:
            if got >= 6 * w:  # a RESET takes effect only with a full frame
                self.power_on()
                self._status_pending = False
                self._resp[0] = 0xFF24
            return
        if cmd in (0x0022, 0x0033, 0x0555, 0x0655):
            if cmd == 0x0022:
                self.standby = True
            elif cmd == 0x0033:
                if self.standby:
                    self.standby = False
                    self._restart()
            else:
                self.locked = cmd == 0x0555
            self._status_pending = False
            self._resp[0] = cmd
            return
        addr = (cmd >> 7) & 0x3F
        if top == 5:  # RREG
            self._status_pending = False
            if count == 1:
                self._resp[0] = self._read(addr)
            else:
                self._resp[0] = 0xE000 | (cmd & 0x1FFF)
                for k in range(count):
                    self._resp[1 + k] = self._read(addr + k)
                self._nresp = 1 + count
        elif top == 3:  # WREG
            for k in range(count):
                self._write(addr + k, self._word(1 + k, w))
            self._status_pending = False
            self._resp[0] = 0x4000 | (addr << 7) | (count - 1)

    def _read(self, addr):
        if addr > 0x3F:
            return 0
        return self.status() if addr == 1 else self.regs[addr]

    def _write(self, addr, value):
        if addr <= 1 or addr > 0x3F:
            return  # ID and STATUS are read-only
        self.regs[addr] = value
        if addr == 3:  # a new OSR or channel set: the conversions restart
            self._restart()
