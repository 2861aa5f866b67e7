"""Deterministic benchmarks on the emulated board (make bench).

    python -m tools.bench [--json FILE] [--no-meter] [--only KEY,...]

QEMU runs with `-icount shift=0`: every guest instruction advances virtual time by exactly
1 ns, and the board's TIMER0 (time.ticks_cpu(), 25 MHz) ticks every 40 ns, i.e. every 40
instructions. A cost measured as a ticks_cpu() delta is therefore an instruction count
(to within 40), identical from run to run whatever the host is doing.

Per-unit costs are marginal: each kernel runs on two input sizes and the difference is
divided by the difference in size, which removes call and measurement overhead (reported
separately as the fixed cost per call).

Then the whole meter runs for a minute of emulated time (tools/bench_meter.py: busy
instructions per emulated second, share of a 168 MHz core, heap high-water); --no-meter
leaves it out (it takes about 5 minutes of host time).
"""

import argparse
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tools.emu import EmulatedBoard, EmulatorError, ram_vfs_code  # noqa: E402

MPREMOTE = os.path.join(ROOT, ".venv", "bin", "mpremote")
INSTR_PER_TICK = 40  # 25 MHz TIMER0 under -icount shift=0 (1 instruction = 1 ns)

# Mount a RAM filesystem and put the board's natmods on the path (as tier 3 does).
SETUP = """
import sys, vfs, hal.sim
bd = hal.sim.RamBlockDevice(block_size=512, block_count=128)
vfs.VfsLfs2.mkfs(bd)
vfs.mount(vfs.VfsLfs2(bd), '/ram')
sys.path.append('/ram')
"""
# The deterministic meter the P1 benchmark formats: a test helper, not firmware, so the
# board gets it from a RAM VFS (tools.emu.ram_vfs_code), not from its frozen modules.
SIMSOURCE = os.path.join(ROOT, "tests", "unit", "p1_simsource.py")

# Device-side measuring helper: prints "RESULT <name> <ticks_small> <ticks_large>".
MEASURE = """
import time, gc
def measure(name, func, small, large, repeat=3):
    best = []
    for arg in (small, large):
        ticks = None
        for _ in range(repeat):
            gc.collect()
            t0 = time.ticks_cpu()
            func(arg)
            t = time.ticks_diff(time.ticks_cpu(), t0)
            ticks = t if ticks is None else min(ticks, t)
        best.append(ticks)
    print('RESULT', name, best[0], best[1])
"""

CRC16 = """
import _crc16
from native.crc16 import crc16_python
small = bytes((i * 7 + 3) & 255 for i in range(64))
large = bytes((i * 7 + 3) & 255 for i in range(1088))
assert _crc16.crc16(large) == crc16_python(large)
measure('crc16.natmod', _crc16.crc16, small, large)
measure('crc16.python', crc16_python, small, large)
"""

# Three phases of sinusoids (12-bit codes around mid-scale), 40 and 240 frames per block:
# the unit is one V/I sample pair (a frame of three phases holds three).
METRO = """
import array, math, _metro
from native import metro
def arrays():
    st = array.array('i', [0] * (3 * metro.STATE_STRIDE))
    for p in range(3):
        b = p * metro.STATE_STRIDE
        st[b + metro.V_OFFSET] = 2048; st[b + metro.I_OFFSET] = 2048
        st[b + metro.I_PREV] = 2048; st[b + metro.TC] = 1; st[b + metro.KC] = 3000
        st[b + metro.TQ] = 41; st[b + metro.KQ] = 9000; st[b + metro.ZC_HOLDOFF] = 40
        st[b + metro.RAIL_HI] = 4095; st[b + metro.CYC_START] = -1
    return st, array.array('h', [0] * (3 * metro.HIST_LEN)), array.array('q', [0] * (3 * metro.ACC_STRIDE))
block = array.array('h', [0] * (240 * 6))
for n in range(240):
    for p in range(3):
        t = 2 * math.pi * n / 160 - 2 * math.pi * p / 3
        block[6 * n + 2 * p] = 2048 + int(1500 * math.sin(t))
        block[6 * n + 2 * p + 1] = 2048 + int(900 * math.sin(t - 0.5))
nat = arrays(); py = arrays()
measure('metro.natmod', lambda f: _metro.process(block, f, 6, 3, *nat), 40, 240)
measure('metro.python', lambda f: metro.process_python(block, f, 6, 3, *py), 40, 240)
assert list(nat[2]) == list(py[2])
"""

