# The reporting engine (firmware/han/zcl/engine.py, reportcfg.py) against two independent
# ZCL implementations. Tier 1 only.
#  - zigpy (PyPI, zigpy.zcl.foundation) parses every Report Attributes frame the engine
#    builds to the values the getters gave, and its Configure Reporting / Read Reporting
#    Configuration frames are answered with the statuses ZCL revision 6 (07-5123) 2.5.8 /
#    2.5.10 give, in responses zigpy parses.
#  - tshark 4.0 dissects those reports and responses, wrapped in APS (Smart Energy profile
#    0x0109) / NWK / MAC frames from our codecs, with no Malformed and the same values.
import io
import subprocess

import pytest
import zigpy.types as t
import zigpy.zcl.foundation as f

from hal.clock import FakeClock
from han.pcap import PcapWriter
from tests.host.zb_frames import unsecured_data_frame
from han.zcl import dispatch as zd
from han.zcl import engine as ze
from han.zcl import frame as zf
from han.zcl import reportcfg as zc
from han.zcl import types as zt

GC = f.GeneralCommand
S = 1000000
IHD = 0x3A7C
UTC_2025 = 789004800  # 2025-01-01 00:00:00 UTC in seconds since 2000-01-01
CLUSTER = 0xFC01  # private: tshark's generic ZCL fields carry the values

# (attribute id, type, value); the engine reads them through getters.
ATTRS = [(0x0000, zt.UINT48, 1234567), (0x0400, zt.INT24, -1500),
         (0x0200, zt.BITMAP8, 0x81), (0x0306, zt.ENUM8, 1), (0x0010, zt.UINT16, 0xBEEF),
         (0x0011, zt.UTC, UTC_2025), (0x0012, zt.CHAR_STR, b"kWh"),
         (0x0013, zt.INT32, -7)]
NOT_REPORTABLE = 0x0300


def _setup():
    vals = dict((a, v) for a, _, v in ATTRS)
    attrs = [zd.Attr(a, typ, zd.READ | zd.REPORT, getter=lambda a=a: vals[a])
             for a, typ, _ in ATTRS]
    attrs.append(zd.Attr(NOT_REPORTABLE, zt.ENUM8, zd.READ, value=0))
    clock = FakeClock()
    return ze.ReportEngine(12, clock), clock, zd.AttrTable(attrs), vals


def _ask(e, clock, table, frame, src=IHD):
    """Our answer to a zigpy-built request frame."""
    h = zf.ZclHeader()
    p = zf.parse(frame, 0, len(frame), h)
    out = bytearray(82)
    n = zc.answer(e, table, CLUSTER, src, 1, 1, h, frame, p, len(frame), out, True,
                  zf.ZclHeader(), clock.ticks_us())
    return bytes(out[:n])


def _zigpy(frame):
    hdr, rest = f.ZCLHeader.deserialize(frame)
    payload, rest = f.GENERAL_COMMANDS[hdr.command_id].schema.deserialize(rest)
    assert rest == b""
    return hdr, payload


def _request(tsn, command, **fields):
    hdr = f.ZCLHeader.general(tsn=tsn, command_id=command,
                              direction=f.Direction.Client_to_Server)
    return hdr.serialize() + f.GENERAL_COMMANDS[command].schema(**fields).serialize()


def _config(attrid, datatype=None, mn=None, mx=None, change=None, timeout=None):
    c = f.AttributeReportingConfig()
    c.attrid = attrid
    if timeout is not None:
        c.direction = 1
        c.timeout = timeout
    else:
        c.direction = 0
        c.datatype, c.min_interval, c.max_interval = datatype, mn, mx
        c.reportable_change = 0 if change is None else change   # discrete: not sent
    return c


def _zvalue(tv):
    v = tv.value
    if isinstance(v, (bytes, str)):
        return v.encode() if isinstance(v, str) else bytes(v)
    return int(v)


