# The ZCL codec (firmware/han/zcl) against two independent implementations. Tier 1 only.
#  - zigpy (PyPI, zigpy.zcl.foundation) parses every frame we build (header and general
#    command payload) to the values our builders were given, and our walkers read what
#    zigpy serialises; its analog/discrete classes agree with ours for every type id.
#  - tshark 4.0 (packet-zbee-zcl) dissects every general command we build, wrapped in an
#    unsecured APS data frame (Smart Energy profile 0x0109) / NWK data / MAC data frame
#    from our own codecs, with no Malformed and the same field values.
import io
import subprocess

import pytest
import zigpy.types as t
import zigpy.zcl.foundation as f

from han.pcap import PcapWriter
from tests.host.zb_frames import unsecured_data_frame
from han.zcl import frame as zf
from han.zcl import general as zg
from han.zcl import reporting as zr
from han.zcl import types as zt

GC = f.GeneralCommand
IEEE = bytes.fromhex("000D6F000A0B0C0D")
UTC_2025 = 789004800  # 2025-01-01 00:00:00 UTC in seconds since 2000-01-01

# Report Attributes records: (attribute id, type, value); strings and IEEE as bytes.
REPORTED = [(0x0000, zt.UINT48, 1234567), (0x0001, zt.UINT48, 0xFFFFFFFFFFFF),
            (0x0400, zt.INT24, -1500), (0x0401, zt.INT24, -0x800000),
            (0x0402, zt.INT24, 0x7FFFFF), (0x0010, zt.UINT8, 200),
            (0x0011, zt.UINT16, 0xBEEF), (0x0012, zt.UINT24, 0x123456),
            (0x0013, zt.UINT32, 0xFFFFFFFE), (0x0014, zt.UINT40, 0x0102030405),
            (0x0015, zt.INT8, -5), (0x0016, zt.INT16, -300), (0x0017, zt.INT32, -7),
            (0x0300, zt.ENUM8, 1), (0x0018, zt.ENUM16, 0x0102),
            (0x0200, zt.BITMAP8, 0x81), (0x0019, zt.BITMAP16, 0x8001),
            (0x001A, zt.BITMAP24, 0x800001), (0x001B, zt.BITMAP32, 0x80000001),
            (0x001C, zt.BOOL, 1), (0x001D, zt.UTC, UTC_2025),
            (0x001E, zt.CHAR_STR, b"kWh"), (0x001F, zt.OCTET_STR, b""),
            (0x0020, zt.LONG_OCTET_STR, b"\x01\x02\x03"), (0x0021, zt.ATTR_ID, 0x0400),
            (0x0022, zt.CLUSTER_ID, 0x0702), (0x0023, zt.IEEE_ADDR, IEEE)]


def _header(out, frame_type, direction, seq, command, ddr=False, manuf=-1):
    h = zf.ZclHeader()
    zf.set_header(h, frame_type, direction, seq, command, ddr, manuf)
    return zf.build(h, out, 0)


def _put_any(out, p, attr_id, typ, v):
    p = zg.put_attr_header(out, p, attr_id, typ)
    if zt.kind(typ) in (zt.K_STR, zt.K_LSTR):
        return zt.put_str(typ, out, p, v)
    if typ == zt.IEEE_ADDR:
        return zt.put_bytes(typ, out, p, v)
    return zt.put(typ, out, p, v)


