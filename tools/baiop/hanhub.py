"""HAN BAIOP keywords about the hub's console, the lab's devices and P1 (docs/bap/han.md
FUN, INF and ACC layers), for the live session around the emulated board. P1 is read by
dsmr_parser, the hub's diagnostics by tools.hub's parser, the display's view from the
display's own JSON lines."""
import re

from robot.api import logger

from tools.baiop import han_bench as bench
from tools.baiop.hanair import _colons, _eui
from tools.p1.decode import PROFILE_SPEC

TAMPER_REPLAY, TAMPER_UNKNOWN_JOINER = 2, 5  # firmware/han/tamper.py (HAN-SEC-012)


class HanHubKeywords:
    # --- the devices ---------------------------------------------------------------------
    def device_ext(self, name):
        """gas, display, wrong-code or unregistered: the lab device's EUI-64 (hex)."""
        from tools import emu_han
        from tools.ihd.display import DEFAULT_EXT

        return {"gas": emu_han.HOST_GAS_EXT, "display": DEFAULT_EXT,
                "wrong-code": bench.WRONG_CODE_EXT,
                "unregistered": bench.UNREGISTERED_EXT}[name].hex()

    def device_should_have_joined(self, name):
        """Registered, associated (console), its network key and TC link key delivered
        and verified (capture), and its secured frames open with the lab's keys."""
        ext = self.device_ext(name)
        self.wait_until_console_shows("han registered %s" % ext, 5)
        self.wait_until_console_shows("han associated %s short" % ext, 60)
        self._wait(lambda: ext in self._verified(), 60, "%s: no verified TC link key" % ext,
                   step=2)
        if not self.cap.count("zbee.sec.src64 == %s && (zbee_zcl || zbee_zdp)"
                              % _colons(ext)):
            raise AssertionError("no application frame of %s opened" % ext)

    def _verified(self):
        self._refresh()
        try:
            return self.tc_link_keys_should_be_unique_and_verified()
        except AssertionError:
            return []

    def console_lines(self, prefix):
        return [ln.strip() for ln in self.target.console().splitlines()
                if ln.strip().startswith(prefix)]

    # --- the hub's diagnostics (HAN-INF-015, HAN-ACC-002) --------------------------------
    def hub_status(self):
        """Type HUB STATUS on the console; its answer as tools.hub parses it."""
        from tools.hub.__main__ import parse_lines

        start = len(self.target.console())
        self.target.type_line("HUB STATUS")
        self._wait(lambda: "HUB END" in self.target.console()[start:], 20,
                   "no HUB END answer")
        return parse_lines(self.target.console()[start:].splitlines())

    def runs_of_the_hub(self):
        """What the meter printed after each of its starts (not what was typed before)."""
        return re.split(r"import main; main\.run\(", self.target.console())[1:]

    def channel(self):
        """The channel the hub formed its PAN on (its console)."""
        return int(self.console_lines("han zigbee pan ")[0].split()[5])

    def hub_status_should_list(self, *names):
        status = self.hub_status()
        devices = {_eui(d["eui64"]): d for d in status["devices"]}
        for name in names:
            d = devices.get(self.device_ext(name))
            if d is None or d["state"] != "verified" or not 0 < d["lqi"] <= 255 or \
                    d["frames_in"] <= 0:
                raise AssertionError("%s in HUB STATUS: %s" % (name, d))
        logger.info("%d devices, %d log entries" % (len(devices), len(status["log"])))

    def console_should_show_no_key(self, *keys_hex):
        """None of these keys (the provisioned network key, the lab's link keys) appears
        in anything the console printed, in any case or byte order."""
        # What the meter printed after each start (not the provisioning typed before it).
        text = re.sub(r"[^0-9a-f]", "", "".join(self.runs_of_the_hub()).lower())
        keys = [k.lower() for k in keys_hex if k] + [
            self.cap.keys[i].lower() for i in range(len(self.cap.keys))]
        for k in keys:
            for form in (k, bytes.fromhex(k)[::-1].hex()):
                if form in text:
                    raise AssertionError("the console shows key %s..." % k[:6])

    # --- tamper events (HAN-SEC-006, HAN-SEC-012) ----------------------------------------
    def replay_a_frame_of(self, name):
        """The lab radio sends again an older NWK-secured frame of the device (a new MAC
        sequence number and FCS: only the NWK frame counter tells it is old)."""
        from tools.han.capture import FCS, psdu, records

        ext = self.device_ext(name)
        frames = self.secured_frames_from(ext)
        if len(frames) < 3:
            raise AssertionError("too few secured frames of %s to replay" % ext)
        number = frames[-3][0]
        with open(self.cap.pcap, "rb") as f:
            recs = list(records(f.read()))
        linktype, _, rec = recs[number - 1]
        p = psdu(linktype, rec)
        frame = bytearray(p.frame[:-2] if p.trailer == FCS else p.frame)
        frame[2] = (frame[2] + 0x80) & 0xFF  # a MAC sequence number not just seen
        channel = self.channel()
        if not self.target.bench.inject(bytes(frame), channel):  # the radio adds the FCS
            raise AssertionError("the hub acknowledged none of %d transmissions of the "
                                 "replayed frame" % (1 + bench.MAX_FRAME_RETRIES))
        logger.info("replayed frame %d (NWK counter %d) of %s" % (number, frames[-3][1], ext))

    def tamper_event_should_be_logged(self, kind, name, timeout=30):
        """At least one tamper line of this kind from the device, and one per episode:
        never two in one run of the hub (a restarted hub begins new episodes)."""
        ext = self.device_ext(name)
        self._wait(lambda: any(self._tamper(kind, ext)), timeout,
                   "no tamper event kind %s from %s" % (kind, name))
        per_boot = self._tamper(kind, ext)
        if max(per_boot) != 1:
            raise AssertionError("tamper lines of kind %s for %s per hub start: %s "
                                 "(one per episode)" % (kind, name, per_boot))

    def _tamper(self, kind, ext):
        """How many tamper lines of this kind and source each start of the hub printed."""
        short = "0x%04x" % self._short_of(ext)
        counts = []
        for run in self.runs_of_the_hub():
            n = 0
            for ln in run.splitlines():
                words = ln.split()
                if ln.startswith("han tamper kind %s " % kind) and words[-1] in (ext, short):
                    n += 1
            counts.append(n)
        return counts

    def _short_of(self, ext):
        for ln in self.console_lines("han associated %s short " % ext):
            return int(ln.split()[-1], 16)
        return -1

    # --- P1 against the HAN (HAN-FUN-006, HAN-INF-003, HAN-INF-004) ----------------------
    def p1_telegrams(self):
        from dsmr_parser import telegram_specifications as specs
        from dsmr_parser.parsers import TelegramParser

        profile = self.target.profile
        parser = TelegramParser(getattr(specs, PROFILE_SPEC[profile]),
                                apply_checksum_validation=True)
        out = [parser.parse(t.decode("ascii"), throw_ex=True) for t in self._p1_texts()]
        if not out:
            raise AssertionError("no P1 telegram read during the HAN cases")
        return out

    def gas_reports_should_reach_p1(self):
        """After the gas meter's report, the P1 telegrams show one of its readings (value
        and capture time) and never go back to an older one."""
        self.wait_until_device_prints("[gas] ", "m3", 60)
        reports = self.device_lines("[gas] ")
        self.run_han_for(3)
        printed = {(round(r["m3"], 3), int(r["captured"])) for r in self.device_lines("[gas] ")}
        seen = []
        for t in self.p1_telegrams():
            r = getattr(t, "MBUS_METER_READING", None) or getattr(t, "BELGIUM_MBUS1_METER_READING2",
                                                                  None)
            if r is None:
                if seen:
                    raise AssertionError("a telegram without gas after one with it")
                continue
            got = (round(float(r.value), 3), int(r.datetime.timestamp()))
            if got not in printed:
                raise AssertionError("P1 gas %s is none of the reports %s" % (got, printed))
            if seen and got[1] < seen[-1][1]:
                raise AssertionError("P1 gas went back from %s to %s" % (seen[-1], got))
            seen.append(got)
        if not seen:
            raise AssertionError("no gas reading in P1 after %d reports" % len(reports))
        logger.info("%d telegrams with gas, last %s" % (len(seen), seen[-1]))

    def display_should_match_p1(self):
        """The display's energy (kWh) and gas (m3) are values P1 showed, to P1's digits."""
        self.wait_until_device_prints("[ihd] ", "kwh", 60)
        self.wait_until_device_prints("[ihd] ", "gas_m3", 60)
        shown = self.device_lines("[ihd] ")
        self.run_han_for(3)  # P1 shows a new gas reading within its next telegram
        tels = self.p1_telegrams()
        kwh = [round(float(t.ELECTRICITY_USED_TARIFF_1.value) +
                     float(t.ELECTRICITY_USED_TARIFF_2.value), 3) for t in tels]
        gas = {round(float(t.MBUS_METER_READING.value), 3) for t in tels
               if getattr(t, "MBUS_METER_READING", None) is not None}
        later = [s for s in shown if s.get("kwh") is not None and kwh[0] <= s["kwh"]]
        if not later:
            raise AssertionError("no display energy while P1 was read: %s" % shown[-2:])
        # P1 was read only while these cases waited: the display's value, read at its own
        # moment, lies between two of them (or one step after the last), to P1's digits
        # (never 10x, 100x or 1000x off: HAN-INF-003).
        step = max([b - a for a, b in zip(kwh, kwh[1:])] + [0.001])
        for s in later:
            v = s["kwh"]
            if round(v, 3) != v or not kwh[0] <= v <= kwh[-1] + step + 0.0005:
                raise AssertionError("display %s kWh is no P1 value (P1 %s .. %s)"
                                     % (v, kwh[0], kwh[-1]))
        g = [s["gas_m3"] for s in shown if s.get("gas_m3") is not None]
        if g[-1] not in gas and gas:
            raise AssertionError("display gas %s, P1 showed %s" % (g[-1], sorted(gas)))

    # --- configuration through the hub (HAN-INF-009, HAN-INF-010) ------------------------
    def _type_config(self, op, payload, key=None):
        """Type one signed line; (accepted, the meter's answer)."""
        from tools import emu_config

        key = key or self.target.record.config_key
        start = len(self.target.console())
        self.target.type_line(emu_config.signed_line(key, op, payload))
        answer = []

        def answered():
            m = re.search(r"CFG (?:OK|REJECTED)[^\r\n]*", self.target.console()[start:])
            if m:
                answer.append(m.group(0))
            return bool(m)
        self._wait(answered, 15, "no answer to a configuration line")
        return answer[0].startswith("CFG OK"), answer[0]

    def send_configuration(self, spec):
        """A tools.config subcommand, signed with the board's config_key, typed on the
        console; waits for its CFG OK."""
        from tools import emu_config

        s = emu_config.parse("0 " + spec)
        ok, answer = self._type_config(s.op, s.payload)
        if not ok:
            raise AssertionError("the meter did not accept %s: %s" % (spec.split()[0],
                                                                     answer))

    def display_should_show(self, key, value, timeout=60):
        def shown():
            return any(str(s.get(key)) == str(value) for s in self.device_lines("[ihd] "))
        self._wait(shown, timeout, "the display never showed %s = %s" % (key, value))

    def message_confirmation_should_be_logged(self, timeout=30):
        display = self._short_of(self.device_ext("display"))
        said = "confirmed by 0x%04x" % display
        self._wait(lambda: any(said in ln for ln in self.console_lines("han message ")),
                   timeout,
                   "no message confirmation from the display (0x%04x)" % display)

    def display_tier_should_follow_p1(self):
        tels = self.p1_telegrams()
        tier = int(tels[-1].ELECTRICITY_ACTIVE_TARIFF.value)
        self.display_should_show("tier", tier, 60)
        return tier


    def skip_unless_profile_has_gas(self):
        from robot.libraries.BuiltIn import BuiltIn

        if self.target.profile not in ("nl", "nl4", "be"):
            BuiltIn().skip("profile %s has no M-Bus lines in P1" % self.target.profile)

    # --- power cut of the hub (HAN-FUN-007, HAN-CMP-003) ---------------------------------
    def power_cut_of_the_hub_if_none_yet(self):
        """A supply failure of the board (unless an earlier case had one), the devices
        running on."""
        if not self.target.console_before:
            self.target.reboot()
        self.run_han_for(2)

    def hub_should_have_resumed_its_network(self):
        """The same PAN ID and channel from the flash, no device registered or associated
        again, and the gas meter's reports arriving again under the kept keys and
        counters."""
        before = self.target.console_before.decode(errors="replace")
        formed = re.findall(r"han zigbee pan (0x[0-9a-f]{4}) channel (\d+)", before)
        if not formed:
            raise AssertionError("the network was not formed before the cut")
        gas = self._short_of(self.device_ext("gas"))

        def after():
            return bytes(self.target.board.console_log).decode(errors="replace")
        self._wait(lambda: "han rx from 0x%04x " % gas in after(), 60,
                   "no frame of the gas meter (0x%04x) after the cut" % gas)
        text = after()
        pan, channel = formed[0]
        if "han zigbee pan %s channel %s resumed" % (pan, channel) not in text:
            raise AssertionError("not resumed on PAN %s channel %s: %s" % (
                pan, channel, re.findall(r"han zigbee pan .*", text)))
        # The devices that had joined before the cut (announced themselves) must not
        # associate again; others (the wrong-code device) keep trying, as they should.
        announced = set(re.findall(r"han zigbee device_annce (0x[0-9a-f]{4})", before))
        joined = [e for e in (self.device_ext(n) for n in ("gas", "display"))
                  if "0x%04x" % self._short_of(e) in announced]
        again = [ln for ln in re.findall(r"han (?:registered|associated|zigbee pan .* "
                                         r"formed).*", text)
                 if "associated" not in ln or ln.split()[2] in joined]
        if again:
            raise AssertionError("after the cut: %s" % again)
        shorts = ["0x%04x" % self._short_of(e) for e in joined]
        false = [ln for ln in re.findall(r"han tamper.*", text)
                 if ln.split()[-1] in joined + shorts]
        if false:
            raise AssertionError("a false tamper event after the cut: %s" % false)

    # --- unsecured frames (HAN-SEC-007) --------------------------------------------------
    def send_unsecured_frames_as(self, name):
        """The lab radio sends, unsecured and claiming to come from the device: an NWK
        Leave, an APS Switch Key and a ZCL report with sequence number 0xA5 ([ZB] 3.3.1,
        3.4.4, 4.4.11.5; a real device secures them all)."""
        ext = self.device_ext(name)
        short = self._short_of(ext)
        channel = self.channel()
        s = bytes((short & 0xFF, short >> 8))
        nwk_cmd = b"\x09\x00" + b"\x00\x00" + s + b"\x01\xe1"  # command, v2, to 0x0000
        nwk_data = b"\x08\x00" + b"\x00\x00" + s + b"\x01\xe2"  # data, v2
        frames = [nwk_cmd + b"\x04\x00",  # Leave, no rejoin
                  nwk_data + b"\x01\xe3" + b"\x09\x05",  # APS command: Switch Key seq 5
                  nwk_data + b"\x00\x01\x02\x07\x09\x01\x01\xe4"  # APS data ep 1 -> 1
                  + b"\x18\xa5\x0a\x00\x00\x25" + bytes(6)]  # 0x0702 report: summation 0
        for i, payload in enumerate(frames):  # the radio adds the FCS
            mac = bytes((0x61, 0x88, 0xF0 + i, 0x45, 0x4D, 0x00, 0x00)) + s + payload
            if not self.target.bench.inject(mac, channel):
                raise AssertionError("the hub acknowledged no transmission of forged frame "
                                     "%d" % i)
        self._probe_at = len(self.target.console())
        self.run_han_for(3)

    def hub_should_have_ignored_them(self, name):
        ext = self.device_ext(name)
        short = self._short_of(ext)
        after = self.target.console()[self._probe_at:]
        bad = re.findall(r"han (?:removed|zigbee network key \d+ active).*|"
                         r"han rx from 0x%04x .* seq 165\b.*" % short, after)
        if bad:
            raise AssertionError("the hub acted on unsecured frames: %s" % bad)
        # The device itself is still a member: its next secured frame is accepted.
        self._wait(lambda: "han rx from 0x%04x " % short in
                   self.target.console()[self._probe_at:], 60,
                   "nothing accepted from %s after the probe" % name)
        self.hub_status_should_list(name)

    # --- the gas lines of P1 (H1-FUN-008, H1-INF-019) ------------------------------------
    def _p1_texts(self):
        # The whole telegrams only: one the meter's power cut broke off is followed by the
        # next boot's, and must not be read as one telegram with the next one's end.
        from tools.baiop.capture import Capture

        return [t.raw for t in Capture(bytes(self.p1), []).split()[0] if not t.encrypted]

    def gas_lines_should_come_only_after_the_first_reading(self, *mbus):
        """No M-Bus line before the gas meter's first reading reached the meter; all of
        them in every telegram after it (those of the run's first seconds, then later)."""
        from robot.libraries.BuiltIn import BuiltIn

        from tools.baiop.p1rules import objects

        first = BuiltIn().get_library_instance("tools.baiop.P1Library")._shared[1]
        self.wait_until_device_prints("[gas] ", "m3", 60)
        self.run_han_for(3)
        seq = [t.plain for t in first if t.plain] + self._p1_texts()
        sets = [[o for o in objects(t) if o.startswith("0-1:")] for t in seq]
        if not sets or not sets[-1]:
            raise AssertionError("no gas lines after the first reading")
        start = next(i for i, s in enumerate(sets) if s)
        if any(s != list(mbus) for s in sets[start:]):
            raise AssertionError("after the first: %s, %s expected" % (
                [s for s in sets[start:] if s != list(mbus)][:2], list(mbus)))
        if start == 0:
            BuiltIn().skip("the gas meter reported before the first telegram was read")

    def gas_lines_should_have_their_format(self):
        from tools.baiop.p1rules import line_of

        be = self.target.profile == "be"
        want = {"0-1:24.1.0": rb"\(003\)",
                "0-1:96.1.1" if be else "0-1:96.1.0": rb"\(([0-9A-F]{2})+\)",
                "0-1:24.2.3" if be else "0-1:24.2.1": rb"\(\d{12}[SW]\)\(\d{5}\.\d{3}\*m3\)"}
        texts = self._p1_texts()[-3:]
        if not texts:
            raise AssertionError("no telegram after the gas reading")
        for t in texts:
            for obis, rx in want.items():
                v = line_of(t, obis)
                if v is None or not re.fullmatch(rx, v):
                    raise AssertionError("%s%s is not %s" % (obis, v, rx.decode()))
