"""The open-loop charts: latency against achieved throughput, with the SLO and the knee."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from infragap.reports import charts
from infragap.reports.charts import Colours, new_figure, styled, text, to_figure
from infragap.reports.model import Figure

if TYPE_CHECKING:
    from infragap.reports.sections.load_views import Capacity, OpenLevel

LABELS = {"p50": "p50", "p90": "p90", "p95": "p95", "p99": "p99", "p99_9": "p99.9"}


def panel_keys(found: Mapping[str, Capacity]) -> list[str]:
    """p50, then the SLO's highest percentile (p99 without an SLO)."""
    limits = [key for cap in found.values() for key in cap.limits_ms if key in LABELS]
    order = list(LABELS)
    watched = max(limits, key=order.index, default="p99")
    return ["p50", watched] if watched != "p50" else ["p50", "p99"]


def _slo_limit(found: Mapping[str, Capacity], key: str) -> float | None:
    return next((cap.limits_ms[key] for cap in found.values() if key in cap.limits_ms), None)


def latency_throughput_curve(
    points: Mapping[str, Sequence[OpenLevel]], found: Mapping[str, Capacity], palette: Colours
) -> Figure | None:
    """Per variant, p50 and the SLO percentile against achieved req/s over every open-loop
    level; the SLO limit dashed and each variant's capacity trial ringed (the knee)."""
    keys = panel_keys(found)
    series = {
        name: [lv for lv in levels if (lv.achieved or 0) > 0] for name, levels in points.items()
    }
    if not any(series.values()):
        return None
    with styled():
        fig, axes = new_figure(len(keys), height_in=3.9, sharey=True)
        for ax, key in zip(axes, keys, strict=True):
            for name, levels in series.items():
                kept = [
                    (lv, float(value))
                    for lv in levels
                    if (value := lv.level.latency(key)) is not None and value > 0
                ]
                if not kept:
                    continue
                colour, marker = palette.colour(name), palette.marker(name)
                ax.plot(
                    [lv.achieved for lv, _ in kept],
                    [y for _, y in kept],
                    color=colour,
                    marker=marker,
                    label=text(name),
                )
                best = found[name].best if name in found else None
                for lv, y in kept:
                    if lv.overloaded:
                        ax.plot(
                            [lv.achieved],
                            [y],
                            marker=marker,
                            markerfacecolor="white",
                            markeredgecolor=colour,
                            linestyle="none",
                        )
                    if best is not None and lv.trial and lv.offered == best.offered:
                        ax.plot(
                            [lv.achieved],
                            [y],
                            marker="o",
                            markersize=15,
                            markerfacecolor="none",
                            markeredgecolor=colour,
                            markeredgewidth=1.6,
                            linestyle="none",
                        )
                        ax.annotate(
                            "knee",
                            (lv.achieved or 0.0, y),
                            textcoords="offset points",
                            xytext=(-8, 10),
                            ha="right",
                            fontsize=8,
                            color=colour,
                        )
            limit = _slo_limit(found, key)
            if limit is not None:
                ax.axhline(limit, color=charts.INK, linewidth=1, linestyle="--", zorder=1)
                ax.annotate(
                    f"SLO {LABELS[key]} ≤ {limit:g} ms",
                    (0.0, limit),
                    xycoords=("axes fraction", "data"),
                    textcoords="offset points",
                    xytext=(4, 4),
                    fontsize=8,
                    color=charts.INK,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0, "alpha": 0.8},
                )
            charts.log_scale(ax, "x")
            charts.log_scale(ax, "y")
            ax.set_title(f"{LABELS[key]} latency vs achieved throughput")
            ax.set_xlabel("achieved throughput (requests/s, log)")
        axes[0].set_ylabel("latency from intended send (ms, log)")
        charts.figure_legend(fig, axes)
        title = "Latency–throughput curve on the open loop"
        fig.suptitle(title, x=0.0, ha="left", fontweight="bold", fontsize=11)
        return to_figure(
            fig,
            title,
            f"Log-log plots of {LABELS[keys[0]]} and {LABELS[keys[1]]} latency against achieved "
            "throughput for each variant, one point per open-loop level, with the SLO limit "
            "as a dashed line and each variant's capacity ringed.",
            "One point per offered rate (the rates run and every trial of the SLO search), "
            "joined in order of the rate offered. Where a variant's curve turns up, queueing "
            "begins: the ringed point is the highest rate that still met the SLO (the knee). "
            "Hollow points are overloaded: the server fell behind the schedule (sends waited "
            "for a busy connection, or it achieved clearly less than offered), so past its "
            "capacity the curve can fold back to the left.",
        )
