# Secured MAC command frames of frame version 2 (802.15.4-2015): the Command ID is the
# first byte of the private payload, so at levels 4..7 it is encrypted (issue 11; Wireshark
# 4.0 and OpenThread read it so). Our frames (firmware/han/mac/frame.py, security.py)
# against `cryptography`'s AESCCM / AES-CTR built from hand-assembled a/m data, and against
# Debian's tshark given the key: every level dissects without "Malformed" and shows the
# decrypted Command ID. The 2006 frame keeps the Command ID in the clear. Tier 1.
import subprocess

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from han.mac import frame as fr
from han.mac import security as sec
from han.mac.fcs import append_fcs
from han.pcap import PcapWriter
from registers.counters import RamCounterStore

KEY = bytes(range(0xC0, 0xD0))  # IEEE 802.15.4 Annex C's example key
KEY_OPTION = 'uat:ieee802154_keys:"%s","1","No hash"' % KEY.hex().upper()
SRC = bytes.fromhex("ACDE480000000001")
# (command id, its payload): association requests (capability 0x8E, 0x80) and a data
# request, the commands tshark accepts with this addressing (short dst, extended src).
COMMANDS = ((0x01, b"\x8e"), (0x04, b""), (0x01, b"\x80"))
MIC = {4: 0, 5: 4, 6: 8, 7: 16}


def _fields(version, level, seq):
    f = fr.FrameFields()
    f.frame_type = fr.FT_CMD
    f.version = version
    f.seq = seq
    f.ack_request = True
    f.pan_id_compression = True
    f.dst_mode = fr.ADDR_SHORT
    f.dst_pan = 0x1A2B
    f.dst_addr = 0x0000
    f.src_mode = fr.ADDR_EXT
    f.src_ext[:] = SRC
    f.security = True
    f.sec_level = level
    f.key_id_mode = 1
    f.key_index = 1
    return f


def _header(version, level, seq, counter):
    # The MHR written by hand (2015 7.2 / 2006 7.2.1): FCF = command 3 | security 0x08 |
    # AR 0x20 | PAN ID compression 0x40 | dst short 0x0800 | version << 12 | src ext 0xC000;
    # seq; dst PAN and short address; src extended address LSB first; security control
    # (level | key id mode 1 << 3), frame counter (LE), key index 1.
    fcf = 0x006B | 0x0800 | (version << 12) | 0xC000
    return (fcf.to_bytes(2, "little") + bytes([seq]) + b"\x2b\x1a\x00\x00" + SRC[::-1]
            + bytes([level | 0x08]) + counter.to_bytes(4, "little") + b"\x01")


def _oracle(a, m, level, counter):
    nonce = SRC + counter.to_bytes(4, "big") + bytes([level])
    if level == 4:  # encryption only: CTR from counter 1 (802.15.4-2020 B.4.1.3)
        enc = Cipher(algorithms.AES(KEY), modes.CTR(b"\x01" + nonce + b"\x00\x01")).encryptor()
        return a + enc.update(m) + enc.finalize()
    return a + AESCCM(KEY, tag_length=MIC[level]).encrypt(nonce, m, a)


def _secured(version, level, seq, cmd_id, payload, tx):
    f = _fields(version, level, seq)
    assert tx.prepare(f) == sec.SEC_OK
    buf = bytearray(127)
    n = fr.encode(f, bytes([cmd_id]) + payload, 1 + len(payload), buf)
    return bytes(buf[:tx.secure(f, buf, n)]), f.frame_counter


def _tx():
    tx = sec.MacSecurity(SRC, RamCounterStore(), min_level=0)
    tx.keys.add(KEY, 1, 1)
    return tx


@pytest.mark.parametrize("level", [4, 5, 6, 7])
def test_2015_command_id_is_encrypted_as_aesccm_says(level):
    tx = _tx()
    for seq, (cmd_id, payload) in enumerate(COMMANDS):
        frame, counter = _secured(fr.VERSION_2015, level, seq, cmd_id, payload, tx)
        hdr = _header(fr.VERSION_2015, level, seq, counter)
        assert frame == _oracle(hdr, bytes([cmd_id]) + payload, level, counter)
        # And a 2006 frame keeps it in the clear, in the authenticated a data.
        frame, counter = _secured(fr.VERSION_2006, level, seq, cmd_id, payload, tx)
        hdr = _header(fr.VERSION_2006, level, seq, counter)
        assert frame == _oracle(hdr + bytes([cmd_id]), payload, level, counter)
        assert frame[len(hdr)] == cmd_id


def test_tshark_decrypts_2015_command_frames(tmp_path):
    tx = _tx()
    path = str(tmp_path / "cmd2015.pcap")
    expected = []
    with open(path, "wb") as out:
        w = PcapWriter(out)
        for level in (4, 5, 6, 7):
            for cmd_id, payload in COMMANDS:
                seq = len(expected)
                frame, _ = _secured(fr.VERSION_2015, level, seq, cmd_id, payload, tx)
                buf = bytearray(frame + b"\x00\x00")
                n = append_fcs(buf, len(frame))
                w.write(1000 * (seq + 1), buf, n)
                expected.append((seq, cmd_id))
    assert len(expected) == 12
    out = subprocess.run(
        ["tshark", "-r", path, "-o", KEY_OPTION, "-T", "fields", "-E", "separator=|",
         "-e", "wpan.seq_no", "-e", "wpan.cmd", "-e", "_ws.malformed", "-e", "_ws.expert"],
        capture_output=True, text=True, check=True).stdout
    rows = [line.split("|") for line in out.splitlines()]
    assert len(rows) == 12
    for (seq, cmd_id), (t_seq, t_cmd, malformed, expert) in zip(expected, rows):
        assert int(t_seq) == seq
        assert t_cmd and int(t_cmd, 16) == cmd_id, (seq, t_cmd)
        assert not malformed and not expert, (seq, malformed, expert)
    # Without the key tshark cannot read the Command ID: it really is encrypted.
    out = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "wpan.cmd"],
                         capture_output=True, text=True, check=True).stdout
    assert [line for line in out.splitlines() if line] == []
