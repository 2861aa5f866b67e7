# ZigBee APS command payloads (ZigBee spec 05-3474-21, 4.4.11): what the trust centre and
# a joining device exchange. The payload starts with the command identifier (after the
# APS header, or after the auxiliary header when APS-secured, and encrypted with the
# rest). Extended addresses are 8-byte buffers in written order (most significant byte
# first) and little endian on air, as in han.mac.frame.
#
#   build_*(out, off, ...) -> bytes written (ValueError when the buffer is too small)
#   parse(buf, off, n) -> command identifier after checking the length its fields need
#   (ValueError on truncated input or an unknown command or key type); the fields are
#   then read at the offsets named below with read_ext / buf[...].
from micropython import const

from han.aps.frame import (CMD_CONFIRM_KEY, CMD_REMOVE_DEVICE, CMD_REQUEST_KEY,
                           CMD_SWITCH_KEY, CMD_TRANSPORT_KEY, CMD_TUNNEL,
                           CMD_UPDATE_DEVICE, CMD_VERIFY_KEY)
from han.mac.frame import write_ext
from han.octets import room as _room

# Key types, 4.4.11.1.1 (Table 4-12) and Request Key 4.4.11.4.1.
KEY_TC_LINK = const(0x04)  # trust-centre link key (Transport Key, Request Key)
KEY_NETWORK = const(0x01)
KEY_APP_LINK = const(0x03)  # application link key (Transport Key)
KEY_APP_REQUEST = const(0x02)  # Request Key for an application link key

# Update Device status, 4.4.11.2.1 (Table 4-14).
UPDATE_SECURED_REJOIN = const(0x00)
UPDATE_UNSECURED_JOIN = const(0x01)
UPDATE_LEFT = const(0x02)
UPDATE_TC_REJOIN = const(0x03)

# Confirm Key status (the APS status values, 2.2.9): SUCCESS, and what a TC answers a
# Verify Key whose hash does not match.
CONFIRM_SUCCESS = const(0x00)
CONFIRM_SECURITY_FAIL = const(0xAD)

KEY_LEN = const(16)

# Offsets from the command identifier.
TK_KEY = const(2)  # Transport Key: key type at 1, key at 2..17
TK_NWK_SEQ = const(18)  # network key: sequence number, then destination, then source
TK_NWK_DST = const(19)
TK_NWK_SRC = const(27)
TK_TCLK_DST = const(18)  # trust-centre link key: destination, then source
TK_TCLK_SRC = const(26)
VK_SRC = const(2)  # Verify Key: key type at 1, source address, then the hash
VK_HASH = const(10)
CK_DST = const(3)  # Confirm Key: status at 1, key type at 2, destination address


def _key(out, p, key):
    if len(key) != KEY_LEN:
        raise ValueError("a key is 16 bytes")
    for i in range(KEY_LEN):
        out[p + i] = key[i]


def _tk_len(key_type):
    if key_type == KEY_NETWORK:
        return 35
    if key_type == KEY_TC_LINK:
        return 34
    if key_type == KEY_APP_LINK:
        return 27
    raise ValueError("unknown key type")


def parse(buf, off, n):
    if off >= n or n > len(buf):
        raise ValueError("APS command truncated")
    c = buf[off]
    k = n - off
    if c == CMD_TRANSPORT_KEY:
        need = 2 if k < 2 else _tk_len(buf[off + 1])
    elif c == CMD_UPDATE_DEVICE:
        need = 12
    elif c == CMD_REMOVE_DEVICE:
        need = 9
    elif c == CMD_REQUEST_KEY:
        need = 2 if k < 2 or buf[off + 1] == KEY_TC_LINK else 10
        if k >= 2 and buf[off + 1] not in (KEY_TC_LINK, KEY_APP_REQUEST):
            raise ValueError("unknown key type")
    elif c == CMD_SWITCH_KEY:
        need = 2
    elif c == CMD_TUNNEL:
        need = 11  # destination, then at least an APS command header (2 bytes)
    elif c == CMD_VERIFY_KEY:
        need = 26
    elif c == CMD_CONFIRM_KEY:
        need = 11
    else:
        raise ValueError("unknown APS command")
    if k < need:
        raise ValueError("APS command truncated")
    return c


def build_transport_nwk_key(out, off, key, seq, dst64, src64):
    """Transport Key carrying the network key (4.4.11.1.3.2)."""
    _room(out, off, 35)
    out[off] = CMD_TRANSPORT_KEY
    out[off + 1] = KEY_NETWORK
    _key(out, off + TK_KEY, key)
    out[off + TK_NWK_SEQ] = seq & 0xFF
    write_ext(out, off + TK_NWK_DST, dst64)
    write_ext(out, off + TK_NWK_SRC, src64)
    return 35


def build_transport_tclk(out, off, key, dst64, src64):
    """Transport Key carrying a trust-centre link key (4.4.11.1.3.1)."""
    _room(out, off, 34)
    out[off] = CMD_TRANSPORT_KEY
    out[off + 1] = KEY_TC_LINK
    _key(out, off + TK_KEY, key)
    write_ext(out, off + TK_TCLK_DST, dst64)
    write_ext(out, off + TK_TCLK_SRC, src64)
    return 34


def build_update_device(out, off, ext, short, status):
    """Update Device (4.4.11.2): a router tells the TC about a joining device."""
    _room(out, off, 12)
    out[off] = CMD_UPDATE_DEVICE
    write_ext(out, off + 1, ext)
    out[off + 9] = short & 0xFF
    out[off + 10] = (short >> 8) & 0xFF
    out[off + 11] = status
    return 12


def build_remove_device(out, off, target64):
    """Remove Device (4.4.11.3): the TC asks a parent to remove a child."""
    _room(out, off, 9)
    out[off] = CMD_REMOVE_DEVICE
    write_ext(out, off + 1, target64)
    return 9


def build_request_tclk(out, off):
    """Request Key for a trust-centre link key (4.4.11.4, key type 4)."""
    _room(out, off, 2)
    out[off] = CMD_REQUEST_KEY
    out[off + 1] = KEY_TC_LINK
    return 2


def build_switch_key(out, off, seq):
    """Switch Key (4.4.11.5): make the network key with this sequence number active."""
    _room(out, off, 2)
    out[off] = CMD_SWITCH_KEY
    out[off + 1] = seq & 0xFF
    return 2


def build_verify_key(out, off, src64, hash16):
    """Verify Key (4.4.11.7): the device proves it holds the TC link key."""
    _room(out, off, 26)
    out[off] = CMD_VERIFY_KEY
    out[off + 1] = KEY_TC_LINK
    write_ext(out, off + VK_SRC, src64)
    _key(out, off + VK_HASH, hash16)
    return 26


def build_confirm_key(out, off, status, dst64):
    """Confirm Key (4.4.11.8): the TC's answer to Verify Key."""
    _room(out, off, 11)
    out[off] = CMD_CONFIRM_KEY
    out[off + 1] = status
    out[off + 2] = KEY_TC_LINK
    write_ext(out, off + CK_DST, dst64)
    return 11
