"""python -m tools.han decode CAPTURE [--key HEX ...] [--install-code HEX ...] [--json]

Decodes an IEEE 802.15.4 / ZigBee PRO capture frame by frame, with the firmware's codecs
(han.mac.frame, han.nwk.frame + security, han.aps.frame + security, han.tc.keys), the
way tshark dissects it:

- every key given (--key, and the link key of each --install-code) is tried on every
  secured NWK and APS frame; for the key-transport and key-load key identifiers the
  derived key (HMAC-MMO of the key with 0x00 / 0x02) is used, for the others the key;
- keys carried by an APS Transport Key that decrypts (or travels in the clear) are
  learned for the PAN the frame was sent in and tried first on the PAN's later frames
  (Wireshark's packet-zbee-aps.c adds every transported key to the PAN's key ring);
- a frame whose auxiliary header has no extended source takes it from the addresses
  seen earlier (NWK source short address -> EUI-64 learned from extended nonces, NWK
  headers and Device_annce).

Output (--json): JSON lines, one object per record of the capture, in capture order:
  {"frame": N (1-based, tshark's frame.number), "time": s, "length": octets,
   "encap": {...}?, "mac": {...}, "nwk": {...}?, "aps": {...}?, "zdp"/"zcl": {...}?,
   "error": "..."? , "skipped": "..."?}
A layer is absent when the frame does not reach it; "error" says why a layer could not
be decoded (malformed, bad FCS), "skipped" marks a record that carries no 802.15.4 frame
(other traffic in an Ethernet capture, a ZEP ack). Field by field: docs/han.md.
Exit status 0 when the file was read, 2 for an unreadable file or a bad argument.
"""
import json
import os
import sys

from tools import fwpath

fwpath.setup()

from han.aps import frame as apsf  # noqa: E402
from han.aps.security import ApsSecurity  # noqa: E402
from han.mac import frame as macf  # noqa: E402
from han.mac.fcs import fcs_ok  # noqa: E402
from han.nwk import frame as nwkf  # noqa: E402
from han.nwk.security import AuxHeader, NwkSecurity, parse_aux  # noqa: E402
from han.tc import keys as tckeys  # noqa: E402
from native.crc16 import crc16_x25  # noqa: E402
from tools.han import capture, names  # noqa: E402


def eui(b):
    """An 8-byte address in written order as tshark prints it (aa:bb:...)."""
    return ":".join("%02x" % x for x in b)


def _hexbytes(text):
    text = text.strip()
    if text[:2].lower() == "0x":
        text = text[2:]
    for sep in (" ", ":", "-"):
        text = text.replace(sep, "")
    return bytes.fromhex(text)


def parse_key(text):
    """16 octets in hex (':', '-' and spaces allowed). ValueError otherwise."""
    try:
        k = _hexbytes(text)
    except ValueError:
        raise ValueError("key %r is not hex" % text)
    if len(k) != 16:
        raise ValueError("key %r has %d octets, not 16" % (text, len(k)))
    return k


def install_code_key(text):
    """Link key of an install code of 6, 8, 12 or 16 octets, with or without its
    CRC-16/X-25 (the rule of `python -m tools.han install-code`: 8 octets are a 6-octet
    code with its CRC when the CRC matches, else a bare 8-octet code)."""
    try:
        code = _hexbytes(text)
    except ValueError:
        raise ValueError("install code %r is not hex" % text)
    n = len(code)
    bare = (6, 8, 12, 16)
    crc_ok = n >= 2 and crc16_x25(code[:-2]) == code[-2] | (code[-1] << 8)
    if n in tckeys.INSTALL_CODE_LENGTHS and (n not in bare or crc_ok):
        full = code
    elif n in bare:
        crc = crc16_x25(code)
        full = code + bytes((crc & 0xFF, crc >> 8))
    else:
        raise ValueError("install code %r: %d octets; need 6, 8, 12 or 16 (+2 for the CRC)"
                         % (text, n))
    return tckeys.install_code_link_key(full)  # ValueError on a CRC that does not match


