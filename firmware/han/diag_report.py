# The console's answer to the read-only "HUB STATUS" line (app/console.py) from the HAN
# diagnostics (han/diag.py HanDiag): one "HUB DEV {json}" line per device of the trust
# centre's table (and per departed device the inventory still remembers), one "HUB LOG
# {json}" line per transaction log entry (oldest first), then "HUB END <devices>
# <entries>"; python -m tools.hub status reads them. No key or secret is ever written.
# Formatted by hand (no json module needed); allocates, as any answer does: not a hot path.
from han.diag import _STATE_NAMES, _hex, _opt
from han.nwk.devices import EMPTY, JOINING


def device_lines(d, write, utc=None):
    """One "HUB DEV {json}" line per device of the trust centre's table (and per
    departed device the inventory still remembers); returns their number."""
    if utc is None:
        utc = d.clock.time()
    t = d.table
    inv = d.inv
    from han.inventory import DeviceRecord

    rec = DeviceRecord()
    lines = 0
    for ti in range(t.size):
        if t.state[ti] == EMPTY:
            continue
        ext = t.ext[ti]
        i = inv.find_ext(ext)
        short = t.short_of(ti) if t.state[ti] >= JOINING else None
        write(_device_json(d, ext, short, _STATE_NAMES[t.state[ti]], bool(t.aged[ti]),
                                i, rec, utc, utc - (t.now_s - t.last_seen[ti])))
        lines += 1
    for i in range(len(inv)):
        if inv.read(i, rec) and t.find_ext(rec.ext) < 0:
            write(_device_json(d, rec.ext, None, "removed", False, i, rec, utc, None))
            lines += 1
    return lines

def _device_json(d, ext, short, state, aged, i, rec, utc, seen_utc):
    have = i >= 0 and d.inv.read(i, rec)
    inst = d.installation(ext)
    kind = None
    if short is not None and d.kind_of is not None:
        kind = d.kind_of(short)
    cap = d.table.cap[d.table.find_ext(ext)] if d.table.find_ext(ext) >= 0 \
        else 0
    if kind is None and state != "registered":
        kind = "rx-on" if cap & 0x08 else "sleepy"
    fields = [
        '"eui64":"%s"' % _hex(ext),
        '"short":%s' % ("null" if short is None else '"0x%04x"' % short),
        '"state":"%s"' % state,
        '"aged":%s' % ("true" if aged else "false"),
        '"kind":%s' % ("null" if kind is None else '"%s"' % kind),
        '"install_lqi":%s' % _opt(inst[0] if inst else None),
        '"install_rssi":%s' % _opt(inst[1] if inst else None),
        '"install_utc":%s' % _opt(inst[2] if inst else None),
    ]
    if have and rec.heard:
        sm = d._smoothed[i]
        fields += [
            '"lqi":%d' % rec.lqi, '"rssi":%d' % rec.rssi,
            '"lqi_avg":%s' % _opt((d._lqi16[i] + 8) >> 4 if sm else None),
            '"rssi_avg":%s' % _opt((d._rssi16[i] + 8) >> 4 if sm else None),
            '"last_seen_utc":%s' % _opt(seen_utc)]
    else:
        fields += ['"lqi":null', '"rssi":null', '"lqi_avg":null', '"rssi_avg":null',
                   '"last_seen_utc":null']
    if have:
        fields += [
            '"frames_in":%d' % rec.frames_in, '"frames_out":%d' % rec.frames_out,
            '"tx_failures":%d' % rec.tx_failures,
            '"security_errors":%d' % rec.security_errors,
            '"duplicates":%d' % rec.duplicates,
            '"acks":%d' % d._acks[i], '"no_acks":%d' % d._no_ack[i],
            '"refused":%d' % d._refused[i],
            '"failures":%d' % (rec.tx_failures + rec.security_errors
                               + d._no_ack[i] + d._refused[i]),
            '"battery_mv":%s' % _opt(d._batt_mv[i] if d._batt_mv[i] >= 0
                                     else None),
            '"battery_pct":%s' % _opt(d._batt_half_pct[i] / 2
                                      if d._batt_half_pct[i] >= 0 else None)]
    else:
        for k in ("frames_in", "frames_out", "tx_failures", "security_errors",
                  "duplicates", "acks", "no_acks", "refused", "failures"):
            fields.append('"%s":0' % k)
        fields += ['"battery_mv":null', '"battery_pct":null']
    fields.append('"utc":%d' % utc)
    return "HUB DEV {" + ",".join(fields) + "}"

def report(d, write, log=None, utc=None):
    """The whole "HUB STATUS" answer: devices, the transaction log (an EventLog of
    registers/logs.py, or None), the end line. Returns the number of lines."""
    devices = device_lines(d, write, utc)
    entries = 0
    if log is not None:
        for age in range(log.count - 1, -1, -1):
            seq, at, code, repeats, a, b = log.entry(age)
            write('HUB LOG {"seq":%d,"utc":%d,"code":%d,"repeats":%d,"a":%d,"b":%d}'
                  % (seq, at, code, repeats, a, b))
            entries += 1
    write("HUB END %d %d" % (devices, entries))
    return devices + entries + 1
