"""The pipelines section's chart: a Gantt-style timeline of every attempt, per side."""

from __future__ import annotations

from typing import Any

from infragap.reports.charts import MUTED, PALETTE, styled, text, to_figure
from infragap.reports.model import Figure

SIDE_TITLES = {"naive": "shell script (naive)", "airflow": "Airflow DAG (proven)"}
# Runs alternate between two shades of the side's colour so neighbouring runs stand apart.
SHADES = {"naive": ("#E69F00", "#B07A00"), "airflow": ("#56B4E9", "#0072B2")}
FAILED = PALETTE[1]  # vermillion
MAX_DATE_LABELS = 10


def timeline(scenario: str, record: dict[str, Any], steps: list[str]) -> Figure | None:
    """Steps on rows, attempts as bars from each side's first start, failures marked."""
    sides = {
        side: data.get("attempts") or []
        for side, data in (record.get("sides") or {}).items()
        if data.get("attempts")
    }
    if not sides:
        return None
    from matplotlib.figure import Figure as MplFigure
    from matplotlib.patches import Patch

    dates = list(record.get("dates") or [])
    with styled():
        height = 1.2 + 1.25 * len(sides)
        fig = MplFigure(figsize=(9.0, height), dpi=96, layout="constrained")
        axes = fig.subplots(len(sides), 1, sharex=True, squeeze=False)[:, 0]
        for ax, (side, attempts) in zip(axes, sides.items(), strict=True):
            _draw_side(ax, side, attempts, steps, dates)
        axes[-1].set_xlabel("seconds since the side's first step started")
        handles = [
            Patch(facecolor=SHADES["naive"][0], label="script step (runs alternate shades)"),
            Patch(facecolor=SHADES["airflow"][1], label="Airflow task try"),
            Patch(facecolor=FAILED, hatch="///", edgecolor="white", label="failed attempt"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncol=3)
        fig.suptitle(
            text(f"{scenario}: every step attempt over time", 100),
            x=0.0,
            ha="left",
            fontweight="bold",
            fontsize=11,
        )
        figure = to_figure(
            fig,
            f"Timeline of the {scenario} scenario",
            f"Gantt chart of the {scenario} scenario: for each side, one row per pipeline step "
            "and one bar per attempt, failed attempts in red.",
            caption="Bars are attempts; their length is the step's duration. The script's "
            "bars come from timing each step of run_pipeline.sh; Airflow's from the start and "
            "end dates of task tries in its metadata database. Gaps are retry delays, "
            "start-up and scheduling.",
        )
    return figure


def _draw_side(ax: Any, side: str, attempts: list[dict], steps: list[str], dates: list[str]):
    t0 = min(a["start"] for a in attempts)
    shades = SHADES.get(side, (PALETTE[0], PALETTE[0]))
    rows = {step: len(steps) - 1 - i for i, step in enumerate(steps)}
    for attempt in attempts:
        y = rows.get(attempt["step"])
        if y is None:
            continue
        index = dates.index(attempt["date"]) if attempt["date"] in dates else 0
        failed = attempt["state"] != "success"
        ax.broken_barh(
            [(attempt["start"] - t0, max(attempt["duration_s"], 0.05))],
            (y - 0.36, 0.72),
            facecolors=FAILED if failed else shades[index % 2],
            edgecolor="white",
            linewidth=0.5,
            hatch="///" if failed else None,
        )
        if failed:
            ax.plot([attempt["end"] - t0], [y], marker="x", color=FAILED, markersize=6)
    if len(dates) <= MAX_DATE_LABELS:
        # Label where each date's work first starts (a rerun repeats earlier dates unlabelled).
        for day in dates:
            starts = [a["start"] for a in attempts if a["date"] == day]
            if starts:
                ax.annotate(
                    day[5:],
                    (min(starts) - t0, len(steps) - 0.45),
                    fontsize=7.5,
                    color=MUTED,
                    va="bottom",
                )
    ax.set_yticks(list(rows.values()))
    ax.set_yticklabels(list(rows))
    ax.set_ylim(-0.6, len(steps) - 0.1)
    ax.set_title(text(SIDE_TITLES.get(side, side)))
    ax.grid(axis="y", visible=False)