def _derive(key, key_id):
    # Key identifier -> the key CCM* uses (ZigBee 4.5.3, Wireshark's zbee_sec_key_hash).
    if key_id == 2:
        return tckeys.key_transport_key(key)
    if key_id == 3:
        return tckeys.key_load_key(key)
    return key


class Decoder:
    """State kept across the frames of one capture: keys, learned keys, addresses."""

    def __init__(self, keys=()):
        self.keys = [(bytes(k), label) for k, label in keys]
        self.learned = {}  # PAN ID -> [(key, frame number)], newest first
        self.addr = {}  # (PAN ID, short address) -> EUI-64 (written order, bytes)
        self._derived = {}
        self.mf = macf.FrameFields()
        self.nh = nwkf.NwkHeader()
        self.ah = apsf.ApsHeader()
        self.nsec = NwkSecurity()
        self.asec = ApsSecurity()
        self.aux = AuxHeader()

    # -- one record ------------------------------------------------------------------
    def decode_record(self, number, time_s, linktype, rec):
        out = {"frame": number, "time": round(time_s, 6), "length": len(rec)}
        try:
            p = capture.psdu(linktype, rec)
        except capture.FrameSkip as e:
            out["skipped"] = str(e)
            return out
        except capture.FrameError as e:
            out["error"] = str(e)
            return out
        if p.meta:
            out["encap"] = p.meta
        try:
            self._decode_psdu(out, p)
        except Exception as e:  # a defect of ours: keep going, say where
            out["error"] = "decoder: %s: %s" % (type(e).__name__, e)
        return out

    def _decode_psdu(self, out, p):
        buf = bytearray(p.frame)
        n = len(buf)
        f = self.mf
        f.clear()
        fcs_good = None
        if p.trailer == capture.FCS:
            fcs_good = n >= 5 and fcs_ok(buf, n)
            err = macf.decode(buf, n, f, True) if fcs_good else \
                macf.decode(buf, max(n - 2, 0), f, False)
        elif p.trailer == capture.CC24XX:
            if n < 2:
                out["error"] = "MAC: frame shorter than its metadata"
                return
            fcs_good = bool(buf[n - 1] & 0x80)
            out.setdefault("encap", {})["rssi"] = buf[n - 2] - 256 if buf[n - 2] > 127 \
                else buf[n - 2]
            err = macf.decode(buf, n - 2, f, False)
        else:
            err = macf.decode(buf, n, f, False)
        if err != macf.OK:
            out["error"] = "MAC: %s" % _MAC_ERRORS.get(err, "error %d" % err)
            return
        mac = self._mac(f, buf)
        out["mac"] = mac
        if fcs_good is not None:
            mac["fcs_ok"] = fcs_good
        if fcs_good is False:
            out["error"] = "MAC: bad FCS"
            return
        if f.security or f.payload_len == 0:
            return  # MAC security: payload not decrypted by this tool
        payload = bytes(buf[f.header_len:f.header_len + f.payload_len])
        if f.frame_type == macf.FT_DATA and self._nwk_heuristic(f, payload):
            self._nwk(out, f, payload)
        elif f.frame_type != macf.FT_CMD:
            mac["payload"] = payload.hex()

    # -- MAC ---------------------------------------------------------------------------
    def _mac(self, f, buf):
        mac = {"type": names.MAC_FRAME_TYPES.get(f.frame_type), "frame_type": f.frame_type,
               "version": f.version, "seq": None if f.seq_suppressed else f.seq}
        if f.dst_pan >= 0:
            mac["dst_pan"] = f.dst_pan
        if f.dst_mode == macf.ADDR_SHORT:
            mac["dst16"] = f.dst_addr
        elif f.dst_mode == macf.ADDR_EXT:
            mac["dst64"] = eui(f.dst_ext)
        if f.src_mode and _src_pan_in_frame(f):
            mac["src_pan"] = f.src_pan
        if f.src_mode == macf.ADDR_SHORT:
            mac["src16"] = f.src_addr
        elif f.src_mode == macf.ADDR_EXT:
            mac["src64"] = eui(f.src_ext)
        mac["ack_request"] = f.ack_request
        mac["frame_pending"] = f.frame_pending
        mac["secured"] = f.security
        if f.security:
            mac["security_level"] = f.sec_level
            mac["key_id_mode"] = f.key_id_mode
            if not f.fc_suppressed:
                mac["frame_counter"] = f.frame_counter
            mac["decrypted"] = False
        # A secured 2015 command frame encrypts its command identifier (802.15.4-2015).
        if f.frame_type == macf.FT_CMD and f.payload_len > 0 and not (
                f.security and f.version == macf.VERSION_2015):
            cid = buf[f.header_len]
            mac["command_id"] = cid
            mac["command"] = names.MAC_COMMANDS.get(cid, "unknown")
        return mac

    def _nwk_heuristic(self, f, payload):
        # Wireshark's dissect_zbee_nwk_heur: 16-bit MAC destination, 16- or 64-bit
        # source, NWK protocol version 1 (2004) or 2 (2006/PRO), a known frame type.
        if f.dst_mode != macf.ADDR_SHORT or f.src_mode == macf.ADDR_NONE or len(payload) < 2:
            return False
        fc = payload[0] | (payload[1] << 8)
        return 1 <= (fc >> 2) & 0xF <= 2 and fc & 3 in names.NWK_FRAME_TYPES

    # -- NWK ---------------------------------------------------------------------------
    def _nwk(self, out, f, payload):
        pan = f.src_pan if f.src_pan >= 0 else f.dst_pan
        buf = bytearray(payload)
        h = self.nh
        h.clear()
        try:
            hl = nwkf.parse(buf, len(buf), h)
        except ValueError as e:
            out["error"] = "NWK: %s" % e
            return
        nwk = {"type": names.NWK_FRAME_TYPES.get(h.frame_type), "frame_type": h.frame_type}
        out["nwk"] = nwk
        if h.frame_type == nwkf.FT_INTERPAN:
            self._aps(out, pan, None, bytes(buf[hl:]), None)
            return
        nwk.update({"dst": h.dst, "src": h.src, "radius": h.radius, "seq": h.seq,
                    "discover_route": h.discover_route})
        if h.dst64_present:
            nwk["dst64"] = eui(h.dst64)
        if h.src64_present:
            nwk["src64"] = eui(h.src64)
            self.addr[(pan, h.src)] = bytes(h.src64)
        if h.multicast:
            nwk["multicast_mode"] = h.mcast_mode
        if h.source_route:
            nwk["relays"] = list(h.relays[:h.relay_count])
            nwk["relay_index"] = h.relay_index
        if h.end_device_initiator:
            nwk["end_device_initiator"] = True
        nwk["secured"] = h.security
        nwk_src64 = bytes(h.src64) if h.src64_present else self.addr.get((pan, h.src))
        if h.security:
            # Nonce source for a frame without extended nonce: the MAC sender's EUI-64.
            if f.src_mode == macf.ADDR_EXT:
                mac_src64 = bytes(f.src_ext)
            else:
                mac_src64 = self.addr.get((pan, f.src_addr))
            plain = self._open(out, nwk, buf, hl, pan, mac_src64, "NWK", self.nsec)
            if plain is None:
                return
            aux = self.aux  # as _open parsed it
            if aux.ext_nonce and aux.key_id == 1 and f.src_mode == macf.ADDR_SHORT:
                self.addr[(pan, f.src_addr)] = bytes(aux.src64)
            if nwk_src64 is None and aux.ext_nonce and f.src_mode == macf.ADDR_SHORT \
                    and f.src_addr == h.src:
                nwk_src64 = bytes(aux.src64)
        else:
            plain = bytes(buf[hl:])
        if h.frame_type == nwkf.FT_CMD:
            if not plain:
                out["error"] = "NWK: command frame without command identifier"
                return
            nwk["command_id"] = plain[0]
            nwk["command"] = names.NWK_COMMANDS.get(plain[0], "unknown")
            return
        if plain:
            self._aps(out, pan, h.src, plain, nwk_src64)

    def _open(self, out, layer, buf, hl, pan, src64, what, sec):
        """Decrypt the secured frame buf (header hl octets) with each candidate key;
        record the auxiliary header and the outcome in layer; return the plaintext or
        None."""
        aux = self.aux
        try:
            k = parse_aux(buf, hl, len(buf), aux)
        except ValueError as e:
            out["error"] = "%s: %s" % (what, e)
            return None
        layer["frame_counter"] = aux.frame_counter
        layer["key_id"] = names.SEC_KEY_IDS[aux.key_id]
        if aux.key_id == 1:
            layer["key_seq"] = aux.key_seq
        if aux.ext_nonce:
            layer["sec_src64"] = eui(aux.src64)
            src64 = bytes(aux.src64)
        layer["decrypted"] = False
        if len(buf) < hl + k + 4:
            out["error"] = "%s: secured frame shorter than its MIC" % what
            return None
        if src64 is None:
            layer["note"] = "extended source unknown: no nonce"
            return None
        nonce_src = bytearray(src64)
        for key, origin in self._candidates(pan):
            trial = bytearray(buf)
            try:
                if sec is self.asec and aux.key_id != 1:
                    n = sec.decrypt(trial, len(trial), self._key(key, aux.key_id), hl,
                                    nonce_src)
                else:
                    n = self.nsec.decrypt(trial, len(trial), self._key(key, aux.key_id),
                                          hl, src64=nonce_src)
            except ValueError:
                continue
            layer["decrypted"] = True
            layer["key"] = key.hex()
            layer["key_origin"] = origin
            start = hl + k
            return bytes(trial[start:start + n])
        return None

    def _candidates(self, pan):
        # Wireshark's order: the keys learned in this PAN (newest first), then the user's.
        for key, frame in self.learned.get(pan, ()):
            yield key, "frame %d" % frame
        for key, label in self.keys:
            yield key, label

    def _key(self, key, key_id):
        if key_id not in (2, 3):
            return key
        d = self._derived.get((key, key_id))
        if d is None:
            d = self._derived[(key, key_id)] = _derive(key, key_id)
        return d

    # -- APS ---------------------------------------------------------------------------
    def _aps(self, out, pan, nwk_src, payload, nwk_src64, tunnel_of=None):
        buf = bytearray(payload)  # APS security needs the APS header at buf[0]
        h = self.ah
        h.clear()
        try:
            hl = apsf.parse(buf, 0, len(buf), h)
        except ValueError as e:
            out["error"] = "APS: %s" % e
            return
        aps = {"type": names.APS_FRAME_TYPES[h.frame_type], "frame_type": h.frame_type,
               "delivery": names.APS_DELIVERY[h.delivery]}
        if tunnel_of is not None:
            tunnel_of["tunneled"] = aps
        else:
            out["aps"] = aps
        ft = h.frame_type
        if ft == apsf.FT_DATA or (ft == apsf.FT_ACK and not h.ack_format):
            if h.delivery == apsf.DM_GROUP:
                aps["group"] = h.group
            else:
                aps["dst_ep"] = h.dst_ep
            aps.update({"cluster": h.cluster, "profile": h.profile, "src_ep": h.src_ep})
        elif ft == apsf.FT_INTERPAN:
            if h.delivery == apsf.DM_GROUP:
                aps["group"] = h.group
            aps.update({"cluster": h.cluster, "profile": h.profile})
        if ft != apsf.FT_INTERPAN:
            aps["counter"] = h.counter
        aps["ack_request"] = h.ack_request
        if h.ext_header:
            aps["fragmentation"] = h.frag
            if h.frag:
                aps["block"] = h.block
        aps["secured"] = h.security
        profile, cluster, dst_ep, frag = h.profile, h.cluster, h.dst_ep, h.frag
        if h.security:
            plain = self._open(out, aps, buf, hl, pan, nwk_src64, "APS", self.asec)
            if plain is None:
                return
            aux = self.aux
            if aux.ext_nonce and aux.key_id == 0 and nwk_src is not None:
                self.addr[(pan, nwk_src)] = bytes(aux.src64)
        else:
            plain = bytes(buf[hl:])
        if ft == apsf.FT_CMD:
            self._aps_command(out, aps, pan, nwk_src, plain, nwk_src64)
        elif ft in (apsf.FT_DATA, apsf.FT_INTERPAN) and plain:
            if frag:
                aps["note"] = "fragment: payload not reassembled"
            elif profile == 0x0000:
                self._zdp(out, pan, cluster, plain)
            elif profile in names.ZCL_PROFILES and (dst_ep != 0 or ft == apsf.FT_INTERPAN):
                self._zcl(out, cluster, plain)

    def _aps_command(self, out, aps, pan, nwk_src, p, nwk_src64):
        if not p:
            out["error"] = "APS: command frame without command identifier"
            return
        cid = p[0]
        aps["command_id"] = cid
        aps["command"] = names.APS_COMMANDS.get(cid, "unknown")
        if cid == 0x05 and len(p) >= 18:  # Transport Key: key type, key, descriptor
            kt = p[1]
            key = bytes(p[2:18])
            aps["key_type"] = kt
            aps["transported_key"] = key.hex()
            if kt in (0x01, 0x05) and len(p) >= 19:
                aps["key_seq"] = p[18]
            # Wireshark keeps every transported key in the PAN's key ring (any type).
            ring = self.learned.setdefault(pan, [])
            if not ring or ring[0][0] != key:
                ring.insert(0, (key, out["frame"]))
        elif cid in (0x08, 0x0F, 0x10) and len(p) >= 2:
            aps["key_type"] = p[2] if cid == 0x10 and len(p) >= 3 else p[1]
            if cid == 0x10:
                aps["status"] = p[1]
        elif cid == 0x06 and len(p) >= 12:  # Update Device: EUI-64, short, status
            aps["device64"] = eui(p[8:0:-1])
            aps["device16"] = p[9] | (p[10] << 8)
            aps["status"] = p[11]
        elif cid == 0x0E and len(p) >= 9:  # Tunnel: destination EUI-64, APS frame
            aps["tunnel_dst64"] = eui(p[8:0:-1])
            self._aps(out, pan, nwk_src, p[9:], nwk_src64, tunnel_of=aps)

    # -- ZDP / ZCL ---------------------------------------------------------------------
    def _zdp(self, out, pan, cluster, p):
        zdp = {"cluster": cluster, "name": names.zdp_name(cluster) or "unknown",
               "seq": p[0]}
        out["zdp"] = zdp
        if cluster == 0x0013 and len(p) >= 12:  # Device_annce: NWK addr, IEEE addr, cap
            short = p[1] | (p[2] << 8)
            ext = bytes(p[10:2:-1])
            zdp["nwk_addr"] = short
            zdp["ieee_addr"] = eui(ext)
            self.addr[(pan, short)] = ext
        elif cluster & 0x8000 and len(p) >= 2:
            zdp["status"] = p[1]

    def _zcl(self, out, cluster, p):
        if len(p) < 3:
            out["error"] = "ZCL: frame shorter than its header"
            return
        fc = p[0]
        q = 1
        zcl = {"cluster": cluster, "frame_type": fc & 3,
               "direction": "to client" if fc & 0x08 else "to server"}
        if fc & 0x04:
            if len(p) < 5:
                out["error"] = "ZCL: frame shorter than its header"
                return
            zcl["manufacturer"] = p[1] | (p[2] << 8)
            q = 3
        zcl["seq"] = p[q]
        cid = p[q + 1]
        zcl["command_id"] = cid
        if fc & 3 == 0:
            zcl["command"] = names.ZCL_GENERAL.get(cid, "unknown")
        else:
            zcl["command"] = "cluster-specific"
        out["zcl"] = zcl