def _our_frames():
    """(name, ZCL frame bytes) of every general command built by our codec."""
    frames = []

    def add(name, cmd, body, to_client=False, ddr=False, manuf=-1, seq=None):
        out = bytearray(200)
        p = _header(out, zf.FT_GLOBAL, zf.TO_CLIENT if to_client else zf.TO_SERVER,
                    len(frames) + 1 if seq is None else seq, cmd, ddr, manuf)
        frames.append((name, bytes(out[:body(out, p)])))

    add("read", zg.READ_ATTRIBUTES,
        lambda o, p: zg.build_read_attributes(o, p, [0x0000, 0x0400, 0x0300]))

    def read_rsp(o, p):
        p = zg.put_read_value(o, p, 0x0000, zt.UINT48, 1234567)
        p = zg.put_read_value(o, p, 0x0400, zt.INT24, -1500)
        p = zg.put_read_value(o, p, 0x0300, zt.ENUM8, 0)
        p = zg.put_read_status(o, p, 0x0999, zg.UNSUPPORTED_ATTRIBUTE)
        p = zt.put_str(zt.CHAR_STR, o, zg.put_read_header(o, p, 0x0005, zt.CHAR_STR), b"HUB")
        return zg.put_read_value(o, p, 0x0306, zt.BITMAP8, 0x00)
    add("read_rsp", zg.READ_ATTRIBUTES_RSP, read_rsp, to_client=True)

    # Two reports, so that each fits in one 127-octet MAC frame for tshark.
    for name, part in (("report", REPORTED[:14]), ("report2", REPORTED[14:])):
        def report(o, p, part=part):
            for a, typ, v in part:
                p = _put_any(o, p, a, typ, v)
            return p
        add(name, zg.REPORT_ATTRIBUTES, report, to_client=True, ddr=True)

    def write(o, p):
        p = zg.put_attr_value(o, p, 0x0000, zt.UTC, UTC_2025)
        p = zg.put_attr_value(o, p, 0x0002, zt.INT32, 3600)
        return zg.put_attr_str(o, p, 0x0010, zt.CHAR_STR, b"Kitchen")
    add("write", zg.WRITE_ATTRIBUTES, write)
    add("write_undivided", zg.WRITE_ATTRIBUTES_UNDIVIDED, write)
    add("write_no_rsp", zg.WRITE_ATTRIBUTES_NO_RSP, write)
    add("write_rsp_ok", zg.WRITE_ATTRIBUTES_RSP, zg.build_write_success, to_client=True)

    def write_rsp(o, p):
        p = zg.put_write_status(o, p, zg.READ_ONLY, 0x0000)
        return zg.put_write_status(o, p, zg.UNSUPPORTED_ATTRIBUTE, 0x0005)
    add("write_rsp", zg.WRITE_ATTRIBUTES_RSP, write_rsp, to_client=True)

    def config(o, p):
        p = zr.put_report_config(o, p, 0x0400, zt.INT24, 1, 60, 100)
        p = zr.put_report_config(o, p, 0x0000, zt.UINT48, 10, 300, 10)
        p = zr.put_report_config(o, p, 0x0200, zt.BITMAP8, 0, 3600)
        return zr.put_report_timeout(o, p, 0x0001, 600)
    add("config", zg.CONFIGURE_REPORTING, config)
    add("config_rsp_ok", zg.CONFIGURE_REPORTING_RSP, zr.build_config_success,
        to_client=True)

    def config_rsp(o, p):
        p = zr.put_config_status(o, p, zg.UNREPORTABLE_ATTRIBUTE, zr.REPORTED, 0x0300)
        return zr.put_config_status(o, p, zg.UNSUPPORTED_ATTRIBUTE, zr.REPORTED, 0x0999)
    add("config_rsp", zg.CONFIGURE_REPORTING_RSP, config_rsp, to_client=True)

    def read_config(o, p):
        p = zr.put_read_config(o, p, zr.REPORTED, 0x0400)
        return zr.put_read_config(o, p, zr.RECEIVED, 0x0001)
    add("read_config", zg.READ_REPORTING_CONFIG, read_config)

    def read_config_rsp(o, p):
        p = zr.put_config_rsp(o, p, 0x0400, zt.INT24, 1, 60, 100)
        p = zr.put_config_rsp(o, p, 0x0200, zt.BITMAP8, 0, 3600)
        p = zr.put_config_rsp_timeout(o, p, 0x0001, 600)
        return zr.put_config_rsp_status(o, p, zg.UNSUPPORTED_ATTRIBUTE, 0, 0x0999)
    add("read_config_rsp", zg.READ_REPORTING_CONFIG_RSP, read_config_rsp, to_client=True)
    add("default_rsp", zg.DEFAULT_RSP,
        lambda o, p: zg.build_default_response(o, p, zg.WRITE_ATTRIBUTES,
                                               zg.INVALID_VALUE), to_client=True)
    add("discover", zg.DISCOVER_ATTRIBUTES,
        lambda o, p: zg.build_discover_attributes(o, p, 0x0000, 5))

    def discover_rsp(o, p):
        p = zg.put_discover_complete(o, p, False)
        for a, typ in ((0x0000, zt.UINT48), (0x0400, zt.INT24), (0x0200, zt.BITMAP8)):
            p = zg.put_discover_record(o, p, a, typ)
        return p
    add("discover_rsp", zg.DISCOVER_ATTRIBUTES_RSP, discover_rsp, to_client=True)
    add("read_manuf", zg.READ_ATTRIBUTES,
        lambda o, p: zg.build_read_attributes(o, p, [0x4000]), manuf=0x1234)
    return frames


