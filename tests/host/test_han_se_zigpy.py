# The Smart Energy servers (firmware/han/se) against two independent readers. Tier 1 only.
#  - zigpy's cluster definitions (zigpy.zcl.clusters.general.Basic / Identify / Time,
#    smartenergy.Metering) read every attribute of our Read Attributes Responses with the
#    data type zigpy declares for it, to the value our server was given; the Identify
#    Query Response parses with zigpy's command schema.
#  - tshark (packet-zbee-zcl-general.c, packet-zbee-zcl-se.c) dissects every request and
#    response, wrapped in APS (Smart Energy profile 0x0109) / NWK / MAC frames from our own
#    codecs, naming the Basic, Time and Metering attributes, with no Malformed.
import io
import subprocess

import zigpy.zcl.foundation as f
from zigpy.zcl.clusters import general, smartenergy

from han.pcap import PcapWriter
from tests.host.zb_frames import unsecured_data_frame
from han.se import basic, identify, metering, sources, time as st, units
from han.zcl import frame as zf
from registers.clock import DST_EU

NOON = 1751371200   # 2025-07-01 12:00 UTC


class _Clock:
    synced = True

    def __init__(self, utc):
        self.t = utc

    def utc(self):
        return self.t

    def __call__(self):
        return self.t


class _View:
    tariff_count = 4

    def import_wh(self, n):
        return [1234567, 7654321, 11, 0][n - 1]

    def export_wh(self, n):
        return [100000, 23456, 0, 5][n - 1]

    def total_import_wh(self):
        return 8888899

    def total_export_wh(self):
        return 123461

    def utc(self):
        return NOON

    def utc_offset_s(self, utc=None):
        return 7200

    def gas_valid(self):
        return True

    def gas_litres(self):
        return 12345678

    def gas_capture_utc(self):
        return NOON - 300


def _servers():
    src = sources.ElectricitySource(_View(), power_w=lambda: -1500)
    src.restore(8888899 - 4321, 8888899 - 54321, 8888899 - 654321, 9876, NOON)
    ident = identify.IdentifyServer(_Clock(100))
    ident.identify(42)
    return {
        "basic": basic.BasicServer(2, 1, 2, 1, b"MPY", b"meter-fw", b"20260101",
                                   basic.POWER_MAINS_3PH, b"0.1.0"),
        "identify": ident,
        "time": st.TimeServer(_Clock(NOON), 3600, DST_EU, last_set=lambda: NOON - 86400),
        "meter": metering.MeteringServer(src, units.electricity()),
        "mirror": metering.MeteringServer(sources.MirrorSource(_View()), units.gas(3),
                                          metering.DEVICE_MIRRORED_GAS),
    }


# What each server was given, per attribute: (attribute id, value). Split so that each
# response fits in one 127-octet MAC frame.
GIVEN = {
    "basic": [[(0x0000, 2), (0x0001, 1), (0x0002, 2), (0x0003, 1), (0x0004, b"MPY"),
               (0x0005, b"meter-fw"), (0x0006, b"20260101"), (0x0007, 2),
               (0x4000, b"0.1.0")]],
    "identify": [[(0x0000, 42)]],
    "time": [[(0x0000, NOON - 946684800), (0x0001, 0x0D), (0x0002, 3600),
              (0x0003, 796611600), (0x0004, 814755599), (0x0005, 3600),
              (0x0006, NOON - 946684800 + 3600), (0x0007, NOON - 946684800 + 7200),
              (0x0008, NOON - 946684800 - 86400), (0x0009, NOON - 946684800 + 86400)]],
    "meter": [[(0x0000, 8888899), (0x0001, 123461), (0x0100, 1234567), (0x0101, 100000),
               (0x0102, 7654321), (0x0103, 23456), (0x0104, 11), (0x0105, 0)],
              [(0x0106, 0), (0x0107, 5), (0x0200, 0), (0x0300, 0), (0x0301, 1),
               (0x0302, 1000), (0x0303, 0x33), (0x0304, 0x13), (0x0305, 0x33), (0x0306, 0),
               (0x0400, -1500)],
              [(0x0401, 4321), (0x0403, 9876), (0x0430, 54321), (0x0440, 654321)]],
    "mirror": [[(0x0000, 12345678), (0x0007, NOON - 300 - 946684800), (0x0200, 0),
                (0x0300, 1), (0x0301, 1), (0x0302, 1000), (0x0303, 0x2B),
                (0x0306, 0x80)]],
}
CLUSTER = {"basic": general.Basic, "identify": general.Identify, "time": general.Time,
           "meter": smartenergy.Metering, "mirror": smartenergy.Metering}
