# Every frame our ZigBee stack puts on the simulated medium, in EVERY scenario of the
# portable tests over it (tests/unit/test_han_zigbee.py on zb_net.Net, test_han_node.py on
# its Bench, test_han_zb_fuzz_regress.py), dissects in tshark 4.0 given ONLY the
# install-code link keys of that scenario's devices: no Malformed, no bad FCS, no
# "Encrypted Payload" expert info; tshark learns the network key (and the TC link keys)
# from our Transport Keys. Issue 11, first point of "Must show". Tier 1 only (tshark).
#
# How the capture works, without touching the scenarios' logic (monkeypatch, per test):
# - radio_sim.Medium._begin, where a transmission goes on air (and where the medium's own
#   sniffer hook is called), records every frame with the SimRadio that sent it; a
#   scenario that replaces or clears medium.sniffer (several do) cannot stop this;
# - ZigbeeNode.__init__ (HanNode builds one too) records the radio it is given: those
#   radios are our stack. Any other radio is a test's attacker (forged or replayed
#   frames): its frames are excluded and counted;
# - Nwk.send / Aps.send_command called directly from a test module (below the node's
#   application API: a test hand-crafting a malformed NWK or APS payload and pushing it
#   through our own radio) record the NWK frame they queue; air frames carrying exactly
#   that MAC payload (retries included) are test-forged too: excluded and counted.
# The scenarios' application payloads are ZCL frames (zb_net.zcl), so tshark dissects
# them down to ZCL as well.
# Everything else from our radios must pass.
import importlib
import json
import subprocess
import sys

import pytest

from han import radio_sim
from han import zigbee
from han.aps import layer as aps_layer
from han.mac import frame as fr
from han.nwk import layer as nwk_layer
from han.pcap import PcapWriter
from han.tc.keys import install_code_link_key

import zb_net

MODULES = ("test_han_zigbee", "test_han_node", "test_han_zb_fuzz_regress", "test_han_zb_aging",
           "test_han_se_hub", "test_han_se_ihd", "test_han_se_gas")

# Scenarios that build nodes but never run the medium (parsers, constructors, table
# sizes): asserted to capture nothing, so that one that starts transmitting gets checked
# (it must then be removed from here).
NO_AIR = {
    "test_han_zigbee::test_table_register_checks_sizes",
    "test_han_node::test_joiner_op_parser_refuses_before_anything_changes",
    "test_han_node::test_device_needs_a_valid_install_code",
    "test_han_zb_fuzz_regress::test_short_unserved_zdo_request_counted_malformed_only",
    "test_han_zb_aging::test_table_record_keeps_its_layout_and_reads_records_written_before",
    "test_han_se_hub::test_todays_energy_survives_a_reboot_the_same_day_not_across_midnight",
    "test_han_se_ihd::test_a_report_is_taken_without_allocating",
    "test_han_se_ihd::test_a_label_or_message_that_is_not_utf8_is_shown_with_question_marks",
}
# Scenarios in which no device is ever admitted (unregistered joiner, full table): no key
# is transported, so nothing is secured and there is nothing to decrypt. Asserted: none
# of our frames there carries NWK or APS security.
NOTHING_SECURED = {
    "test_han_zigbee::test_unregistered_device_is_refused_and_gets_no_key",
    "test_han_zigbee::test_full_table_refuses_registration_and_association_without_raising",
}
# Keys tshark cannot learn, declared per (scenario, device index): (the number of that
# device's frames expected opaque, why). Only frames from that device's radio, and exactly
# that many, may keep a payload tshark cannot open.
# - wrong install code: the device holds an all-zero link key (no install code hashes to
#   it) while the coordinator registers the key of CODES[0], which is also
#   zb_net.device_code(0), the code tshark is given; so tshark opens the coordinator's
#   Transport Keys. The device never gets the network key and secures nothing: 0 frames.
# - APS data under another key: the test overwrites the device's TC link key with
#   A0..AF (a key nobody transported) for one unacknowledged frame: 1 frame (its other
#   frame, under the install-code key, tshark opens).
UNLEARNABLE = {
    ("test_han_zigbee::test_wrong_install_code_cannot_open_the_network_key", 0):
        (0, "all-zero link key, not derived from any install code"),
    ("test_han_zigbee::test_aps_secured_data_under_another_key_is_refused_and_counted", 0):
        (1, "TC link key overwritten by the test with A0..AF"),
}


def _scenarios():
    out = []
    for m in MODULES:
        mod = importlib.import_module(m)
        for name in sorted(vars(mod)):
            if name.startswith("test_") and callable(getattr(mod, name)):
                out.append("%s::%s" % (m, name))
    return out


SCENARIOS = _scenarios()


