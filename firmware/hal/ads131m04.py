# TI ADS131M04: 4-channel, simultaneously sampling, 24-bit delta-sigma ADC on SPI with a
# data-ready line, as the metrology's sigma-delta front end (issue 15). Facts from TI's
# data sheet (SBAS890; the -Q1 part, SBASA13, has the same register map and commands).
# Section names are the data sheet's; nothing here is its text.
#
# Frames ("SPI Communication Frames"): every transfer is one frame of six words, command
# (or response), four channel words, CRC. Words are 24 bits by default (MODE.WLENGTH);
# commands, responses, registers and CRCs are 16 bits MSB-aligned with zero padding, channel
# data 24-bit two's complement ("Data Format", +FS 7FFFFFh, -FS 800000h). The response to a
# command comes in the NEXT frame ("Commands" table); the response to NULL is STATUS.
#
# CRC ("SPI Cyclic Redundancy Check"): CRC-16-CCITT (x^16 + x^12 + x^5 + 1), initial value
# FFFFh, MSB first, over every byte of the words before the CRC word, padding included. The
# output frame always ends with one; with MODE.RX_CRC_EN the chip also checks the host's
# (word 2 of a command, after the data words of a WREG) and refuses a command that fails it.
#
# What a meter needs when a frame's CRC fails: NOT an exception. A flipped bit on the bus
# must not stop metering (the metrology task would lose its period), and the conversion is
# gone once shifted out (the chip cannot resend it). read_frame() therefore counts the
# error (crc_errors) and leaves the caller's codes as they were; the block sampler
# (ADS131M04Block, hal/ads131m04_block.py) holds the previous frame's codes in that slot,
# which keeps the block's time base, and costs at most one sample's difference in a second
# of samples (below 0.01 % of the energy at 2 kSPS). A run of bad frames is no bus noise
# but a broken or absent chip: after MAX_BAD_FRAMES in a row its read_block raises
# OSError, as it does when DRDY stops (no clock, standby).
#
# Hardware comes in as objects (never `machine`): spi with write_readinto (machine.SPI,
# mode 1: CPOL 0, CPHA 1, "Serial Interface"), cs, drdy and the optional SYNC/RESET line
# with value() (machine.Pin), clock with ticks_us/ticks_diff, sleep_us(us). Nothing on the
# sampling path allocates: one preallocated transmit and receive buffer of a whole frame.
import micropython
from micropython import const

# Commands ("Commands" table); RREG 101a aaaa annn nnnn, WREG 011a aaaa annn nnnn with a
# the 6-bit address and n the register count less one.
CMD_NULL = const(0x0000)
CMD_RESET = const(0x0011)  # (STANDBY 0022h and WAKEUP 0033h are not used)
CMD_LOCK = const(0x0555)
CMD_UNLOCK = const(0x0655)
CMD_RREG = const(0xA000)
CMD_WREG = const(0x6000)
RSP_RESET = const(0xFF24)  # FF20h | CHANCNT: the ADS131M04's reset acknowledgment
RSP_WREG = const(0x4000)  # 010a aaaa ammm mmmm

# Registers ("Register Map"), with their reset values in hal.ads131m04_sim.
REG_ID = const(0x00)  # 24xxh: CHANCNT 4 in bits 11..8
REG_STATUS = const(0x01)
REG_MODE = const(0x02)
REG_CLOCK = const(0x03)
REG_GAIN1 = const(0x04)  # then CFG 06h, CHn_CFG / OCAL / GCAL from 09h + 5n

