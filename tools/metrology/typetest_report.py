"""The presentation of the type tests' rows (tools/metrology/typetest.py's run): the text
table printed by `python -m tools.metrology typetest` and the plot of additional error
versus current per condition with the limit envelopes."""
from tools.metrology.typetest import EXPORT, IB, IMAX, IMPORT, UN


def format_rows(rows):
    lines = ["%-8s %-30s %8s %4s %9s %9s %7s %s" % (
        "front", "test", "I (A)", "PF", "result", "ref err", "limit", "")]
    for r in rows:
        if r["test"] == "unavailable":
            lines.append("%-8s not run: %s" % (r["front_end"], r["condition"]))
            continue
        if r.get("not_applicable"):
            lines.append("%-8s %-30s not applicable (%s)" % (r["front_end"], r["condition"],
                                                              r["note"]))
            continue
        verdict = "pass" if r["passed"] else "FAIL"
        if r["test"] == "starting":
            lines.append("%-8s %-30s %8.3f %4s %+8.2f%% %9s %6.1f%% %s  (P %.2f W, creep %.2f W,"
                         " %d/%d s registering)" % (
                             r["front_end"], "starting " + r["condition"], r["current_a"], "1",
                             r["error_percent"], "", r["limit_percent"], verdict,
                             r["starting_power_w"], r["creep_w"], r["seconds_registering"],
                             r["seconds"]))
        elif r["test"] == "no_load":
            lines.append("%-8s %-30s %8s %4s %8d mWs %8s %7s %s  (idle |P| up to %.3f W, "
                         "|Q| %.3f var; creep %.2f W; without it %d mWs +A, %d mWs -A)" % (
                             r["front_end"], "no-load " + r["condition"], "0", "-",
                             sum(r["registered_mws"]), "", "0", verdict, r["idle_peak_p_w"],
                             r["idle_peak_q_var"], r["creep_w"],
                             r["without_threshold_mws"][IMPORT],
                             r["without_threshold_mws"][EXPORT]))
        else:
            lines.append("%-8s %-30s %8.3f %4s %+8.3f%% %+8.3f%% %6.2f%% %s%s" % (
                r["front_end"], r["condition"], r["current_a"], r["pf"],
                r["additional_error_percent"], r["reference_error_percent"],
                r["limit_percent"], verdict, "" if r["standard_point"] else "  (sweep)"))
        if r.get("note"):
            lines[-1] += "  [%s]" % r["note"]
    return lines



def plot(rows, path):
    """Additional error versus current per influence condition, one panel each, every front
    end in its colour with its limit envelope (dashed); the last panel lists the starting
    and no-load results. Written to a PNG file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = []
    for r in rows:
        if "additional_error_percent" in r and r["test"] not in keys:
            keys.append(r["test"])
    panels = len(keys) + 1
    cols = 4
    lines = (panels + cols - 1) // cols
    fig, axes = plt.subplots(lines, cols, figsize=(4 * cols, 2.8 * lines), squeeze=False)
    colours = ["tab:blue", "tab:red", "tab:green", "tab:purple"]
    fronts = []
    for r in rows:
        if r["front_end"] not in fronts:
            fronts.append(r["front_end"])
    for n, key in enumerate(keys):
        ax = axes[n // cols][n % cols]
        for j, name in enumerate(fronts):
            pts = sorted((r for r in rows if r["test"] == key and r["front_end"] == name
                          and "additional_error_percent" in r),
                         key=lambda r: r["current_a"])
            if not pts:
                continue
            colour = colours[j % len(colours)]
            xs = [r["current_a"] for r in pts]
            ax.plot(xs, [r["additional_error_percent"] for r in pts], "o-", color=colour,
                    markersize=3, label=name)
            lim = pts[0]["limit_percent"]
            span = [min(xs) * 0.7, max(xs) * 1.4]
            ax.plot(span, [lim, lim], "--", color=colour, linewidth=0.8)
            ax.plot(span, [-lim, -lim], "--", color=colour, linewidth=0.8)
            std = [r for r in pts if r["standard_point"]]
            ax.plot([r["current_a"] for r in std], [r["additional_error_percent"] for r in std],
                    "s", color=colour, markersize=6, fillstyle="none")
        ax.set_xscale("log")
        label = [r["condition"] for r in rows if r["test"] == key][0]
        ax.set_title(label, fontsize=9)
        ax.grid(True, which="both", linewidth=0.3)
        ax.tick_params(labelsize=7)
        if n % cols == 0:
            ax.set_ylabel("additional error (%)", fontsize=8)
        if n == 0:
            ax.legend(fontsize=7)
    for n in range(len(keys), lines * cols):
        axes[n // cols][n % cols].axis("off")
    ax_text = axes[len(keys) // cols][len(keys) % cols]
    summary = []
    for r in rows:
        if r["test"] == "starting":
            summary.append("%s starting: %+.1f %% in %d s (creep %.1f W < %.1f W) %s" % (
                r["front_end"], r["error_percent"], r["seconds"], r["creep_w"],
                r["starting_power_w"], "pass" if r["passed"] else "FAIL"))
        elif r["test"] == "no_load":
            summary.append("%s no-load: %d mWs in %d s (idle |P| <= %.3f W) %s" % (
                r["front_end"], sum(r["registered_mws"]), r["seconds"], r["idle_peak_p_w"],
                "pass" if r["passed"] else "FAIL"))
        elif r["test"] == "unavailable":
            summary.append("%s: not run" % r["front_end"])
        elif r.get("not_applicable"):
            summary.append("%s %s: not applicable" % (r["front_end"], r["test"]))
    ax_text.text(0.0, 1.0, "\n".join(summary), va="top", fontsize=7, family="monospace",
                 transform=ax_text.transAxes, wrap=True)
    fig.suptitle("Type tests: additional error vs current (A), limits dashed; "
                 "squares: the standard's test point (Un %g V, Ib %g A, Imax %g A)"
                 % (UN, IB, IMAX), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
