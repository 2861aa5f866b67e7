# `python -m tools.han decode` (tools/han/decode.py, capture.py) against tshark 4.0, the
# peer: on the four public captures of tests/vectors/han (copies of
# shared/reference/captures, same SHA-256) with their published keys, frame by frame,
# every field of the MAC, NWK, APS (tunnelled APS frames included), ZDP and ZCL layers
# that both print agrees, and every frame tshark decrypts (NWK and APS) we decrypt, and
# no other. The expected counts are tshark's (written from its output, and checked
# against it here too), not our decoder's. Then the other encapsulations (LINKTYPE 230,
# 283, pcapng, ZEP v1 over IPv4), a capture of our own simulator, and the error paths.
# Tier 1 only (tshark and CPython).
import json
import struct
import subprocess
import sys

import pytest

VECTORS = "tests/vectors/han/"
NWK1 = "11111111111111111111111111111111"
ZBTK_KEY = "52F0FE8052EBB35907DAA243C95A2FF4"
IC_04 = "55555555555555555555555555555555A9D1"  # zigator 04's install code + CRC
IC_04_LINK_KEY = "3C6047F3C55C8C8290A5839C213B6714"  # its link key, as zigator lists it

# name: (tshark's keys, our arguments, tshark's counts)
# counts: frames, NWK layers, NWK secured, NWK decrypted, APS layers (a tunnel counts
# two), APS secured, APS decrypted, ZDP, ZCL -- all read off tshark 4.0.17's output.
CASES = {
    "zigator_03-nwk-testing.pcap": (
        [NWK1], ["--key", NWK1],
        # Frame 14 (rejoin request) is sent unsecured; frame 15 stays encrypted on
        # purpose (zigator expects "PW301: Unable to decrypt the NWK payload").
        dict(frames=15, nwk=15, nwk_sec=14, nwk_dec=13, aps=1, aps_sec=0, aps_dec=0,
             zdp=1, zcl=0)),
    "zigator_04-aps-testing.pcap": (
        [NWK1, "3" * 32, "7" * 32, IC_04_LINK_KEY],
        ["--key", NWK1, "--key", "3" * 32, "--key", "7" * 32, "--install-code", IC_04],
        # Frames 5 and 10 carry a Tunnel command with an APS frame inside (13 APS
        # layers); 9, 10 (the tunnelled frame) and 11 stay encrypted on purpose (zigator
        # expects three "PW401: Unable to decrypt the APS payload").
        # Frames 2 and 9 have no NWK security.
        dict(frames=11, nwk=11, nwk_sec=9, nwk_dec=9, aps=13, aps_sec=8, aps_dec=5,
             zdp=0, zcl=0)),
    "zigator_06-zcl-testing.pcap": (
        [NWK1], ["--key", NWK1],
        dict(frames=1, nwk=1, nwk_sec=1, nwk_dec=1, aps=1, aps_sec=0, aps_dec=0, zdp=0,
             zcl=1)),
    "zbtk_trace.pcap": (
        [ZBTK_KEY], ["--key", ZBTK_KEY],
        dict(frames=152, nwk=53, nwk_sec=53, nwk_dec=53, aps=35, aps_sec=0, aps_dec=0,
             zdp=0, zcl=18)),
}


# -- tshark's side ------------------------------------------------------------------
def _flatten(node, out):
    """All leaf fields of one protocol layer of tshark's -T json tree: name -> [values]."""
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, str):
                out.setdefault(k, []).append(v)
            elif isinstance(v, list) and all(isinstance(x, str) for x in v):
                out.setdefault(k, []).extend(v)
            else:
                _flatten(v, out)
    elif isinstance(node, list):
        for x in node:
            _flatten(x, out)
    return out


def _layers(layers, name):
    v = layers.get(name)
    if v is None:
        return []
    return [_flatten(x, {}) for x in (v if isinstance(v, list) else [v])]


def _int(fields, name):
    v = fields.get(name)
    return None if not v else int(v[0], 0)


