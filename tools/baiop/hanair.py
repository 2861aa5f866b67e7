"""HAN BAIOP keywords about what went over the air (docs/bap/han.md COM and SEC layers),
read from the session's capture by tshark (hancap.py) with only the install-code keys."""
from robot.api import logger
from robot.libraries.BuiltIn import BuiltIn

from tools.baiop.hancap import WELL_KNOWN_KEY

# IEEE 802.15.4-2006 7.3: MAC command identifiers; 7.3.2.3 association status.
CMD_ASSOC_REQUEST, CMD_ASSOC_RESPONSE, CMD_DATA_REQUEST = 0x01, 0x02, 0x04
ASSOC_ACCESS_DENIED = 0x02
# [ZB] 4.4.11: APS command identifiers and key types; 4.5.1.1.1 key identifiers.
APS_TRANSPORT_KEY, APS_REQUEST_KEY, APS_VERIFY_KEY, APS_CONFIRM_KEY = 0x05, 0x08, 0x0F, 0x10
NWK_REJOIN_REQUEST, NWK_REJOIN_RESPONSE = 0x06, 0x07  # [ZB] 3.4.6, 3.4.7
KEY_TYPE_NETWORK, KEY_TYPE_TC_LINK = 0x01, 0x04
KEY_ID_NETWORK, KEY_ID_KEY_TRANSPORT = 0x01, 0x02
HAN_CHANNELS = (11, 15, 20, 25)  # HAN-COM-001
HAN_PAN_ID = 0x4D45


def _int(v):
    return int(v, 0) if v else None


def _eui(v):
    return v.replace(":", "").lower()


