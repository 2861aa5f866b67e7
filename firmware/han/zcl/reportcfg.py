# Configure Reporting and Read Reporting Configuration frames answered whole from a
# han/zcl/engine.py ReportEngine (ZCL revision 6, 07-5123, 2.5.7-2.5.10), as
# han/zcl/dispatch.py answers Read/Write/Discover Attributes from an AttrTable:
#
#   n = answer(engine, table, cluster, src, src_ep, dst_ep, h, buf, p, end, out, unicast,
#              rh, now)
#       src, src_ep: the requester (the reports' destination); dst_ep: our endpoint whose
#       table (an AttrTable of cluster) the frame addresses; h: the received ZclHeader,
#       its payload buf[p:end]. The response frame (header rh + payload) goes to out:
#       its length, 0 when nothing is to be sent, -1 when the command is neither of the
#       two (someone else's). A frame sent client -> server configures the server's
#       attributes, whose reports then go server -> client.
from han.zcl import frame as zf
from han.zcl import general as zg
from han.zcl import reporting as zr


def _rsp_header(h, rh, out, command):
    zf.set_header(rh, zf.FT_GLOBAL, zf.TO_CLIENT if h.direction == zf.TO_SERVER
                  else zf.TO_SERVER, h.seq, command, True,
                  h.manuf_code if h.manuf_specific else -1)
    return zf.build(rh, out, 0)


def answer(engine, table, cluster, src, src_ep, dst_ep, h, buf, p, end, out, unicast, rh,
           now):
    """Configure Reporting (answered per 2.5.8: one SUCCESS octet when every record was
    configured, else a status record per failed one) or Read Reporting Configuration
    (2.5.10: a record per attribute asked) from src/src_ep to our dst_ep's table. The
    records are checked whole before any is applied: a malformed one gets a Default
    Response MALFORMED_COMMAND and changes nothing."""
    if h.frame_type != zf.FT_GLOBAL:
        return -1
    cmd = h.command
    if cmd == zg.CONFIGURE_REPORTING:
        rsp, walk = zg.CONFIGURE_REPORTING_RSP, zr.next_config_record
    elif cmd == zg.READ_REPORTING_CONFIG:
        rsp, walk = zg.READ_REPORTING_CONFIG_RSP, zr.next_read_config
    else:
        return -1
    rec = engine.rec
    to_client = h.direction == zf.TO_SERVER  # we hold the server's attributes
    if h.manuf_specific:
        status = zg.UNSUP_MANUF_GENERAL_COMMAND  # no manufacturer attributes here
    else:
        try:
            q = p
            while q < end:
                q = walk(buf, q, end, rec)
            n = _rsp_header(h, rh, out, rsp)
            limit = len(out)
            failed = False
            q = p
            while q < end:
                q = walk(buf, q, end, rec)
                if cmd == zg.READ_REPORTING_CONFIG:
                    if n + 4 + 5 + 8 > limit:  # the longest record: as many as fit
                        break
                    n = engine.read_config(src, src_ep, dst_ep, cluster, table,
                                           rec.direction, rec.attr_id, out, n)
                    continue
                st = engine.configure_record(src, src_ep, dst_ep, cluster, table, rec,
                                             now, to_client)
                if st != zg.SUCCESS:
                    failed = True
                    if n + 4 <= limit:  # as many as fit
                        n = zr.put_config_status(out, n, st, rec.direction, rec.attr_id)
            if cmd == zg.CONFIGURE_REPORTING and not failed:
                n = zr.build_config_success(out, n)
            return n
        except ValueError:
            status = zg.MALFORMED_COMMAND
    if not zg.default_response_needed(h.disable_default_rsp, unicast, False, status, False):
        return 0
    n = _rsp_header(h, rh, out, zg.DEFAULT_RSP)
    return zg.build_default_response(out, n, cmd, status)