FRAMES = dict(_our_frames())


def _zigpy(name):
    """zigpy's header and payload of our frame `name` (everything consumed)."""
    hdr, rest = f.ZCLHeader.deserialize(FRAMES[name])
    payload, rest = f.GENERAL_COMMANDS[hdr.command_id].schema.deserialize(rest)
    assert rest == b"", name
    return hdr, payload


def _zvalue(tv):
    v = tv.value
    if isinstance(v, t.EUI64):
        return bytes(reversed(v.serialize()))
    if isinstance(v, (bytes, str)):
        return v.encode() if isinstance(v, str) else bytes(v)
    return int(v)


# --- zigpy parses ours ------------------------------------------------------------------

def test_zigpy_headers():
    for i, (name, frame) in enumerate(_our_frames()):
        hdr, _ = _zigpy(name)
        fc = hdr.frame_control
        assert fc.frame_type == f.FrameType.GLOBAL_COMMAND
        assert hdr.tsn == i + 1
        assert hdr.command_id == frame[2 if not fc.is_manufacturer_specific else 4]
        assert fc.direction == (f.Direction.Server_to_Client if frame[0] & 8
                                else f.Direction.Client_to_Server)
    hdr, payload = _zigpy("read_manuf")
    assert hdr.frame_control.is_manufacturer_specific and hdr.manufacturer == 0x1234
    assert list(payload.attribute_ids) == [0x4000]
    assert _zigpy("report")[0].frame_control.disable_default_response == 1
    assert _zigpy("read")[0].frame_control.disable_default_response == 0
    # A cluster-specific header with a manufacturer code.
    out = bytearray(8)
    n = _header(out, zf.FT_CLUSTER, zf.TO_CLIENT, 0x7F, 0x00, True, 0x10DC)
    hdr, rest = f.ZCLHeader.deserialize(bytes(out[:n]))
    assert rest == b"" and hdr.frame_control.is_cluster and hdr.manufacturer == 0x10DC
    assert (hdr.tsn, hdr.command_id, hdr.direction) == (0x7F, 0, f.Direction.Server_to_Client)


def test_zigpy_read_attributes():
    _, p = _zigpy("read")
    assert list(p.attribute_ids) == [0x0000, 0x0400, 0x0300]
    _, p = _zigpy("read_rsp")
    got = [(r.attrid, r.status, None if r.value is None else (r.value.type, _zvalue(r.value)))
           for r in p.status_records]
    assert got == [(0, 0, (0x25, 1234567)), (0x0400, 0, (0x2A, -1500)), (0x0300, 0, (0x30, 0)),
                   (0x0999, 0x86, None), (0x0005, 0, (0x42, b"HUB")),
                   (0x0306, 0, (0x18, 0))]


def test_zigpy_report_attributes_every_type():
    got = []
    for name in ("report", "report2"):
        _, p = _zigpy(name)
        got += [(r.attrid, r.value.type, _zvalue(r.value)) for r in p.attribute_reports]
    assert got == REPORTED


def test_zigpy_write_attributes():
    for name in ("write", "write_undivided", "write_no_rsp"):
        _, p = _zigpy(name)
        got = [(r.attrid, r.value.type, _zvalue(r.value)) for r in p.attributes]
        assert got == [(0, 0xE2, UTC_2025), (2, 0x2B, 3600), (0x10, 0x42, b"Kitchen")]
    _, p = _zigpy("write_rsp_ok")
    assert [r.status for r in p.status_records] == [f.Status.SUCCESS]
    _, p = _zigpy("write_rsp")
    assert [(r.status, r.attrid) for r in p.status_records] == [(0x88, 0), (0x86, 5)]


