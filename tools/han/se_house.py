"""The house around the firmware in tools/han/se_day.py: what app.han_setup and main read
of a board (Hal), a device's own flash (DeviceFlash), a radio that counts its frames and
its on-time (MeteredRadio), the load the meter measures (HouseLoad, in the metrology's
place), the identities and install codes, and the host's AES block for the HAN's CCM*.
"""
from tools import fwpath

fwpath.setup()
from han import radio_sim  # noqa: E402
from native.crc16 import crc16_x25  # noqa: E402
from registers.memfs import MemoryFs  # noqa: E402
from registers.store import RecordStore  # noqa: E402

STEP_W = 360  # 360 W for 10 s = 1 Wh
# The load in steps of STEP_W per local hour (a night base, morning and evening peaks),
# plus 0..2 steps drawn per minute from the seed.
HOURLY_STEPS = (1, 1, 1, 1, 1, 1, 2, 4, 3, 2, 2, 2, 3, 2, 2, 2, 3, 5, 7, 6, 4, 3, 2, 1)
_FT_ACK = 2  # 802.15.4 frame type of an acknowledgement (2006 7.2.1.1.1)

METER_EUI = bytes.fromhex("0004A30B00ED0001")
GAS_EUI = bytes.fromhex("0004A30B00ED6A50")
METER_ID = b"E0099887766554433"  # the meter's P1 equipment identifier
GAS_ID = b"G0012345678901234"  # the gas meter's (P1 prints it on 0-1:96.1.0)
NETWORK_KEY = bytes.fromhex("0123456789ABCDEF0123456789ABCDEF")  # for tools.han decode
CONFIG_KEY = bytes.fromhex("5345206461792073696D756C6174696F")  # the TC derives its keys


def display_eui(i):
    return bytes.fromhex("0004A30B00ED1D%02X" % (i + 1))


def install_code(i):
    """An 8-octet install code with its CRC-16/X-25 (little endian) for device i (0: the
    gas meter, 1..: the displays)."""
    code = bytes([0x5E, 0xDA, 0x70, 0x1C, 0x0D, 0xE0, 0x00, i])
    crc = crc16_x25(code)
    return code + bytes((crc & 0xFF, crc >> 8))


class Hal:
    """What app.han_setup and main.make_registers read of a board: its name, clock, radio,
    random source (none: the trust centre derives its keys from the config key, so runs
    repeat) and flash (any object: CPython has no littlefs, registers/storage.py then
    gives a MemoryFs)."""

    def __init__(self, name, clock, radio, flash=None):
        self.name = name
        self.clock = clock
        self.radio = radio
        self.entropy = None
        self.flash = flash


class DeviceFlash:
    """A device's registers as make_han uses them: its record store (network, keys, the gas
    register) and its tamper log (counted)."""

    def __init__(self):
        self.store = RecordStore(MemoryFs())
        self.tamper = 0

    def record_event(self, log_id, utc, code, a=0, b=0):
        self.tamper += 1


class MeteredRadio(radio_sim.SimRadio):
    """SimRadio counting the time its transceiver is on, the frames it sends and takes in
    (to its address or broadcast: the radio filters the rest), and apart from them the
    ACKs: those it sends (the radio's automatic ones) and those it takes in (an ACK carries
    no address: every radio listening on the channel takes in all of them)."""

    def __init__(self, medium, position, channel):
        radio_sim.SimRadio.__init__(self, medium, position, channel)
        self.on_us = 0
        self._on_at = 0
        self.tx_frames = 0
        self.tx_acks = 0
        self.rx_frames = 0
        self.rx_acks = 0

    def on(self):
        if not self.enabled:
            self._on_at = self.medium.now
        radio_sim.SimRadio.on(self)

    def off(self):
        if self.enabled:
            self.on_us += self.medium.now - self._on_at
        radio_sim.SimRadio.off(self)

    def on_time_us(self):
        return self.on_us + (self.medium.now - self._on_at if self.enabled else 0)

    def counts(self):
        return self.on_time_us(), self.tx_frames, self.rx_frames, self.tx_acks, self.rx_acks

    def _send(self, psdu, delay):
        if psdu[0] & 7 == _FT_ACK:
            self.tx_acks += 1
        else:
            self.tx_frames += 1
        radio_sim.SimRadio._send(self, psdu, delay)

    def _queue(self, frame, rssi, lqi):
        if frame[0] & 7 == _FT_ACK:
            self.rx_acks += 1
        else:
            self.rx_frames += 1
        radio_sim.SimRadio._queue(self, frame, rssi, lqi)


class _Total:
    def __init__(self):
        self.p_w = 0.0
        self.q_var = 0.0
        self.s_va = 0.0


class HouseLoad:
    """In the metrology's place (what make_hub and MeterSource read of it: total.p_w,
    periods, results): a deterministic load, fed into the registers each period."""

    def __init__(self, seed):
        self.seed = seed
        self.total = _Total()
        self.periods = 1
        self.results = ()
        self.watts = 0

    def watts_at(self, local_s):
        x = (self.seed * 7919 + (local_s // 60) * 2654435761) & 0xFFFFFFFF
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        return STEP_W * (HOURLY_STEPS[(local_s // 3600) % 24] + (x >> 16) % 3)

    def set(self, local_s):
        self.watts = self.watts_at(local_s)
        self.total.p_w = self.total.s_va = float(self.watts)

    def integrate(self, registers, seconds):
        """The period's energy at the present load into the registers (mWh; whole Wh for
        10 s periods)."""
        registers.add_energy(self.watts * seconds * 1000 // 3600, 0, 0, 0, 0, 0)


def host_aes():
    """Give han.mac.ccm's CCM* the host's AES block (cryptography's: on a board the C
    natmod takes the Python block cipher's place the same way, native/aes.py); the CCM*
    and the ZigBee security above it stay the firmware's. Returns the function that puts
    the Python block back (None when cryptography is missing: the Python block stays)."""
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    except ImportError:
        return None
    from han.mac import ccm

    python_block = ccm.aes128_encrypt_block
    encryptors = {}  # key -> its ECB encryptor (a few keys: network, links, derived)

    def block(ks, src, dst):
        key = bytes(ks[:16])  # round key 0 is the key itself (FIPS 197 5.2)
        e = encryptors.get(key)
        if e is None:
            e = encryptors[key] = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
        dst[:16] = e.update(bytes(src[:16]))

    ccm.aes128_encrypt_block = block

    def restore():
        ccm.aes128_encrypt_block = python_block
    return restore
