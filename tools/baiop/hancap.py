"""A HAN sniffer capture as the test lab's decoder reads it: tshark (Wireshark 4.0, Debian
12), given only what a lab holds, the install codes of the devices it brought (turned into
link keys by zigpy, [BDB] 10.1), never the network key: tshark must learn that from the
Transport Key frames, as docs/bap/han.md HAN-COM-007 states.

    cap = HanCapture(pcap, ["C1D2E3F4A5B68062", ...])
    cap.rows(filter, field, ...) -> [[values of field, ...] per frame]  (values: list of str)
    cap.verbose(keys=None) -> tshark -V text
    cap.attribute_records(filter) -> ZCL attribute records of each frame

Frames the lab's own radio sent (a replay, forged unsecured frames) are listed in
PCAP.injected; every query leaves them out, so that the statements about our nodes'
frames are checked on our nodes' frames only.
"""
import subprocess

# "ZigBeeAlliance09", the well-known trust-centre link key ([SE] 5.4.1, [ZB] 4.6.3).
WELL_KNOWN_KEY = "5A6967426565416C6C69616E63653039"
_CODE_LENGTHS = (8, 10, 14, 18)  # install codes of 6, 8, 12, 16 octets with their CRC


class HanCaptureError(Exception):
    pass


def link_key(text):
    """A link key (32 hex digits) or an install code with its CRC (16, 20, 28 or 36 hex
    digits, whose CRC zigpy checks) as the 16-octet link key, hex."""
    raw = bytes.fromhex(text.replace(":", "").replace(" ", ""))
    if len(raw) == 16:
        return raw.hex().upper()
    if len(raw) in _CODE_LENGTHS:
        import zigpy.util

        try:
            key = zigpy.util.convert_install_code(raw)
        except ValueError:
            key = None
        if key is None:
            raise HanCaptureError("install code %s: its CRC-16/X-25 does not check" % text)
        return bytes(key).hex().upper()
    raise HanCaptureError("%s: neither a 16-octet link key nor an install code with CRC"
                          % text)


class HanCapture:
    def __init__(self, pcap, keys=()):
        self.pcap = pcap
        self.keys = [link_key(k) for k in keys if k]
        self._excluded_at, self._excluded = None, []

    def excluded(self):
        """Frame numbers of what the lab's own radio sent (replays, forged frames), listed
        in PCAP.injected beside the capture: the checks of our nodes' frames skip them."""
        import os

        from tools.han.capture import FCS, psdu, records

        side = self.pcap + ".injected"
        if not os.path.exists(side):
            return []
        # Read again only when the capture or the list grew (a live run queries often).
        stamp = (os.path.getsize(self.pcap), os.path.getsize(side))
        if stamp == self._excluded_at:
            return self._excluded
        with open(side) as f:
            sent = {bytes.fromhex(ln.strip()) for ln in f if ln.strip()}
        with open(self.pcap, "rb") as f:
            data = f.read()
        out = []
        try:
            for n, (linktype, _, rec) in enumerate(records(data), 1):
                p = psdu(linktype, rec)
                if (p.frame[:-2] if p.trailer == FCS else p.frame) in sent:
                    out.append(n)
        except Exception:
            pass  # a live capture may end inside a record: what came before counts
        self._excluded_at, self._excluded = stamp, out
        return out

    def _filter(self, display_filter):
        skip = self.excluded()
        if not skip:
            return display_filter
        other = "!(frame.number in {%s})" % ", ".join(str(n) for n in skip)
        return "(%s) && %s" % (display_filter, other) if display_filter else other

    def _cmd(self, keys):
        cmd = ["tshark", "-r", self.pcap, "-n"]
        for i, k in enumerate(self.keys if keys is None else keys):
            cmd += ["-o", 'uat:zigbee_pc_keys:"%s","Normal","lab key %d"' % (k, i)]
        return cmd

    def _run(self, cmd):
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        except FileNotFoundError:
            raise HanCaptureError("tshark not found (Debian package tshark)")
        # A live capture may end inside the record being written: tshark reads what
        # came before and says so.
        if proc.returncode != 0 and "cut short in the middle of a packet" not in proc.stderr:
            raise HanCaptureError("tshark: %s" % proc.stderr.strip()[-400:])
        return proc.stdout

    def rows(self, display_filter, *fields, keys=None):
        """Each frame matching the filter: for each field the list of its values."""
        cmd = self._cmd(keys) + ["-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
                                 "-E", "aggregator=|"]
        display_filter = self._filter(display_filter)
        if display_filter:
            cmd += ["-Y", display_filter]
        for f in fields:
            cmd += ["-e", f]
        out = []
        for line in self._run(cmd).splitlines():
            cells = line.split("\t")
            cells += [""] * (len(fields) - len(cells))
            out.append([c.split("|") if c else [] for c in cells])
        return out

    def verbose(self, keys=None):
        flt = self._filter("")
        return self._run(self._cmd(keys) + ["-V"] + (["-Y", flt] if flt else []))

    def count(self, display_filter, keys=None):
        return len(self.rows(display_filter, "frame.number", keys=keys))

    def attribute_records(self, display_filter):
        """ZCL attribute records of each matching frame (read responses, reports):
        [(frame layers dict, {attribute id: (status, data type, value text)})]."""
        import json

        cmd = self._cmd(None) + ["-T", "json", "--no-duplicate-keys", "-Y",
                                 self._filter(display_filter)]
        out = []
        for pkt in json.loads(self._run(cmd) or "[]"):
            layers = pkt["_source"]["layers"]
            records = {}
            for key, val in (layers.get("zbee_zcl") or {}).items():
                if not key.startswith(("Status Record", "Attribute Field")):
                    continue
                for rec in val if isinstance(val, list) else [val]:
                    _record(rec, records)
            out.append((layers, records))
        return out


def _record(rec, records):
    attr = status = dtype = value = other = None
    for k, v in rec.items():
        if k.endswith("attr_id") or k == "zbee_zcl.attr.id":
            attr = int(v, 16)
        elif k == "zbee_zcl.attr.status":
            status = int(v, 16)
        elif k == "zbee_zcl.attr.data.type":
            dtype = int(v, 16)
        elif k.startswith("zbee_zcl.attr.") and value is None and isinstance(v, str):
            value = v
        elif other is None and isinstance(v, str):
            other = v  # a cluster's own field (e.g. the Time cluster's TimeStatus bitmap)
    if attr is not None:
        value = other if value is None else value
        records[attr] = (0 if status is None else status, dtype, value)
