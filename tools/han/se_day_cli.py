"""python -m tools.han se-day [--hours 24] [--displays 3] [--gas-report-s 300] [--seed N]
                             [--start UTC] [--pcap FILE] [--tracemalloc] [--json]

The command line of the simulated day (tools/han/se_day.py, its checks in
tools/han/se_day_checks.py): the arguments, the run, and the summary printed from the
result (or the result as JSON with --json); exit status 1 when a check failed.
The HAN's AES block is the host's (se_house.host_aes) unless --python-aes.
"""
import json

from tools.han.se_day import START_UTC, run


def add_parser(sub):
    p = sub.add_parser("se-day", help="a simulated day of the Smart Energy HAN: meter and "
                                      "hub, gas meter, displays, P1 (tools/han/se_day.py)")
    p.add_argument("--hours", type=int, default=24)
    p.add_argument("--displays", type=int, default=3)
    p.add_argument("--gas-report-s", type=int, default=300)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", type=int, default=START_UTC,
                   help="UTC second the day starts (default Thu 2026-11-26 00:00 CET)")
    p.add_argument("--pcap", help="write every transmission to this pcap file")
    p.add_argument("--tracemalloc", action="store_true",
                   help="also trace the heap with tracemalloc (about 5x slower)")
    p.add_argument("--python-aes", action="store_true",
                   help="the firmware's Python AES block (default: the host's)")
    p.add_argument("--json", action="store_true")


def main(a):
    r = run(a.hours, a.displays, a.gas_report_s, a.seed, a.start, a.pcap, a.tracemalloc,
            not a.python_aes)
    print(json.dumps(r) if a.json else summary(r))
    return 0 if r["ok"] else 1


def summary(r):
    out = [
        "se-day: %d h, %d displays, run %.1f s: %s" % (
            r["hours"], r["displays"], r["run_s"], "OK" if r["ok"] else "FAILED"),
        "gas: %d reports sent (%d captured in the day, %d expected), %d in the mailbox, %d "
        "in P1, %d acked, %d lost, %d duplicates" % (
            r["gas_reports_sent"], r["gas_reports_in_day"], r["gas_reports_expected"],
            r["gas_mailbox"], r["gas_in_p1"], r["gas_acked"], r["gas_lost"],
            r["gas_duplicates"]),
        "gas meter: duty cycle %.4f %% (%.1f s on), %d frames sent + %d received = %d a day "
        "(and %d + %d ACKs = %d a day), %d polls (%d fast), %d time syncs" % (
            r["gas_duty_cycle_pct"], r["gas_on_s"], r["gas_frames_tx"], r["gas_frames_rx"],
            r["gas_frames_per_day"], r["gas_acks_tx"], r["gas_acks_rx"],
            r["gas_acks_per_day"], r["gas_polls"], r["gas_fast_polls"], r["gas_time_syncs"]),
    ]
    for d in r["display_frames"]:
        out.append("%s: %d frames sent + %d received = %d a day (and %d + %d ACKs), %d gas "
                   "readings taken, resubscribed %d" % (
                       d["name"], d["tx"], d["rx"], d["frames_per_day"], d["tx_acks"],
                       d["rx_acks"], d["gas_readings_taken"], d["resubscribed"]))
    for s in r["tariff_switches"]:
        out.append("tariff %d -> %d at %d: on the displays after %s ms" % (
            s["from"], s["to"], s["utc"], sorted(s["latency_ms"].values())))
    out.append("hourly: %d display views checked against P1, %d agreed" % (
        len(r["hourly"]) * r["displays"], sum(h["displays_ok"] for h in r["hourly"])))
    out.append("time: max |device - hub| at the 10-minute samples (one shared clock: no "
               "drift): %s" % ", ".join("%s %d ms" % (k, v) for k, v in
                                        sorted(r["time_max_error_ms"].items())))
    out.append("P1: %d telegrams; air: %d transmissions, %d collisions" % (
        r["p1_telegrams"], r["air_transmissions"], r["air_collisions"]))
    h1, h2, g = r["heap_hour1"] or {}, r["heap_end"], r["heap_growth"]
    hours = [h["heap_retained"] for h in r["hourly"] if "heap_retained" in h]
    out.append("heap retained by the firmware: hour 1 %s B, end %d B, growth %s B (max %d); "
               "hourly %d .. %d B" % (h1.get("retained"), h2["retained"], g.get("retained"),
                                      r["heap_growth_max"], min(hours or [0]),
                                      max(hours or [0])))
    if "firmware" in h2:
        out.append("heap traced (tracemalloc), the firmware's allocations: hour 1 %s B, end "
                   "%d B, growth %s B; everything traced %s -> %d B" % (
                       h1.get("firmware"), h2["firmware"], g.get("firmware"),
                       h1.get("traced"), h2["traced"]))
    for f in r["failures"]:
        out.append("FAIL " + f)
    return "\n".join(out)
