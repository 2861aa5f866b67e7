# The simulated medium across processes (tools/han/medium_server.py) with host nodes on
# the bridged radio (firmware/han/radio_bridge.py over a socket), in real time: the same
# path the emulated boards take through UART2 (tests/emu/test_han_two_boards.py), minus
# QEMU. A coordinator and two devices run the firmware's HAN node (firmware/han/node.py, a
# ZigBee node): the devices join by install code and report; the capture is checked with
# Debian's tshark given only the install codes' link keys. Tier 1.
import json
import random
import subprocess
import sys
import time

import pytest

from tools import fwpath

fwpath.setup()
from hal.clock import SystemClock  # noqa: E402
from han.node import HanNode  # noqa: E402
from han.tc.keys import install_code_link_key  # noqa: E402
from native.crc16 import crc16_x25  # noqa: E402
from registers.memfs import MemoryFs  # noqa: E402
from registers.store import RecordStore  # noqa: E402
from han.radio_bridge import BridgeRadio  # noqa: E402
from han.sniffer import Sniffer  # noqa: E402
from tools.han.medium_server import MediumServer, SocketStream  # noqa: E402

COORD = bytes.fromhex("0004A30B00C0FFEE")
DEVICES = [bytes.fromhex("0004A30B0000000%d" % i) for i in (2, 3)]


def _code(i):
    code = bytes([0x51, 0x52, 0x53, 0x54, 0x55, i])  # 6 octets + CRC-16/X-25 (BDB 10.1)
    c = crc16_x25(code)
    return code + bytes([c & 0xFF, c >> 8])


CODES = [_code(i) for i in range(len(DEVICES))]
KEY_OPTIONS = []
for _i, _c in enumerate(CODES):
    KEY_OPTIONS += ["-o", 'uat:zigbee_pc_keys:"%s","Normal","ic%d"'
                    % (install_code_link_key(_c).hex(), _i)]


def _run_nodes(nodes, seconds, sniffer):
    # Real time on a machine that may be busy: run until every device has had 4 replies
    # (or `seconds` pass), then half a second more so nothing is left in flight.
    clock = nodes[0].clock
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if all(n.received >= 4 for n in nodes[1:]):
            end = min(end, time.monotonic() + 0.5)
        wait = min(n.step(clock.ticks_us()) for n in nodes)
        if sniffer.channel == 0 and nodes[0].zb.role_sm.state == 3:  # the PAN has started
            sniffer.channel = nodes[0].zb.role_sm.channel
            sniffer.start()
        if sniffer.channel:
            sniffer.step()
        time.sleep(min(max(wait, 0), 2000) / 1e6)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bridge")
    path = str(tmp / "medium.sock")
    pcap = str(tmp / "bridge.pcap")
    server = MediumServer(path, pcap=pcap).start_thread()
    clock = SystemClock()
    lines = {}

    def node(role, ext, seed, code=None):
        out = lines.setdefault(ext.hex(), [])
        return HanNode(BridgeRadio(SocketStream(path)), clock, role, ext,
                       RecordStore(MemoryFs()), random.Random(seed).getrandbits,
                       install_code=code, out=out.append, report_ms=1000)

    nodes = [node("coordinator", COORD, 1)] + [node("device", e, 2 + i, CODES[i])
                                                for i, e in enumerate(DEVICES)]
    for ext, code in zip(DEVICES, CODES):
        nodes[0].register(ext, code)
    for n in nodes:
        n.start()
    sniffed = str(tmp / "sniffer.pcap")
    with open(sniffed, "wb") as f:
        # A sniffer node (firmware/han/sniffer.py, promiscuous) on the PAN's channel.
        sniffer = Sniffer(BridgeRadio(SocketStream(path)), f, clock, 11)
        sniffer.channel = 0  # tuned once the coordinator has chosen
        # Ends as soon as every device had 4 answers; the cap allows a join that needed its
        # retries (a lost Transport Key: the device associates again after back-off).
        _run_nodes(nodes, 120.0, sniffer)
    server.shutdown()
    summary = server.summary()
    return nodes, lines, summary, pcap, sniffed


def _tshark(pcap, *args):
    return subprocess.run(["tshark", "-r", pcap] + list(args), capture_output=True,
                          text=True, check=True).stdout


def test_devices_join_with_distinct_addresses(session):
    nodes, lines = session[:2]
    joined = [ln for d in DEVICES for ln in lines[d.hex()]
              if ln.startswith("han zigbee joined short ") and ln.endswith("tclk verified")]
    assert len(joined) == 2, lines
    shorts = {n.mac.short_addr for n in nodes[1:]}
    assert len(shorts) == 2 and all(0 < s < 0xFFF8 for s in shorts)
    assoc = [ln for ln in lines[COORD.hex()] if ln.startswith("han associated")]
    # Each device associated, and no other (twice for one whose join needed its retries,
    # as the session allows: seen on a loaded machine).
    assert {ln.split()[2] for ln in assoc} == {d.hex() for d in DEVICES}