class HanAirKeywords:
    # --- HAN-COM-007: the capture reads cleanly -------------------------------------------
    def every_frame_should_decode_cleanly(self):
        text = self.cap.verbose()
        for bad in ("Malformed", "Encrypted Payload"):
            if bad in text:
                at = text.index(bad)
                raise AssertionError("tshark: %r in %r" % (bad, text[max(0, at - 300):at + 60]))
        fcs = [r[0] for r in self.cap.rows("", "wpan.fcs_ok")]
        bad = [i + 1 for i, v in enumerate(fcs) if v != ["1"]]
        if not fcs or bad:
            raise AssertionError("%d frames, bad or missing FCS in frames %s" % (len(fcs),
                                                                                  bad[:10]))
        logger.info("%d frames, every FCS good, nothing malformed or left encrypted"
                    % len(fcs))

    # --- HAN-COM-001, HAN-COM-002: the PAN and its beacons -------------------------------
    def hub_ext(self):
        """The trust centre's EUI-64: the source of its Transport Key commands."""
        rows = self.cap.rows("zbee_aps.cmd.id == 0x05", "zbee_aps.cmd.src")
        srcs = {_eui(v) for r in rows for v in r[0]}
        if len(srcs) != 1:
            raise AssertionError("Transport Key sources %s (one trust centre expected)" % srcs)
        return srcs.pop()

    def beacons_should_carry_the_zigbee_payload(self):
        rows = self.cap.rows("zbee_beacon", "wpan.src16", "zbee_beacon.protocol",
                             "zbee_beacon.profile", "zbee_beacon.version",
                             "zbee_beacon.end_dev", "zbee_beacon.ext_panid",
                             "zbee_beacon.tx_offset")
        if not rows:
            raise AssertionError("no ZigBee beacon in the capture")
        hub = self.hub_ext()
        for src, proto, profile, version, end_dev, epid, tx_offset in rows:
            got = (src, _int(proto[0]), _int(profile[0]), _int(version[0]), end_dev,
                   _eui(epid[0]), _int(tx_offset[0]))
            want = (["0x0000"], 0, 2, 2, ["1"], hub, 0xFFFFFF)
            if got != want:
                raise AssertionError("beacon (src, protocol, stack profile, version, end "
                                     "device capacity, EPID, TxOffset) %s, %s expected"
                                     % (got, want))
        logger.info("%d beacons, EPID %s" % (len(rows), hub))

    def pan_should_be_stated(self):
        """PAN ID 0x4D45 and, where the sniffer recorded it, one of the HAN channels."""
        # A data frame names its PAN once (PAN ID compression): the destination's.
        rows = self.cap.rows("wpan.frame_type == 1 && wpan.src16 == 0x0000", "wpan.dst_pan",
                             "wpan-tap.ch_num")
        if not rows:
            raise AssertionError("no data frame of the hub")
        pans = {_int(r[0][0]) for r in rows if r[0]}
        channels = {int(r[1][0]) for r in rows if r[1]}
        if pans != {HAN_PAN_ID}:
            raise AssertionError("PAN IDs %s, 0x4d45 expected (no neighbour used it)"
                                 % sorted(hex(p) for p in pans))
        if not channels <= set(HAN_CHANNELS) or len(channels) > 1:
            raise AssertionError("channels %s, one of %s expected" % (channels, HAN_CHANNELS))
        return channels.pop() if channels else None

    # --- HAN-COM-003, HAN-FUN-001: association -------------------------------------------
    def _mac_commands(self):
        return self.cap.rows("wpan.cmd == 1 || wpan.cmd == 2 || wpan.cmd == 4", "frame.number",
                             "wpan.cmd", "wpan.src64", "wpan.dst64", "wpan.src16",
                             "wpan.assoc.status", "wpan.asoc.addr")

    def associations_should_be_indirect(self):
        """Every Association Response follows a Data Request of its device after the
        device's request; accepted devices get short addresses from 0x0001 up."""
        asked, polled, answered = {}, {}, 0
        shorts = {}
        for n, cmd, src64, dst64, src16, status, addr in self._mac_commands():
            cmd = _int(cmd[0])
            if cmd == CMD_ASSOC_REQUEST:
                asked[_eui(src64[0])] = int(n[0])
                polled.pop(_eui(src64[0]), None)
            elif cmd == CMD_DATA_REQUEST and src64:
                polled[_eui(src64[0])] = int(n[0])
            elif cmd == CMD_ASSOC_RESPONSE:
                dev = _eui(dst64[0])
                answered += 1
                if dev not in asked or dev not in polled or polled[dev] < asked[dev]:
                    raise AssertionError("frame %s: Association Response to %s without its "
                                         "Data Request after the request" % (n[0], dev))
                if _int(status[0]) == 0:
                    short = _int(addr[0])
                    if not 0x0001 <= short < 0xFFF8 or shorts.get(dev, short) != short:
                        raise AssertionError("%s got short 0x%04x (had %s)"
                                             % (dev, short, shorts.get(dev)))
                    shorts[dev] = short
        if not answered:
            raise AssertionError("no association in the capture")
        logger.info("%d responses, short addresses %s" % (answered, shorts))
        return shorts

    def association_status_should_be(self, ext, status):
        """Every Association Response to ext has this status (and there is one)."""
        got = [_int(r[5][0]) for r in self._mac_commands()
               if _int(r[1][0]) == CMD_ASSOC_RESPONSE and _eui(r[3][0]) == _eui(ext)]
        if not got or set(got) != {int(status, 0) if isinstance(status, str) else status}:
            raise AssertionError("Association Responses to %s: statuses %s" % (ext, got))
        return len(got)

    # --- HAN-SEC-002..005: keys and frame security ---------------------------------------
    def _aps_commands(self, keys=None):
        return self.cap.rows("zbee_aps.cmd.id", "frame.number", "zbee_aps.cmd.id",
                             "zbee_aps.cmd.key_type", "zbee_aps.cmd.key", "zbee_aps.cmd.dst",
                             "zbee_aps.cmd.src", "zbee_nwk.security", "zbee.sec.key_id",
                             "zbee_aps.cmd.status", "wpan.src64", "zbee.sec.src64",
                             keys=keys)

    def network_keys_should_go_under_install_codes(self):
        """Each Transport Key of the network key: NWK security off, APS-secured under the
        key-transport key (of the install-code link key the lab holds: tshark opened it),
        addressed to one device."""
        sent = {}
        for n, cmd, ktype, key, dst, _, nwk_sec, key_id, *_ in self._aps_commands():
            if _int(cmd[0]) != APS_TRANSPORT_KEY or _int(ktype[0]) != KEY_TYPE_NETWORK:
                continue
            if nwk_sec != ["0"] or [_int(k) for k in key_id] != [KEY_ID_KEY_TRANSPORT]:
                raise AssertionError("frame %s: NWK security %s, key ids %s" % (n[0], nwk_sec,
                                                                               key_id))
            if not key or not dst:
                raise AssertionError("frame %s: the lab's keys do not open it" % n[0])
            sent.setdefault(_eui(dst[0]), set()).add(key[0])
        if not sent:
            raise AssertionError("no network key transported in the capture")
        logger.info("network key sent to %s" % sorted(sent))
        return sorted(sent)

    def tc_link_keys_should_be_unique_and_verified(self):
        """[ZB] 4.7.3 (R21): each device's own TC link key (Request Key, Transport Key of
        type 4, Verify Key from it, Confirm Key SUCCESS to it); no two alike."""
        keys, verified, confirmed = {}, set(), set()
        for n, cmd, ktype, key, dst, src, *_, status, src64, sec64 in self._aps_commands():
            cmd = _int(cmd[0])
            if cmd == APS_TRANSPORT_KEY and _int(ktype[0]) == KEY_TYPE_TC_LINK and key:
                keys.setdefault(_eui(dst[0]), set()).add(key[0])
            elif cmd == APS_VERIFY_KEY and src:
                verified.add(_eui(src[0]))
            elif cmd == APS_CONFIRM_KEY and dst and _int(status[0]) == 0:
                confirmed.add(_eui(dst[0]))
        if not keys:
            raise AssertionError("no TC link key transported (or not opened)")
        for dev, ks in keys.items():
            if len(ks) != 1 or dev not in verified or dev not in confirmed:
                raise AssertionError("%s: keys %d, verified %s, confirmed %s"
                                     % (dev, len(ks), dev in verified, dev in confirmed))
        all_keys = [k for ks in keys.values() for k in ks]
        if len(set(all_keys)) != len(all_keys):
            raise AssertionError("two devices share a TC link key")
        logger.info("unique verified TC link keys for %s" % sorted(keys))
        return sorted(keys)

    def nwk_security_should_be_level_5(self):
        """Every NWK-secured frame: network key (key id 1), the sender's EUI-64 in the
        auxiliary header, a key sequence number, a 4-octet MIC; no unsecured NWK frame
        but the Transport Keys of the join and the Rejoin Request and Response of a
        trust-centre rejoin ([ZB] 3.6.1.4.2, 4.6.3.6: the device may no longer hold the
        current network key)."""
        rows = self.cap.rows("zbee_nwk", "frame.number", "zbee_nwk.security",
                             "zbee.sec.key_id", "zbee.sec.ext_nonce", "zbee.sec.key_seqno",
                             "zbee.sec.mic", "zbee_aps.cmd.id", "zbee_aps.cmd.key_type",
                             "zbee_nwk.cmd.id")
        secured = 0
        for n, sec, key_id, nonce, seq, mic, cmd, ktype, nwk_cmd in rows:
            if sec == ["0"]:
                if _int((nwk_cmd or [""])[0]) in (NWK_REJOIN_REQUEST, NWK_REJOIN_RESPONSE):
                    continue
                if not (_int((cmd or [""])[0]) == APS_TRANSPORT_KEY and
                        _int(ktype[0]) == KEY_TYPE_NETWORK):
                    raise AssertionError("frame %s: NWK frame without security" % n[0])
                continue
            secured += 1
            if (_int(key_id[0]), nonce[:1], len(mic[0]) if mic else 0) != \
                    (KEY_ID_NETWORK, ["1"], 8) or not seq:
                raise AssertionError("frame %s: key id %s, extended nonce %s, key seq %s, "
                                     "MIC %s" % (n[0], key_id, nonce, seq, mic))
        if not secured:
            raise AssertionError("no NWK-secured frame")
        logger.info("%d NWK-secured frames" % secured)

    def well_known_key_should_open_nothing(self):
        """Given only ZigBeeAlliance09, tshark opens no key and no application frame."""
        opened = self.cap.count("zbee_aps.cmd.key || zbee_zcl || zbee_zdp",
                                keys=[WELL_KNOWN_KEY])
        if opened:
            raise AssertionError("%d frames open under the well-known key" % opened)
        if not self.cap.count("zbee_nwk.security == 1", keys=[WELL_KNOWN_KEY]):
            raise AssertionError("no secured frame to try it on")

    def nothing_should_be_secured_by(self, ext):
        """A device that never got the network key sends no NWK-secured frame."""
        n = self.cap.count("zbee.sec.src64 == %s" % _colons(ext))
        if n:
            raise AssertionError("%d secured frames from %s" % (n, ext))
        if not self.cap.count("wpan.src64 == %s" % _colons(ext)):
            BuiltIn().fail("%s sent nothing at all: the case proves nothing" % ext)

    def secured_frames_from(self, ext):
        """[(frame number, PSDU octets)] of NWK-secured frames from ext (for a replay)."""
        rows = self.cap.rows("zbee.sec.src64 == %s && zbee_nwk.security == 1 && zbee_aps"
                             % _colons(ext), "frame.number", "zbee.sec.counter")
        return [(int(r[0][0]), int(r[1][0])) for r in rows]

    def match_descriptor_should_find_endpoints(self, *endpoints):
        rows = self.cap.rows("zbee_aps.zdp_cluster == 0x8006", "zbee_zdp.status",
                             "zbee_zdp.endpoint")
        if not rows:
            BuiltIn().skip("no Match_Desc exchange in the capture")
        want = sorted(int(e) for e in endpoints)
        for status, eps in rows:
            if _int(status[0]) != 0 or sorted(int(e) for e in eps) != want:
                raise AssertionError("Match_Desc_rsp status %s endpoints %s, %s expected"
                                     % (status, eps, want))