def test_zigpy_configure_reporting():
    _, p = _zigpy("config")
    r = p.config_records
    assert [(c.direction, c.attrid) for c in r] == [(0, 0x0400), (0, 0), (0, 0x0200), (1, 1)]
    assert (r[0].datatype, r[0].min_interval, r[0].max_interval, r[0].reportable_change) \
        == (0x2A, 1, 60, 100)
    assert (r[1].datatype, r[1].min_interval, r[1].max_interval, r[1].reportable_change) \
        == (0x25, 10, 300, 10)
    assert (r[2].datatype, r[2].min_interval, r[2].max_interval) == (0x18, 0, 3600)
    assert not hasattr(r[2], "reportable_change")   # discrete: no change field
    assert r[3].timeout == 600
    _, p = _zigpy("config_rsp_ok")
    assert [r.status for r in p.status_records] == [0]
    _, p = _zigpy("config_rsp")
    assert [(r.status, r.direction, r.attrid) for r in p.status_records] == \
        [(0x8C, 0, 0x0300), (0x86, 0, 0x0999)]
    _, p = _zigpy("read_config")
    assert [(r.direction, r.attrid) for r in p.attribute_records] == [(0, 0x0400), (1, 1)]
    _, p = _zigpy("read_config_rsp")
    c = p.attribute_configs
    assert [(r.status, r.config.direction, r.config.attrid) for r in c] == \
        [(0, 0, 0x0400), (0, 0, 0x0200), (0, 1, 1), (0x86, 0, 0x0999)]
    assert (c[0].config.datatype, c[0].config.min_interval, c[0].config.max_interval,
            c[0].config.reportable_change) == (0x2A, 1, 60, 100)
    assert (c[1].config.datatype, c[1].config.max_interval) == (0x18, 3600)
    assert c[2].config.timeout == 600


def test_zigpy_default_response_and_discover():
    _, p = _zigpy("default_rsp")
    assert (p.command_id, p.status) == (0x02, f.Status.INVALID_VALUE)
    _, p = _zigpy("discover")
    assert (p.start_attribute_id, p.max_attribute_ids) == (0, 5)
    _, p = _zigpy("discover_rsp")
    assert p.discovery_complete == 0
    assert [(r.attrid, r.datatype) for r in p.attribute_info] == \
        [(0, 0x25), (0x0400, 0x2A), (0x0200, 0x18)]


def test_analog_classes_agree_with_zigpy():
    for d in f.DataType:
        if zt.kind(d.type_id) == zt.K_NONE:
            continue
        assert zt.is_analog(d.type_id) == (d.type_class == f.DataClass.Analog), d.name
        if 0x10 <= d.type_id <= 0x31 and zt.is_int(d.type_id):
            assert zt.size(d.type_id) == len(d.python_type(0).serialize()), d.name


# --- ours parses zigpy's ------------------------------------------------------------------

def _walk(walker, data, off=0):
    rec = zg.AttrRecord()
    out = []
    while off < len(data):
        off = walker(data, off, len(data), rec)
        out.append(dict(rec.__dict__))
    return out


def test_we_parse_zigpy_report_and_read_rsp():
    reports = []
    for a, typ, v in REPORTED:
        py = f.DataType.from_type_id(typ).python_type
        if typ == zt.IEEE_ADDR:
            val = t.EUI64(bytes(reversed(v)))
        elif typ == zt.CHAR_STR:
            val = py(v.decode())
        else:
            val = py(v)
        reports.append(f.Attribute(attrid=a, value=f.TypeValue(type=typ, value=val)))
    data = f.GENERAL_COMMANDS[GC.Report_Attributes].schema(attribute_reports=reports).serialize()
    got = []
    for r in _walk(zr.next_report_record, data):
        typ = r["type"]
        if zt.kind(typ) in (zt.K_STR, zt.K_LSTR):
            n = zt.str_len(typ, data, r["value_off"], len(data))
            v = data[r["value_off"] + zt.str_hdr(typ):r["value_off"] + zt.str_hdr(typ) + n]
        elif typ == zt.IEEE_ADDR:
            dst = bytearray(8)
            zt.get_bytes(typ, data, r["value_off"], len(data), dst)
            v = bytes(dst)
        else:
            v = r["value"]
        got.append((r["attr_id"], typ, v))
    assert got == REPORTED
    rsp = f.GENERAL_COMMANDS[GC.Read_Attributes_rsp].schema(status_records=[
        f.ReadAttributeRecord(0x0000, f.Status.SUCCESS,
                              f.TypeValue(0x25, t.uint48_t(987654321))),
        f.ReadAttributeRecord(0x0400, f.Status.UNSUPPORTED_ATTRIBUTE),
        f.ReadAttributeRecord(0x0400, f.Status.SUCCESS, f.TypeValue(0x2A, t.int24s(-42)))])
    recs = _walk(zg.next_read_record, rsp.serialize())
    assert [(r["attr_id"], r["status"], r["type"], r["value"]) for r in recs] == \
        [(0, 0, 0x25, 987654321), (0x0400, 0x86, 0, 0), (0x0400, 0, 0x2A, -42)]