# The wide-sample kernel (codes of up to 24 bits, 64-bit sums) on the same waveform as METRO
# at 4096 times the resolution: unsigned 24-bit codes around mid-scale, int32 arrays.
METRO_WIDE = """
import array, math, _metro
from native import metro
def arrays():
    st = array.array('i', [0] * (3 * metro.STATE_STRIDE))
    for p in range(3):
        b = p * metro.STATE_STRIDE
        st[b + metro.V_OFFSET] = 1 << 23; st[b + metro.I_OFFSET] = 1 << 23
        st[b + metro.I_PREV] = 1 << 23; st[b + metro.TC] = 1; st[b + metro.KC] = 3000
        st[b + metro.TQ] = 41; st[b + metro.KQ] = 9000; st[b + metro.ZC_HOLDOFF] = 40
        st[b + metro.RAIL_HI] = (1 << 24) - 1; st[b + metro.CYC_START] = -1
    return st, array.array('i', [0] * (3 * metro.HIST_LEN)), array.array('q', [0] * (3 * metro.ACC_STRIDE))
block = array.array('i', [0] * (240 * 6))
for n in range(240):
    for p in range(3):
        t = 2 * math.pi * n / 160 - 2 * math.pi * p / 3
        block[6 * n + 2 * p] = (1 << 23) + int(1500 * 4096 * math.sin(t))
        block[6 * n + 2 * p + 1] = (1 << 23) + int(900 * 4096 * math.sin(t - 0.5))
nat = arrays(); py = arrays()
measure('metro_wide.natmod', lambda f: _metro.process_wide(block, f, 6, 3, *nat), 40, 240)
measure('metro_wide.python', lambda f: metro.process_wide_python(block, f, 6, 3, *py), 40, 240)
assert list(nat[2]) == list(py[2])
"""

# One whole P1 telegram (NL DSMR 5.0.2, 3 phases, gas), built 1 and 3 times: with the CRC
# natmod and with the Python CRC fallback. Smarty's AES-128-GCM framing of a telegram: GHASH
# in Python, the block cipher from the _aes natmod or its Python fallback. One AES block.
H1 = """
import h1.builder as hb
from h1 import profiles
from h1.builder import TelegramBuilder
from p1_simsource import SimSource
from h1.crypt import FrameEncryptor
from registers.counters import RamCounterStore
from native.crc16 import crc16_python
import _crc16
snap = SimSource(1735682330).update(1735682340)
b = TelegramBuilder(profiles.by_name('nl'))
def build(k):
    for _ in range(k):
        b.build(snap)
hb.crc16 = _crc16.crc16
build(1)
measure('h1.natmod', build, 1, 3)
hb.crc16 = crc16_python
measure('h1.python', build, 1, 3)
import native.gcm as gcm
from native import aes
lu = TelegramBuilder(profiles.by_name('lu'))
n = lu.build(snap)
enc = FrameEncryptor(bytes(16), b'MPYH1SIM', RamCounterStore(), len(lu.buf))
def crypt(k):
    for _ in range(k):
        enc.encrypt(lu.buf, n)
gcm.aes128_encrypt_block = aes.aes128_encrypt_block_native
measure('gcm.natmod', crypt, 1, 3)
gcm.aes128_encrypt_block = aes.aes128_encrypt_block_python
measure('gcm.python', crypt, 1, 3)
ks = bytearray(176)
aes.aes128_key_schedule(bytes(16), ks)
blk = bytearray(16)
def blocks(k):
    for _ in range(k):
        aes.aes128_encrypt_block_native(ks, blk, blk)
measure('aes.natmod', blocks, 1, 11)
def blocks_py(k):
    for _ in range(k):
        aes.aes128_encrypt_block_python(ks, blk, blk)
measure('aes.python', blocks_py, 1, 11)
"""

