"""Tier 3: the wide-sample metrology kernel (_metro.process_wide) built for armv7m runs on
the emulated Cortex-M3 and leaves the same state, history and accumulators as the Python
fallback (native.metro.process_wide_python), allocating nothing per block."""
import os

from conftest import ROOT, mpremote
from tools.emu import ram_vfs_code

NATMOD = os.path.join(ROOT, "build", "natmod", "armv7m", "_metro.mpy")
UNIT = os.path.join(ROOT, "tests", "unit")


def test_armv7m_wide_kernel_passes_the_portable_tests(board):
    # The tier 1/2 module, run whole on the board: its hand-checked sums beyond 32 and 64
    # bits, and natmod against fallback on pseudo-random 16- and 24-bit blocks (1 and 3
    # phases, crossings, saturation), each natmod call under heap_lock. On a 32-bit port
    # every 64-bit value the fallback computes is a long int, unlike on the x64 unix port.
    assert os.path.exists(NATMOD), "armv7m natmod not built"
    files = [NATMOD, os.path.join(UNIT, "support.py"),
             os.path.join(UNIT, "test_native_metro_wide.py")]
    out = mpremote(
        board,
        "exec", ram_vfs_code(files, "/wide") +
                "import sys\n"
                "from native import metro\n"
                "print('impl', metro.IMPLEMENTATION_WIDE)\n"
                "import test_native_metro_wide as t\n"
                "for name in sorted(dir(t)):\n"
                "    if name.startswith('test_'):\n"
                "        try:\n"
                "            getattr(t, name)()\n"
                "            print('PASS', name)\n"
                "        except Exception as e:\n"
                "            print('FAIL', name)\n"
                "            sys.print_exception(e)\n",
        timeout=600)
    assert "impl natmod" in out, out
    assert "FAIL" not in out, out
    assert out.count("PASS test_") == 10, out


def test_armv7m_wide_kernel_behind_the_front_matches_fallback(board):
    # As test_armv7m_metrology_kernel_matches_fallback (tests/emu/test_emulated_board.py),
    # with a 24-bit front end (4096 times the 12-bit front end's resolution): the metrology
    # front on the natmod and on the fallback, the same blocks of a simulated 3-phase supply.
    out = mpremote(
        board,
        "exec", ram_vfs_code([NATMOD], "/wide") +
                "import _metro\n"
                "from native import metro\n"
                "from hal.adc_sim import PhaseScenario, Scenario, ScenarioADC\n"
                "from metrology.config import MetrologyConfig\n"
                "from metrology.frontend import Metrology\n"
                "sc = Scenario(phases=[PhaseScenario(230.0, 10.0, a) for a in (0.0, 30.0, -60.0)],"
                " rate_hz=2000, bits=24, v_scale=0.25 / 4096, i_scale=0.05 / 4096)\n"
                "cfg = MetrologyConfig(phases=3, rate_hz=2000, adc_bits=24,"
                " v_scale=0.25 / 4096, i_scale=0.05 / 4096)\n"
                "nat = Metrology(cfg, kernel=_metro.process_wide)\n"
                "py = Metrology(cfg, kernel=metro.process_wide_python)\n"
                "adc = ScenarioADC(sc)\n"
                "for n in range(20):\n"
                "    adc.read_block(nat.block)\n"
                "    nat.process(nat.block, cfg.block_frames)\n"
                "    py.process(nat.block, cfg.block_frames)\n"
                "print('same', list(nat.acc) == list(py.acc) and list(nat.state) == list(py.state)"
                " and list(nat.hist) == list(py.hist))\n"
                "print('periods', nat.periods, py.periods)\n"
                "print('p', [int(r.p_w) for r in nat.results])\n",
        timeout=600)
    assert "same True" in out, out
    assert "periods 2 2" in out, out
    p = [int(x) for x in out.split("p [")[1].split("]")[0].split(",")]
    assert abs(p[0] - 2300) < 10 and abs(p[1] - 1992) < 10 and abs(p[2] - 1150) < 10, out
