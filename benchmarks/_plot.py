"""``--plot``: calls accepted in the trailing window over time, against the limit, per contender."""

from __future__ import annotations

import bisect
from pathlib import Path
from typing import Any


def windowed(accepted: list[float], period: float, step: float) -> tuple[list[float], list[int]]:
    """At every ``step`` seconds, how many accepted calls fall in ``(t - period, t]``."""
    times = sorted(accepted)
    if not times:
        return [], []
    xs: list[float] = []
    ys: list[int] = []
    t = 0.0
    end = times[-1] + step
    while t <= end:
        xs.append(t)
        ys.append(bisect.bisect_right(times, t) - bisect.bisect_right(times, t - period))
        t += step
    return xs, ys


def plot(series: dict[str, dict[str, Any]], path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(series)
    fig, axes = plt.subplots(len(names), 1, figsize=(9, 2.1 * len(names)), squeeze=False)
    for ax, name in zip(axes[:, 0], names, strict=True):
        s = series[name]
        xs, ys = windowed(s["accepted"], s["period"], s["period"] / 60)
        ax.plot(xs, ys, linewidth=1.2, label=f"accepted calls in the last {s['period']:g} s")
        ax.axhline(s["limit"], color="tab:red", linestyle="--", linewidth=1, label="limit")
        if s["throttled"]:
            ax.plot(s["throttled"], [0] * len(s["throttled"]), "x", color="tab:red",
                    markersize=4, label=f"429 ({len(s['throttled'])})")  # fmt: skip
        ax.set_title(name, fontsize=10, loc="left")
        ax.set_ylim(0, s["limit"] * 1.45)
        ax.set_ylabel("calls / window", fontsize=8)
        ax.legend(fontsize=7, loc="upper right")
    axes[-1, 0].set_xlabel("seconds since the first call")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