# STATUS and MODE bits ("STATUS Register", "MODE Register").
ST_LOCK = const(0x8000)
ST_CRC_ERR = const(0x1000)  # the chip saw an input CRC error
ST_RESET = const(0x0400)  # the chip was reset and MODE.RESET not yet cleared
MODE_RX_CRC_EN = const(0x1000)  # (CRC_TYPE 0800h left 0: CCITT; RESET 0400h cleared)
MODE_WLENGTH_24 = const(0x0100)  # WLENGTH 01b: 24-bit words
MODE_TIMEOUT = const(0x0010)  # SPI timeout enabled (reset default)
# CLOCK: CHn_EN in bit 8 + n, OSR in bits 4..2, PWR in bits 1..0 (10b: high resolution).
CLOCK_PWR_HR = const(0x0002)
OSR_VALUES = (128, 256, 512, 1024, 2048, 4096, 8192, 16256)  # OSR[2:0] 000b .. 111b
GAINS = (1, 2, 4, 8, 16, 32, 64, 128)  # PGAGAINn[2:0] 000b .. 111b, 3-bit field at 4n

CHANNELS = const(4)
FS_CODE = const(0x7FFFFF)  # +FS; -FS is -0x800000
VREF_V = 1.2  # internal reference: +-1.2 V / gain is full scale ("PGA", "Data Format")
CLKIN_HZ = const(8192000)  # nominal CLKIN; fMOD = CLKIN / 2, data rate = fMOD / OSR
MAX_BAD_FRAMES = const(8)

_WORD = const(3)  # 24-bit words
_FRAME = const(18)  # six words
_DATA = const(3)  # first channel word's offset
_CRC_AT = const(15)  # output CRC word's offset
_RESET_LOW_US = const(1000)  # SYNC/RESET low >= 2048 CLKIN periods (250 us) resets
_START_US = const(1000)  # after a reset, before the first frame (generous)


def _crc_table():
    table = []
    for byte in range(256):
        reg = byte << 8
        for _ in range(8):
            reg = ((reg << 1) ^ 0x1021) & 0xFFFF if reg & 0x8000 else (reg << 1) & 0xFFFF
        table.append(reg)
    return tuple(table)  # indexing a tuple allocates nothing


_TABLE = _crc_table()


@micropython.native
def crc16_ccitt(buf, n, crc=0xFFFF):
    """CRC-16-CCITT (poly 1021h, MSB first) of buf[:n], continuing from crc (FFFFh: the
    chip's seed). Check value: 29B1h for b"123456789"."""
    table = _TABLE
    for i in range(n):
        crc = ((crc << 8) & 0xFFFF) ^ table[((crc >> 8) ^ buf[i]) & 0xFF]
    return crc


def rate_for(osr, clkin_hz=CLKIN_HZ):
    """Output data rate in SPS (an int when it is whole): fMOD / OSR, fMOD = CLKIN / 2."""
    fmod = clkin_hz // 2
    return fmod // osr if fmod % osr == 0 else fmod / osr


