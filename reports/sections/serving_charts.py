"""The serving section's charts: one function per chart, each returning a page Figure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from infragap.reports import charts
from infragap.reports import format as fmt
from infragap.reports.charts import Colours, new_figure, styled, text, to_figure
from infragap.reports.model import Figure
from infragap.reports.sections.serving_data import (
    BASELINES,
    JSON_PROVEN,
    PROVEN,
    TRITON_PHASES,
    Advantage,
    Level,
    triton_phases,
)

if TYPE_CHECKING:
    Levels = dict[str, dict[int, Level]]

PERCENTILE_KEYS = (
    ("p50", "p50"),
    ("p90", "p90"),
    ("p95", "p95"),
    ("p99", "p99"),
    ("p99_9", "p99.9"),
)
MAX_PERCENTILE_PANELS = 4


def colours(levels: Levels) -> Colours:
    """Triton blue, then the naive variants (reload vermillion, hoisted orange, ...), then
    Triton over JSON and whatever else."""
    return Colours([PROVEN, *BASELINES, JSON_PROVEN, *levels])


def optional(figure: Figure | None) -> list[Figure]:
    return [figure] if figure is not None else []


def _series(
    ax: Any, name: str, xs: Sequence[float], ys: Sequence[float], palette: Colours, **extra: Any
) -> None:
    ax.plot(
        xs, ys, color=palette.colour(name), marker=palette.marker(name), label=text(name), **extra
    )


def advantage_forest(found: list[Advantage], palette: Colours) -> Figure | None:
    labels = [f"vs {adv.baseline}, {fmt.users(adv.users)}" for adv in found]
    return charts.forest(
        labels,
        [
            ("throughput ratio (higher is better)", [a.throughput for a in found]),
            ("p99 latency, lower by (higher is better)", [a.tail for a in found]),
        ],
        [palette.colour(adv.baseline) for adv in found],
        title="Triton's advantage with 95% bootstrap intervals",
        alt="Ratios of Triton's throughput and p99 latency against each naive variant at "
        "every user level, with 95% confidence intervals, on a log scale around 1.",
        caption="Dot: the measured ratio. Bar: its 95% bootstrap interval. A bar that crosses "
        "the dashed line at 1× shows no clear difference.",
    )


def throughput_latency(levels: Levels, palette: Colours) -> Figure | None:
    points = {
        name: [
            (lv.users, lv.record.get("throughput_rps") or 0.0, lv.latency("p50"), lv.latency("p99"))
            for _, lv in sorted(by_users.items())
        ]
        for name, by_users in levels.items()
    }
    if not any(rps > 0 for rows in points.values() for _, rps, _, _ in rows):
        return None
    with styled():
        fig, axes = new_figure(2, height_in=3.8, sharey=True)
        for ax, column, label in ((axes[0], 2, "median (p50)"), (axes[1], 3, "tail (p99)")):
            for name, rows in points.items():
                kept = [
                    (row[0], row[1], float(row[column] or 0.0))
                    for row in rows
                    if row[1] > 0 and row[column] is not None
                ]
                if not kept:
                    continue
                _series(ax, name, [k[1] for k in kept], [k[2] for k in kept], palette)
                for users, x, y in kept:
                    ax.annotate(
                        f"{users}u",
                        (x, y),
                        textcoords="offset points",
                        xytext=(5, 4),
                        fontsize=7.5,
                        color=charts.MUTED,
                    )
            charts.log_scale(ax, "x")
            charts.log_scale(ax, "y")
            ax.set_title(f"{label} latency vs throughput")
            ax.set_xlabel("throughput (requests/s, log)")
        axes[0].set_ylabel("latency (ms, log)")
        charts.figure_legend(fig, axes)
        fig.suptitle(
            "Throughput vs latency across user levels",
            x=0.0,
            ha="left",
            fontweight="bold",
            fontsize=11,
        )
        return to_figure(
            fig,
            "Throughput vs latency across user levels",
            "Log-log plots of p50 and p99 latency against throughput for each variant, one "
            "point per user level.",
            "Each point is one user level (labelled with its closed-loop user count); down and "
            "to the right is better.",
        )


def _percentile_levels(levels: Levels) -> list[int]:
    users = sorted({u for by_users in levels.values() for u in by_users})
    if len(users) <= MAX_PERCENTILE_PANELS:
        return users
    step = (len(users) - 1) / (MAX_PERCENTILE_PANELS - 1)
    return sorted({users[round(i * step)] for i in range(MAX_PERCENTILE_PANELS)})


def percentiles(levels: Levels, palette: Colours) -> Figure | None:
    shown = _percentile_levels(levels)
    if not shown:
        return None
    with styled():
        fig, axes = new_figure(len(shown), height_in=3.4, sharey=True)
        drawn = False
        for ax, users in zip(axes, shown, strict=True):
            for name, by_users in levels.items():
                level = by_users.get(users)
                if level is None:
                    continue
                found = [level.latency(key) for key, _ in PERCENTILE_KEYS]
                values = [v for v in found if v is not None and v > 0]
                if len(values) < len(found):
                    continue  # a log axis cannot show a missing or zero latency
                _series(ax, name, range(len(values)), values, palette)
                drawn = True
            ax.set_xticks(range(len(PERCENTILE_KEYS)))
            ax.set_xticklabels([label for _, label in PERCENTILE_KEYS])
            charts.log_scale(ax, "y")
            ax.set_title(fmt.users(users))
            ax.set_xlabel("percentile")
        if not drawn:
            return None
        axes[0].set_ylabel("latency (ms, log)")
        charts.figure_legend(fig, axes)
        fig.suptitle(
            "Latency percentiles by user level", x=0.0, ha="left", fontweight="bold", fontsize=11
        )
        return to_figure(
            fig,
            "Latency percentiles by user level",
            "Latency at p50, p90, p95, p99 and p99.9 for each variant, one panel per user "
            "level, log scale.",
            "Exact percentiles over every successful request in the measured window. A steep "
            "climb to the right is a heavy tail.",
        )


def timeline(levels: Levels, palette: Colours) -> Figure | None:
    series = {}
    for name, by_users in levels.items():
        if by_users:
            top = by_users[max(by_users)]
            if top.per_second:
                series[name] = top
    if not series:
        return None
    from matplotlib.ticker import MaxNLocator

    positive = [v for lv in series.values() for v in lv.per_second if v > 0]
    with styled():
        fig, (ax,) = new_figure(1, height_in=3.0)
        for name, level in series.items():
            seconds = list(range(1, len(level.per_second) + 1))
            _series(ax, name, seconds, level.per_second, palette, markersize=3.5, linewidth=1.3)
            ax.lines[-1].set_label(text(f"{name} ({fmt.users(level.users)})"))
        if positive and max(positive) / min(positive) > 20:
            charts.log_scale(ax, "y")
            ax.set_ylabel("requests completed (log)")
        else:
            ax.set_ylim(bottom=0)
            ax.set_ylabel("requests completed")
        ax.set_xlabel("second of the measured window")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        charts.figure_legend(fig, [ax])
        ax.set_title("Requests completed per second at each variant's highest user level")
        return to_figure(
            fig,
            "Requests completed per second",
            "Per-second throughput samples over the measured window for each variant at its "
            "highest user level.",
            "These per-second samples are what the throughput intervals are bootstrapped from; "
            "a trend or a gap here would make them less trustworthy.",
        )


def batching(levels: dict[int, Level]) -> Figure | None:
    users = [u for u in sorted(levels) if levels[u].triton]
    if not users:
        return None
    labels = [str(u) for u in users]
    batch = [levels[u].triton.get("mean_batch_size") or 0.0 for u in users]
    phases = [triton_phases(levels[u].triton) for u in users]
    with styled():
        fig, (left, right) = new_figure(2, height_in=3.2)
        bars = left.bar(labels, batch, color=charts.PALETTE[0], width=0.55)
        left.bar_label(bars, labels=[f"{b:.1f}" for b in batch], padding=2, fontsize=8.5)
        left.set_title("mean batch size")
        left.set_xlabel("concurrent users")
        left.set_ylabel("rows per model execution")
        left.margins(y=0.15)
        bottom = [0.0] * len(users)
        colours = {
            "queue": charts.PALETTE[5],
            "input": charts.PALETTE[3],
            "inference": charts.PALETTE[0],
            "output": charts.PALETTE[4],
        }
        for label, _, _ in TRITON_PHASES:
            values = [(p[label] or 0.0) / 1000 for p in phases]
            if not any(values):
                continue
            right.bar(labels, values, bottom=bottom, color=colours[label], width=0.55, label=label)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        right.set_title("time per request inside Triton")
        right.set_xlabel("concurrent users")
        right.set_ylabel("ms per request")
        right.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), reverse=True)
        right.margins(y=0.12)
        fig.suptitle(
            "Triton's dynamic batching by user level",
            x=0.0,
            ha="left",
            fontweight="bold",
            fontsize=11,
        )
        return to_figure(
            fig,
            "Triton's dynamic batching by user level",
            "Bar charts of Triton's mean batch size and of the time a request spends queued "
            "and computing inside Triton at each user level.",
            "More users give the dynamic batcher more requests to group, so batches grow. A "
            "request waits in the queue, then counts the whole time of the batch it ran in.",
        )


def resources(levels: Levels, palette: Colours) -> Figure | None:
    users = sorted({u for by_users in levels.values() for u in by_users})
    names = list(levels)
    if not users or not names:
        return None
    width = 0.8 / len(names)
    with styled():
        fig, (left, right) = new_figure(2, height_in=3.2)
        for i, name in enumerate(names):
            xs = [j + (i - (len(names) - 1) / 2) * width for j in range(len(users))]
            cpu = [_server(levels, name, u, "cpu_s") for u in users]
            rss = [_server(levels, name, u, "peak_rss_bytes") / 2**20 for u in users]
            for ax, values in ((left, cpu), (right, rss)):
                ax.bar(xs, values, width=width * 0.92, color=palette.colour(name), label=text(name))
        for ax, title, unit in (
            (left, "server CPU time per level", "CPU seconds"),
            (right, "server peak memory (RSS)", "MiB"),
        ):
            ax.set_xticks(range(len(users)))
            ax.set_xticklabels([str(u) for u in users])
            ax.set_xlabel("concurrent users")
            ax.set_ylabel(unit)
            ax.set_title(title)
            ax.grid(axis="x", visible=False)
        charts.figure_legend(fig, [right])
        fig.suptitle("Server CPU and memory", x=0.0, ha="left", fontweight="bold", fontsize=11)
        return to_figure(
            fig,
            "Server CPU and memory",
            "Grouped bars of server CPU seconds and peak resident memory for each variant at "
            "each user level.",
            "CPU seconds cover the whole level, warm-up included; memory is the peak resident "
            "set of the server's process tree.",
        )


def _server(levels: Levels, name: str, users: int, key: str) -> float:
    level = levels[name].get(users)
    return float((level.server.get(key) or 0.0) if level else 0.0)