# SE 1.4 ids zigpy's Metering table lacks: CurrentWeek / CurrentMonthConsumptionDelivered.
NOT_IN_ZIGPY = {0x0430: 0x22, 0x0440: 0x23}


def _exchanges():
    """(name, cluster id, request frame, our response frame) for every read and command."""
    servers = _servers()
    out = []
    seq = 1
    for name, groups in GIVEN.items():
        s = servers[name]
        for ids in groups:
            req = bytes([0x00, seq, 0x00]) + b"".join(
                bytes([a & 0xFF, a >> 8]) for a, _ in ids)
            out.append((name, s.cluster_id, req, _answer(s, req), [a for a, _ in ids]))
            seq += 1
    s = servers["identify"]
    for req in (bytes([0x01, seq, 0x01]), bytes([0x01, seq + 1, 0x00, 0x0A, 0x00])):
        out.append(("identify_cmd", 3, req, _answer(s, req), []))
    return out


def _answer(server, req):
    h = zf.ZclHeader()
    p = zf.parse(req, 0, len(req), h)
    buf = bytearray(127)
    n = server.handle(h, req, p, len(req), buf, True)
    assert n > 0
    return bytes(buf[:n])


def _zvalue(v):
    if isinstance(v, (bytes, str)):
        return v.encode() if isinstance(v, str) else bytes(v)
    return int(v)


def test_zigpy_reads_our_attributes_with_its_types():
    for name, cluster_id, req, rsp, ids in _exchanges():
        if name == "identify_cmd":
            continue
        cls = CLUSTER[name]
        assert cls.cluster_id == cluster_id
        hdr, rest = f.ZCLHeader.deserialize(rsp)
        assert hdr.command_id == f.GeneralCommand.Read_Attributes_rsp
        assert hdr.direction == f.Direction.Server_to_Client
        payload, rest = f.GENERAL_COMMANDS[hdr.command_id].schema.deserialize(rest)
        assert rest == b""
        given = dict(x for g in GIVEN[name] for x in g)
        for r in payload.status_records:
            assert r.status == f.Status.SUCCESS, (name, hex(r.attrid))
            if r.attrid in NOT_IN_ZIGPY and cls is smartenergy.Metering:
                assert r.value.type == NOT_IN_ZIGPY[r.attrid]
                assert int(r.value.value) == given[r.attrid]
                continue
            d = cls.attributes[r.attrid]
            assert r.value.type == d.zcl_type, (name, d.name, r.value.type, d.zcl_type)
            typed = d.type(r.value.value)
            assert _zvalue(typed) == given[r.attrid], (name, d.name, typed)
        assert [r.attrid for r in payload.status_records] == ids