def _scenario():
    """(name, ZCL frame) of the engine's traffic: zigpy subscribes, the engine reports."""
    e, clock, table, vals = _setup()
    frames = []
    cfg = [_config(a, typ, 0, 60, 1 if zt.is_analog(typ) else None) for a, typ, _ in ATTRS]
    req = _request(0x10, GC.Configure_Reporting, config_records=cfg)
    frames.append(("config_rsp_ok", _ask(e, clock, table, req)))
    bad = [_config(0x0999, 0x20, 1, 10, 1), _config(NOT_REPORTABLE, 0x30, 1, 10),
           _config(0x0400, 0x2B, 1, 10, 5), _config(0x0000, 0x25, 20, 10, 5),
           _config(0x0000, timeout=600)]
    frames.append(("config_rsp", _ask(e, clock, table,
                                      _request(0x11, GC.Configure_Reporting,
                                               config_records=bad))))
    recs = [f.ReadReportingConfigRecord(direction=0, attrid=a) for a in (0x0400, 0x0012)]
    recs.append(f.ReadReportingConfigRecord(direction=0, attrid=NOT_REPORTABLE))
    frames.append(("read_config_rsp", _ask(e, clock, table,
                                           _request(0x12, GC.Read_Reporting_Configuration,
                                                    attribute_records=recs))))
    out = bytearray(82)
    while True:  # the first reports (everything, as nothing was reported yet)
        r = e.build_next(clock.ticks_us(), out)
        if r is None:
            break
        assert tuple(r[:4]) == (IHD, 1, 1, CLUSTER)
        frames.append(("report%d" % len(frames), bytes(out[:r[4]])))
    vals[0x0400] = -2000
    vals[0x0012] = b"m3"
    clock.advance_us(S)
    r = e.build_next(clock.ticks_us(), out)
    frames.append(("report_change", bytes(out[:r[4]])))
    return frames, vals


FRAMES, _ = _scenario()
NAMES = [n for n, _ in FRAMES]


def test_zigpy_parses_the_reports():
    got = []
    for name, frame in FRAMES:
        if not name.startswith("report") or name == "report_change":
            continue
        hdr, p = _zigpy(frame)
        assert hdr.command_id == GC.Report_Attributes
        assert hdr.direction == f.Direction.Server_to_Client
        assert hdr.frame_control.disable_default_response == 1
        got += [(r.attrid, r.value.type, _zvalue(r.value)) for r in p.attribute_reports]
    # All of them, in one frame per 82 octets (they fit in one here).
    assert got == ATTRS and len(NAMES) == 4 + 1
    _, p = _zigpy(dict(FRAMES)["report_change"])
    assert [(r.attrid, r.value.type, _zvalue(r.value)) for r in p.attribute_reports] == \
        [(0x0400, 0x2A, -2000), (0x0012, 0x42, b"m3")]


def test_zigpy_configure_reporting_answered():
    frames = dict(FRAMES)
    hdr, p = _zigpy(frames["config_rsp_ok"])
    assert (hdr.tsn, hdr.command_id) == (0x10, GC.Configure_Reporting_rsp)
    assert [r.status for r in p.status_records] == [f.Status.SUCCESS]
    _, p = _zigpy(frames["config_rsp"])
    assert [(r.status, r.direction, r.attrid) for r in p.status_records] == [
        (f.Status.UNSUPPORTED_ATTRIBUTE, 0, 0x0999),
        (f.Status.UNREPORTABLE_ATTRIBUTE, 0, NOT_REPORTABLE),
        (f.Status.INVALID_DATA_TYPE, 0, 0x0400),
        (f.Status.INVALID_VALUE, 0, 0x0000),
        (f.Status.UNSUPPORTED_ATTRIBUTE, 1, 0x0000)]
    _, p = _zigpy(frames["read_config_rsp"])
    c = p.attribute_configs
    assert [(r.status, r.config.direction, r.config.attrid) for r in c] == \
        [(0, 0, 0x0400), (0, 0, 0x0012), (f.Status.UNREPORTABLE_ATTRIBUTE, 0, NOT_REPORTABLE)]
    assert (c[0].config.datatype, c[0].config.min_interval, c[0].config.max_interval,
            c[0].config.reportable_change) == (0x2A, 0, 60, 1)
    assert (c[1].config.datatype, c[1].config.max_interval) == (0x42, 60)
    assert not hasattr(c[1].config, "reportable_change")   # discrete: none


