# Every frame our ZigBee stack sends in the scenarios of tests/unit/test_han_zigbee.py
# (install-code join with the R21 key exchange, APS data both ways, a coordinator reboot,
# a network key update and switch) dissects in tshark 4.0 given ONLY the install-code link
# keys: tshark derives the key-transport and key-load keys, opens our Transport Key,
# learns the network key (and the next one) from it, and then decrypts every NWK frame and
# every APS-secured command. No Malformed, no bad FCS, no "Encrypted Payload" expert info.
# Tier 1 only (tshark).
import io
import subprocess
import tempfile

from test_han_zigbee import _joined_net, _traffic

EXPECTED_APS_COMMANDS = {"0x05", "0x08", "0x0f", "0x10", "0x09"}  # TK, Request/Verify/Confirm/Switch Key


def _capture(path):
    out = open(path, "wb")
    net = _joined_net(devices=2, sleepy=1, pcap=out)
    _traffic(net, 3, 1)
    net.coord.kill()
    net.run(0.3)
    net.coord.boot()
    _traffic(net, 3, 2)
    net.coord.node.tc.update_network_key(bytes(range(0x40, 0x50)), net.clock.ticks_us())
    net.run(20)
    _traffic(net, 3, 3)
    out.close()
    return net


def _tshark(path, keys, *args):
    cmd = ["tshark", "-r", path]
    for i, k in enumerate(keys):
        cmd += ["-o", 'uat:zigbee_pc_keys:"%s","Normal","k%d"' % (k.hex(), i)]
    return subprocess.run(cmd + list(args), capture_output=True, text=True,
                          check=True).stdout


def test_every_frame_dissects_and_decrypts_with_only_the_install_code_keys():
    with tempfile.TemporaryDirectory() as d:
        path = d + "/zigbee.pcap"
        net = _capture(path)
        keys = [bytes(dev.link_key) for dev in net.devs]
        rows = _tshark(path, keys, "-T", "fields", "-E", "separator=|",
                       "-e", "frame.number", "-e", "wpan.frame_type", "-e", "wpan.fcs_ok",
                       "-e", "zbee_nwk.frame_type", "-e", "zbee_nwk.security",
                       "-e", "zbee_aps.type", "-e", "zbee_aps.cmd.id",
                       "-e", "zbee_aps.cluster", "-e", "_ws.malformed").splitlines()
        expert = _tshark(path, keys, "-z", "expert,note", "-q")
    assert len(rows) > 100
    nwk = [r.split("|") for r in rows if r.split("|")[3] != ""]
    assert all(r[2] == "1" for r in (x.split("|") for x in rows)), "bad FCS"
    assert not any(r.split("|")[8] for r in rows), "Malformed"
    assert "Encrypted Payload" not in expert and "Malformed" not in expert
    # Every NWK frame decoded down to its APS header (decrypted when secured), except the
    # NWK commands (rejoin, leave, timeout), which have no APS layer.
    data = [r for r in nwk if r[3] == "0x0000"]
    assert len(data) > 60 and all(r[5] != "" for r in data)
    secured = [r for r in nwk if r[4] == "1"]
    assert len(secured) > 50
    cmds = {c for r in nwk for c in r[6].split(",") if c}
    assert EXPECTED_APS_COMMANDS <= cmds
    # Application data: Metering cluster frames both ways.
    assert sum(1 for r in data if r[7] == "0x0702") >= 30


def test_aps_secured_data_decrypts_with_only_the_install_code_key():
    # APS data secured with the TC link key (05-3474-21 4.4.1, SE 1.4 5.4.6), and its
    # secured acks: tshark learns that key from our Transport Key (TC link key, under the
    # key-load key of the install-code key) and opens both, given the install-code key.
    with tempfile.TemporaryDirectory() as d:
        path = d + "/zigbee_aps.pcap"
        out = open(path, "wb")
        net = _joined_net(devices=1, sleepy=0, pcap=out)
        dev = net.devs[0]
        for i in range(3):
            now = net.clock.ticks_us()
            dev.node.send(0x0000, 1, 0x0702, 0x0109, 1, bytes([0x01, i, 0x0A]), 3, now,
                          aps_secure=True)
            net.coord.node.send(dev.node.mac.short_addr, 1, 0x0702, 0x0109, 1,
                                bytes([0x19, i, 0x0B]), 3, now, aps_secure=True)
            net.run(2)
        out.close()
        keys = [bytes(dev.link_key)]
        rows = _tshark(path, keys, "-T", "fields", "-E", "separator=|",
                       "-e", "zbee_aps.type", "-e", "zbee_aps.security",
                       "-e", "zbee_aps.cluster", "-e", "zbee_zcl.cmd.tsn",
                       "-e", "_ws.malformed").splitlines()
        expert = _tshark(path, keys, "-z", "expert,note", "-q")
    assert "Encrypted Payload" not in expert and "Malformed" not in expert
    r = [x.split("|") for x in rows]
    sec_data = [x for x in r if x[0] == "0x00" and x[1] == "1"]
    sec_acks = [x for x in r if x[0] == "0x02" and x[1] == "1"]
    assert len(sec_data) == 6 and len(sec_acks) == 6
    # Decrypted down to the ZCL header: the transaction sequence numbers we sent.
    assert sorted(x[3] for x in sec_data) == ["0", "0", "1", "1", "2", "2"]
    assert not any(x[4] for x in r)
