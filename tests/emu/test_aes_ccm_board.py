"""Tier 3: the armv7m _aes natmod on the emulated board: FIPS 197 Appendix B, and CCM* in C
against han.mac.ccm's Python path on frames with MIC 0/4/8/16 (the same bytes, the MIC
verifies, a flipped bit fails)."""
import os

from conftest import ROOT, mpremote

SETUP = ("import sys, vfs, hal.sim\n"
         "bd = hal.sim.RamBlockDevice(block_size=512, block_count=128)\n"
         "vfs.VfsLfs2.mkfs(bd)\n"
         "vfs.mount(vfs.VfsLfs2(bd), '/ram')\n"
         "sys.path.append('/ram')")

CHECK = """
from native import aes
import han.mac.ccm as ccm
ks = bytearray(176)
aes.aes128_key_schedule(bytes.fromhex('2b7e151628aed2a6abf7158809cf4f3c'), ks)
out = bytearray(16)
aes.aes128_encrypt_block(ks, bytes.fromhex('3243f6a8885a308d313198a2e0370734'), out)
print('impl', aes.IMPLEMENTATION, ccm.IMPLEMENTATION)
print('fips', out.hex())
c = ccm.CcmStar()
bad = 0
cases = 0
for mic in (0, 4, 8, 16):
    for m_len in range(0, 128 - mic, 7):
        a_len = (m_len * 5 + 3) % (128 - mic - m_len)
        n = a_len + m_len + mic
        frame = bytes((i * 29 + m_len + mic) & 255 for i in range(n))
        nonce = bytes((i * 3 + m_len) & 255 for i in range(13))
        b_c = bytearray(frame)
        b_p = bytearray(frame)
        c.encrypt(ks, nonce, b_c, a_len, m_len, mic)
        c.encrypt_python(ks, nonce, b_p, a_len, m_len, mic)
        bad += b_c != b_p
        bad += not c.decrypt(ks, nonce, b_c, a_len, m_len, mic)
        bad += b_c[:n - mic] != frame[:n - mic]
        if mic:
            b_p[n // 2] ^= 4
            bad += c.decrypt(ks, nonce, b_p, a_len, m_len, mic)
        cases += 1
print('ccm', cases, bad)
vfs.umount('/ram')
"""


def test_armv7m_aes_and_ccm_natmod(board):
    natmod = os.path.join(ROOT, "build", "natmod", "armv7m", "_aes.mpy")
    assert os.path.exists(natmod), "armv7m natmod not built"
    out = mpremote(board, "exec", SETUP, "fs", "cp", natmod, ":/ram/_aes.mpy", "+",
                   "exec", CHECK)
    assert "impl natmod natmod" in out
    assert "fips 3925841d02dc09fbdc118597196a0b32" in out  # FIPS 197 Appendix B
    assert "ccm 71 0" in out, out  # 19 + 18 + 18 + 16 frames, none differing