class Capture:
    def __init__(self):
        self.media = []  # [medium, [(t, frame, channel, radio)]]
        self.ours = []  # radios given to a ZigbeeNode
        self.nets = []  # zb_net.Net instances (their devices' install codes)
        self.injected = set()  # NWK frames (MAC payloads) a test pushed through our stack
        self.injecting = 0

    def on_air(self, medium, t):
        for entry in self.media:
            if entry[0] is medium:
                break
        else:
            entry = [medium, []]
            self.media.append(entry)
        entry[1].append((t.start, t.frame, t.channel, t.radio))

    def is_ours(self, radio):
        return any(r is radio for r in self.ours)


def _from_test(depth=2):
    return sys._getframe(depth).f_globals.get("__name__") in MODULES


@pytest.fixture
def capture(monkeypatch):
    cap = Capture()
    begin = radio_sim.Medium._begin
    zb_init = zigbee.ZigbeeNode.__init__
    net_init = zb_net.Net.__init__
    nwk_send = nwk_layer.Nwk.send
    aps_cmd = aps_layer.Aps.send_command
    zb_send = zigbee.ZigbeeNode.send

    def _begin(self, t):
        begin(self, t)
        cap.on_air(self, t)

    def _zb_init(self, radio, *a, **k):
        cap.ours.append(radio)
        zb_init(self, radio, *a, **k)

    def _net_init(self, *a, **k):
        net_init(self, *a, **k)
        cap.nets.append(self)

    def _nwk_send(self, *a, **k):
        if not (cap.injecting or _from_test()):
            return nwk_send(self, *a, **k)
        mac = self.mac

        def grab(dst, buf, n, *ma, **mk):
            cap.injected.add(bytes(buf[:n]))
            return type(mac).send(mac, dst, buf, n, *ma, **mk)
        mac.send = grab
        try:
            return nwk_send(self, *a, **k)
        finally:
            del mac.send

    def _aps_cmd(self, *a, **k):
        direct = _from_test()
        cap.injecting += direct
        try:
            return aps_cmd(self, *a, **k)
        finally:
            cap.injecting -= direct

    monkeypatch.setattr(radio_sim.Medium, "_begin", _begin)
    monkeypatch.setattr(zigbee.ZigbeeNode, "__init__", _zb_init)
    monkeypatch.setattr(zb_net.Net, "__init__", _net_init)
    monkeypatch.setattr(nwk_layer.Nwk, "send", _nwk_send)
    monkeypatch.setattr(aps_layer.Aps, "send_command", _aps_cmd)
    return cap


SEP = "\t"
AGG = "\x1e"
# zbee.sec.field: one per security header (NWK, APS); zbee.sec.key: one per header tshark
# opened (the key it used).
# zbee_aps.type/security: a secured APS ack (type 0x02) has an empty payload under its APS
# security header, which tshark neither decrypts nor authenticates (dissect_zbee_secure
# returns at "null payload", no key shown, no expert info): that header is not counted.
FIELDS = ("frame.number", "frame.protocols", "wpan.fcs_ok", "_ws.malformed",
          "_ws.expert.message", "zbee.sec.field", "zbee.sec.key", "zbee_aps.type",
          "zbee_aps.security")


def _tshark(path, keys):
    cmd = ["tshark", "-r", path, "-T", "fields", "-E", "separator=" + SEP,
           "-E", "aggregator=" + AGG, "-E", "occurrence=a"]
    for i, k in enumerate(keys):
        cmd += ["-o", 'uat:zigbee_pc_keys:"%s","Normal","ic%d"' % (k.hex(), i)]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.split("\n")[:-1]:  # not splitlines(): it splits at AGG too
        cols = line.split(SEP)
        rows.append({f: [v for v in c.split(AGG) if v] for f, c in zip(FIELDS, cols)})
    return rows


def _keys(cap, scenario):
    if scenario.startswith(("test_han_node::", "test_han_se_hub::", "test_han_se_ihd::")):
        import test_han_node
        return [install_code_link_key(test_han_node.CODE)]
    if scenario.startswith("test_han_se_gas::"):  # the gas meter and a stand-in reader
        import test_han_se_gas
        return [install_code_link_key(test_han_se_gas.GAS_CODE),
                install_code_link_key(test_han_se_gas.CODE)]
    keys = []
    for net in cap.nets:
        for d in net.devs:
            k = bytes(install_code_link_key(d.code))
            if k not in keys:
                keys.append(k)
    return keys


def _classify(cap, frame, radio):
    """'ours', 'attacker' (a radio not given to our stack) or 'injected' (a payload a test
    pushed through our NWK/APS layer)."""
    if not cap.is_ours(radio):
        return "attacker"
    f = fr.FrameFields()
    if fr.decode(frame, len(frame), f, True) == fr.OK and f.frame_type == fr.FT_DATA:
        if bytes(frame[f.header_len:len(frame) - 2]) in cap.injected:
            return "injected"
    return "ours"