def test_zigpy_named_values():
    ex = _exchanges()

    def records(name, i=0):
        rsp = [e for e in ex if e[0] == name][i][3]
        hdr, rest = f.ZCLHeader.deserialize(rsp)
        payload, _ = f.GENERAL_COMMANDS[hdr.command_id].schema.deserialize(rest)
        return dict((r.attrid, r.value.value) for r in payload.status_records)

    m = records("meter", 1)
    fmt = smartenergy.NumberFormatting(m[0x0303])
    assert (fmt.num_digits_left_of_decimal, fmt.num_digits_right_of_decimal,
            fmt.suppress_leading_zeros) == (6, 3, 0)
    assert smartenergy.MeteringUnitofMeasure(m[0x0300]) == \
        smartenergy.MeteringUnitofMeasure.Kwh_and_Kwh_binary
    assert smartenergy.MeteringDeviceType(records("mirror")[0x0306]) == \
        smartenergy.MeteringDeviceType.Mirrored_Gas_Metering
    ts = general.TimeStatus(records("time")[0x0001])
    assert ts == general.TimeStatus.Master | general.TimeStatus.Master_for_Zone_and_DST \
        | general.TimeStatus.Superseding
    assert general.Basic.PowerSource(records("basic")[0x0007]) == \
        general.Basic.PowerSource.Mains_three_phase
    # The Identify Query Response: zigpy's client command schema, 42 s left.
    rsp = [e for e in ex if e[0] == "identify_cmd"][0][3]
    hdr, rest = f.ZCLHeader.deserialize(rsp)
    assert hdr.frame_control.is_cluster and hdr.command_id == 0x00
    cmd, rest = general.Identify.client_commands[0x00].schema.deserialize(rest)
    assert rest == b"" and cmd.timeout == 42


# --- tshark ----------------------------------------------------------------------------

def _mac(cluster, zcl, seq):
    return unsecured_data_frame(0x0109, 1, cluster, zcl, seq & 0xFF)


def test_tshark_dissects_every_frame(tmp_path):
    stream = io.BytesIO()
    w = PcapWriter(stream)
    frames = []
    for name, cluster, req, rsp, _ in _exchanges():
        for zcl in (req, rsp):
            frames.append((name, zcl))
            buf, n = _mac(cluster, zcl, len(frames))
            w.write(1000000 * len(frames), buf, n)
    path = tmp_path / "se.pcap"
    path.write_bytes(stream.getvalue())
    verbose = subprocess.run(["tshark", "-r", str(path), "-V"], capture_output=True,
                             text=True, check=True).stdout
    assert "Malformed" not in verbose
    fields = ["zbee_zcl.cmd.tsn", "_ws.malformed", "_ws.expert", "zbee_zcl_se.met.attr_id",
              "zbee_zcl_general.basic.attr_id", "zbee_zcl_general.time.attr_id"]
    cmd = ["tshark", "-r", str(path), "-T", "fields", "-E", "separator=|",
           "-E", "occurrence=a", "-E", "aggregator=,"]
    for fld in fields:
        cmd += ["-e", fld]
    rows = [dict(zip(fields, line.split("|"))) for line in subprocess.run(
        cmd, capture_output=True, text=True, check=True).stdout.splitlines()]
    assert len(rows) == len(frames)
    for (name, zcl), r in zip(frames, rows):
        assert r["_ws.malformed"] == "" and r["_ws.expert"] == "", (name, zcl.hex(), r)
        assert int(r["zbee_zcl.cmd.tsn"]) == zcl[1], name
    # Every attribute named by tshark's general and Smart Energy dissectors, with its id.
    named = set(line.strip() for line in verbose.splitlines()
                if line.strip().startswith("Attribute: "))
    want = set()
    for name, groups in GIVEN.items():
        for g in groups:
            for attr_id, _ in g:
                want.add("(0x%04x)" % attr_id)
    assert set(x[x.rindex("("):] for x in named) == want
    for text in ("Current Summation Delivered (0x0000)", "Current Tier 4 Summation Received",
                 "Instantaneous Demand (0x0400)", "Divisor (0x0302)",
                 "Summation Formatting (0x0303)", "Metering Device Type (0x0306)",
                 "Current Week Consumption Delivered (0x0430)",
                 "Current Month Consumption Delivered (0x0440)",
                 "Reading Snapshot Time (0x0007)", "Manufacturer Name (0x0004)",
                 "Software Build Id (0x4000)", "Daylight Saving Time Start (0x0003)",
                 "Local Time (0x0007)", "Identify Time (0x0000)"):
        assert ("Attribute: " + text) in verbose, text
    assert "Uint48: 8888899 " in verbose and "Int24: -1500" in verbose
    for text in ("Command: Identify Query (0x01)", "Command: Identify Query Response (0x00)",
                 "Command: Identify (0x00)", "Command: Default Response (0x0b)"):
        assert text in verbose, text
