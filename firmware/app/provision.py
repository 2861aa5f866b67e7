# The meter's identity and keys: the provisioning record, written once per device at
# manufacture or installation (python -m tools.provision, make run for the emulated board)
# and kept in the registers' power-safe record store. Nothing in the firmware invents an
# identity: a meter without this record still meters, but raises the "unprovisioned" alert
# and leaves its identity lines out of P1 (issue 10).
#
# Record: a sequence of TLV fields, tag u8 | length u8 | value, each tag at most once, in
# any order; unknown tags are refused (a record from a newer tool must not half-apply):
#   0x01 serial            1..32 printable ASCII (the device's serial number)
#   0x02 p1_equipment_id   1..48 printable ASCII: 0-0:96.1.1 (DSMR 5.0.2 6.12, Sn, n <= 96
#                          hex digits); Luxembourg prints at most 16 of them (0-0:42.0.0, S32)
#   0x03 system_title      8 octets: the DLMS system title of P1's encryption (Smarty 1.1.3
#                          3.2.5: manufacturer id and serial; the GCM nonce starts with it)
#   0x04 han_eui64         8 octets: the HAN radio's IEEE extended address (not 00..00/FF..FF)
#   0x05 han_install_code  6, 8, 12 or 16 octets + CRC-16/X-25 little endian (ZigBee 3.0
#                          BDB 10.1; the trust centre derives the link key from it)
#   0x06 p1_key            16 octets: AES-128 key of P1's encryption (Smarty GUEK)
#   0x07 config_key        16..64 octets: HMAC key of the configuration path
#   0x08 han_network_key   16 octets: the HAN network key (else the trust centre makes one)
#   0x09 wifi_ssid         1..32 octets: the Wi-Fi network of a board that has Wi-Fi (ESP32),
#   0x0A wifi_psk          8..63 printable ASCII: its WPA2 passphrase, and
#   0x0B ntp_server        1..64 printable ASCII: the (S)NTP server's host name; with all
#                          three the meter keeps its clock from the network (app/sntp.py)
#   0x0C ota_key           16..64 octets: the HAN firmware images' signing key (HMAC-SHA256,
#                          han/ota/image.py): the hub offers, a device role takes, only
#                          images it authenticates; without it the HAN does no OTA
from micropython import const

from native.crc16 import crc16_x25

_KIND = const(0x90)  # record kind in the registers' record store
MAX_RECORD = const(256)

SERIAL = const(1)
P1_EQUIPMENT_ID = const(2)
SYSTEM_TITLE = const(3)
HAN_EUI64 = const(4)
HAN_INSTALL_CODE = const(5)
P1_KEY = const(6)
CONFIG_KEY = const(7)
HAN_NETWORK_KEY = const(8)
WIFI_SSID = const(9)
WIFI_PSK = const(10)
NTP_SERVER = const(11)
OTA_KEY = const(12)

# tag -> (name, allowed lengths or (min, max) range, text: 0 octets, 1 printable ASCII
# without spaces, 2 printable ASCII with spaces)
FIELDS = {
    SERIAL: ("serial", (1, 32), True),
    P1_EQUIPMENT_ID: ("p1_equipment_id", (1, 48), True),
    SYSTEM_TITLE: ("system_title", (8, 8), False),
    HAN_EUI64: ("han_eui64", (8, 8), False),
    HAN_INSTALL_CODE: ("han_install_code", (8, 10, 14, 18), False),
    P1_KEY: ("p1_key", (16, 16), False),
    CONFIG_KEY: ("config_key", (16, 64), False),
    HAN_NETWORK_KEY: ("han_network_key", (16, 16), False),
    WIFI_SSID: ("wifi_ssid", (1, 32), False),
    WIFI_PSK: ("wifi_psk", (8, 63), 2),  # IEEE 802.11i passphrase: 8..63 printable
    NTP_SERVER: ("ntp_server", (1, 64), True),
    OTA_KEY: ("ota_key", (16, 64), False),
}


def _length_ok(n, allowed):
    if len(allowed) == 2:
        return allowed[0] <= n <= allowed[1]
    return n in allowed