def _unlearnable_nodes(cap, scenario):
    """The zb_net nodes of this scenario declared in UNLEARNABLE (d.radio: the current
    boot's radio)."""
    nodes = []
    for net in cap.nets:
        for i, d in enumerate(net.devs):
            if (scenario, i) in UNLEARNABLE:
                nodes.append(d)
    return nodes


def _check(scenario, cap, recs, rows, unlearnable, fig):
    """Problems with our frames of one capture; fig collects the figures."""
    problems = []
    for (t, frame, channel, radio), row in zip(recs, rows):
        kind = _classify(cap, frame, radio)
        fig[kind] += 1
        if kind != "ours":
            continue
        n_sec = len(row["zbee.sec.field"])
        if row["zbee_aps.type"] == ["0x02"] and row["zbee_aps.security"] == ["1"]:
            n_sec -= 1  # the empty payload of a secured APS ack: nothing to open
        n_dec = len(row["zbee.sec.key"])
        fig["decrypted"] += n_dec > 0
        msgs = row["_ws.expert.message"]
        for x in msgs:
            fig["experts"][x] = fig["experts"].get(x, 0) + 1
        why = []
        if row["wpan.fcs_ok"] != ["1"]:
            why.append("bad FCS")
        opaque = any("Encrypted Payload" in x for x in msgs) or n_dec < n_sec
        if opaque and any(d.radio is radio for d in unlearnable):
            fig["opaque"] += 1  # compared with the declared number by the caller
        elif opaque:
            why.append("Encrypted Payload (secured %d, decrypted %d)" % (n_sec, n_dec))
        if scenario in NOTHING_SECURED and n_sec:
            why.append("secured frame where no key was ever transported")
        if row["_ws.malformed"] or any("Malformed" in x for x in msgs):
            protos = row["frame.protocols"][0].split(":") if row["frame.protocols"] else []
            why.append("Malformed in %s" % protos[-1:])
        if why:
            problems.append("frame %s at %d us: %s; %s; %s" % (
                row["frame.number"][0], t, ", ".join(why), msgs, frame.hex()))
    return problems


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_frames_dissect_and_decrypt_in_tshark(scenario, capture, tmp_path):
    modname, fname = scenario.split("::")
    getattr(importlib.import_module(modname), fname)()  # the scenario, unchanged
    frames = [rec for _, recs in capture.media for rec in recs]
    if scenario in NO_AIR:
        assert frames == [], "%s transmits now: check it (remove it from NO_AIR)" % scenario
        return
    assert frames, "nothing captured in %s" % scenario
    keys = _keys(capture, scenario)
    assert keys
    fig = dict.fromkeys(("ours", "attacker", "injected", "decrypted", "opaque"), 0)
    fig["experts"] = {}  # expert infos on our frames (printed, for the record)
    problems = []
    unlearnable = _unlearnable_nodes(capture, scenario)
    for m, (medium, recs) in enumerate(capture.media):
        if not recs:
            continue
        path = str(tmp_path / ("m%d.pcap" % m))
        with open(path, "wb") as out:
            w = PcapWriter(out, 195)
            for t, frame, channel, _ in recs:
                w.write(t, frame, len(frame), channel)
        rows = _tshark(path, keys)
        assert len(rows) == len(recs)
        problems += _check(scenario, capture, recs, rows, unlearnable, fig)
    fig["frames"] = len(frames)
    print("%s: %d frames, %d ours, excluded %d (attacker radio %d, test-injected %d), "
          "%d decrypted, %d opaque under an unlearnable key" % (
              scenario, len(frames), fig["ours"], fig["attacker"] + fig["injected"],
              fig["attacker"], fig["injected"], fig["decrypted"], fig["opaque"]))
    for x in sorted(fig["experts"]):
        print("    expert info on our frames: %dx %s" % (fig["experts"][x], x))
    assert not problems, "\n".join(problems)
    assert fig["ours"] > 0
    declared = [v[0] for (sc, _), v in UNLEARNABLE.items() if sc == scenario]
    assert fig["opaque"] == sum(declared), "opaque frames under an unlearnable key"
    if scenario in NOTHING_SECURED:
        assert fig["decrypted"] == 0
    else:
        assert fig["decrypted"] > 0, "tshark decrypted nothing in %s" % scenario


def test_every_declared_exception_names_an_existing_scenario():
    # A renamed or removed scenario must not leave a stale exception behind.
    named = NO_AIR | NOTHING_SECURED | {sc for sc, _ in UNLEARNABLE}
    assert named <= set(SCENARIOS), sorted(named - set(SCENARIOS))
    assert len(SCENARIOS) >= 29
