# tshark 4.0 dissects the OTA exchange between the hub and the gas meter (issue 13, "Must
# show": "tshark dissects the OTA exchange with no Malformed"). Tier 1 only (tshark).
#
# 1. Every scenario of tests/unit/test_han_ota_transfer.py (download, corrupted image,
#    block damaged in flight, reboots of the meter and of the hub mid-download), run
#    unchanged under the capture of test_han_scenarios_tshark.py (imported, not copied):
#    every frame of our stack has a good FCS, no Malformed, no "Encrypted Payload"; tshark
#    is given only the gas meter's install-code link key and learns the rest from our
#    Transport Keys.
# 2. The download scenario (test_gas_meter_upgrades_over_the_air) field by field: tshark
#    names each OTA command and its fields equal the values this test states for the
#    image ota_images.build makes (manufacturer 0x1234, image type 0x0002, 1.0.0 -> 1.0.2),
#    the block data equal the image's octets at the block's offset.
import subprocess

import pytest

from han.pcap import PcapWriter
from han.tc.keys import install_code_link_key
from tests.host.test_han_scenarios_tshark import _check, _tshark, capture  # noqa: F401

import ota_images
import test_han_ota_transfer as ota_t
from test_han_se_gas import GAS_CODE

MODULE = "test_han_ota_transfer"
NO_AIR = {"test_image_builder_matches_tools_ota_on_tier_1"}
SCENARIOS = sorted(n for n in vars(ota_t) if n.startswith("test_") and
                   callable(getattr(ota_t, n)))

# What this test states (the image's header, docs/han.md "Firmware images for the HAN").
MANUFACTURER = 0x1234
IMAGE_TYPE = 0x0002
V1 = 0x00010000  # the meter's running version
V2 = 0x00010002  # the image's
BLOCK = 64  # the client's maximum data size
PERIOD_MS = 1000  # the hub's minimum block period in that scenario
EPOCH2000 = 946684800  # ZCL UTCTime origin, 2000-01-01 00:00 UTC
T0_2000 = 1795694400 - EPOCH2000  # the bench's start, 2026-11-26 12:00 UTC


def _keys():
    return [bytes(install_code_link_key(GAS_CODE))]


def _write(cap, path):
    recs = [rec for _, rs in cap.media for rec in rs]
    assert len(cap.media) == 1  # one medium in these benches: one capture in time order
    with open(path, "wb") as out:
        w = PcapWriter(out, 195)
        for t, frame, channel, _ in recs:
            w.write(t, frame, len(frame), channel)
    return recs


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_ota_scenario_frames_dissect_and_decrypt(scenario, capture, tmp_path):
    getattr(ota_t, scenario)()  # the scenario, unchanged
    if scenario in NO_AIR:
        assert capture.media == [] or all(not rs for _, rs in capture.media)
        return
    path = str(tmp_path / "ota.pcap")
    recs = _write(capture, path)
    rows = _tshark(path, _keys())
    assert len(rows) == len(recs)
    fig = dict.fromkeys(("ours", "attacker", "injected", "decrypted", "opaque"), 0)
    fig["experts"] = {}
    problems = _check(MODULE + "::" + scenario, capture, recs, rows, [], fig)
    print("%s: %d frames, %d ours, %d decrypted; expert infos %s" % (
        scenario, len(recs), fig["ours"], fig["decrypted"], fig["experts"]))
    assert not problems, "\n".join(problems)
    assert fig["attacker"] == fig["injected"] == fig["opaque"] == 0
    assert fig["ours"] == len(recs) and fig["decrypted"] > 0