# CCM* (IEEE 802.15.4 security, level 5: ENC-MIC-32) over a whole 127-byte frame: 23 bytes
# of header authenticated, 100 of payload encrypted, a 4-byte MIC. "ccm": CcmStar.encrypt on
# its C path (the _aes natmod's ccm_star_encrypt) and on its Python path (CBC-MAC and CTR
# in Python around the natmod's AES block). "ccmaes": the Python path with the AES block
# from the natmod and from its Python fallback (the row before the C path existed).
CCM = """
import han.mac.ccm as ccm
from native import aes
c = ccm.CcmStar()
ks = bytearray(176)
aes.aes128_key_schedule(bytes(range(16)), ks)
nonce = bytes(13)
frame = bytearray(127)
def secure(k):
    for _ in range(k):
        c.encrypt(ks, nonce, frame, 23, 100, 4)
assert ccm.IMPLEMENTATION == 'natmod'
ref = bytearray(127)
c.encrypt_python(ks, nonce, ref, 23, 100, 4)
c.encrypt(ks, nonce, frame, 23, 100, 4)
assert frame == ref
measure('ccm.natmod', secure, 1, 3)
ccm.ccm_star_encrypt = None
measure('ccm.python', secure, 1, 3)
ccm.aes128_encrypt_block = aes.aes128_encrypt_block_native
measure('ccmaes.natmod', secure, 1, 3)
ccm.aes128_encrypt_block = aes.aes128_encrypt_block_python
measure('ccmaes.python', secure, 1, 3)
"""

# A full NWK+APS frame in one 127-byte MAC frame (9-byte MAC header, 2-byte FCS): NWK data
# header (8 bytes) | NWK auxiliary header (14: extended nonce, key sequence number) | APS
# data header (8) | APS auxiliary header (13: data key, extended nonce) | 65 bytes of APS
# payload | APS MIC (4) | NWK MIC (4). Secure: ApsSecurity.encrypt with a link key, then
# NwkSecurity.encrypt with the network key (both level 5, key schedules precomputed, the
# headers already built, frame counters advancing). Verify: NwkSecurity.decrypt then
# ApsSecurity.decrypt of a secured copy; each verify first restores the 116 secured bytes
# (one slice copy, "nwkcopy" below, included in the verify figure). natmod = the C path of
# han.nwk.security (the _aes natmod's zigbee_sec.c: auxiliary header, ZigBee nonce and CCM*
# over the frame), python = its Python path around CcmStar's Python path (AES block from
# the natmod in both).
NWKAPS = """
import han.mac.ccm as ccm
from native import aes
from han.nwk import frame as nf
from han.nwk import security as ns
from han.aps import frame as af
from han.aps import security as asec
mac = bytearray(127)
nwk = memoryview(mac)[9:125]
aps = memoryview(mac)[9 + 8 + 14:125]
nh = nf.NwkHeader()
nh.security = True
nh.dst, nh.src, nh.radius, nh.seq = 0x0000, 0x1A2B, 30, 7
assert nf.build_header(nh, nwk) == 8
ah = af.ApsHeader()
ah.security = True
ah.dst_ep, ah.cluster, ah.profile, ah.src_ep, ah.counter = 1, 0x0702, 0x0109, 1, 5
assert af.build(ah, aps, 0) == 8
net_ks = bytearray(176)
aes.aes128_key_schedule(bytes(range(16)), net_ks)
link_ks = bytearray(176)
aes.aes128_key_schedule(bytes(range(16, 32)), link_ks)
n_aux = ns.AuxHeader()
n_aux.src64[:] = bytes.fromhex('0011223344556677')
a_aux = asec.AuxHeader()
a_aux.key_id = asec.KEY_DATA
a_aux.src64[:] = bytes.fromhex('0011223344556677')
payload = bytes((i * 13 + 1) & 255 for i in range(65))
nsec = ns.NwkSecurity()
asecr = asec.ApsSecurity()
def secure(k):
    for _ in range(k):
        n_aux.frame_counter += 1
        a_aux.frame_counter += 1
        assert asecr.encrypt(aps, 8, payload, 65, link_ks, a_aux) == 90
        assert nsec.encrypt(nwk, 8, None, 90, net_ks, n_aux) == 116
secure(1)
secured = bytes(nwk)
def restore(k):
    for _ in range(k):
        nwk[:] = secured
def verify(k):
    for _ in range(k):
        nwk[:] = secured
        nsec.decrypt(nwk, 116, net_ks, 8)
        asecr.decrypt(aps, 90, link_ks, 8)
verify(1)
assert bytes(aps[21:86]) == payload
assert ns.IMPLEMENTATION == 'natmod'
def python_path(on):
    ns.parse_aux = ns.parse_aux_python if on else aes.zigbee_parse_aux_native
    ns.build_aux = ns.build_aux_python if on else aes.zigbee_build_aux_native
    ns.zigbee_ccm = None if on else aes.zigbee_ccm_native
    ccm.ccm_star_encrypt = None if on else aes.ccm_star_encrypt_native
    ccm.ccm_star_decrypt = None if on else aes.ccm_star_decrypt_native
python_path(True)
n_aux.frame_counter -= 1
a_aux.frame_counter -= 1
secure(1)
assert bytes(nwk) == secured  # the Python path secures to the same bytes
verify(1)
assert bytes(aps[21:86]) == payload
python_path(False)
measure('nwksec.natmod', secure, 1, 3)
measure('nwkver.natmod', verify, 1, 3)
measure('nwkcopy.natmod', restore, 1, 3)
python_path(True)
measure('nwksec.python', secure, 1, 3)
measure('nwkver.python', verify, 1, 3)
"""