_MAC_ERRORS = {macf.ERR_SHORT: "frame cut short", macf.ERR_TOO_LONG: "frame too long",
               macf.ERR_FCS: "bad FCS", macf.ERR_FRAME_TYPE: "unsupported frame type",
               macf.ERR_ADDR_MODE: "reserved addressing mode",
               macf.ERR_VERSION: "reserved frame version",
               macf.ERR_SECURITY: "auxiliary security header unusable",
               macf.ERR_IE: "header IEs malformed",
               macf.ERR_PAN_ID_COMP: "PAN ID compression with one address (2003/2006)"}


def _src_pan_in_frame(f):
    # Whether the source PAN ID field is on air (tshark's wpan.src_pan): 2006 7.2.1.1.5,
    # 2015 Table 7-2.
    c = f.pan_id_compression
    if f.version < macf.VERSION_2015:
        return not (c and f.dst_mode)
    if c:
        return False
    return not f.dst_mode or not (f.dst_mode == macf.ADDR_EXT
                                  and f.src_mode == macf.ADDR_EXT)


def decode_iter(path, keys=()):
    """Decode the records of the capture at path one by one (dicts). Raises OSError or
    capture.CaptureError when the file cannot be read (at once for a bad header, when
    it is reached for a record cut short)."""
    with open(path, "rb") as fh:
        data = fh.read()
    dec = Decoder(keys)
    for i, (lt, t, rec) in enumerate(capture.records(data)):
        yield dec.decode_record(i + 1, t, lt, rec)


