"""Tier 3: two emulated boards on one simulated 802.15.4 medium. Each QEMU instance runs
the firmware image with its UART2 (the HAN radio bridge, firmware/han/radio_bridge.py)
connected to the medium's server (tools/han/medium_server.py) in this process; one board
runs main.run(han="coordinator"), the other main.run(han="device"), the whole meter
(metrology, registers, P1) running besides. The device scans, associates, then sends a
secured report every 2 s; the coordinator answers each with a secured message. The
capture the server writes is checked with Debian's tshark, decrypting with the key."""
import glob
import os
import subprocess
import time

import pytest

from tools.emu import PROMPT, ROOT, EmulatedBoard, EmulatorError
from tools.han.medium_server import MediumServer

KEY_OPTION = 'uat:ieee802154_keys:"%s","1","No hash"' % bytes(range(0xC0, 0xD0)).hex().upper()
ROLES = (("coordinator", "0004A30B00C0FFEE"), ("device", "0004A30B00000002"))
RUN_SECONDS = 24


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("two")
    path = str(tmp / "medium.sock")
    pcap = str(tmp / "two.pcap")
    server = MediumServer(path, pcap=pcap).start_thread()
    natmods = sorted(glob.glob(os.path.join(ROOT, "build", "natmod", "armv7m", "*.mpy")))
    assert natmods, "armv7m natmods not built"
    boards = []
    try:
        for role, ext in ROLES:
            try:
                b = EmulatedBoard(han_medium=path).start()
            except EmulatorError as e:
                pytest.fail("tier 3 cannot run: %s" % e)
            boards.append(b)
            b.open_console()
            b.set_data_request(1)
            b.wait_console(PROMPT, timeout=30)
            b.provide_natmods(natmods)  # the AES natmod for CCM*, as make run serves it
        starts = []
        for b, (role, ext) in zip(boards, ROLES):
            starts.append(len(b.console_log))
            # Fresh flash, no provisioning record: the address and network key are given
            # (802.15.4 Annex C's example key, so that tshark decrypts with a known key).
            b.write_console("import main; main.run(seconds=%d, utc=%d, han=%r, "
                            "han_ext=bytes.fromhex(%r), han_key=bytes(range(0xC0, 0xD0)))\r"
                            % (RUN_SECONDS, int(time.time()), role, ext))
        deadline = time.monotonic() + RUN_SECONDS + 30
        done = [False] * len(boards)
        while not all(done) and time.monotonic() < deadline:
            for i, b in enumerate(boards):
                b.pump(0.05)
                done[i] = b.console_log.find(PROMPT, starts[i] + 10) >= 0
        assert all(done), "the boards did not finish main.run in time"
        logs = [b.console_log[s:].decode(errors="replace") for b, s in zip(boards, starts)]
    finally:
        for b in boards:
            b.stop()
        server.shutdown()
    return logs, server.summary(), pcap


def _han_lines(log, prefix):
    return [ln.strip() for ln in log.splitlines() if ln.startswith(prefix)]


def test_the_meter_keeps_running_besides_the_han(session):
    logs, _, _ = session
    for log in logs:
        assert "Traceback" not in log, log[-2000:]
        assert len(_han_lines(log, "status uptime=")) >= RUN_SECONDS - 2


def test_device_associates_with_the_coordinator(session):
    (coord, device), _, _ = session
    started = _han_lines(coord, "han pan ")
    assert len(started) == 1
    pan, channel = started[0].split()[2], started[0].split()[4]
    joined = _han_lines(device, "han joined")
    assert joined == ["han joined pan %s short 0x0001 channel %s" % (pan, channel)]
    assert _han_lines(coord, "han associated") == ["han associated %s short 0x0001"
                                                   % ROLES[1][1].lower()]


def test_secured_frames_both_ways(session):
    (coord, device), summary, _ = session
    reports = _han_lines(coord, "han rx from %s" % ROLES[1][1].lower())
    replies = _han_lines(device, "han rx from %s" % ROLES[0][1].lower())
    # One report every 2 s once joined (a few seconds after start): at least 6 in 24 s.
    assert len(reports) >= 6 and len(replies) >= 6
    assert all("secured 1 kind 0x01" in ln for ln in reports)
    assert all("secured 1 kind 0x80" in ln for ln in replies)
    # Reports are numbered: the coordinator got them in order, none twice.
    numbers = [int(ln.split()[-1]) for ln in reports]
    assert numbers == sorted(set(numbers))
    assert all(lk["bad_messages"] == 0 and lk["dropped"] == 0 for lk in summary["links"])


def test_tshark_decrypts_the_session(session):
    _, summary, pcap = session

    def tshark(*args):
        return subprocess.run(["tshark", "-r", pcap] + list(args), capture_output=True,
                              text=True, check=True).stdout

    verbose = tshark("-V", "-o", KEY_OPTION)
    assert "Malformed" not in verbose and "Bad FCS" not in verbose
    fcs = tshark("-T", "fields", "-e", "wpan.fcs_ok").split()
    assert len(fcs) == summary["frames_on_air"] and set(fcs) == {"1"}
    rows = tshark("-o", KEY_OPTION, "-Y", "wpan.security == 1", "-T", "fields",
                  "-e", "wpan.src64", "-e", "data.data").splitlines()
    kinds = {}
    for row in rows:
        src, data = row.split("\t")
        kinds.setdefault(src.replace(":", ""), set()).add(data[:4])
    assert kinds == {ROLES[1][1].lower(): {"3f01"}, ROLES[0][1].lower(): {"3f80"}}
