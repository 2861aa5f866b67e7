# python -m tools.config: the commands it builds are accepted by the firmware's
# ConfigSession (on the host, CPython) and do what they say; its counters only grow; its
# console delivery reaches app/console.py running on the MicroPython unix port over a pty.
import json
import os
import pty
import select
import subprocess
import sys
import time

from tools import config as tool
from tools import fwpath

fwpath.setup()
import main  # noqa: E402
from hal.clock import FakeClock  # noqa: E402
from metrology.config import MetrologyConfig  # noqa: E402
from metrology.frontend import Metrology  # noqa: E402
from registers import config  # noqa: E402
from registers.memfs import MemoryFs  # noqa: E402
from registers.meter import MeterRegisters  # noqa: E402

ROOT = fwpath.ROOT
KEY_HEX = "00112233445566778899aabbccddeeff0123456789abcdef"
KEY = bytes.fromhex(KEY_HEX)
T0 = 1735689600  # 2025-01-01T00:00:00Z

CALENDAR = {
    "id": 258,
    "days": {"weekday": [["00:00", 1], ["07:00", 2], ["23:00", 1]],
             "weekend": [["00:00", 1]]},
    "weeks": {"normal": ["weekday"] * 5 + ["weekend"] * 2},
    "seasons": [{"start": "01-01", "week": "normal"}],
    "special": [{"date": "12-25", "day": "weekend"}, {"date": "2026-04-06", "day": "weekend"}],
}
# Worked out by hand from docs/registers.md's calendar format.
CALENDAR_HEX = ("01010102020201" "010100" "00000000000101"
                "03000001a40102640501" "01000001" "00000c1901" "ea07040601")


def meter():
    clock = FakeClock(utc=T0)
    regs = MeterRegisters(clock, MemoryFs())
    regs.boot(T0)
    metrology = Metrology(MetrologyConfig(phases=3, rate_hz=4000), sink=regs, clock=clock)
    return clock, regs, metrology, main.make_config_session(regs, metrology, KEY)


def run_tool(tmp_path, *args):
    lines = []
    status = tool.main(["--key", KEY_HEX, "--counter-file", str(tmp_path / "counter")]
                       + list(args), out=lines.append)
    assert status == 0, lines
    fields = dict(line.split(" ", 1) for line in lines)
    return bytes.fromhex(fields["command"]), bytes.fromhex(fields["tag"]), fields["line"]


def test_calendar_json_encodes_as_documented():
    assert tool.calendar_bytes(CALENDAR).hex() == CALENDAR_HEX


def test_every_subcommand_is_accepted_by_the_firmware(tmp_path):
    clock, regs, metrology, session = meter()
    cmd, tag, line = run_tool(tmp_path, "set-clock", "--utc", "2026-03-29T00:30:00Z")
    assert cmd[0] == 1 and line == "CFG %s %s" % (cmd.hex(), tag.hex())
    assert session.execute(cmd, tag) == 1
    assert clock.time() == 1774744200

    (tmp_path / "cal.json").write_text(json.dumps({"phases": [
        {"v_gain": 1.0125, "i_gain": 0.99, "phase_deg": -0.42, "i_noise_a": 0.02},
        {}, {"v_gain": 2.0, "i_gain": 0.5, "phase_deg": 10.0, "i_noise_a": 1.0}]}))
    session.execute(*run_tool(tmp_path, "set-calibration", str(tmp_path / "cal.json"))[:2])
    p = metrology.calibration.phases
    assert abs(p[0].v_gain - 1.0125) < 1e-6 and abs(p[0].phase_deg + 0.42) < 1e-6
    assert p[1].v_gain == 1.0 and p[2].i_noise_a == 1.0

    (tmp_path / "cal.json").write_text(json.dumps(CALENDAR))
    session.execute(*run_tool(tmp_path, "set-calendar", "--passive", "--activation",
                              "2026-04-01T00:00:00Z", str(tmp_path / "cal.json"))[:2])
    assert regs.tariffs.passive.data.hex() == CALENDAR_HEX
    assert regs.tariffs.activation_utc == 1775001600
    session.execute(*run_tool(tmp_path, "set-calendar", "--active",
                              str(tmp_path / "cal.json"))[:2])
    assert regs.tariffs.active.data.hex() == CALENDAR_HEX

    session.execute(*run_tool(tmp_path, "set-text", "Storing 16:00")[:2])
    assert session.text.message() == b"Storing 16:00"
    regs.record_event(1, T0, 40)
    session.execute(*run_tool(tmp_path, "reset-log", "1")[:2])
    assert regs.logs.log(1).count == 0

    # set-gas-alert: op 10, seconds u32 LE (docs/config.md); 3h = 10 800 s = 0x2A30.
    for text, seconds, octets in (("3h", 10800, "302a0000"), ("45m", 2700, "8c0a0000"),
                                  ("86400", 86400, "80510100"), ("2d", 172800, "00a30200")):
        cmd, tag, _ = run_tool(tmp_path, "set-gas-alert", text)
        assert cmd[0] == 10 and cmd[5:].hex() == octets
        assert session.execute(cmd, tag) == 10
        assert regs.gas.silent_after_s == seconds


