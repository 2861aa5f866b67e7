# Association from nothing on the simulated medium (tools/han/assoc_sim.py over
# firmware/han/mac/roles.py, scan.py, cmdframes.py): the coordinator avoids the interfered
# channel and the neighbour's PAN ID, devices (one sleepy) associate with distinct short
# addresses, secured data flows both ways, a reset device rejoins by orphan realignment,
# another disassociates. The capture is checked with tshark (Debian's, the peer): no
# Malformed, every FCS good, the association responses carry the addresses the devices
# took, secured payloads decrypt with the key. Tier 1 only.
import json
import subprocess
import sys

import pytest

from tools.han import assoc_sim, sim

KEY_OPTION = 'uat:ieee802154_keys:"%s","1","No hash"' % sim.NETWORK_KEY.hex().upper()


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    pcap = str(tmp_path_factory.mktemp("han") / "assoc.pcap")
    return assoc_sim.run(devices=3, sleepy=1, pcap=pcap, seed=1), pcap


def _tshark(pcap, *args):
    return subprocess.run(["tshark", "-r", pcap] + list(args), capture_output=True,
                          text=True, check=True).stdout


def test_channel_and_pan_choice(session):
    r, _ = session
    # Channel 11 carries the interferer; 15, 20, 25 are quiet: the lowest quiet one wins.
    assert r["energy"]["11"] > 100 and r["energy"]["15"] == 0
    assert r["channel"] == 15
    # The neighbour PAN (0x1A2B, our preferred ID) answered the active scan: not reused.
    assert r["pans_heard"] >= 1
    assert r["pan_id"] != assoc_sim.NEIGHBOUR_PAN and 0 <= r["pan_id"] < 0xFFFF


def test_all_devices_associate_with_distinct_addresses(session):
    r, _ = session
    shorts = r["shorts_at_traffic"]
    assert len(shorts) == 3 and len(set(shorts)) == 3
    assert all(0 < s < 0xFFFE for s in shorts)


def test_secured_traffic_both_ways(session):
    r, _ = session
    assert r["reports_sent"] == 3 * assoc_sim.REPORTS == r["reports_delivered"]
    assert r["messages_sent"] == 3 == r["messages_delivered"]  # incl. the sleepy device
    assert r["security_errors"] == 0


def test_orphan_rejoin_and_disassociation(session):
    r, _ = session
    assert r["rejoined"] == 1 and r["realignments"] == 1
    assert r["short_addresses"][0] == r["shorts_at_traffic"][0]  # same address back
    assert r["disassociations"] == 1 and r["short_addresses"][1] is None
    assert r["shorts_at_traffic"][1] not in r["joined_shorts"]


def test_tshark_dissects_the_session(session):
    r, pcap = session
    verbose = _tshark(pcap, "-V", "-o", KEY_OPTION)
    assert "Malformed" not in verbose and "Bad FCS" not in verbose
    fcs = _tshark(pcap, "-T", "fields", "-e", "wpan.fcs_ok").split()
    assert len(fcs) == r["pcap_frames"] and set(fcs) == {"1"}
    # Every MAC command of the procedures, as tshark names them (2006 Table 82).
    cmds = set(_tshark(pcap, "-T", "fields", "-e", "wpan.cmd").split())
    assert {"0x01", "0x02", "0x03", "0x04", "0x06", "0x07", "0x08"} <= cmds
    beacons = _tshark(pcap, "-Y", "wpan.frame_type == 0", "-T", "fields", "-e",
                      "wpan.src_pan", "-e", "wpan.assoc_permit").splitlines()
    ours = "0x%04x" % r["pan_id"]
    assert ours + "\t1" in beacons and "0x1a2b\t0" in beacons


def test_tshark_reads_the_allocated_addresses(session):
    r, pcap = session
    rows = _tshark(pcap, "-Y", "wpan.cmd == 0x02", "-T", "fields", "-e", "wpan.dst64",
                   "-e", "wpan.asoc.addr", "-e", "wpan.assoc.status").splitlines()
    got = {}
    for row in rows:
        dst, addr, status = row.split("\t")
        assert status == "0x00"
        got[dst] = int(addr, 16)
    want = {":".join("%02x" % b for b in sim.device_ext(i + 1)): s
            for i, s in enumerate(r["shorts_at_traffic"])}
    assert got == want
    realign = _tshark(pcap, "-Y", "wpan.cmd == 0x08", "-T", "fields", "-e", "wpan.realign.pan",
                      "-e", "wpan.realign.addr", "-e", "wpan.realign.channel").split()
    # wpan.realign.addr: the coordinator's short address, then the orphan's.
    assert realign == ["0x%04x" % r["pan_id"], "0x0000,0x%04x" % r["shorts_at_traffic"][0],
                       str(r["channel"])]


def test_tshark_decrypts_the_secured_frames(session):
    r, pcap = session
    rows = _tshark(pcap, "-o", KEY_OPTION, "-Y", "wpan.security == 1", "-T", "fields",
                   "-e", "data.data").split()
    assert len(rows) >= r["reports_sent"] + r["messages_sent"]
    assert all(row.startswith("3f") for row in rows)


def test_ten_devices_two_sleepy():
    r = assoc_sim.run(devices=10, sleepy=2, seed=4)
    assert len(set(r["shorts_at_traffic"])) == 10
    assert r["reports_delivered"] == r["reports_sent"] == 50
    assert r["messages_delivered"] == 10 and r["security_errors"] == 0


def test_cli(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tools.han", "sim", "--associate", "--pcap",
                          str(tmp_path / "a.pcap"), "--seed", "3", "--json"],
                         capture_output=True, text=True, check=True).stdout
    r = json.loads(out)
    assert r["associated"] == 3 and r["reports_delivered"] == r["reports_sent"] > 0
