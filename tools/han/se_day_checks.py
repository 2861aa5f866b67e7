"""The checks and the result of the simulated day (tools/han/se_day.py): DayChecks, the
part of DaySim that compares what the day recorded, counts what it cost and builds the
result dict (python -m tools.han se-day --json prints it; tools/han/se_day_cli.py the
summary). It reads what DaySim sets up and records (regs, displays, radios, mailbox,
p1_gas, shown_gas, switches, gas_sent, ...) and its _telegram(); DaySim calls
_hour_check() at the last second of each hour, _heap("end") and result() after the run.

Checks (exit status 1 when one fails):
  gas       every report the gas meter sent (its own JSON lines: value, capture time)
            reached the mailbox and P1, in order, none lost, reordered or duplicated;
            one captured on each multiple of gas_report_s in the day; each display took
            every reading relayed in the day from the hub's mirror, in order
  displays  at the last second of each hour each display shows the P1 telegram's kWh
            (1-0:1.8.1 + 1-0:1.8.2), kW (1-0:1.7.0), tier (0-0:96.14.0), gas m3 and
            capture time (0-1:24.2.1: the last relayed reading)
  tariff    after each switch every display shows the new tier within the display's
            shortest maximum reporting interval (ihd_peer.DEMAND_REPORTING, 30 s)
  heap      after gc.collect() at the end of hour 1 and at the end (and each hour): the
            bytes retained by the firmware (tools/han/heap.py), and with --tracemalloc
            tracemalloc's traced size of the firmware's allocations; growth at most
            HEAP_GROWTH_MAX
Figures: the gas meter's duty cycle (transceiver on / day), frames sent and received and
polls per day; frames per display; transmissions and collisions on air; the run time.
"""
from tools.han import heap
from tools.han.se_house import NETWORK_KEY, install_code

from han.se import ihd_peer  # noqa: E402  (firmware/ is on the path: se_house)
from registers.memfs import MemoryFs  # noqa: E402

TIER_BOUND_S = ihd_peer.DEMAND_REPORTING[1]
# The firmware's heap must not grow: its tables and logs are bounded, and what accumulates
# goes to flash (here MemoryFs, left out). What may differ between hour 1 and the end is
# the size of values replaced in place: on CPython a counter passing 256 leaves the shared
# small-int cache and becomes an object of its own (28 B; a day of this scenario: about 55
# of them, 1.5 kB, in both measures; MicroPython keeps ints below 2**30 unboxed), and the
# slack of dicts and lists still filling at hour 1. 16 KiB is 10 % of the whole meter's
# live heap on the emulated board (README: 154 864 B after collection) and far below a
# leak of anything per frame or per report (a day has about 10**5 frames: one byte each
# is 100 kB).
HEAP_GROWTH_MAX = 16384