def decode_file(path, keys=()):
    """decode_iter as a list."""
    return list(decode_iter(path, keys))


def summary(o):
    """One human-readable line for a decoded frame."""
    parts = ["%5d" % o["frame"]]
    mac = o.get("mac")
    if mac:
        parts.append("MAC %s seq %s" % (mac["type"], mac["seq"]))
        if "command" in mac:
            parts.append(mac["command"])
    nwk = o.get("nwk")
    if nwk:
        s = "NWK %s" % nwk["type"]
        if "src" in nwk:
            s += " 0x%04x -> 0x%04x" % (nwk["src"], nwk["dst"])
        if nwk.get("secured"):
            s += " (decrypted)" if nwk.get("decrypted") else " (encrypted)"
        if "command" in nwk:
            s += " " + nwk["command"]
        parts.append(s)
    aps = o.get("aps")
    while aps:
        s = "APS %s" % aps["type"]
        if aps.get("secured"):
            s += " (decrypted)" if aps.get("decrypted") else " (encrypted)"
        if "command" in aps:
            s += " " + aps["command"]
        elif "cluster" in aps:
            s += " profile 0x%04x cluster 0x%04x" % (aps["profile"], aps["cluster"])
        parts.append(s)
        aps = aps.get("tunneled")
    if "zdp" in o:
        parts.append("ZDP %s" % o["zdp"]["name"])
    if "zcl" in o:
        parts.append("ZCL %s" % o["zcl"]["command"])
    for k in ("error", "skipped"):
        if k in o:
            parts.append("%s: %s" % (k, o[k]))
    return "  ".join(parts)