class ADS131M04:
    """Register-level driver. begin() (or the block sampler's first block) resets and
    configures the chip; read_frame() reads one conversion of the four channels."""

    def __init__(self, spi, cs, drdy, clock, sleep_us, reset=None, osr=2048,
                 gains=(1, 1, 1, 1), enabled=(True, True, True, True), lock=True,
                 clkin_hz=CLKIN_HZ):
        if osr not in OSR_VALUES:
            raise ValueError("OSR must be one of %s" % (OSR_VALUES,))
        if len(gains) != CHANNELS or any(g not in GAINS for g in gains):
            raise ValueError("gains: four of %s" % (GAINS,))
        self._spi = spi
        self._cs = cs
        self._drdy = drdy.value
        self._reset_pin = reset
        self._sleep_us = sleep_us
        self._ticks_us = clock.ticks_us
        self._ticks_diff = clock.ticks_diff
        self.osr = osr
        self.gains = list(gains)
        self.enabled = tuple(bool(e) for e in enabled)
        self.lock = lock
        self.rate_hz = rate_for(osr, clkin_hz)
        # DRDY must come within a few data periods; otherwise the chip is stopped.
        self.timeout_us = int(4 * 1000000 / self.rate_hz) + 1000
        self._tx = bytearray(_FRAME)
        self._rx = bytearray(_FRAME)
        self._null = bytearray(_FRAME)  # NULL with its input CRC: the frame of every read
        self._put(self._null, 0, CMD_NULL)
        self._put(self._null, 1, crc16_ccitt(self._null, _WORD))
        self.started = False
        self.locked = False
        self.status = 0  # STATUS from the last frame that followed a NULL
        self.crc_errors = 0  # output frames that failed their CRC
        self.chip_crc_errors = 0  # frames after which the chip flagged an input CRC error
        self.frames = 0
        self.waited = False  # the last read_frame saw DRDY high before it fell (on time)
        self.drdy_us = 0  # ticks_us at which the last read_frame saw DRDY low

    # -- frames ---------------------------------------------------------------------------
    @staticmethod
    def _put(buf, word, value):
        i = word * _WORD
        buf[i] = value >> 8
        buf[i + 1] = value & 0xFF
        buf[i + 2] = 0

    def _xfer(self, tx):
        self._cs.value(0)
        self._spi.write_readinto(tx, self._rx)
        self._cs.value(1)

    def _command(self, cmd, data=None):
        """One frame carrying cmd (and one register word for WREG) with its input CRC;
        returns the response word of THIS frame (to the previous command), or -1 if the
        frame failed its CRC."""
        tx = self._tx
        for i in range(_FRAME):
            tx[i] = 0
        self._put(tx, 0, cmd)
        words = 1
        if data is not None:
            self._put(tx, 1, data)
            words = 2
        self._put(tx, words, crc16_ccitt(tx, words * _WORD))
        self._xfer(tx)
        return self._response()

    def _response(self):
        rx = self._rx
        if crc16_ccitt(rx, _CRC_AT) != (rx[_CRC_AT] << 8) | rx[_CRC_AT + 1]:
            self.crc_errors += 1
            return -1
        return (rx[0] << 8) | rx[1]

    def read_register(self, address):
        self._command(CMD_RREG | (address << 7))
        value = self._command(CMD_NULL)
        if value < 0:
            raise OSError("ADS131M04: CRC error reading register %02x" % address)
        return value

    def write_register(self, address, value):
        self._command(CMD_WREG | (address << 7), value)
        ack = self._command(CMD_NULL)
        if ack != RSP_WREG | (address << 7):
            raise OSError("ADS131M04: write of register %02x not acknowledged (%04x)"
                          % (address, ack & 0xFFFF))

    def _simple(self, cmd):
        self._command(cmd)
        return self._command(CMD_NULL)

    # -- configuration --------------------------------------------------------------------
    def mode_value(self):
        # 24-bit words, input CRC checked by the chip, CCITT, SPI timeout on, DRDY on the
        # most lagging channel (00b) as a level (DRDY_FMT 0: low until the data are read),
        # MODE.RESET cleared so that STATUS.RESET shows a later reset of the chip.
        return MODE_RX_CRC_EN | MODE_WLENGTH_24 | MODE_TIMEOUT

    def clock_value(self):
        en = 0
        for n in range(CHANNELS):
            if self.enabled[n]:
                en |= 1 << (8 + n)
        return en | (OSR_VALUES.index(self.osr) << 2) | CLOCK_PWR_HR

    def gain_value(self):
        value = 0
        for n in range(CHANNELS):
            value |= GAINS.index(self.gains[n]) << (4 * n)
        return value

    def begin(self):
        """Reset the chip (its SYNC/RESET line when wired, and the RESET command), check
        that it is an ADS131M04, set MODE, CLOCK (OSR, channels) and GAIN1, read them back
        and lock the interface. OSError if the chip does not answer as itself."""
        self.started = False
        if self._reset_pin is not None:
            self._reset_pin.value(0)
            self._sleep_us(_RESET_LOW_US)
            self._reset_pin.value(1)
            self._sleep_us(_START_US)
        # A chip left configured and locked by an earlier run (the MCU reset alone) only
        # takes UNLOCK; every frame here carries a valid input CRC for the same reason.
        self._command(CMD_UNLOCK)
        self._command(CMD_RESET)
        self._sleep_us(_START_US)
        answer = self._command(CMD_NULL)
        if answer != RSP_RESET:
            raise OSError("ADS131M04 does not answer (reset response %04x)" % (answer & 0xFFFF))
        chip_id = self.read_register(REG_ID)
        if chip_id >> 8 != 0x24:
            raise OSError("not an ADS131M04 (ID %04x)" % chip_id)
        self.locked = False
        for reg, value in ((REG_MODE, self.mode_value()), (REG_CLOCK, self.clock_value()),
                           (REG_GAIN1, self.gain_value())):
            self.write_register(reg, value)
        for reg, value in ((REG_MODE, self.mode_value()), (REG_CLOCK, self.clock_value()),
                           (REG_GAIN1, self.gain_value())):
            got = self.read_register(reg)
            if got != value:
                raise OSError("ADS131M04 register %02x reads %04x, not %04x" % (reg, got, value))
        if self.lock:
            self._lock()
        self.started = True

    def _lock(self):
        if self._simple(CMD_LOCK) != CMD_LOCK:
            raise OSError("ADS131M04 did not lock")
        self.locked = True

    def _unlock(self):
        if self._simple(CMD_UNLOCK) != CMD_UNLOCK:
            raise OSError("ADS131M04 did not unlock")
        self.locked = False

    def set_gain(self, channel, gain):
        """PGA gain of one channel (1 .. 128): full scale becomes +-1.2 V / gain. Written,
        read back, the interface locked again; the next block starts a fresh grid."""
        if not 0 <= channel < CHANNELS or gain not in GAINS:
            raise ValueError("channel 0..3, gain one of %s" % (GAINS,))
        self.gains[channel] = gain
        if not self.started:
            return
        relock = self.locked
        if relock:
            self._unlock()
        self.write_register(REG_GAIN1, self.gain_value())
        if self.read_register(REG_GAIN1) != self.gain_value():
            raise OSError("ADS131M04 gain not taken")
        if relock:
            self._lock()

    def lsb_volts(self, channel):
        """Volts at the channel's input per code."""
        return VREF_V / self.gains[channel] / (FS_CODE + 1)

    # -- conversions ----------------------------------------------------------------------
    def data_ready(self):
        return not self._drdy()

    @micropython.native
    def wait_ready(self):
        """Wait for DRDY low; False after timeout_us. Sets waited / drdy_us."""
        drdy = self._drdy
        ticks_us = self._ticks_us
        t0 = ticks_us()
        if not drdy():
            self.waited = False
            self.drdy_us = t0
            return True
        diff = self._ticks_diff
        limit = self.timeout_us
        while drdy():
            if diff(ticks_us(), t0) > limit:
                return False
        self.waited = True
        self.drdy_us = ticks_us()
        return True

    @micropython.native
    def read_frame(self, into, offset):
        """Wait for a conversion and read it: the four channels' codes, sign-extended, into
        into[offset .. offset + 3] (array('i')). True if the frame passed its CRC; False
        (crc_errors counted, into unchanged) if not. OSError if DRDY does not come."""
        if not self.wait_ready():
            raise OSError("ADS131M04: no data ready")
        rx = self._rx
        self._cs.value(0)
        self._spi.write_readinto(self._null, rx)
        self._cs.value(1)
        self.frames += 1
        if crc16_ccitt(rx, _CRC_AT) != (rx[_CRC_AT] << 8) | rx[_CRC_AT + 1]:
            self.crc_errors += 1
            return False
        status = (rx[0] << 8) | rx[1]
        self.status = status
        if status & ST_CRC_ERR:
            self.chip_crc_errors += 1
        i = _DATA
        for k in range(CHANNELS):
            v = (rx[i] << 16) | (rx[i + 1] << 8) | rx[i + 2]
            if v & 0x800000:
                v -= 0x1000000
            into[offset + k] = v
            i += _WORD
        return True