def _check(tag, value):
    name, allowed, text = FIELDS[tag]
    if not _length_ok(len(value), allowed):
        raise ValueError("%s: wrong length %d" % (name, len(value)))
    if text:
        lowest = 0x20 if text == 2 else 0x21
        for b in value:
            if not lowest <= b < 0x7F:
                raise ValueError("%s: printable ASCII only%s"
                                 % (name, "" if text == 2 else ", no spaces"))
    if tag == HAN_EUI64 and (value == b"\x00" * 8 or value == b"\xff" * 8):
        raise ValueError("han_eui64: reserved address")
    if tag == HAN_INSTALL_CODE:
        code = value[:-2]
        crc = value[-2] | value[-1] << 8
        if crc16_x25(code) != crc:
            raise ValueError("han_install_code: CRC-16/X-25 does not match")


class Provisioning:
    """The decoded record: one attribute per field name, None when absent."""

    def __init__(self, **fields):
        for name in _NAMES:
            setattr(self, name, None)
        for name, value in fields.items():
            if name not in _NAMES:
                raise ValueError("unknown provisioning field %s" % name)
            if value is not None:
                value = bytes(value)
                _check(_NAMES[name], value)
                setattr(self, name, value)
        if self.serial is None:
            raise ValueError("serial is required")

    def encode(self):
        out = bytearray()
        for tag in sorted(FIELDS):
            value = getattr(self, FIELDS[tag][0])
            if value is not None:
                out.append(tag)
                out.append(len(value))
                out.extend(value)
        return bytes(out)

    @staticmethod
    def decode(data):
        """The record in data; ValueError unless it is whole and every field is valid."""
        if len(data) > MAX_RECORD:
            raise ValueError("provisioning record too long")
        fields = {}
        pos = 0
        while pos < len(data):
            if pos + 2 > len(data):
                raise ValueError("provisioning record truncated")
            tag = data[pos]
            n = data[pos + 1]
            if tag not in FIELDS:
                raise ValueError("unknown provisioning tag 0x%02x" % tag)
            name = FIELDS[tag][0]
            if name in fields:
                raise ValueError("%s given twice" % name)
            if pos + 2 + n > len(data):
                raise ValueError("provisioning record truncated")
            fields[name] = bytes(data[pos + 2:pos + 2 + n])
            pos += 2 + n
        return Provisioning(**fields)

    def summary(self):
        """One console line: the serial and which keys are present (never the keys)."""
        keys = [FIELDS[t][0] for t in (P1_KEY, CONFIG_KEY, HAN_NETWORK_KEY, HAN_INSTALL_CODE,
                                       OTA_KEY)
                if getattr(self, FIELDS[t][0]) is not None]
        line = "serial={} keys={}".format(self.serial.decode(), ",".join(keys) or "none")
        if self.ntp_server is not None:
            line += " ntp={}".format(self.ntp_server.decode())
        return line


_NAMES = {}
for _tag in FIELDS:
    _NAMES[FIELDS[_tag][0]] = _tag


def _slots(record_store):
    return record_store.slots("provision", _KIND, MAX_RECORD)


def load(record_store):
    """The stored provisioning, or None (never provisioned; a record that fails to decode
    counts as none: the meter then says it is unprovisioned rather than run half-keyed)."""
    buf = bytearray(MAX_RECORD)
    n = _slots(record_store).load(buf)
    if n < 0:
        return None
    try:
        return Provisioning.decode(memoryview(buf)[:n])
    except ValueError:
        return None


def save(record_store, provisioning):
    data = provisioning.encode()
    _slots(record_store).save(data, len(data))


def install(board_module, data, keep_existing=False):
    """Write a provisioning record (bytes, validated first) to a board's flash; what
    tools.provision runs on the board over mpremote. keep_existing: leave a valid record
    that is already there (make run's default identity never replaces a real one).
    Returns the summary line of the record the meter now holds."""
    from registers.storage import open_filesystem
    from registers.store import RecordStore

    provisioning = Provisioning.decode(data)
    hal = board_module.make_hal()
    if hal.flash is None:
        raise OSError("board %s has no flash for the provisioning record" % hal.name)
    fs, _ = open_filesystem(hal.flash)
    store = RecordStore(fs, max_payload=1024)
    if keep_existing:
        held = load(store)
        if held is not None:
            return held.summary()
    save(store, provisioning)
    return provisioning.summary()
