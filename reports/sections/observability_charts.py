"""The observability section's charts: one function per chart, each returning a page
Figure (or None when there is nothing to draw)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from infragap.reports import charts
from infragap.reports import format as fmt
from infragap.reports.charts import Colours, new_figure, styled, text, to_figure
from infragap.reports.model import Figure
from infragap.reports.sections.observability_tables import (
    BARE,
    METRICS,
    NAIVE,
    OTHER_SERVER,
    Asked,
    Overhead,
)
from infragap.workloads.operator_questions import P99


def colours(names: Sequence[str]) -> Colours:
    """The same colour per variant in every chart: bare, log, the metrics, Triton, others."""
    return Colours([BARE, NAIVE, *METRICS, OTHER_SERVER, *names])


def overhead_forest(found: Sequence[Overhead], palette: Colours) -> Figure | None:
    labels = [f"{o.variant}, {fmt.users(o.users)}" for o in found]
    return charts.forest(
        labels,
        [
            ("req/s vs bare (below 1×: fewer requests)", [o.throughput for o in found]),
            ("p99 vs bare (above 1×: slower)", [o.p99 for o in found]),
        ],
        [palette.colour(o.variant) for o in found],
        title="What timing costs, against the untimed endpoint, with 95% bootstrap intervals",
        alt="Ratios of each timed variant's throughput and p99 latency to the untimed bare "
        "endpoint's at every user level, with 95% confidence intervals, on a log scale "
        "around 1.",
        caption="Dot: the measured ratio. Bar: its 95% bootstrap interval. A bar across the "
        "dashed line at 1× shows no measurable overhead at that load.",
    )


@dataclass(frozen=True)
class Pair:
    """One row of a dumbbell chart: an exact figure and what was read in its place."""

    label: str
    exact: float
    read: float
    colour: str
    clipped: bool = False  # the read value is a last bucket bound, not a measurement


def _positive(exact: Any, read: Any) -> tuple[float, float] | None:
    """Both values as floats when both are positive numbers: a log axis shows nothing else."""
    if isinstance(exact, (int, float)) and isinstance(read, (int, float)) and exact > 0 < read:
        return float(exact), float(read)
    return None


def answer_pairs(found: Sequence[Asked], palette: Colours) -> list[Pair]:
    """The p99 answer of every level that gave one, beside the load engine's exact p99."""
    pairs = []
    for asked in found:
        item = asked.items.get(P99) or {}
        values = _positive(item.get("exact"), item.get("value"))
        if values is not None:
            label = f"{asked.variant}, {fmt.users(asked.users)}"
            pairs.append(Pair(label, *values, palette.colour(asked.variant)))
    return pairs


def layout_pairs(fidelity: Mapping[str, Any], palette: Colours) -> list[Pair]:
    """Each layout's histogram quantiles beside the exact ones, on the same durations; a
    library's default layout in its variant's colour."""
    pairs = []
    for name, layout in (fidelity.get("layouts") or {}).items():
        for q, answer in (layout.get("answers") or {}).items():
            values = _positive(answer.get("exact_ms"), answer.get("histogram_ms"))
            if values is not None:
                clipped = bool(answer.get("above_last_bound"))
                pairs.append(Pair(f"{name}, {q}", *values, palette.colour(name), clipped))
    return pairs


def _dumbbell(ax: Any, pairs: Sequence[Pair], read_label: str) -> None:
    rows = len(pairs)
    for i, pair in enumerate(pairs):
        y = rows - 1 - i
        ax.plot([pair.exact, pair.read], [y, y], color=pair.colour, linewidth=1.6, zorder=2)
        ax.plot([pair.exact], [y], marker="o", color=pair.colour, markersize=7, linestyle="none")
        ax.plot(
            [pair.read],
            [y],
            marker="X" if pair.clipped else "D",
            markerfacecolor="white",
            markeredgecolor=pair.colour,
            markeredgewidth=1.5,
            markersize=7,
            linestyle="none",
        )
    ax.set_yticks(range(rows))
    ax.set_yticklabels([text(p.label, 40) for p in reversed(pairs)])
    ax.set_ylim(-0.7, rows - 0.3)
    ax.grid(axis="y", visible=False)
    charts.log_scale(ax, "x")
    ax.set_xlabel(f"ms (log): ● exact, ◇ {read_label}")


def answers_chart(found: Sequence[Asked], palette: Colours) -> Figure | None:
    pairs = answer_pairs(found, palette)
    if not pairs:
        return None
    with styled():
        fig, (ax,) = new_figure(1, height_in=1.2 + 0.34 * len(pairs))
        _dumbbell(ax, pairs, "answer")
        ax.set_title("p99 latency: the load engine's exact figure and each side's answer")
        return to_figure(
            fig,
            "The p99 answers against the exact p99",
            "Dumbbell chart: for each variant and user level, the p99 latency the load "
            "engine measured at the client and the p99 the timing log or PromQL answered, "
            "on a log scale in milliseconds.",
            "Filled dot: the client-side exact p99; hollow diamond: the answer. Both sides "
            "time the handler alone, so both land left of the client's figure by the HTTP "
            "server's own time; a histogram's buckets then move its answer either way (next "
            "part).",
        )


def layouts_chart(fidelity: Mapping[str, Any] | None, palette: Colours) -> Figure | None:
    pairs = layout_pairs(fidelity or {}, palette)
    if not pairs:
        return None
    with styled():
        fig, (ax,) = new_figure(1, height_in=1.2 + 0.34 * len(pairs))
        _dumbbell(ax, pairs, "histogram_quantile (✕: the last bound)")
        ax.set_title("Each bucket layout's quantiles on the same durations")
        return to_figure(
            fig,
            "Bucket layouts against the exact quantiles",
            "Dumbbell chart: for each bucket layout and quantile, the exact value over the "
            "durations and what Prometheus's histogram_quantile answers from the layout's "
            "buckets, on a log scale in milliseconds.",
            "Filled dot: exact; hollow diamond: read from the buckets. The line between them "
            "is the error the bucket layout alone makes; a cross marks a quantile above the "
            "last finite bound, read as that bound.",
        )