class DayChecks:
    def _hour_check(self, utc):
        hour = (utc + 1 - self.start_utc) // 3600
        t = self._telegram(utc)
        g = self.regs.gas
        row = {"hour": hour, "utc": utc, "tariff": self.regs.energy.tariff,
               "displays_ok": 0}
        self.hourly.append(row)
        if t is None or not g.valid:
            self.failures.append("hour %d: no P1 telegram parsed, or no gas reading" % hour)
            return
        gas = t.MBUS_METER_READING
        row.update(kwh="%010.3f" % (t.ELECTRICITY_USED_TARIFF_1.value
                                    + t.ELECTRICITY_USED_TARIFF_2.value),
                   kw="%06.3f" % t.CURRENT_ELECTRICITY_USAGE.value,
                   p1_tier=int(t.ELECTRICITY_ACTIVE_TARIFF.value),
                   gas_m3="%09.3f" % gas.value)
        expect = {"kwh": row["kwh"], "kw": row["kw"], "tier": self.regs.energy.tariff,
                  "gas_m3": row["gas_m3"], "gas_captured": g.capture_utc}
        if row["p1_tier"] != row["tariff"]:
            self.failures.append("hour %d: P1's tariff %d, the registers' %d" % (
                hour, row["p1_tier"], row["tariff"]))
        if (int(gas.value * 1000), int(gas.datetime.timestamp())) != (g.litres,
                                                                      g.capture_utc):
            self.failures.append("hour %d: P1's gas reading is not the mailbox's" % hour)
        for i, (_, node) in enumerate(self.displays):
            v = node.se.view()
            bad = [k for k in expect if v[k] != expect[k]]
            if bad:
                self.failures.append("hour %d: ihd%d shows %s, P1 and the meter %s" % (
                    hour, i + 1, {k: v[k] for k in bad}, {k: expect[k] for k in bad}))
            else:
                row["displays_ok"] += 1
        self._heap("hour%d" % hour)
        row["heap_retained"] = self.heap["hour%d" % hour]["retained"]

    def _heap(self, label):
        roots = heap.firmware_modules() + [self.nodes, self.regs, self.view, self.source,
                                           self.builder, self.snap, self.medium, self.clock]
        size, objects = heap.retained(roots, (MemoryFs,))
        h = {"retained": size, "objects": objects}
        if label == "end" or label == "hour1":
            traced = heap.traced()  # a snapshot costs: at the two points compared only
            if traced is not None:
                h.update(traced)
        self.heap[label] = h

    def _gas_checks(self):
        sent = self.gas_sent
        if self.meter_gas.reports_sent != len(sent):
            self.failures.append("gas meter counted %d reports, printed %d" % (
                self.meter_gas.reports_sent, len(sent)))
        # A report captured at the end of the run (the meter's clock, synced to the hub's
        # within a second, may reach the last mark before the run stops) may not have
        # reached the hub yet: it may be missing, at the end only.
        last = [x for x in sent if x[1] >= self.end_utc]
        whole = len(sent) - len(last)
        for what, seq in (("mailbox", self.mailbox), ("P1", self.p1_gas)):
            if seq != sent and not (whole <= len(seq) < len(sent) and
                                    seq == sent[:len(seq)]):
                k = 0
                while k < min(len(seq), len(sent)) and seq[k] == sent[k]:
                    k += 1
                self.failures.append("gas: %s has %d readings, the meter sent %d; first "
                                     "difference at #%d" % (what, len(seq), len(sent), k))
        caps = [c for _, c in sent]
        if any(caps[i + 1] <= caps[i] for i in range(len(caps) - 1)):
            self.failures.append("gas: capture times not increasing")
        in_day = [x for x in self.mailbox if self.start_utc <= x[1] < self.end_utc]
        # A capture on each multiple of the report interval on the hub's clock (gasmeter.py).
        rs = self.gas_report_s
        expected = len(range((self.start_utc + rs - 1) // rs * rs, self.end_utc, rs))
        captured = len([c for c in caps if self.start_utc <= c < self.end_utc])
        if captured != expected:
            self.failures.append("gas: %d reports captured in the day, expected %d" % (
                captured, expected))
        shown = []
        for i, seen in enumerate(self.shown_gas):
            got = [x for x in seen if self.start_utc <= x[1] < self.end_utc]
            shown.append(len(got))
            if got != in_day:
                self.failures.append("gas: ihd%d took %d of the %d readings relayed in the "
                                     "day" % (i + 1, len([x for x in got if x in in_day]),
                                              len(in_day)))
        g, m = self.regs.gas, self.meter_gas
        if g.refused_time or g.refused_backwards or g.refused_future or m.reports_lost:
            self.failures.append("gas: refused %d/%d/%d (time/backwards/future), lost %d" % (
                g.refused_time, g.refused_backwards, g.refused_future, m.reports_lost))
        return expected, shown

    def result(self):
        expected, shown = self._gas_checks()
        for sw in self.switches:
            late = [n for n, ms in sw[3].items() if ms > TIER_BOUND_S * 1000]
            if len(sw[3]) < len(self.displays) or late:
                self.failures.append("tariff %d -> %d at %d: %d of %d displays in %d s" % (
                    sw[1], sw[2], sw[0], len(sw[3]) - len(late), len(self.displays),
                    TIER_BOUND_S))
        if self.p1_errors:
            self.failures.append("P1: dsmr_parser refused %d telegrams, the first %s" % (
                len(self.p1_errors), self.p1_errors[0]))
        growth = {}
        for k in ("retained", "firmware"):
            if k in self.heap["end"] and k in self.heap.get("hour1", {}):
                growth[k] = self.heap["end"][k] - self.heap["hour1"][k]
                if growth[k] > HEAP_GROWTH_MAX:
                    self.failures.append("heap: %s grew %d B from hour 1 to the end (max %d)"
                                         % (k, growth[k], HEAP_GROWTH_MAX))
        base = self._base["radios"] if self._base else [(0,) * 5] * len(self.radios)
        per_day = 24.0 / self.hours
        b = self._base or {}
        radios = []
        for i, r in enumerate(self.radios):
            on, tx, rx, tx_acks, rx_acks = [x - y for x, y in zip(r.counts(), base[i])]
            radios.append({"on_us": on, "tx": tx, "rx": rx, "tx_acks": tx_acks,
                           "rx_acks": rx_acks, "frames_per_day": round((tx + rx) * per_day),
                           "acks_per_day": round((tx_acks + rx_acks) * per_day)})
        gas = radios[1]
        displays = []
        for i, (_, node) in enumerate(self.displays):
            d = dict(radios[2 + i], name="ihd%d" % (i + 1), gas_readings_taken=shown[i],
                     resubscribed=node.se.resubscribed - b.get("resubscribed", [0] * 9)[i],
                     malformed=node.se.malformed)
            del d["on_us"]
            displays.append(d)
        m = self.meter_gas
        return {
            "ok": not self.failures, "failures": self.failures,
            "hours": self.hours, "displays": len(self.displays), "start_utc": self.start_utc,
            "gas_report_s": self.gas_report_s, "run_s": round(self.wall_s, 1),
            "gas_reports_sent": len(self.gas_sent),
            "gas_reports_in_day": len([x for x in self.gas_sent
                                       if self.start_utc <= x[1] < self.end_utc]),
            "gas_reports_expected": expected, "gas_mailbox": len(self.mailbox),
            "gas_in_p1": len(self.p1_gas), "gas_duplicates": self.regs.gas.duplicates,
            "gas_acked": m.reports_acked, "gas_lost": m.reports_lost,
            "gas_first": list(self.gas_sent[0]) if self.gas_sent else None,
            "gas_last": list(self.gas_sent[-1]) if self.gas_sent else None,
            "gas_duty_cycle_pct": round(100.0 * gas["on_us"] / (self.hours * 3600e6), 4),
            "gas_on_s": round(gas["on_us"] / 1e6, 1),
            "gas_frames_tx": gas["tx"], "gas_frames_rx": gas["rx"],
            "gas_acks_tx": gas["tx_acks"], "gas_acks_rx": gas["rx_acks"],
            "gas_frames_per_day": gas["frames_per_day"], "gas_acks_per_day": gas["acks_per_day"],
            "gas_polls": self.gas.mac.polls - b.get("polls", 0),
            "gas_fast_polls": m.fast_polls - b.get("fast_polls", 0),
            "gas_time_syncs": m.syncs - b.get("syncs", 0),
            "time_max_error_ms": self.time_err_ms,
            "hub_frames_per_day": radios[0]["frames_per_day"],
            "display_frames": displays,
            "tariff_switches": [{"utc": s[0], "from": s[1], "to": s[2], "latency_ms": s[3]}
                                for s in self.switches],
            "hourly": self.hourly, "p1_telegrams": self.telegrams,
            "air_transmissions": self.medium.transmissions - b.get("tx", 0),
            "air_collisions": self.medium.collisions - b.get("collisions", 0),
            "heap_hour1": self.heap.get("hour1"), "heap_end": self.heap["end"],
            "heap_growth": growth, "heap_growth_max": HEAP_GROWTH_MAX,
            "network_key": NETWORK_KEY.hex().upper(),
            "install_codes": [install_code(i).hex().upper()
                              for i in range(len(self.displays) + 1)],
        }