def test_provision_builds_the_app_provision_record(tmp_path):
    (tmp_path / "dev.json").write_text(json.dumps({
        "serial": "MTR0001", "config_key": "55" * 16, "han_eui64": "0011223344556677"}))
    cmd, tag, _ = run_tool(tmp_path, "provision", str(tmp_path / "dev.json"))
    assert cmd[0] == 7
    assert cmd[5:].hex() == ("01074d54523030303104080011223344556677" "0710" + "55" * 16)
    got = []
    _, regs, _, _ = meter()
    session = config.ConfigSession(regs, KEY, {7: (bytes, got.append)})
    session.execute(cmd, tag)
    assert got == [cmd[5:]]


def test_tool_refuses_values_the_meter_would_refuse(tmp_path):
    lines = []
    base = ["--key", KEY_HEX, "--counter-file", str(tmp_path / "c")]
    assert tool.main(base + ["set-clock", "--utc", "1999-12-31T23:59:59Z"],
                     out=lines.append) == 2
    (tmp_path / "bad.json").write_text(json.dumps({"phases": [{"v_gain": 3.0}]}))
    assert tool.main(base + ["set-calibration", str(tmp_path / "bad.json")],
                     out=lines.append) == 2
    assert tool.main(["--key", "0011", "set-text", "x"], out=lines.append) == 2
    for bad in ("59", "31d", "3x", "5.5m", "h", ""):
        assert tool.main(base + ["set-gas-alert", bad], out=lines.append) == 2, bad
    assert not (tmp_path / "c").exists()  # nothing built, no counter used


def test_counters_only_grow(tmp_path):
    path = str(tmp_path / "sub" / "counter")
    assert tool.next_counter(path, now=1000) == 1000
    assert tool.next_counter(path, now=1000) == 1001
    assert tool.next_counter(path, now=999) == 1002
    assert tool.next_counter(path, now=5000) == 5000
    assert tool.next_counter(path, requested=7) == 7  # explicit: used, file keeps 5000
    assert open(path).read().strip() == "5000"
    assert tool.default_counter_file(KEY, "/x/key.hex") == "/x/key.hex.counter"


def test_key_file_hex_or_raw(tmp_path):
    (tmp_path / "k.hex").write_text(KEY_HEX + "\n")
    (tmp_path / "k.bin").write_bytes(b"\xfe" * 20)
    assert tool.load_key(key_file=str(tmp_path / "k.hex")) == KEY
    assert tool.load_key(key_file=str(tmp_path / "k.bin")) == b"\xfe" * 20


BOARD_SCRIPT = """
import asyncio
import sys
from app import console
from hal.clock import FakeClock
from registers import config
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
regs = MeterRegisters(FakeClock(utc=1735689600), MemoryFs())
regs.boot(1735689600)
s = config.ConfigSession(regs, bytes.fromhex("%s"))
c = console.ConsoleConfig(s, print)
print("READY")
asyncio.run(c.run(console.StdinPort(), poll_ms=5, until=lambda: c.answers >= 2))
print("CLOCK %%d" %% regs.clock.utc(), file=sys.stderr)
""" % KEY_HEX


