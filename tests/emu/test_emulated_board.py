"""Tier 3: the firmware image boots on the emulated board and its parts work there."""
import os
import subprocess
import sys
import time

from conftest import ROOT, device_exec, mpremote
from tools.emu import PROMPT, EmulatedBoard

from tools.manifest import manifest_files, module_names



def _frozen_module_names():
    # The board's manifest decides what is frozen (evaluated by MicroPython's manifestfile).
    return module_names(manifest_files("emu-mps2", ours_only=False))


def test_boots_micropython_1_25_on_the_board(board):
    assert "MicroPython v1.25" in board.banner
    assert "mps2-an385 with Cortex-M3" in board.banner


def test_frozen_modules_import(board):
    names = _frozen_module_names()
    assert "main" in names and "hal.emu_mps2" in names and "native.crc16" in names
    assert "asyncio" in names and "board" in names
    assert "hal.esp32" not in names and "hal.stm32" not in names
    out = device_exec(board, "import os, sys\n"
                             "print('fs', os.listdir('/'))\n"
                             "for n in %r:\n"
                             "    __import__(n)\n"
                             "    print('imported', n)\n" % names)
    # No filesystem is mounted, so every import came from the frozen image.
    assert "fs []" in out
    for n in names:
        assert "imported %s\r\n" % n in out or "imported %s\n" % n in out


def test_armv7m_natmod_loads_and_matches_fallback(board):
    natmod = os.path.join(ROOT, "build", "natmod", "armv7m", "_crc16.mpy")
    assert os.path.exists(natmod), "armv7m natmod not built"
    out = mpremote(
        board,
        "exec", "import sys, vfs, hal.sim\n"
                "bd = hal.sim.RamBlockDevice(block_size=512, block_count=128)\n"
                "vfs.VfsLfs2.mkfs(bd)\n"
                "vfs.mount(vfs.VfsLfs2(bd), '/ram')\n"
                "sys.path.append('/ram')",
        "fs", "cp", natmod, ":/ram/_crc16.mpy", "+",
        "exec", "import _crc16\n"
                "from native.crc16 import crc16_python\n"
                "print('check', hex(_crc16.crc16(b'123456789')))\n"
                "data = bytes((i * 7 + 3) & 255 for i in range(1000))\n"
                "print('same', _crc16.crc16(data, 0x1D0F) == crc16_python(data, 0x1D0F))\n"
                "vfs.umount('/ram')")
    assert "check 0xbb3d" in out
    assert "same True" in out


def test_armv7m_metrology_kernel_matches_fallback(board):
    # The _metro natmod built for armv7m and the Python fallback, on the same blocks of a
    # simulated 3-phase front end, leave identical state, history and accumulators.
    natmod = os.path.join(ROOT, "build", "natmod", "armv7m", "_metro.mpy")
    out = mpremote(
        board,
        "exec", "import sys, vfs, hal.sim\n"
                "bd = hal.sim.RamBlockDevice(block_size=512, block_count=64)\n"
                "vfs.VfsLfs2.mkfs(bd)\n"
                "vfs.mount(vfs.VfsLfs2(bd), '/ram')\n"
                "sys.path.append('/ram')",
        "fs", "cp", natmod, ":/ram/_metro.mpy", "+",
        "exec", "import array, _metro\n"
                "from native import metro\n"
                "from hal.adc_sim import PhaseScenario, Scenario, ScenarioADC\n"
                "from metrology.config import MetrologyConfig\n"
                "from metrology.frontend import Metrology\n"
                "sc = Scenario(phases=[PhaseScenario(230.0, 10.0, a) for a in (0.0, 30.0, -60.0)],"
                " rate_hz=2000)\n"
                "cfg = MetrologyConfig(phases=3, rate_hz=2000)\n"
                "nat = Metrology(cfg, kernel=_metro.process)\n"
                "py = Metrology(cfg, kernel=metro.process_python)\n"
                "adc = ScenarioADC(sc)\n"
                "for n in range(20):\n"
                "    adc.read_block(nat.block)\n"
                "    nat.process(nat.block, cfg.block_frames)\n"
                "    py.process(nat.block, cfg.block_frames)\n"
                "print('same', list(nat.acc) == list(py.acc) and list(nat.state) == list(py.state)"
                " and list(nat.hist) == list(py.hist))\n"
                "print('periods', nat.periods, py.periods)\n"
                "print('p', [int(r.p_w) for r in nat.results])\n"
                "vfs.umount('/ram')",
        timeout=300)
    assert "same True" in out
    assert "periods 2 2" in out  # 20 blocks of 200 frames at 2 kHz: two whole periods
    p = [int(x) for x in out.split("p [")[1].split("]")[0].split(",")]
    assert abs(p[0] - 2300) < 10 and abs(p[1] - 1992) < 10 and abs(p[2] - 1150) < 10