def tshark_frames(path, keys):
    cmd = ["tshark", "-r", path, "-T", "json", "--no-duplicate-keys"]
    for i, k in enumerate(keys):
        cmd += ["-o", 'uat:zigbee_pc_keys:"%s","Normal","k%d"' % (k, i)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [_from_tshark(p["_source"]["layers"]) for p in json.loads(out)]


def _from_tshark(layers):
    r = {}
    for w in _layers(layers, "wpan"):
        r["mac"] = {k: _int(w, "wpan." + k) for k in ("frame_type", "seq_no", "dst_pan",
                                                      "dst16", "src_pan", "src16")}
        # Only addresses on air: tshark also shows an EUI-64 it has mapped to a short
        # address (a generated field of the same name).
        r["mac"]["dst64"] = w["wpan.dst64"][0] if _int(w, "wpan.dst_addr_mode") == 3 else None
        r["mac"]["src64"] = w["wpan.src64"][0] if _int(w, "wpan.src_addr_mode") == 3 else None
    for n in _layers(layers, "zbee_nwk"):
        r["nwk"] = {"frame_type": _int(n, "zbee_nwk.frame_type"),
                    "command_id": _int(n, "zbee_nwk.cmd.id"),
                    "dst": _int(n, "zbee_nwk.dst"), "src": _int(n, "zbee_nwk.src"),
                    "radius": _int(n, "zbee_nwk.radius"), "seq": _int(n, "zbee_nwk.seqno"),
                    "secured": _int(n, "zbee_nwk.security") == 1,
                    "decrypted": "zbee.sec.key" in n}
    r["aps"] = []
    for a in _layers(layers, "zbee_aps"):
        cluster = _int(a, "zbee_aps.cluster")
        r["aps"].append({
            "frame_type": _int(a, "zbee_aps.type"), "command_id": _int(a, "zbee_aps.cmd.id"),
            "profile": _int(a, "zbee_aps.profile"),
            "cluster": cluster if cluster is not None else _int(a, "zbee_aps.zdp_cluster"),
            "dst_ep": _int(a, "zbee_aps.dst"), "src_ep": _int(a, "zbee_aps.src"),
            "group": _int(a, "zbee_aps.group"), "counter": _int(a, "zbee_aps.counter"),
            "secured": _int(a, "zbee_aps.security") == 1, "decrypted": "zbee.sec.key" in a})
    for z in _layers(layers, "zbee_zdp"):
        r["zdp"] = {"seq": _int(z, "zbee_zdp.seqno")}
    for z in _layers(layers, "zbee_zcl"):
        cid = _int(z, "zbee_zcl.cmd.id")
        r["zcl"] = {"frame_type": _int(z, "zbee_zcl.type"), "seq": _int(z, "zbee_zcl.cmd.tsn"),
                    "command_id": cid if cid is not None else _int(z, "zbee_zcl.cs.cmd.id"),
                    "manufacturer": _int(z, "zbee_zcl.cmd.mc")}
    return r


# -- ours ---------------------------------------------------------------------------
def decode(path, *args):
    p = subprocess.run([sys.executable, "-m", "tools.han", "decode", path, "--json"]
                       + list(args), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


def _from_ours(o):
    r = {}
    m = o.get("mac")
    if m:
        r["mac"] = {"frame_type": m["frame_type"], "seq_no": m["seq"],
                    "dst_pan": m.get("dst_pan"), "dst16": m.get("dst16"),
                    "src_pan": m.get("src_pan"), "src16": m.get("src16"),
                    "dst64": m.get("dst64"), "src64": m.get("src64")}
    n = o.get("nwk")
    if n:
        r["nwk"] = {k: n.get(k) for k in ("frame_type", "command_id", "dst", "src", "radius",
                                          "seq", "secured")}
        r["nwk"]["decrypted"] = bool(n.get("decrypted"))
    r["aps"] = []
    a = o.get("aps")
    while a:
        r["aps"].append({k: a.get(k) for k in ("frame_type", "command_id", "profile",
                                               "cluster", "dst_ep", "src_ep", "group",
                                               "counter", "secured")})
        r["aps"][-1]["decrypted"] = bool(a.get("decrypted"))
        a = a.get("tunneled")
    if "zdp" in o:
        r["zdp"] = {"seq": o["zdp"]["seq"]}
    if "zcl" in o:
        z = o["zcl"]
        r["zcl"] = {k: z.get(k) for k in ("frame_type", "seq", "command_id", "manufacturer")}
    return r


def _counts(frames):
    c = dict(frames=len(frames), nwk=0, nwk_sec=0, nwk_dec=0, aps=0, aps_sec=0, aps_dec=0,
             zdp=0, zcl=0)
    for f in frames:
        if "nwk" in f:
            c["nwk"] += 1
            c["nwk_sec"] += f["nwk"]["secured"]
            c["nwk_dec"] += f["nwk"]["decrypted"]
        for a in f["aps"]:
            c["aps"] += 1
            c["aps_sec"] += a["secured"]
            c["aps_dec"] += a["decrypted"]
        c["zdp"] += "zdp" in f
        c["zcl"] += "zcl" in f
    return c


def compare(path, tshark_keys, our_args):
    theirs = tshark_frames(path, tshark_keys)
    ours_raw = decode(path, *our_args)
    ours = [_from_ours(o) for o in ours_raw]
    assert len(ours) == len(theirs)
    for i, (mine, peer) in enumerate(zip(ours, theirs)):
        assert mine == peer, "frame %d: ours %s\ntshark %s" % (i + 1, mine, peer)
        assert "error" not in ours_raw[i], ours_raw[i]
    return theirs, ours_raw


@pytest.mark.parametrize("name", sorted(CASES))
def test_capture_agrees_with_tshark_frame_by_frame(name):
    tshark_keys, our_args, expected = CASES[name]
    theirs, ours = compare(VECTORS + name, tshark_keys, our_args)
    assert _counts(theirs) == expected  # tshark still reads the file as written above


def test_zigator_04_keys_and_tunnel():
    # What tshark shows in its tree (-V) for zigator 04, checked on our output: the
    # Transport Key of frame 2 carries network key 1111..11 under the key-transport key
    # of 3333..33; frame 5 tunnels a Transport Key under the install code's key-transport
    # key; frame 6 carries the TC link key 7777..77 under its key-load key.
    tshark_keys, our_args, _ = CASES["zigator_04-aps-testing.pcap"]
    ours = decode(VECTORS + "zigator_04-aps-testing.pcap", *our_args)
    f2 = ours[1]["aps"]
    assert (f2["command"], f2["key_id"], f2["key_type"], f2["transported_key"]) == (
        "Transport Key", "key-transport", 1, NWK1.lower())
    assert f2["key"] == "3" * 32
    f5 = ours[4]["aps"]
    assert f5["command"] == "Tunnel" and f5["tunnel_dst64"] == "77:77:77:00:00:00:00:05"
    assert f5["tunneled"]["command"] == "Transport Key"
    assert f5["tunneled"]["key"] == IC_04_LINK_KEY.lower()
    f6 = ours[5]["aps"]
    assert (f6["key_id"], f6["key_type"], f6["transported_key"]) == (
        "key-load", 4, "7" * 32)
    assert ours[7]["aps"]["command"] == "Confirm Key" and ours[7]["aps"]["status"] == 0


def test_network_key_learned_from_transport_key():
    # Only the link key 3333..33: tshark decrypts frame 2's Transport Key, learns the
    # network key and then decrypts the NWK layer of frames 3-8, 10 and 11 (frame 1
    # comes before the key, frame 9 is sent without NWK security). We do the same.
    path = VECTORS + "zigator_04-aps-testing.pcap"
    theirs, ours = compare(path, ["3" * 32], ["--key", "3" * 32])
    decrypted = [i + 1 for i, f in enumerate(theirs) if f.get("nwk", {}).get("decrypted")]
    assert decrypted == [3, 4, 5, 6, 7, 8, 10, 11]
    assert ours[2]["nwk"]["key_origin"] == "frame 2"
    assert ours[0]["nwk"]["decrypted"] is False


def test_without_keys_fields_in_the_clear():
    path = VECTORS + "zigator_06-zcl-testing.pcap"
    theirs, ours = compare(path, [], [])
    n = ours[0]["nwk"]
    assert n["secured"] is True and n["decrypted"] is False
    assert (n["src"], n["dst"], n["radius"], n["seq"]) == (0x0000, 0x1102, 30, 192)
    assert "aps" not in ours[0] and "error" not in ours[0]


# -- other encapsulations, each read by tshark too ---------------------------------
def _pcap(linktype, records):
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)
    for i, r in enumerate(records):
        out += struct.pack("<IIII", 1000 + i, 0, len(r), len(r)) + r
    return out


def _records(path):
    data = open(path, "rb").read()
    p = 24
    while p < len(data):
        n = struct.unpack_from("<I", data, p + 8)[0]
        yield data[p + 16:p + 16 + n]
        p += 16 + n


def _zep_v1_udp(psdu):
    # Ethernet / IPv4 / UDP 17754 / ZEP v1 in CRC mode (the FCS stays in the frame).
    zep = b"EX\x01" + bytes([15]) + b"\x00\x01" + b"\x01" + b"\xff" + bytes(7) \
        + bytes([len(psdu)]) + psdu
    udp = struct.pack(">HHHH", 17754, 17754, 8 + len(zep), 0) + zep
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + udp
    return b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip


def _tap(psdu):
    tlvs = struct.pack("<HHB3x", 0, 1, 1) + struct.pack("<HHHB1x", 3, 3, 15, 0)
    return struct.pack("<BBH", 0, 0, 4 + len(tlvs)) + tlvs + psdu


@pytest.mark.parametrize("form", ["nofcs-230", "tap-283", "zep1-ethernet", "pcapng"])
def test_other_encapsulations_agree_with_tshark(tmp_path, form):
    name = "zigator_04-aps-testing.pcap"
    tshark_keys, our_args, expected = CASES[name]
    recs = list(_records(VECTORS + name))
    path = str(tmp_path / ("f." + form))
    if form == "nofcs-230":
        data = _pcap(230, [r[:-2] for r in recs])
    elif form == "tap-283":
        data = _pcap(283, [_tap(r) for r in recs])
    elif form == "zep1-ethernet":
        data = _pcap(1, [_zep_v1_udp(r) for r in recs])
    else:
        subprocess.run(["tshark", "-r", VECTORS + name, "-F", "pcapng", "-w", path],
                       check=True, capture_output=True)
        data = None
    if data is not None:
        open(path, "wb").write(data)
    theirs, ours = compare(path, tshark_keys, our_args)
    assert _counts(theirs) == expected
    if form == "tap-283":
        assert ours[0]["encap"]["channel"] == 15
    if form == "zep1-ethernet":
        assert ours[0]["encap"]["zep"] == 1 and ours[0]["encap"]["channel"] == 15


# -- our simulator's capture (MAC only: its frames carry no ZigBee layers) -----------
def test_simulator_capture_mac_fields_agree(tmp_path):
    pcap = str(tmp_path / "assoc.pcap")
    subprocess.run([sys.executable, "-m", "tools.han", "sim", "--associate", "--pcap", pcap,
                    "--json"], check=True, capture_output=True)
    theirs, ours = compare(pcap, [], [])
    assert len(theirs) > 50
    cmds = [o["mac"].get("command") for o in ours]
    assert cmds.count("Association Request") >= 3 and "Association Response" in cmds
    assert "Orphan Notification" in cmds and "Coordinator Realignment" in cmds
    secured = [o for o in ours if o["mac"]["secured"]]
    out = subprocess.run(["tshark", "-r", pcap, "-T", "fields", "-e", "wpan.security"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert len(secured) == out.count("1") > 0
    assert all(o["mac"]["decrypted"] is False and "frame_counter" in o["mac"]
               for o in secured)


# -- errors ---------------------------------------------------------------------------
def _run(*args):
    return subprocess.run([sys.executable, "-m", "tools.han", "decode"] + list(args),
                          capture_output=True, text=True)


def _with_fcs(frame):
    # CRC-16/KERMIT (802.15.4 FCS), bit by bit: independent of han.mac.fcs.
    c = 0
    for b in frame:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ 0x8408 if c & 1 else c >> 1
    return frame + bytes((c & 0xFF, c >> 8))


def test_malformed_frames_give_errors_not_tracebacks(tmp_path):
    good = list(_records(VECTORS + "zigator_06-zcl-testing.pcap"))[0]
    bad_fcs = good[:-1] + bytes([good[-1] ^ 0xFF])
    cut_nwk = _with_fcs(good[:9 + 5])  # MAC header + 5 octets of a NWK header
    nwk_secured_cut = _with_fcs(good[:9 + 8 + 6])  # NWK header + half an aux header
    reserved_mode = _with_fcs(b"\x41\x04\x01\xcd\xab\xff\xff")  # dst mode 1: reserved
    path = tmp_path / "bad.pcap"
    path.write_bytes(_pcap(195, [bad_fcs, cut_nwk, nwk_secured_cut, reserved_mode, b"\x01",
                                 good]))
    out = decode(str(path), "--key", NWK1)
    assert [o["frame"] for o in out] == [1, 2, 3, 4, 5, 6]
    assert out[0]["error"] == "MAC: bad FCS" and out[0]["mac"]["fcs_ok"] is False
    assert out[1]["error"].startswith("NWK:")
    assert out[2]["error"].startswith("NWK:")
    assert out[3]["error"] == "MAC: reserved addressing mode"
    assert out[4]["error"].startswith("MAC:")
    assert out[5]["zcl"]["command"] == "Read Attributes" and "error" not in out[5]


def test_bad_files_and_arguments_exit_2(tmp_path):
    cap = VECTORS + "zigator_06-zcl-testing.pcap"
    cases = [
        ([str(tmp_path / "missing.pcap")], "No such file"),
        ([cap, "--key", "1234"], "2 octets, not 16"),
        ([cap, "--key", "zz" * 16], "not hex"),
        ([cap, "--install-code", "55" * 16 + "0000"], "CRC"),
        ([cap, "--install-code", "55" * 5], "need 6, 8, 12 or 16"),
    ]
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"this is not a capture")
    cases.append(([str(junk)], "not a pcap or pcapng file"))
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(open(cap, "rb").read()[:-10])
    cases.append(([str(cut)], "cut short"))
    for args, msg in cases:
        p = _run(*args)
        assert p.returncode == 2, (args, p.stderr)
        assert msg in p.stderr and "Traceback" not in p.stderr, (args, p.stderr)


def test_install_code_without_crc_and_learned_link_key():
    # A bare 16-octet code gets its CRC appended (A9D1) and gives zigator's link key, so
    # we agree with tshark given that link key. Frame 8 (Confirm Key) decrypts with the
    # TC link key 7777..77 that frame 6 transported: tshark learns every transported
    # key, so do we.
    path = VECTORS + "zigator_04-aps-testing.pcap"
    theirs, ours = compare(path, [NWK1, IC_04_LINK_KEY], ["--key", NWK1, "--install-code",
                                                          "55" * 16])
    assert [i + 1 for i, f in enumerate(theirs) if f["aps"] and f["aps"][-1]["decrypted"]] \
        == [4, 5, 6, 8]
    assert ours[7]["aps"]["key_origin"] == "frame 6"
    assert ours[4]["aps"]["tunneled"]["key_origin"] == "install code " + "55" * 16