def test_delivery_over_a_pty_to_the_console_on_micropython(tmp_path):
    """The unix port's sys.stdin is polled by app.console.StdinPort; the tool types the
    line through pyserial on the pty and reads the answer."""
    micropython = os.path.join(ROOT, "build", "micropython")
    master, slave = pty.openpty()
    name = os.ttyname(slave)
    env = dict(os.environ, MICROPYPATH=":".join(
        [".frozen", os.path.join(ROOT, "firmware"), os.path.join(ROOT, "boards", "sim"),
         os.path.join(ROOT, "build", "natmod", "x64")]))
    script = tmp_path / "board.py"
    script.write_text(BOARD_SCRIPT)
    import tty

    tty.setraw(slave)  # no echo of the board's answers back into its input
    proc = subprocess.Popen([micropython, str(script)], stdin=master, stdout=master,
                            stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 10
        seen = b""
        while b"READY" not in seen and time.monotonic() < deadline:
            if select.select([slave], [], [], 0.5)[0]:
                seen += os.read(slave, 100)
        assert b"READY" in seen
        base = ["--key", KEY_HEX, "--counter-file", str(tmp_path / "c"), "--port", name,
                "--timeout", "10"]
        lines = []
        assert tool.main(base + ["set-clock", "--utc", "1767225600"], out=lines.append) == 0
        assert lines[-1] == "CFG OK 1 %d" % int(lines[0].split()[3])
        lines = []
        assert tool.main(base + ["--counter", "5", "set-text", "x"], out=lines.append) == 1
        assert lines[-1] == "CFG REJECTED replay"
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert err == b"CLOCK 1767225600\n"
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
        os.close(slave)
        sys.stdout.flush()


def test_han_join_and_remove_reach_the_hubs_trust_centre(tmp_path):
    # han-join: op 8, action 1, the EUI-64 as printed, the install code with its CRC
    # (HAN.md's vector), as docs/config.md lays it out; the coordinator's handler (wired
    # by main for han="coordinator") registers it, han-remove forgets it.
    import random

    from han import radio_sim
    from han.node import HanNode, joiner_handler

    code = "83FED3407A939723A5C639B26916D505C3B5"
    cmd, tag, _ = run_tool(tmp_path, "han-join", "00:04:a3:0b:12:34:56:78", code)
    assert cmd[0] == 8 and cmd[5:].hex() == "01" "0004a30b12345678" + code.lower()
    _, regs, metrology, _ = meter()
    node = HanNode(radio_sim.SimRadio(radio_sim.Medium(), (0.0, 0.0)), FakeClock(),
                   "coordinator", bytes.fromhex("0004A30B00C0FFEE"), regs.store,
                   random.Random(1).getrandbits, out=lambda s: None)
    session = main.make_config_session(regs, metrology, KEY,
                                       {config.OP_HAN_JOINER: joiner_handler(node)})
    assert session.execute(cmd, tag) == 8
    i = node.zb.table.find_ext(bytes.fromhex("0004A30B12345678"))
    # The link key of the code (HAN.md: MMO hash of code + CRC).
    assert bytes(node.zb.table.link_key[i]).hex() == "66b6900981e1ee3ca4206b6b861c02bb"
    cmd, tag, _ = run_tool(tmp_path, "han-remove", "0004A30B12345678")
    assert cmd[5:].hex() == "02" "0004a30b12345678"
    assert session.execute(cmd, tag) == 8
    assert node.zb.table.find_ext(bytes.fromhex("0004A30B12345678")) < 0
    # A wrong CRC is refused by the tool before anything is sent.
    lines = []
    assert tool.main(["--key", KEY_HEX, "--counter-file", str(tmp_path / "c"), "han-join",
                      "0004A30B12345678", code[:-1] + "4"], out=lines.append) == 2
    assert "CRC" in lines[-1]
