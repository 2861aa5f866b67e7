"""Tier 3: a hung task resets the emulated board through its CMSDK APB watchdog (QEMU 7.2
wires the watchdog's reset output to a system reset); the registers continue after the
reset and the fault log holds the hang and the reset cause (docs/supervision.md)."""
import re
import time

from conftest import ROOT  # noqa: F401 - puts the repository on sys.path

from tools.emu import PROMPT, EmulatedBoard

BANNER = b'Type "help()" for more information.'
TASK_P1 = 3  # app.supervisor.TASK_P1
EV_TASK_HUNG = 43  # registers.logs
EV_RESET_CAUSE = 44
RESET_WATCHDOG = 3  # hal.watchdog


def _telegrams(data):
    return re.findall(rb"/[^!]*![0-9A-F]{4}\r\n", data)


def _import_kwh(telegram):
    total = 0.0
    for obis in (rb"1-0:1\.8\.1", rb"1-0:1\.8\.2"):
        total += float(re.search(obis + rb"\((\d+\.\d+)\*kWh\)", telegram).group(1))
    return total


READ_FAULT_LOG = (
    "from registers.storage import open_filesystem; from registers.meter import "
    "MeterRegisters; fs, _ = open_filesystem(h.flash); r = MeterRegisters(h.clock, fs); "
    "r.logs.load(); L = r.logs.log(1); print('FAULTLOG', [L.entry(i)[2:] for i in "
    "range(L.count)])")


def test_a_hung_task_resets_the_board_and_the_registers_continue(tmp_path):
    board = EmulatedBoard(flash_dir=str(tmp_path)).start()
    try:
        board.open_console()
        board.wait_console(PROMPT, timeout=30)
        board.set_data_request(1)
        # Fault injection: P1 runs 6 s, then awaits something that never comes.
        start = len(board.console_log)
        board.write_console("import app.supervisor as s; s.HANG_TASK = %d; s.HANG_AFTER_MS = "
                            "6000; import main; main.run(utc=%d)\r"
                            % (TASK_P1, int(time.time())))
        t0 = time.monotonic()
        hung_at = board.wait_console(b"supervisor: task 3 hung", timeout=40, start=start)
        t_hung = time.monotonic()
        before = _telegrams(bytes(board.uart1_bytes))
        assert len(before) >= 3, board.console_log[-2000:]
        # The supervisor stops feeding: 4 s later the watchdog's first expiry (NMI: the
        # handler records the cause and parks the CPU), 4 s after that the reset.
        nmi_at = board.wait_console(b"NMI exception caught", timeout=20, start=hung_at)
        board.wait_console(BANNER, timeout=20, start=nmi_at)
        t_reset = time.monotonic()
        board.wait_console(PROMPT, timeout=10, start=nmi_at)
        assert 6 <= t_reset - t_hung <= 14, (t_hung - t0, t_reset - t_hung)
        sent_before = len(board.uart1_bytes)

        # Boot again on the same flash: main.run for 3 s, then read the fault log.
        start = len(board.console_log)
        board.write_console("import main; h = main.run(seconds=3, utc=%d)\r"
                            % int(time.time()))
        end = board.wait_console(b"status uptime=3s", timeout=40, start=start)
        board.wait_console(PROMPT, timeout=10, start=end)
        out = board.exec_line(READ_FAULT_LOG, timeout=30)
        after = _telegrams(bytes(board.uart1_bytes[sent_before:]))
        assert after, board.console_log[-2000:]
        # The registers continued: the first reading after the reset is not below the last
        # one before it (the hang saved the energy), and the meter counts on.
        assert _import_kwh(after[0]) >= _import_kwh(before[-1]) > 0
        assert _import_kwh(after[-1]) >= _import_kwh(after[0])
        m = re.search(r"FAULTLOG (\[.*\])", out)
        assert m, out
        entries = eval(m.group(1))  # [(code, flags, a, b), ...] newest first
        assert entries[0] == (EV_RESET_CAUSE, 0, RESET_WATCHDOG, 0)
        assert entries[1][0] == EV_TASK_HUNG and entries[1][2] == TASK_P1
        assert entries[1][3] >= 5  # seconds without progress (deadline 5 s)
        # After a clean end of main.run the watchdog is stopped: no reset follows.
        quiet = len(board.console_log)
        time.sleep(9)
        board.pump(0.1)
        assert BANNER not in board.console_log[quiet:]
    finally:
        board.stop()