def test_reports_and_answers_cross_the_bridge(session):
    nodes, lines = session[:2]
    coord_rx = [ln for ln in lines[COORD.hex()] if ln.startswith("han rx")]
    for i, d in enumerate(DEVICES):
        short = nodes[1 + i].mac.short_addr
        reports = [ln for ln in coord_rx if ln.startswith("han rx from 0x%04x " % short)]
        # Run until each device had 4 answers (see _run_nodes): 4 reports or more, ZCL
        # Report Attributes (0x0A) on Metering; answers are Default Responses (0x0B).
        assert len(reports) >= 4 and all(" cluster 0x0702 " in ln and " zcl 0x0a " in ln
                                         for ln in reports)
        answers = [ln for ln in lines[d.hex()] if ln.startswith("han rx")]
        assert len(answers) >= 4
        assert all(ln.startswith("han rx from 0x0000 ") and " zcl 0x0b " in ln
                   for ln in answers)
        assert nodes[1 + i].reports_sent - len(reports) <= 1  # the last may be in flight
    assert all(sum(n.zb.nwk.rx_refused[r] for r in (3, 4, 5, 6)) == 0 for n in nodes)


def test_server_accounting(session):
    summary = session[2]
    assert summary["nodes"] == 4
    links = summary["links"]
    sniffer = links.pop()  # connected last; it never set addresses, sent or acknowledged
    assert sniffer["ext"] is None and sniffer["frames_in"] == sniffer["acks_sent"] == 0
    assert [lk["ext"] for lk in links] == [COORD.hex()] + [d.hex() for d in DEVICES]
    assert all(lk["bad_messages"] == 0 and lk["dropped"] == 0 and lk["restarts"] == 1
               for lk in links)
    # Every frame a node transmitted went on air (plus the ACKs the links' transceivers
    # sent for them).
    assert summary["frames_on_air"] == sum(lk["frames_in"] + lk["acks_sent"] for lk in links)


def test_tshark_dissects_and_decrypts_the_capture(session):
    summary, pcap = session[2:4]
    verbose = _tshark(pcap, "-V", *KEY_OPTIONS)
    assert "Malformed" not in verbose and "Bad FCS" not in verbose
    assert "Encrypted Payload" not in verbose  # it learnt the network key from our TK
    fcs = _tshark(pcap, "-T", "fields", "-e", "wpan.fcs_ok").split()
    assert len(fcs) == summary["pcap_frames"] == summary["frames_on_air"]
    assert set(fcs) == {"1"}
    cmds = set(_tshark(pcap, "-T", "fields", "-e", "wpan.cmd").split())
    assert {"0x01", "0x02", "0x04", "0x07"} <= cmds  # assoc req/resp, data req, beacon req
    rows = _tshark(pcap, *KEY_OPTIONS, "-Y", "zbee_zcl", "-T", "fields",
                   "-e", "zbee_nwk.src", "-e", "zbee_aps.cluster",
                   "-e", "zbee_zcl.cmd.id").splitlines()
    assert len(rows) >= 16  # 4 reports + 4 answers for each device
    for row in rows:
        src, cluster, command = row.split("\t")
        assert cluster == "0x0702"
        assert command == ("0x0b" if src == "0x0000" else "0x0a"), row


def test_cli_runs_a_medium(tmp_path):
    path = str(tmp_path / "m.sock")
    proc = subprocess.Popen([sys.executable, "-m", "tools.han", "medium", "--listen", path,
                             "--seconds", "3", "--json"], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 5
    stream = None
    while stream is None and time.monotonic() < deadline:
        try:
            stream = SocketStream(path)
        except OSError:
            time.sleep(0.05)
    radio = BridgeRadio(stream)
    radio.on()
    radio.set_channel(15)
    radio.prepare(b"\x03\x08\x01\xff\xff\xff\xff\x07", 8)  # a beacon request
    assert radio.transmit() == 0
    while radio.tx_busy() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert not radio.tx_busy() and radio.tx_status == 0
    out, _ = proc.communicate(timeout=10)
    r = json.loads(out)
    assert r["nodes"] == 1 and r["frames_on_air"] == 1 and r["links"][0]["frames_in"] == 1


def test_sniffer_hears_everything_on_its_channel(session):
    nodes, _, summary, pcap, sniffed = session
    fields = ["-T", "fields", "-e", "wpan.frame_type", "-e", "wpan.fcs_ok", "-e", "wpan.seq_no",
              "-e", "wpan-tap.ch_num", "-e", "wpan-tap.lqi"]
    heard = [row.split("\t") for row in _tshark(sniffed, *fields).splitlines()]
    assert "Malformed" not in _tshark(sniffed, "-V")
    assert len(heard) >= 20
    assert {row[1] for row in heard} == {"1"}  # FCS recomputed right
    assert {row[3] for row in heard} == {str(nodes[0].zb.role_sm.channel)}  # TAP header
    assert all(0 < int(row[4]) <= 255 for row in heard)
    # Promiscuous: the ACKs (no address at all) and data frames addressed to other nodes.
    types = [row[0] for row in heard]
    assert types.count("0x0002") >= 8 and types.count("0x0001") >= 8
    # Everything the sniffer heard was on the air (the medium's own capture has it).
    on_air = {tuple(r.split("\t")) for r in _tshark(pcap, "-T", "fields", "-e",
                                                   "wpan.frame_type", "-e", "wpan.seq_no"
                                                   ).splitlines()}
    assert {(row[0], row[2]) for row in heard} <= on_air
