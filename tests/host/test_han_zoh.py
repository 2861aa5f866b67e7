# A foreign trust centre (issue 11): zigbee-on-host (npm, an independent host-side ZigBee
# coordinator and trust centre) drives a fake OpenThread RCP (tools/han/zoh_rcp.py) over
# Spinel on our simulated medium (tools/han/zoh_tc.py). Our MAC end device (roles.py
# EndDevice, no ZigBee layers yet) finds its beacon by active scan and associates;
# zigbee-on-host then sends the APS Transport Key; the test opens it with our APS security
# and the install-code key only, and tshark, given only the install-code link key,
# dissects the capture with no Malformed frame and reads the same network key.
# Needs Node.js >= 20.19 and tools/zoh/install.sh; missing, the tests fail saying so.
import random
import subprocess

import pytest

from tools import fwpath
from tools.han import zoh_tc

fwpath.setup()
from han.aps import frame as apsf  # noqa: E402
from han.aps.security import KEY_TRANSPORT, ApsSecurity  # noqa: E402
from han.mac import commands as cmd  # noqa: E402
from han.mac.mac import Mac  # noqa: E402
from han.mac.roles import EndDevice  # noqa: E402
from han.nwk import frame as nwkf  # noqa: E402
from han.run import step_once  # noqa: E402
from han.tc.keys import install_code_link_key, key_transport_key  # noqa: E402

DEV = bytes.fromhex("0004A30B00000002")
TC_EUI64 = bytes.fromhex("00124B00DEADBEEF")
NETWORK_KEY = bytes.fromhex("01030507090B0D0F00020406080A0C0D")
EXT_PAN_ID = bytes.fromhex("00124B0001ABCDEF")
CHANNEL = 15
PAN_ID = 0x1A62
# ZigBee's published install-code example (shared/reference/HAN.md): code || CRC C3B5,
# link key 66B6...02BB.
INSTALL_CODE = bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")
IC_LINK_KEY = bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB")
WELL_KNOWN_KEY = bytes.fromhex("5A6967426565416C6C69616E63653039")  # ZigBeeAlliance09


@pytest.fixture(scope="module")
def joined(tmp_path_factory):
    try:
        zoh_tc.check_installed()
    except zoh_tc.ZohUnavailable as e:
        pytest.fail(str(e))
    pcap = str(tmp_path_factory.mktemp("zoh") / "zoh.pcap")
    got = []
    with zoh_tc.ForeignTrustCentre(channel=CHANNEL, pan_id=PAN_ID, ext_pan_id=EXT_PAN_ID,
                                   network_key=NETWORK_KEY, eui64=TC_EUI64,
                                   install_codes={DEV: INSTALL_CODE}, pcap=pcap) as tc:
        radio = tc.radio((3.0, 0.0))
        mac = Mac(radio, tc.clock, DEV, 0xFFFF, 0xFFFF, random.Random(5).getrandbits)
        mac.on_data = lambda f, buf, lqi: got.append(
            bytes(buf[f.header_len:f.header_len + f.payload_len]))
        # Channels 11..26: the scan has to find the trust centre's channel by itself.
        dev = EndDevice(mac, 0xFFFF << 11, cmd.CAP_RX_ON_IDLE | cmd.CAP_ALLOCATE_ADDRESS,
                        scan_duration=1)
        t0 = tc.clock.ticks_us()
        dev.join(t0)
        tc.attach(lambda now: step_once(dev, mac, now))
        tc.run(until=lambda: dev.associated and got, timeout=20)
        joined_s = (tc.clock.ticks_us() - t0) / 1e6
        tc.run(seconds=0.3)  # anything else zigbee-on-host sends to the device
        devices = tc.devices()
        tc.flush_pcap()
        yield {"tc": tc, "dev": dev, "mac": mac, "got": got, "devices": devices,
               "pcap": pcap, "joined_s": joined_s, "ready": tc.ready,
               "rcp_unknown": list(tc.rcp.unknown), "rcp_no_ack": tc.rcp.no_ack}


def tc_frames(pcap):
    """The frames of a LINKTYPE 195 pcap (with FCS), read with the file format only."""
    import struct
    with open(pcap, "rb") as f:
        data = f.read()
    out, p = [], 24
    while p + 16 <= len(data):
        incl = struct.unpack_from("<I", data, p + 8)[0]
        out.append(data[p + 16:p + 16 + incl])
        p += 16 + incl
    return out


