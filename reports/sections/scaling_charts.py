"""The scaling section's chart: the model's offered load against the ready capacity of
fixed-for-peak provisioning and of the HPA, one panel per variant (a model, labelled so)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from infragap.reports.charts import INK, PALETTE, WIDTH_IN, styled, text, to_figure
from infragap.reports.model import Figure
from infragap.reports.sections.scaling_tables import FIXED_PEAK, HPA, strategy_name

SHOWN = {FIXED_PEAK: PALETTE[1], HPA: PALETTE[0]}  # vermillion, blue
SURGE = "#eef1f4"
HOUR_S = 3600.0


def _steps(series: Mapping[str, Any], key: str) -> tuple[list[float], list[float]] | None:
    t, values = series.get("t_s") or [], series.get(key) or []
    if not t or len(t) != len(values):
        return None
    return [float(x) for x in t], [float(v) for v in values]


def _drawable(by_strategy: Mapping[str, Mapping[str, Any]]) -> bool:
    return any(
        _steps((by_strategy.get(name) or {}).get("series") or {}, "ready_capacity_rps_min")
        for name in SHOWN
    )


def load_vs_capacity(
    trace: Mapping[str, Any], per_variant: Mapping[str, Mapping[str, Mapping[str, Any]]]
) -> Figure | None:
    """Offered load (each bucket's max) and ready capacity (each bucket's min) over the
    trace, per variant, for fixed for peak and the HPA; the unplanned surge shaded."""
    drawn = {name: found for name, found in per_variant.items() if _drawable(found)}
    if not drawn:
        return None
    from matplotlib.figure import Figure as MplFigure

    name = str(trace.get("name") or "trace")
    in_hours = float(trace.get("duration_s") or 0) > 2 * HOUR_S
    scale, unit = (HOUR_S, "hours") if in_hours else (60.0, "minutes")
    step = _bucket_s(drawn)
    with styled():
        fig = MplFigure(figsize=(WIDTH_IN, 1.0 + 2.3 * len(drawn)), dpi=96, layout="constrained")
        axes = fig.subplots(len(drawn), 1, sharex=True, squeeze=False)[:, 0]
        for ax, (variant, by_strategy) in zip(axes, drawn.items(), strict=True):
            _panel(ax, variant, by_strategy, trace, scale)
        axes[-1].set_xlabel(f"{unit} into the trace")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 4))
        fig.suptitle(
            text(f"Model: offered load against ready capacity, {name}", 100),
            x=0.0,
            ha="left",
            fontweight="bold",
            fontsize=11,
        )
        figure = to_figure(
            fig,
            f"Model: offered load against ready capacity, {name}",
            f"Modelled step charts of the {name} trace, one panel per serving variant: the "
            "offered load in requests per second, and the capacity of the replicas ready to "
            "serve under fixed-for-peak provisioning and under the HPA; where the load line "
            "rises above a capacity line, that strategy is over the SLO.",
            caption=f"A model, not a measurement. Ready capacity = replicas serving × the "
            f"measured per-replica SLO capacity. Drawn per {_span(step)}: the offered load as "
            "each bucket's highest rate, ready capacity as its lowest, so a shortfall of a few "
            "seconds shows as wide as its bucket. Shaded: the unplanned surge. Shortfalls are "
            "filled in the strategy's colour.",
        )
    return figure


def _bucket_s(drawn: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> float:
    for by_strategy in drawn.values():
        for record in by_strategy.values():
            step = (record.get("series") or {}).get("step_s")
            if step:
                return float(step)
    return 0.0


def _span(seconds: float) -> str:
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _edges(t: Sequence[float], step: float) -> list[float]:
    return [*t, t[-1] + step]


def _panel(
    ax: Any,
    variant: str,
    by_strategy: Mapping[str, Mapping[str, Any]],
    trace: Mapping[str, Any],
    scale: float,
) -> None:
    start, end = trace.get("spike_start_s"), trace.get("spike_end_s")
    if start is not None and end is not None:
        ax.axvspan(
            float(start) / scale, float(end) / scale, color=SURGE, zorder=0, label="unplanned surge"
        )
    offered = None
    for name, colour in SHOWN.items():
        series = (by_strategy.get(name) or {}).get("series") or {}
        ready = _steps(series, "ready_capacity_rps_min")
        load = _steps(series, "offered_rps_max")
        if ready is None:
            continue
        step = float(series.get("step_s") or 0) or 1.0
        xs = [x / scale for x in _edges(ready[0], step)]
        capacity = [*ready[1], ready[1][-1]]
        ax.step(
            xs, capacity, where="post", color=colour, label=f"ready capacity, {strategy_name(name)}"
        )
        if load is not None:
            demand = [*load[1], load[1][-1]]
            offered = offered or (xs, demand)
            ax.fill_between(
                xs,
                capacity,
                demand,
                where=[d > c for d, c in zip(demand, capacity, strict=True)],
                step="post",
                color=colour,
                alpha=0.3,
                linewidth=0,
            )
    if offered is not None:
        ax.step(*offered, where="post", color=INK, linewidth=1.2, label="offered load")
    ax.set_ylim(bottom=0)
    ax.set_ylabel("req/s")
    ax.set_title(text(f"{variant} (model)"))