def test_we_parse_zigpy_reporting_and_others():
    cfgs = []
    for d, a, typ, mn, mx, ch, to in ((0, 0x0400, 0x2A, 1, 60, 100, None),
                                      (0, 0x0000, 0x25, 5, 300, 1000, None),
                                      (0, 0x0200, 0x18, 0, 3600, None, None),
                                      (1, 0x0001, None, None, None, None, 600)):
        c = f.AttributeReportingConfig()
        c.direction, c.attrid = d, a
        if d:
            c.timeout = to
        else:
            c.datatype, c.min_interval, c.max_interval = typ, mn, mx
            c.reportable_change = ch
        cfgs.append(c)
    data = f.GENERAL_COMMANDS[GC.Configure_Reporting].schema(config_records=cfgs).serialize()
    recs = _walk(zr.next_config_record, data)
    assert [(r["direction"], r["attr_id"]) for r in recs] == [(0, 0x0400), (0, 0), (0, 0x0200),
                                                               (1, 1)]
    assert [(r["type"], r["min_interval"], r["max_interval"], r["has_change"], r["change"])
            for r in recs[:3]] == [(0x2A, 1, 60, True, 100), (0x25, 5, 300, True, 1000),
                                   (0x18, 0, 3600, False, 0)]
    assert recs[3]["timeout"] == 600
    data = f.GENERAL_COMMANDS[GC.Configure_Reporting_rsp].schema(status_records=[
        f.ConfigureReportingResponseRecord(f.Status.UNREPORTABLE_ATTRIBUTE, 0, 0x0300)
    ]).serialize()
    assert [(r["status"], r["direction"], r["attr_id"])
            for r in _walk(zr.next_config_status, data)] == [(0x8C, 0, 0x0300)]
    data = f.GENERAL_COMMANDS[GC.Default_Response].schema(
        command_id=0x06, status=f.Status.MALFORMED_COMMAND).serialize()
    rec = zg.AttrRecord()
    zg.parse_default_response(data, 0, len(data), rec)
    assert (rec.command, rec.status) == (0x06, 0x80)
    data = f.GENERAL_COMMANDS[GC.Discover_Attributes_rsp].schema(
        discovery_complete=t.Bool.true, attribute_info=[
            f.DiscoverAttributesResponseRecord(attrid=0x0000, datatype=0x25),
            f.DiscoverAttributesResponseRecord(attrid=0x0306, datatype=0x18)]).serialize()
    assert zg.discover_complete(data, 0, len(data))
    assert [(r["attr_id"], r["type"]) for r in _walk(zg.next_discover_record, data, 1)] == \
        [(0, 0x25), (0x0306, 0x18)]
    data = f.GENERAL_COMMANDS[GC.Write_Attributes_rsp].schema(status_records=[
        f.WriteAttributesStatusRecord(f.Status.READ_ONLY, 0x0000)]).serialize()
    assert [(r["status"], r["attr_id"]) for r in _walk(zg.next_write_status, data)] == \
        [(0x88, 0)]
    hdr = f.ZCLHeader.general(tsn=0x42, command_id=GC.Report_Attributes,
                              manufacturer=0x1234, direction=f.Direction.Server_to_Client)
    raw = hdr.serialize()
    h = zf.ZclHeader()
    assert zf.parse(raw, 0, len(raw), h) == 5
    assert (h.frame_type, h.manuf_specific, h.manuf_code, h.direction, h.seq, h.command) == \
        (zf.FT_GLOBAL, True, 0x1234, zf.TO_CLIENT, 0x42, 0x0A)