def _tshark(pcap, *args):
    r = subprocess.run(["tshark", "-r", pcap, "-o",
                        'uat:zigbee_pc_keys:"%s","Normal","ic"' % IC_LINK_KEY.hex().upper()]
                       + list(args), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_zigbee_on_host_forms_its_network_through_the_fake_rcp(joined):
    ready = joined["ready"]
    assert ready["protocol"] == "4.3" and ready["rcpApi"] == 11
    assert ready["channel"] == CHANNEL and ready["panId"] == PAN_ID
    assert ready["eui64"] == TC_EUI64.hex() and ready["associationPermit"] is True
    # zigbee-on-host's own AES-MMO of the install code: the published link key.
    assert ready["linkKeys"] == [IC_LINK_KEY.hex()]
    assert ready["tcKey"] == IC_LINK_KEY.hex()
    assert joined["rcp_unknown"] == []  # every Spinel request was served


def test_our_end_device_finds_the_beacon_and_associates(joined):
    dev, mac = joined["dev"], joined["mac"]
    assert dev.associated and dev.channel == CHANNEL and mac.pan_id == PAN_ID
    assert bytes(dev.coord_ext) == TC_EUI64 and mac.coordinator_short == 0x0000
    [entry] = joined["devices"]
    assert entry["ieee"] == DEV.hex() and entry["nwk"] == mac.short_addr
    assert entry["rxOnWhenIdle"] is True and entry["keySeq"] == 0
    assert 0x0001 <= mac.short_addr <= 0xFFF7
    # Scan of 16 channels (30.72 ms x 3 each) + macResponseWaitTime 0.49 s + the rest.
    assert joined["joined_s"] < 5.0, joined["joined_s"]
    assert joined["rcp_no_ack"] == 0


def _open_transport_key(nwk_frame, key):
    h = nwkf.NwkHeader()
    n = nwkf.parse(nwk_frame, len(nwk_frame), h)
    aps = bytearray(nwk_frame[n:])
    ah = apsf.ApsHeader()
    hl = apsf.parse(aps, 0, len(aps), ah)
    sec = ApsSecurity()
    plen = sec.decrypt(aps, len(aps), key, hl)
    start = hl + sec.aux.length
    return h, ah, sec.aux, bytes(aps[start:start + plen])


def test_transport_key_opens_with_the_install_code_key_only(joined):
    [nwk_frame] = joined["got"]
    key = key_transport_key(install_code_link_key(INSTALL_CODE))
    h, ah, aux, plain = _open_transport_key(nwk_frame, key)
    assert h.frame_type == nwkf.FT_DATA and not h.security  # APS-secured only (4.4.1.5)
    assert h.src == 0x0000 and h.dst == joined["mac"].short_addr
    assert h.dst64_present and bytes(h.dst64) == DEV
    assert ah.frame_type == apsf.FT_CMD and ah.security
    assert aux.key_id == KEY_TRANSPORT and bytes(aux.src64) == TC_EUI64
    # Transport Key (4.4.11.1): command 0x05, key type 1 (standard network key), key,
    # key sequence number, destination and source extended addresses (little endian).
    assert plain[0] == apsf.CMD_TRANSPORT_KEY and plain[1] == 0x01
    assert plain[2:18] == NETWORK_KEY
    assert plain[18] == 0
    assert plain[19:27] == DEV[::-1] and plain[27:35] == TC_EUI64[::-1]
    assert len(plain) == 35
    # Not readable with the well-known key: the install code is what protects it.
    with pytest.raises(ValueError):
        _open_transport_key(nwk_frame, key_transport_key(WELL_KNOWN_KEY))


def test_tshark_dissects_the_exchange_with_only_the_install_code_key(joined):
    pcap = joined["pcap"]
    verbose = _tshark(pcap, "-V")
    assert "Malformed" not in verbose
    rows = [line.split("\t") for line in _tshark(
        pcap, "-T", "fields", "-e", "wpan.fcs_ok", "-e", "wpan.cmd", "-e", "zbee_aps.cmd.id",
        "-e", "zbee_aps.cmd.key", "-e", "zbee_aps.cmd.key_type").splitlines()]
    assert rows and all(r[0] == "1" for r in rows)  # every FCS good
    cmds = [r[1] for r in rows if r[1]]
    # Beacon request, association request, data request, association response.
    for c in ("0x07", "0x01", "0x04", "0x02"):
        assert c in cmds, (c, cmds)
    tk = [r for r in rows if r[2] == "0x05"]
    assert len(tk) == 1
    assert tk[0][3].replace(":", "").lower() == NETWORK_KEY.hex()
    assert tk[0][4] == "0x01"  # standard network key
    # Frames tshark could not open: only zigbee-on-host's NWK-secured start-up broadcasts
    # (Link Status 0x08, many-to-one Route Request 0x01), sent before the Transport Key
    # taught tshark the network key; nothing after it.
    numbers = _tshark(pcap, "-T", "fields", "-e", "frame.number", "-e", "zbee_aps.cmd.id")
    tk_no = int([ln.split("\t")[0] for ln in numbers.splitlines()
                 if ln.endswith("\t0x05")][0])
    enc = [ln.split("\t") for ln in _tshark(
        pcap, "-Y", '_ws.expert.message contains "Encrypted Payload"', "-T", "fields",
        "-e", "frame.number", "-e", "zbee_nwk.cmd.id").splitlines()]
    assert all(int(n) < tk_no for n, _ in enc), (enc, tk_no)
    assert len(enc) <= 2


def test_zigbee_on_host_decoders_read_the_capture(joined):
    # Every MAC data frame of the capture through zigbee-on-host's own MAC/NWK/APS
    # decoders with the keys it holds (the helper the full join will use on our
    # coordinator's frames): its NWK-secured broadcasts and the Transport Key open.
    tc = joined["tc"]
    data = [f for f in tc_frames(joined["pcap"]) if f[0] & 7 == 1]
    decoded = [tc.decode(f) for f in data]
    assert decoded and all(d["mac"]["type"] == 1 for d in decoded)
    secured_nwk = [d for d in decoded if d["nwk"]["secured"]]
    assert secured_nwk  # link status / many-to-one route request, NWK key
    tk = [d for d in decoded if d.get("aps") and d["aps"]["payload"].startswith("0501")]
    assert len(tk) == 1 and tk[0]["aps"]["secured"]
    assert tk[0]["aps"]["payload"][4:36] == NETWORK_KEY.hex()
