"""The BAIOP run's figures (matplotlib, headless)."""


def period_histogram(gaps, path, profile):
    """Histogram of the times between telegram starts (ms), with the nominal period."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ms = [g * 1000 for g in gaps]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.hist(ms, bins=40, color="#3b6ea5")
    ax.set_xlabel("time between telegram starts (ms)")
    ax.set_ylabel("telegrams")
    ax.set_title("P1 period, profile %s: %d gaps, %.1f-%.1f ms" % (profile, len(ms), min(ms),
                                                                    max(ms)))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