def _colons(ext):
    e = _eui(ext)
    return ":".join(e[i:i + 2] for i in range(0, 16, 2))


class HanCounterKeywords:
    def frame_counters_should_never_be_reused(self):
        """[ZB] 4.3.1.1, 4.5.1.2: a sender's NWK frame counter is never used for two
        frames (HAN-SEC-008): a counter seen again must carry the same frame (a
        retransmission, or a replay by someone else: same MIC), since a new frame under
        an old counter would reuse a CCM* nonce. (The order in which one receiver gets
        them is not checked here: frames held for a sleepy device's poll may leave in
        another order than they were secured; see docs/baiop.md.)"""
        mic_of, checked = {}, 0
        for n, src64, counter, mic in self.cap.rows(
                "zbee_nwk.security == 1", "frame.number", "zbee.sec.src64",
                "zbee.sec.counter", "zbee.sec.mic"):
            if not (src64 and counter and mic):
                continue
            key = (src64[0], int(counter[0]))
            if key in mic_of:
                if mic_of[key] != mic[0]:
                    raise AssertionError("frame %s: %s reused NWK counter %d for another "
                                         "frame" % (n[0], key[0], key[1]))
                continue
            mic_of[key] = mic[0]
            checked += 1
        if not checked:
            raise AssertionError("no NWK-secured frame")
        return checked

    def counters_should_resume_above_the_cut(self):
        """After the hub's power cut every new NWK counter of the hub is above all it
        used before (reserved in blocks of 256 on flash)."""
        outages = getattr(self.target, "outages", [])
        if not outages:
            BuiltIn().skip("no power cut of the hub in this run")
        down, up = outages[-1]
        hub = _colons(self.hub_ext())
        rows = self.cap.rows("zbee.sec.src64 == %s && zbee_nwk.security == 1" % hub,
                             "frame.time_epoch", "zbee.sec.counter")
        before = [int(c[0]) for t, c in rows if float(t[0]) < down]
        after = [int(c[0]) for t, c in rows if float(t[0]) > up]
        if not before or not after:
            raise AssertionError("secured frames of the hub: %d before, %d after the cut"
                                 % (len(before), len(after)))
        if min(after) <= max(before):
            raise AssertionError("counter %d after the cut, %d before" % (min(after),
                                                                        max(before)))

    def hub_should_send_after_its_power_cut(self):
        """The hub's NWK counters after its power cut continue above all it sent before
        (checked by the keyword above), so it must have sent secured frames on both sides
        of the cut."""
        outages = getattr(self.target, "outages", [])
        if not outages:
            BuiltIn().skip("no power cut of the hub in this run")
        down, up = outages[-1]
        hub = _colons(self.hub_ext())
        before = self.cap.count("zbee.sec.src64 == %s && frame.time_epoch < %f" % (hub, down))
        self._wait(lambda: self.cap.count("zbee.sec.src64 == %s && frame.time_epoch > %f"
                                          % (hub, up)), 60, "no secured frame of the hub "
                                                            "after its power cut", step=2)
        if not before:
            raise AssertionError("no secured frame of the hub before its power cut")