def test_zigpy_stop_and_uint48_change():
    e, clock, table, _ = _setup()
    cfg = [_config(0x0000, 0x25, 10, 300, t.uint48_t(0x010203040506))]
    assert _ask(e, clock, table, _request(1, GC.Configure_Reporting,
                                          config_records=cfg)) == bytes.fromhex("180107" "00")
    i = e.find(IHD, 1, 1, CLUSTER, 0x0000)
    assert (e.min_s[i], e.max_s[i], e.change[i]) == (10, 300, 0x010203040506)
    cfg = [_config(0x0000, 0x25, 0, 0xFFFF, 0)]
    assert _ask(e, clock, table, _request(2, GC.Configure_Reporting,
                                          config_records=cfg)) == bytes.fromhex("180207" "00")
    assert e.used() == 0


# --- tshark -------------------------------------------------------------------------------

def _mac(cluster, zcl, seq):
    return unsecured_data_frame(0x0109, 1, cluster, zcl, seq)


FIELDS = ["zbee_zcl.cmd.id", "zbee_zcl.cmd.tsn", "zbee_zcl.dir", "zbee_zcl.attr.id",
          "zbee_zcl.attr.data.type", "zbee_zcl.attr.status", "zbee_zcl.attr.uint48",
          "zbee_zcl.attr.int24", "zbee_zcl.attr.str", "zbee_zcl.attr.utc",
          "zbee_zcl.attr.minint", "zbee_zcl.attr.maxint", "_ws.malformed", "_ws.expert"]


@pytest.mark.parametrize("cluster", [CLUSTER, 0x0702])
def test_tshark_dissects_reports(tmp_path, cluster):
    stream = io.BytesIO()
    w = PcapWriter(stream)
    for i, (_, zcl) in enumerate(FRAMES):
        buf, n = _mac(cluster, zcl, i)
        w.write(S * i, buf, n)
    path = tmp_path / "reports.pcap"
    path.write_bytes(stream.getvalue())
    verbose = subprocess.run(["tshark", "-r", str(path), "-V"], capture_output=True,
                             text=True, check=True).stdout
    assert "Malformed" not in verbose
    cmd = ["tshark", "-r", str(path), "-T", "fields", "-E", "separator=|",
           "-E", "occurrence=a", "-E", "aggregator=,"]
    for name in FIELDS:
        cmd += ["-e", name]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = [dict(zip(FIELDS, line.split("|"))) for line in out.splitlines()]
    assert len(rows) == len(FRAMES)
    for (name, zcl), r in zip(FRAMES, rows):
        assert r["_ws.malformed"] == "" and r["_ws.expert"] == "", (name, r)
        assert int(r["zbee_zcl.cmd.id"], 0) == zcl[2] and r["zbee_zcl.dir"] == "1", name
        assert int(r["zbee_zcl.cmd.tsn"]) == zcl[1], name
    if cluster != CLUSTER:
        return
    by = dict(zip(NAMES, rows))
    rep = by["report3"]
    assert rep["zbee_zcl.attr.id"] == ",".join("0x%04x" % a for a, _, _ in ATTRS)
    assert rep["zbee_zcl.attr.data.type"] == ",".join("0x%02x" % typ for _, typ, _ in ATTRS)
    assert (rep["zbee_zcl.attr.uint48"], rep["zbee_zcl.attr.int24"],
            rep["zbee_zcl.attr.str"]) == ("1234567", "-1500", "kWh")
    assert rep["zbee_zcl.attr.utc"] == "Jan  1, 2025 00:00:00.000000000 UTC"
    ch = by["report_change"]
    assert (ch["zbee_zcl.attr.id"], ch["zbee_zcl.attr.int24"], ch["zbee_zcl.attr.str"]) == \
        ("0x0400,0x0012", "-2000", "m3")
    assert by["config_rsp"]["zbee_zcl.attr.status"] == "0x86,0x8c,0x8d,0x87,0x86"
    rc = by["read_config_rsp"]
    assert (rc["zbee_zcl.attr.id"], rc["zbee_zcl.attr.status"], rc["zbee_zcl.attr.minint"],
            rc["zbee_zcl.attr.maxint"]) == ("0x0400,0x0012,0x0300", "0x00,0x00,0x8c",
                                            "0,0", "60,60")
