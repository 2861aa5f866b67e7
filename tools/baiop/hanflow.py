"""HAN BAIOP keywords about how frames flow between the hub and the devices, read from the
capture by tshark (docs/bap/han.md COM, INF and SEC layers): indirect transmission to a
sleepy device, APS acknowledgements, Default Responses, rejoins after the hub's outage,
what the gas meter reports and how often, messages delivered once."""
from robot.api import logger
from robot.libraries.BuiltIn import BuiltIn

from tools.baiop.hanair import NWK_REJOIN_RESPONSE, _colons

MAC_DATA_REQUEST = 0x04  # [802.15.4] 7.3.4
# How long after a device's Data Request the hub's frame for it may come on the emulated
# board: its MAC answers a poll within macMaxFrameTotalWaitTime on hardware; QEMU and the
# medium's bridge add tens of milliseconds.
POLL_ANSWER_S = 0.5
# A cut of the hub long enough for three of the gas meter's polls (7 s apart) to go
# unanswered, which makes it rejoin (han/zlink.py PARENT_LOSS_FAILURES).
REJOIN_CUT_S = 25


class HanFlowKeywords:
    def _short(self, name):
        return self._short_of(self.device_ext(name))

    def frames_to_a_sleepy_device_should_follow_its_polls(self, name):
        """HAN-COM-004: every MAC data frame the hub sends to the sleepy device comes
        right after a Data Request from it (indirect transmission)."""
        short = self._short(name)
        rows = self.cap.rows("(wpan.src16 == 0x%04x && wpan.cmd == 4) || (wpan.src16 == "
                             "0x0000 && wpan.dst16 == 0x%04x && wpan.frame_type == 1)"
                             % (short, short), "frame.time_epoch", "wpan.cmd", "wpan.seq_no")
        polled, sent, last_seq = None, 0, None
        for t, cmd, seq in rows:
            t = float(t[0])
            if cmd and int(cmd[0], 0) == MAC_DATA_REQUEST:
                polled = t
                continue
            if seq == last_seq:
                continue  # a MAC retry of the frame just sent
            last_seq = seq
            sent += 1
            if polled is None or t - polled > POLL_ANSWER_S:
                raise AssertionError("a frame to 0x%04x %.2f s after its last poll"
                                     % (short, t - polled if polled else -1))
        if not sent:
            raise AssertionError("no frame to 0x%04x" % short)
        logger.info("%d frames to 0x%04x, each after a poll" % (sent, short))

    def hub_unicasts_should_ask_for_aps_acks(self):
        """HAN-COM-005: the hub's unicast APS data frames ask for an acknowledgement, and
        one is sent at most 4 times (3 retries: same APS counter, destination)."""
        tries = {}
        for dst, ack_req, counter, delivery, nwk in self.cap.rows(
                "wpan.src16 == 0x0000 && zbee_aps.type == 0 && zbee_nwk.security == 1 && "
                "zbee_aps.profile == 0x0109",
                "wpan.dst16", "zbee_aps.ack_req", "zbee_aps.counter", "zbee_aps.delivery",
                "zbee.sec.counter"):
            if int(delivery[0], 0) != 0:
                continue  # broadcast or group: no acknowledgement
            if ack_req != ["1"]:
                raise AssertionError("an APS data frame to %s without ack request" % dst)
            # MAC retries repeat one NWK frame; each APS try is a new NWK frame.
            tries.setdefault((dst[0], counter[0]), set()).add(nwk[0])
        if not tries:
            raise AssertionError("no APS data frame from the hub")
        worst = max(len(v) for v in tries.values())
        if worst > 4:
            raise AssertionError("an APS frame sent %d times (1 + 3 retries)" % worst)
        logger.info("%d APS frames, at most %d transmissions" % (len(tries), worst))

    def default_responses_should_follow_the_rules(self):
        """HAN-INF-011 ([ZCL] 2.5.12): the hub answers a report with a Default Response
        exactly when the report did not disable it."""
        reports = self.cap.rows("wpan.dst16 == 0x0000 && zbee_zcl.cmd.id == 0x0a",
                                "wpan.src16", "zbee_zcl.cmd.tsn", "zbee_zcl.ddr")
        answers = {(r[0][0], r[1][0]) for r in self.cap.rows(
            "wpan.src16 == 0x0000 && zbee_zcl.cmd.id == 0x0b", "wpan.dst16",
            "zbee_zcl.cmd.tsn")}
        if not reports:
            BuiltIn().skip("no report to the hub in the capture")
        for src, tsn, ddr in reports:
            want = ddr == ["0"]
            if ((src[0], tsn[0]) in answers) != want:
                raise AssertionError("report %s from %s (default response %s): answered %s"
                                     % (tsn[0], src[0], "wanted" if want else "disabled",
                                        not want))

    def zcl_should_be_nwk_secured(self):
        """HAN-SEC-010: every ZCL frame is NWK-secured; an APS-secured request gets an
        APS-secured answer."""
        rows = self.cap.rows("zbee_zcl", "frame.number", "zbee_nwk.security",
                             "zbee_aps.security")
        if not rows:
            raise AssertionError("no ZCL frame")
        bad = [r[0][0] for r in rows if r[1] != ["1"]]
        if bad:
            raise AssertionError("ZCL frames without NWK security: %s" % bad[:10])
        if any(r[2] == ["1"] for r in rows):
            raise AssertionError("APS-secured ZCL in the capture: the answer rule must be "
                                 "checked frame by frame")

    def devices_should_rejoin_after_the_outage(self, name):
        """HAN-FUN-008: after the hub's power cut the device rejoins by an NWK Rejoin
        Request and keeps its short address."""
        outages = getattr(self.target, "outages", []) if self.mode == "live" else []
        outages = outages or self.hub_silences()
        if not outages:
            BuiltIn().skip("no outage of the hub in the capture")
        short = "0x%04x" % self._short(name)
        down, up = outages[-1]
        missed = self._missed_acks(short, down, up + 5)
        if missed < 3 and self.mode == "live":
            # The cuts so far were shorter than three of its polls: one long enough.
            logger.info("%s missed %d acknowledgements in a row: a cut of %d s"
                        % (name, missed, REJOIN_CUT_S))
            self.target.reboot(REJOIN_CUT_S)
            self.run_han_for(2)
            down, up = self.target.outages[-1]
            missed = self._missed_acks(short, down, up + 5)
        if missed < 3:
            BuiltIn().skip("%s missed %d acknowledgements in a row while the hub was off "
                           "(3 make it rejoin)" % (name, missed))
        ext = _colons(self.device_ext(name))

        def responses():  # to the device's EUI-64 (MAC) or its short address
            return [r for r in self.cap.rows(
                "zbee_nwk.cmd.id == %d && frame.time_epoch > %f" % (NWK_REJOIN_RESPONSE, down),
                "wpan.dst16", "wpan.dst64", "zbee_nwk.cmd.rejoin_status", "zbee_nwk.cmd.addr")
                if r[0] == [short] or r[1] == [ext]]
        self._wait(lambda: responses(), 60, "no Rejoin Response to %s after the outage"
                   % name, step=2)
        if not all(int(r[2][0], 0) == 0 and int(r[3][0], 0) == int(short, 0)
                   for r in responses()):
            raise AssertionError("Rejoin Responses to %s: %s" % (name, responses()))

    def _missed_acks(self, short, start, end):
        """The longest run of the device's MAC transactions (a frame and its MAC retries:
        one sequence number) no ACK answered between start and end (an ACK carries the
        frame's sequence number, about 1 ms after it)."""
        rows = self.cap.rows("frame.time_epoch > %f && frame.time_epoch < %f && "
                             "((wpan.src16 == %s && wpan.ack_request == 1) || "
                             "wpan.frame_type == 2)" % (start, end, short),
                             "frame.time_epoch", "wpan.frame_type", "wpan.seq_no")
        order, acked, last = [], set(), None
        for t, ftype, seq in rows:
            t = float(t[0])
            if int(ftype[0], 0) != 2:
                if not order or order[-1] != seq[0]:
                    order.append(seq[0])
                last = (t, seq[0])
            elif last is not None and seq[0] == last[1] and t - last[0] < 0.01:
                acked.add(last[1])
        run = worst = 0
        for seq in order:
            run = 0 if seq in acked else run + 1
            worst = max(worst, run)
        return worst

    def gas_meter_should_report_on_schedule(self, interval):
        """HAN-INF-014: our gas meter reports its summation with its capture time, the
        captures on the hub's clock's multiples of its interval (the lab sets it short),
        one interval apart, only after its first time sync."""
        interval = int(interval)
        reports = self.device_lines("[gas] ")
        captured = [r["captured"] for r in reports]
        if len(captured) < 3:
            raise AssertionError("%d gas reports" % len(captured))
        if any(c % interval for c in captured[1:]) or \
                any(b - a != interval for a, b in zip(captured[1:], captured[2:])):
            raise AssertionError("capture times %s, every %d s expected" % (captured,
                                                                             interval))
        short = "0x%04x" % self._short("gas")
        rows = self.cap.rows("wpan.src16 == %s && zbee_zcl.cmd.id == 0x0a" % short,
                             "zbee_zcl_se.met.attr_id")
        if not any({"0x0000", "0x0007"} <= set(r[0]) for r in rows):
            raise AssertionError("no report of summation with ReadingSnapShotTime")

    def messages_should_be_delivered_once(self, name):
        """HAN-COM-008: the Display Messages the device received: one message id, each
        transmission of a push verbatim (same ZCL sequence number)."""
        short = "0x%04x" % self._short(name)
        rows = self.cap.rows("wpan.src16 == 0x0000 && wpan.dst16 == %s && "
                             "zbee_zcl_se.msg.message.id" % short,
                             "zbee_zcl_se.msg.message.id", "zbee_zcl.cmd.tsn")
        ids = {r[0][0] for r in rows if r[0]}
        pushes = {r[1][0] for r in rows}
        if len(ids) != 1:
            raise AssertionError("message ids sent to %s: %s" % (name, ids))
        logger.info("message %s, %d pushes, %d transmissions" % (ids, len(pushes), len(rows)))