def test_uart1_bytes_reach_the_host(board):
    board.uart1_bytes.clear()
    device_exec(board, "from hal.emu_mps2 import CmsdkUart\n"
                       "u = CmsdkUart(1, 115200)\n"
                       "u.write(bytes(range(256)))\n"
                       "u.write(b'/EMU5 end\\r\\n')")
    expected = bytes(range(256)) + b"/EMU5 end\r\n"
    deadline = time.monotonic() + 10
    while len(board.uart1_bytes) < len(expected) and time.monotonic() < deadline:
        board.pump(0.1)
    assert bytes(board.uart1_bytes) == expected


def test_host_drives_data_request_line(board):
    # The line byte travels host socket -> QEMU -> UART3 asynchronously: the device polls
    # the line until it changes (or 2 s pass) and reports the level it saw.
    # mpremote soft-resets the board on each connection, so each exec builds its own HAL.
    wait = ("import time, board\n"
            "hal = board.make_hal()\n"
            "t0 = time.ticks_ms()\n"
            "while hal.data_request.value() != %d and time.ticks_diff(time.ticks_ms(), t0) < 2000:\n"
            "    pass\n"
            "print('dr', hal.data_request.value())")
    board.set_data_request(1)
    assert "dr 1" in device_exec(board, wait % 1)
    board.set_data_request(0)
    assert "dr 0" in device_exec(board, wait % 0)
    board.set_data_request(1)
    assert "dr 1" in device_exec(board, wait % 1)


def test_ticks_and_sleep_advance(board):
    out = device_exec(board, "import time\n"
                             "t0 = time.ticks_ms(); u0 = time.ticks_us()\n"
                             "time.sleep_ms(250)\n"
                             "print('ms', time.ticks_diff(time.ticks_ms(), t0))\n"
                             "print('us', time.ticks_diff(time.ticks_us(), u0))")
    ms = int(out.split("ms ")[1].split()[0])
    us = int(out.split("us ")[1].split()[0])
    # At least the requested time; the upper bound only rules out a runaway clock (QEMU
    # runs in host real time here and the host may be busy).
    assert 250 <= ms < 1000
    assert abs(us - ms * 1000) <= 2000  # the two tick counters agree


def test_main_runs_asyncio_status_loop(board):
    out = device_exec(board, "import main\nmain.run(seconds=2)", timeout=60)
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert lines[0].startswith("meter-fw ") and "board=emu-mps2" in lines[0]
    assert "runtime=micropython 1.25.0" in lines[0]
    # A fresh board (no provisioning record, no time sync): it says both, and runs.
    assert lines[1] == "provisioning: none on this meter (python -m tools.provision)"
    status = [ln for ln in lines if ln.startswith("status ")]
    assert status[0].startswith("status uptime=1s ") and status[1].startswith("status uptime=2s ")
    assert "alerts=clock-unsynced,unprovisioned" in status[0]
    assert status[0].endswith("clock_synced=no id=unprovisioned")


DEPLOYED_CHECK = """
import sys, os
import asyncio  # from the image, as a real board's MicroPython carries it
# Only the filesystem for our modules: forget what the RAM-fs setup imported from the
# frozen image and take '.frozen' off the path while importing again.
ours = ('hal', 'native', 'app', 'metrology', 'registers', 'h1', 'han', 'main', 'board')
for name in list(sys.modules):
    if name.split('.')[0] in ours:
        del sys.modules[name]
sys.path.remove('.frozen')
import main, board, hal.clock, app.status, native.crc16
sys.path.append('.frozen')
print('files', sorted(os.listdir('/')))
print('crc', native.crc16.IMPLEMENTATION, hex(native.crc16.crc16(b'123456789')))
main.run(seconds=1)
"""


def test_deploy_to_the_emulated_board():
    # make deploy's path end to end: manifest -> mpy-cross (armv7m) -> mpremote copy, into a
    # RAM filesystem; then the deployed modules and natmod run the firmware. On a board of
    # its own, as a deploy meets a board fresh from reset: on a board whose watchdog an
    # earlier main.run had started and stopped, the deployed meter was reset at about its
    # first watchdog feed (seen here, cause not found; docs/supervision.md).
    board = EmulatedBoard().start()
    try:
        board.open_console()
        board.wait_console(PROMPT, timeout=30)
        os.close(board.console_fd)
        board.console_fd = None
        # 1000 blocks of 512 octets: the whole firmware as .mpy is about 410 kB in 175
        # files (2026-11-30), each file taking whole littlefs blocks, in a 1.5 MiB heap.
        proc = subprocess.run([sys.executable, "-m", "tools.deploy", "--board", "emu-mps2",
                               "--port", board.pty, "--ramfs", "1000", "--exec",
                               DEPLOYED_CHECK],
                              cwd=ROOT, capture_output=True, text=True, timeout=180)
    finally:
        board.stop()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    files = eval(out.split("files ")[1].splitlines()[0])  # the board's os.listdir('/')
    assert {"_crc16.mpy", "_metro.mpy", "app", "board.mpy", "h1", "hal", "han", "main.py",
            "metrology", "native", "registers"} <= set(files)
    assert "crc natmod 0xbb3d" in out
    assert "board=emu-mps2" in out and "status uptime=1s" in out