# Each benchmark: (title, unit, small input, large input, units per input step, device code,
# result key). Per-unit cost = tick difference * 40 / ((large - small) * units per step).
BENCHMARKS = [
    ("CRC-16/ARC (P1 checksum)", "byte", 64, 1088, 1, CRC16, "crc16"),
    ("metrology kernel, 3 phases", "V/I pair", 40, 240, 3, METRO, "metro"),
    ("wide kernel (24-bit), 3 phases", "V/I pair", 40, 240, 3, METRO_WIDE, "metro_wide"),
    ("P1 telegram, NL 3-phase + gas", "telegram", 1, 3, 1, H1, "h1"),
    ("Smarty AES-128-GCM framing", "telegram", 1, 3, 1, H1, "gcm"),
    ("AES-128, one 16-byte block", "block", 1, 11, 1, H1, "aes"),
    ("CCM* level 5, 100-byte payload", "frame", 1, 3, 1, CCM, "ccm"),
    ("CCM* Python path, AES nat/py", "frame", 1, 3, 1, CCM, "ccmaes"),
    ("NWK+APS frame, secure", "frame", 1, 3, 1, NWKAPS, "nwksec"),
    ("NWK+APS frame, verify", "frame", 1, 3, 1, NWKAPS, "nwkver"),
    ("  restore 116 bytes (in verify)", "frame", 1, 3, 1, NWKAPS, "nwkcopy"),
]