# --- tshark dissects ours -----------------------------------------------------------------

TSHARK_FIELDS = ["zbee_zcl.cmd.id", "zbee_zcl.cmd.tsn", "zbee_zcl.dir", "zbee_zcl.ddr",
                 "zbee_zcl.attr.id", "zbee_zcl.attr.data.type", "zbee_zcl.attr.status",
                 "zbee_zcl.attr.uint48", "zbee_zcl.attr.int24", "zbee_zcl.attr.minint",
                 "zbee_zcl.attr.maxint", "zbee_zcl.attr.timeout", "zbee_zcl.attr.dir",
                 "zbee_zcl.cmd.id.rsp", "zbee_zcl.attr.start", "zbee_zcl.attr.maxnum",
                 "zbee_zcl.attr.dis", "zbee_zcl.attr.str", "zbee_zcl.attr.utc",
                 "zbee_zcl.cmd.mc", "_ws.malformed", "_ws.expert"]


def _mac(cluster, zcl, seq):
    return unsecured_data_frame(0x0109, 1, cluster, zcl, seq)


def _tshark(tmp_path, cluster):
    frames = _our_frames()
    stream = io.BytesIO()
    w = PcapWriter(stream)
    for i, (_, zcl) in enumerate(frames):
        buf, n = _mac(cluster, zcl, i)
        w.write(1000000 * i, buf, n)
    path = tmp_path / ("zcl_%04x.pcap" % cluster)
    path.write_bytes(stream.getvalue())
    verbose = subprocess.run(["tshark", "-r", str(path), "-V"], capture_output=True,
                             text=True, check=True).stdout
    cmd = ["tshark", "-r", str(path), "-T", "fields", "-E", "separator=|",
           "-E", "occurrence=a", "-E", "aggregator=,"]
    for name in TSHARK_FIELDS:
        cmd += ["-e", name]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = [dict(zip(TSHARK_FIELDS, line.split("|"))) for line in out.splitlines()]
    assert len(rows) == len(frames)
    return frames, dict((name, r) for (name, _), r in zip(frames, rows)), verbose