# The OTA fields, one tshark row per frame (first occurrence of each field).
OTA = "zbee_zcl_general.ota."
FIELDS = ("frame.number", "_ws.col.Info", "zbee_nwk.src", "zbee_aps.counter",
          "zbee_aps.cluster", "zbee_zcl.cmd.tsn", "zbee_zcl.cmd.id", OTA + "attr_id", OTA + "cmd.srv_rx.id",
          OTA + "cmd.srv_tx.id", OTA + "status", OTA + "payload.type", OTA + "query_jitter",
          OTA + "query_next_image_req.field_ctrl", OTA + "image_block_req.field_ctrl",
          OTA + "manufacturer_code", OTA + "image.type", OTA + "file.version",
          OTA + "image.size", OTA + "file.offset", OTA + "max_data_size",
          OTA + "min_block_period", OTA + "data_size", OTA + "image.data",
          OTA + "current_time", OTA + "request_time", OTA + "upgrade_time",
          "_ws.malformed", "_ws.expert.message")
NAMES = {0x00: "Image Notify", 0x01: "Query Next Image Request",
         0x02: "Query Next Image Response", 0x03: "Image Block Request",
         0x05: "Image Block Response", 0x06: "Upgrade End Request",
         0x07: "Upgrade End Response"}


def _ota_rows(path):
    cmd = ["tshark", "-r", path, "-Y", "zbee_aps.cluster == 0x0019 && zbee_zcl",
           "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]
    for i, k in enumerate(_keys()):
        cmd += ["-o", 'uat:zigbee_pc_keys:"%s","Normal","ic%d"' % (k.hex(), i)]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.split("\n")[:-1]:
        rows.append(dict(zip(FIELDS, line.split("\t"))))
    return rows


def _int(row, name):
    v = row[OTA + name]
    assert v != "", (name, row)
    return int(v, 0)


def _absent(row, *names):
    return all(row[OTA + n] == "" for n in names)


def _commands(rows):
    """The distinct OTA commands in air order: [(id, row)]. A frame sent again (MAC or APS
    retry) dissects to the same fields; only its first copy is kept."""
    seen = set()
    out = []
    for r in rows:
        rx, tx = r[OTA + "cmd.srv_rx.id"], r[OTA + "cmd.srv_tx.id"]
        if rx == tx == "":
            continue  # a profile-wide ZCL frame on the OTA cluster (Read Attributes)
        key = tuple(r[f] for f in FIELDS[2:])
        if key in seen:
            continue
        seen.add(key)
        cid = int(rx or tx, 0)
        assert NAMES[cid] in r["_ws.col.Info"], (cid, r["_ws.col.Info"])
        out.append((cid, r))
    return out


def _ident(row, version):
    assert (_int(row, "manufacturer_code"), _int(row, "image.type"),
            _int(row, "file.version")) == (MANUFACTURER, IMAGE_TYPE, version), row


def test_ota_download_commands_dissect_by_name_with_the_stated_fields(capture, tmp_path):
    assert (ota_images.MANUFACTURER, ota_images.IMAGE_TYPE, ota_t.V1, ota_t.V2) == \
        (MANUFACTURER, IMAGE_TYPE, V1, V2)
    image = ota_images.build(ota_t.FILES, V2)
    # The header fields of the image itself (octets 10..19), read here by offset.
    assert image[10:12] == b"\x34\x12" and image[12:14] == b"\x02\x00"
    assert image[14:18] == b"\x02\x00\x01\x00"
    size = len(image)
    ota_t.test_gas_meter_upgrades_over_the_air()
    path = str(tmp_path / "ota.pcap")
    _write(capture, path)
    rows = _ota_rows(path)
    for r in rows:
        assert r["_ws.malformed"] == "" and "Malformed" not in r["_ws.expert.message"], r
        assert "Encrypted" not in r["_ws.expert.message"], r
    cmds = _commands(rows)
    ids = [c for c, _ in cmds]
    print("OTA frames on air %d, distinct commands %d: %s" % (
        len(rows), len(cmds), ", ".join("%dx %s" % (ids.count(c), NAMES[c])
                                        for c in sorted(set(ids)))))

    # Start-up query: nothing to offer yet.
    (c0, q0), (c1, a0), (c2, n), (c3, q1), (c4, a1) = cmds[:5]
    assert (c0, c1, c2, c3, c4) == (0x01, 0x02, 0x00, 0x01, 0x02)
    for q in (q0, q1):
        assert _int(q, "query_next_image_req.field_ctrl") == 0  # no hardware version
        _ident(q, V1)
    assert _int(a0, "status") == 0x98 and _absent(a0, "manufacturer_code", "image.size")
    # Image Notify: payload type 3 (jitter, manufacturer, type, version), jitter 100.
    assert (_int(n, "payload.type"), _int(n, "query_jitter")) == (3, 100)
    _ident(n, V2)
    assert _int(a1, "status") == 0 and _int(a1, "image.size") == size
    _ident(a1, V2)

    # The download: requests and responses alternate, paired by ZCL sequence number.
    body = cmds[5:-2]
    assert len(body) % 2 == 0
    got = []
    waits = []
    for (cq, rq), (cr, rr) in zip(body[0::2], body[1::2]):
        assert (cq, cr) == (0x03, 0x05) and rq["zbee_zcl.cmd.tsn"] == rr["zbee_zcl.cmd.tsn"]
        _ident(rq, V2)
        off = _int(rq, "file.offset")
        assert _int(rq, "max_data_size") == BLOCK
        # Field control bit 1: BlockRequestDelay (the client's MinimumBlockPeriod) present:
        # 0 ms until the WAIT_FOR_DATA taught it the hub's 1000 ms.
        assert _int(rq, "image_block_req.field_ctrl") == 0x02, rq
        assert _int(rq, "min_block_period") == (PERIOD_MS if waits else 0), rq
        st = _int(rr, "status")
        if st == 0x97:
            cur, req = _int(rr, "current_time"), _int(rr, "request_time")
            assert T0_2000 <= cur <= T0_2000 + 120 and req == cur + 1, (cur, req)
            assert _absent(rr, "file.offset", "data_size", "image.data")
            # Our WAIT_FOR_DATA ends with MinimumBlockPeriod (u16, 1000 ms; ZCL r6+);
            # tshark 4.0 does not dissect it (nor flags it): checked if a later one does.
            assert _absent(rr, "min_block_period") or \
                _int(rr, "min_block_period") == PERIOD_MS
            waits.append((off, cur))
            continue
        assert st == 0x00, rr
        _ident(rr, V2)
        assert _int(rr, "file.offset") == off
        k = _int(rr, "data_size")
        assert k == min(BLOCK, size - off)
        data = bytes.fromhex(rr[OTA + "image.data"].replace(":", ""))
        assert data == image[off:off + k]
        got.append(off)
    assert got == list(range(0, size, BLOCK))  # every block once, in order
    assert len(waits) == 1 and waits[0][0] == BLOCK  # the second request came too soon

    (c5, e), (c6, er) = cmds[-2:]
    assert (c5, c6) == (0x06, 0x07)
    assert _int(e, "status") == 0x00
    _ident(e, V2)
    _ident(er, V2)
    cur = _int(er, "current_time")
    assert waits[0][1] <= cur <= T0_2000 + 120 and _int(er, "upgrade_time") == 0
    # Then the hub reads the meter's client attributes: Read Attributes Response (0x01),
    # first record CurrentFileVersion (0x0002) = the new version.
    ra = [r for r in rows if r[OTA + "cmd.srv_rx.id"] == r[OTA + "cmd.srv_tx.id"] == ""
          and r["zbee_zcl.cmd.id"] == "0x01" and r[OTA + "attr_id"] != ""]
    assert ra and int(ra[-1][OTA + "attr_id"], 0) == 0x0002, ra
    assert _int(ra[-1], "file.version") == V2
    print("OTA blocks %d (%d octets), WAIT_FOR_DATA %d, upgrade end at UTCTime %d" % (
        len(got), size, len(waits), cur))