def run_on_board(board, natmods, code):
    args = [MPREMOTE, "connect", board.pty, "exec", SETUP + ram_vfs_code([SIMSOURCE], "/sim")]
    for path in natmods:
        args += ["fs", "cp", path, ":/ram/" + os.path.basename(path), "+"]
    args += ["exec", MEASURE + code]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise EmulatorError("benchmark failed on the board:\n%s\n%s" % (proc.stdout, proc.stderr))
    return {m.group(1): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"RESULT (\S+) (\d+) (\d+)", proc.stdout)}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", metavar="FILE", default=os.path.join(ROOT, "build",
                                                                       "bench.json"))
    parser.add_argument("--no-meter", action="store_true",
                        help="skip the whole-meter minute (tools/bench_meter.py)")
    parser.add_argument("--only", metavar="KEYS",
                        help="comma-separated result keys to run (crc16, metro, metro_wide, h1, "
                             "gcm, aes, ccm, ccmaes, nwksec, nwkver, nwkcopy); default: all. "
                             "Written "
                             "to build/bench-partial.json unless --json is given")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    if only and "--json" not in (argv if argv is not None else sys.argv):
        args.json = os.path.join(ROOT, "build", "bench-partial.json")
    natmods = [os.path.join(ROOT, "build", "natmod", "armv7m", f)
               for f in sorted(os.listdir(os.path.join(ROOT, "build", "natmod", "armv7m")))]
    rows = []
    print("[bench] emulated board, qemu -icount shift=0: instructions = TIMER0 ticks x %d"
          % INSTR_PER_TICK, flush=True)
    results = {}
    with EmulatedBoard(icount=True) as board:
        for title, unit, small, large, per_step, code, key in BENCHMARKS:
            if only and key not in only:
                continue
            if "%s.python" % key not in results and "%s.natmod" % key not in results:
                results.update(run_on_board(board, natmods, code))
            row = {"benchmark": title, "unit": unit}
            for impl in ("natmod", "python"):
                if "%s.%s" % (key, impl) not in results:
                    row[impl] = None
                    continue
                t_small, t_large = results["%s.%s" % (key, impl)]
                per_unit = (t_large - t_small) * INSTR_PER_TICK / ((large - small) * per_step)
                fixed = t_small * INSTR_PER_TICK - per_unit * small * per_step
                row[impl] = {"instructions_per_unit": round(per_unit, 1),
                             "fixed_instructions_per_call": round(fixed)}
            row["ratio_python_over_natmod"] = round(
                row["python"]["instructions_per_unit"] / row["natmod"]["instructions_per_unit"],
                1) if row["natmod"] and row["python"] else None
            rows.append(row)
    print()
    def cell(r, impl, field, fmt):
        return fmt % r[impl][field] if r[impl] else "-"

    print("%-30s %-9s %12s %12s %8s" % ("benchmark", "unit", "natmod", "python", "ratio"))
    for r in rows:
        ratio = ("%7.1fx" % r["ratio_python_over_natmod"] if r["ratio_python_over_natmod"]
                 else "       -")
        print("%-30s %-9s %12s %12s %s" % (
            r["benchmark"], r["unit"], cell(r, "natmod", "instructions_per_unit", "%.1f"),
            cell(r, "python", "instructions_per_unit", "%.1f"), ratio))
        if r["unit"] not in ("telegram", "block", "frame"):
            print("%-30s %-9s %12s %12s" % (
                "  fixed cost per call", "instr",
                cell(r, "natmod", "fixed_instructions_per_call", "%d"),
                cell(r, "python", "fixed_instructions_per_call", "%d")))
    for r in rows:
        if r["unit"] == "V/I pair":
            # 3 phases x 8 kHz per channel = 24 000 pairs/s on a 168 MHz core (STM32F405),
            # counting instructions as cycles (a lower bound on a Cortex-M4).
            for impl in ("natmod", "python"):
                share = r[impl]["instructions_per_unit"] * 24000 / 168e6 * 100
                r[impl]["share_of_168mhz_at_3x8khz_percent"] = round(share, 1)
            print("  %s: 3 phases x 8 kHz on a 168 MHz core: natmod %.1f %%, python %.1f %%"
                  % (r["benchmark"], r["natmod"]["share_of_168mhz_at_3x8khz_percent"],
                     r["python"]["share_of_168mhz_at_3x8khz_percent"]))
    if not args.no_meter:
        from tools import bench_meter

        print("\n[bench] %s: about 5 minutes of host time under -icount ..."
              % bench_meter.TITLE, flush=True)
        row = bench_meter.run_meter()
        bench_meter.print_row(row)
        rows.append(row)
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(rows, f, indent=2)
    print("\n[bench] instructions per unit of work (lower is better); written to %s"
          % os.path.relpath(args.json, ROOT))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except EmulatorError as e:
        print("[bench] error: %s" % e, file=sys.stderr)
        sys.exit(2)
