"""Tier 3: two emulated boards on one simulated 802.15.4 medium, each the whole meter
(metrology, registers, P1) with its HAN: QEMU's UART2 (the HAN radio bridge,
firmware/han/radio_bridge.py) is connected to the medium's server
(tools/han/medium_server.py) in this process.

Each board is provisioned as a user does (its own EUI-64, config key; the device its
install code). The coordinator (the hub) forms a ZigBee network; the device board is
registered on it through the configuration path (a signed OP_HAN_JOINER line typed on
its console, as tools.config han-join does), joins by install code and reports every 2 s.
Mid-run the coordinator board loses power without warning (QEMU killed) and boots again
from its flash: it resumes the network (same channel, PAN, keys, counters) and the
device's traffic goes on. The capture is read by Debian's tshark given only the install
code's link key."""
import glob
import os
import subprocess
import time

import pytest

from tools import config, provision
from tools.emu import PROMPT, ROOT, EmulatedBoard, EmulatorError
from tools.han.medium_server import MediumServer

CONFIG_KEY = bytes(range(0x40, 0x60))
COORD_EXT = "0004A30B00C0FFEE"
DEVICE_EXT = "0004A30B00000002"
CODE = "83FED3407A939723A5C639B26916D505C3B5"  # HAN.md's vector
LINK_KEY = "66B6900981E1EE3CA4206B6B861C02BB"  # its link key (HAN.md)
RECORDS = {
    "coordinator": {"serial": "EMU-HUB-1", "han_eui64": COORD_EXT,
                    "config_key": CONFIG_KEY.hex()},
    "device": {"serial": "EMU-DEV-2", "han_eui64": DEVICE_EXT, "han_install_code": CODE,
               "config_key": CONFIG_KEY.hex()},
}
DEVICE_SECONDS = 100
REPORTS_BEFORE_CUT = 4


class Board:
    def __init__(self, role, medium, flash_dir, natmods):
        self.role = role
        self.medium = medium
        self.flash_dir = flash_dir
        self.natmods = natmods
        self.board = None
        self.logs = []  # one console text per boot, from main.run on

    def boot(self, seconds, first=False):
        try:
            b = EmulatedBoard(han_medium=self.medium, flash_dir=self.flash_dir).start()
        except EmulatorError as e:
            pytest.fail("tier 3 cannot run: %s" % e)
        self.board = b
        b.open_console()
        b.set_data_request(1)
        b.wait_console(PROMPT, timeout=30)
        b.provide_natmods(self.natmods)  # the AES natmod for CCM*, as make run serves it
        if first:
            record = provision.from_json(RECORDS[self.role]).encode()
            b.raw_exec("import board, binascii, app.provision as p\n"
                       "print(p.install(board, binascii.unhexlify(%r), False))\n"
                       % record.hex())
        self.start = len(b.console_log)
        b.write_console("import main; main.run(seconds=%d, utc=%d, han=%r)\r"
                        % (seconds, int(time.time()), self.role))

    def text(self):
        return self.board.console_log[self.start:].decode(errors="replace")

    def lines(self, prefix):
        return _lines(self.text(), prefix)

    def finished(self):
        return self.board.console_log.find(PROMPT, self.start + 10) >= 0

    def power_cut(self):
        self.logs.append(self.text())
        self.board.stop()  # QEMU killed: no early warning, RAM gone, the flash file stays
        self.board = None