def run(a):
    """The subcommand: a is the argparse namespace (capture, key, install_code, json)."""
    keys = []
    try:
        for i, text in enumerate(a.key or ()):
            keys.append((parse_key(text), "key %d" % (i + 1)))
        for text in a.install_code or ():
            keys.append((install_code_key(text), "install code %s" % text))
    except ValueError as e:
        print("decode: %s" % e, file=sys.stderr)
        return 2
    try:
        for o in decode_iter(a.capture, keys):
            print(json.dumps(o) if a.json else summary(o))
    except BrokenPipeError:  # output piped into head & co.: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, capture.CaptureError) as e:
        sys.stdout.flush()
        print("decode: %s: %s" % (a.capture, e), file=sys.stderr)
        return 2
    return 0


def add_parser(sub):
    d = sub.add_parser("decode", help="decode a capture (pcap/pcapng: 802.15.4 link types "
                                      "195/230/283, ZEP v1/v2 over UDP) frame by frame, "
                                      "NWK/APS decrypted with the keys given")
    d.add_argument("capture", metavar="CAPTURE")
    d.add_argument("--key", action="append", metavar="HEX",
                   help="a network or link key (16 octets); repeat for more")
    d.add_argument("--install-code", action="append", metavar="HEX", dest="install_code",
                   help="an install code (6/8/12/16 octets, with or without its CRC): "
                        "its link key is added; repeat for more")
    d.add_argument("--json", action="store_true", help="JSON lines, one object per frame")
    return d