# What tshark must show for each of our frames on a cluster it has no attribute table for
# (so its generic ZCL fields carry the values): the values our builders were given.
A = ",".join
EXPECTED = {
    "read": {"zbee_zcl.attr.id": "0x0000,0x0400,0x0300"},
    "read_rsp": {"zbee_zcl.attr.id": "0x0000,0x0400,0x0300,0x0999,0x0005,0x0306",
                 "zbee_zcl.attr.status": "0x00,0x00,0x00,0x86,0x00,0x00",
                 "zbee_zcl.attr.data.type": "0x25,0x2a,0x30,0x42,0x18",
                 "zbee_zcl.attr.uint48": "1234567", "zbee_zcl.attr.int24": "-1500",
                 "zbee_zcl.attr.str": "HUB"},
    "report": {"zbee_zcl.attr.id": A("0x%04x" % a for a, _, _ in REPORTED[:14]),
               "zbee_zcl.attr.data.type": A("0x%02x" % t for _, t, _ in REPORTED[:14]),
               "zbee_zcl.attr.uint48": "1234567,281474976710655",
               "zbee_zcl.attr.int24": "-1500,-8388608,8388607", "zbee_zcl.ddr": "1"},
    # tshark shows the value of the attribute-id-typed attribute (0x0400) as one more
    # zbee_zcl.attr.id.
    "report2": {"zbee_zcl.attr.id": "0x0018,0x0200,0x0019,0x001a,0x001b,0x001c,0x001d,"
                "0x001e,0x001f,0x0020,0x0021,0x0400,0x0022,0x0023",
                "zbee_zcl.attr.data.type": "0x31,0x18,0x19,0x1a,0x1b,0x10,0xe2,0x42,0x41,"
                "0x43,0xe9,0xe8,0xf0",
                "zbee_zcl.attr.str": "kWh",
                "zbee_zcl.attr.utc": "Jan  1, 2025 00:00:00.000000000 UTC"},
    "write": {"zbee_zcl.attr.id": "0x0000,0x0002,0x0010",
              "zbee_zcl.attr.data.type": "0xe2,0x2b,0x42", "zbee_zcl.attr.str": "Kitchen",
              "zbee_zcl.attr.utc": "Jan  1, 2025 00:00:00.000000000 UTC"},
    "write_rsp_ok": {"zbee_zcl.attr.status": "0x00", "zbee_zcl.attr.id": ""},
    "write_rsp": {"zbee_zcl.attr.id": "0x0000,0x0005", "zbee_zcl.attr.status": "0x88,0x86"},
    "config": {"zbee_zcl.attr.id": "0x0400,0x0000,0x0200,0x0001",
               "zbee_zcl.attr.dir": "0x00,0x00,0x00,0x01",
               "zbee_zcl.attr.data.type": "0x2a,0x25,0x18",
               "zbee_zcl.attr.int24": "100", "zbee_zcl.attr.uint48": "10",
               "zbee_zcl.attr.minint": "1,10,0", "zbee_zcl.attr.maxint": "60,300,3600",
               "zbee_zcl.attr.timeout": "600"},
    "config_rsp_ok": {"zbee_zcl.attr.status": "0x00", "zbee_zcl.attr.id": ""},
    "config_rsp": {"zbee_zcl.attr.id": "0x0300,0x0999", "zbee_zcl.attr.status": "0x8c,0x86",
                   "zbee_zcl.attr.dir": "0x00,0x00"},
    "read_config": {"zbee_zcl.attr.id": "0x0400,0x0001", "zbee_zcl.attr.dir": "0x00,0x01"},
    "read_config_rsp": {"zbee_zcl.attr.id": "0x0400,0x0200,0x0001,0x0999",
                        "zbee_zcl.attr.status": "0x00,0x00,0x00,0x86",
                        "zbee_zcl.attr.dir": "0x00,0x00,0x01,0x00",
                        "zbee_zcl.attr.data.type": "0x2a,0x18",
                        "zbee_zcl.attr.int24": "100", "zbee_zcl.attr.minint": "1,0",
                        "zbee_zcl.attr.maxint": "60,3600", "zbee_zcl.attr.timeout": "600"},
    "default_rsp": {"zbee_zcl.cmd.id.rsp": "0x02", "zbee_zcl.attr.status": "0x87"},
    "discover": {"zbee_zcl.attr.start": "0x0000", "zbee_zcl.attr.maxnum": "5"},
    "discover_rsp": {"zbee_zcl.attr.id": "0x0000,0x0400,0x0200",
                     "zbee_zcl.attr.data.type": "0x25,0x2a,0x18"},
    "read_manuf": {"zbee_zcl.attr.id": "0x4000", "zbee_zcl.cmd.mc": "0x1234"},
}
TO_CLIENT = {"read_rsp", "report", "report2", "write_rsp_ok", "write_rsp", "config_rsp_ok",
             "config_rsp", "read_config_rsp", "default_rsp", "discover_rsp"}
EXPECTED["write_undivided"] = EXPECTED["write_no_rsp"] = EXPECTED["write"]


@pytest.mark.parametrize("cluster", [0xFC01, 0x0702])
def test_tshark_dissects_general_commands(tmp_path, cluster):
    """No Malformed and no expert info on any frame, on a private cluster and on Metering
    (where tshark's Smart Energy dissector names the attributes); the field values are
    compared on the private cluster."""
    frames, rows, verbose = _tshark(tmp_path, cluster)
    assert "Malformed" not in verbose
    for i, (name, zcl) in enumerate(frames):
        r = rows[name]
        assert r["_ws.malformed"] == "" and r["_ws.expert"] == "", (name, r)
        assert int(r["zbee_zcl.cmd.id"], 0) == zcl[2 if name != "read_manuf" else 4], name
        assert int(r["zbee_zcl.cmd.tsn"]) == i + 1, name
        assert r["zbee_zcl.dir"] == ("1" if name in TO_CLIENT else "0"), name
        if cluster == 0xFC01:
            for field, want in EXPECTED[name].items():
                assert r[field] == want, (name, field, r[field])