def _pump(boards, seconds, until=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for b in boards:
            if b.board is not None:
                b.board.pump(0.05)
        if until is not None and until():
            return True
    return False


def _register(hub):
    payload = config.han_joiner_payload(DEVICE_EXT, CODE)
    cmd = config.command(config.fwconfig.OP_HAN_JOINER, int(time.time()), payload)
    hub.board.write_console(config.console_line(cmd, config.sign(CONFIG_KEY, cmd)) + "\r")


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("two")
    path = str(tmp / "medium.sock")
    pcap = str(tmp / "two.pcap")
    server = MediumServer(path, pcap=pcap).start_thread()
    natmods = sorted(glob.glob(os.path.join(ROOT, "build", "natmod", "armv7m", "*.mpy")))
    assert natmods, "armv7m natmods not built"
    hub = Board("coordinator", path, str(tmp / "hub"), natmods)
    dev = Board("device", path, str(tmp / "dev"), natmods)
    for b in (hub, dev):
        os.makedirs(b.flash_dir)
    try:
        hub.boot(DEVICE_SECONDS, first=True)
        dev.boot(DEVICE_SECONDS, first=True)
        assert _pump([hub, dev], 30, lambda: hub.lines("status uptime=1s")), hub.text()
        _register(hub)
        # The device was refused until then; it asks again with back-off (5, 10 s ...).
        assert _pump([hub, dev], 50, lambda: len(hub.lines("han rx from 0x0001 "))
                     >= REPORTS_BEFORE_CUT), hub.text()[-3000:] + dev.text()[-3000:]
        hub.power_cut()
        cut_at = len(dev.text())
        _pump([dev], 3)
        hub.boot(40)
        # The device's reports are answered again.
        assert _pump([hub, dev], 60, lambda: len(hub.lines("han rx from 0x0001 ")) >= 4
                     and len(_lines(dev.text()[cut_at:], "han rx from 0x0000 ")) >= 4), \
            hub.text()[-3000:] + dev.text()[cut_at:][-3000:]
        # The device's retried reports can all arrive within the hub's first seconds back:
        # let the meter run on a little, so that its own work is seen too.
        _pump([hub, dev], 4)
        hub.logs.append(hub.text())
        dev_text = dev.text()
    finally:
        for b in (hub, dev):
            if b.board is not None:
                b.board.stop()
        server.shutdown()
    return hub.logs, dev_text, cut_at, server.summary(), pcap


def _lines(text, prefix):
    # Whole lines only: the console was read up to the moment the run was stopped.
    text = text[:text.rfind("\n") + 1]
    return [ln.strip() for ln in text.splitlines() if ln.startswith(prefix)]


def test_the_meters_keep_running_besides_the_han(session):
    (first, second), dev, _, _, _ = session
    for log in (first, second, dev):
        assert "Traceback" not in log, log[-2000:]
        assert len(_lines(log, "status uptime=")) >= 3


def test_device_registered_by_configuration_joins_by_install_code(session):
    (first, _), dev, _, _, _ = session
    formed = _lines(first, "han zigbee pan ")
    assert len(formed) == 1 and formed[0].endswith(" formed")
    assert _lines(first, "CFG OK 8 ") and "han registered %s" % DEVICE_EXT.lower() in first
    assert "han associated %s short 0x0001" % DEVICE_EXT.lower() in first
    assert "han zigbee joined short 0x0001 tclk verified" in dev


def test_reports_and_answers_both_ways_before_and_after_the_power_cut(session):
    (first, second), dev, cut_at, summary, _ = session
    for log in (first, second):
        reports = _lines(log, "han rx from 0x0001 ")
        assert len(reports) >= 4
        assert all(" ep 1 cluster 0x0702 len 12 zcl 0x0a " in ln for ln in reports)
    answers = _lines(dev[cut_at:], "han rx from 0x0000 ")
    assert len(answers) >= 4 and all(" zcl 0x0b " in ln for ln in answers)
    # ZCL sequence numbers: the hub got no report twice across the cut (APS does not
    # keep order: a report retried while the hub was off may arrive after the next one).
    seqs = [int(ln.split()[-1]) for ln in _lines(first + second, "han rx from 0x0001 ")]
    assert len(seqs) == len(set(seqs))
    assert all(lk["bad_messages"] == 0 and lk["dropped"] == 0 for lk in summary["links"])


def test_the_hub_resumes_its_network_after_the_power_cut(session):
    (first, second), dev, _, _, _ = session
    before = _lines(first, "han zigbee pan ")[0].split()
    after = _lines(second, "han zigbee pan ")
    # Same PAN ID and channel, from the flash; no new registration, no new association.
    assert after == ["han zigbee pan %s channel %s resumed" % (before[3], before[5])]
    assert not _lines(second, "han registered") and not _lines(second, "han associated")
    # No false tamper event: the device is known, its counters continue.
    assert not _lines(first + second, "han tamper")


def test_tshark_reads_the_session_with_only_the_install_code(session):
    _, _, _, summary, pcap = session

    def tshark(*args):
        return subprocess.run(["tshark", "-r", pcap] + list(args), capture_output=True,
                              text=True, check=True).stdout

    key = ["-o", 'uat:zigbee_pc_keys:"%s","Normal","install code"' % LINK_KEY]
    verbose = tshark("-V", *key)
    assert "Malformed" not in verbose and "Bad FCS" not in verbose
    # It learnt the network key from the Transport Key our hub sent under the code's key.
    assert "Encrypted Payload" not in verbose
    fcs = tshark("-T", "fields", "-e", "wpan.fcs_ok").split()
    assert len(fcs) == summary["frames_on_air"] and set(fcs) == {"1"}
    rows = tshark(*key, "-Y", "zbee_zcl", "-T", "fields", "-e", "zbee_nwk.src",
                  "-e", "zbee_zcl.cmd.id").splitlines()
    assert {tuple(r.split("\t")) for r in rows} == {("0x0001", "0x0a"), ("0x0000", "0x0b")}
