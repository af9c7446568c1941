"""Matplotlib charts as self-contained SVG data URIs, drawn the same way every time.

Figures are built with the object API (`matplotlib.figure.Figure`, no pyplot), so
rendering a report leaves no global state behind and needs no display. The SVG carries
no date and uses a fixed id salt, so the same input draws the same bytes.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from infragap.errors import MissingDependency
from infragap.reports.bootstrap import RatioEstimate
from infragap.reports.model import Figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure as MplFigure

WIDTH_IN = 9.0
DPI = 96
INK = "#1f2933"
GRID = "#d9dee4"
MUTED = "#616e7c"
# Okabe-Ito: tells apart for colour-blind readers and in greyscale print (with markers).
PALETTE = ["#0072B2", "#D55E00", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#F0E442"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X"]

STYLE: dict[str, Any] = {
    "svg.hashsalt": "infragap",
    "svg.fonttype": "path",
    "font.family": ["DejaVu Sans"],
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9.5,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": GRID,
    "grid.linewidth": 0.6,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "text.color": INK,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "lines.linewidth": 1.8,
    "lines.markersize": 6,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
}


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise MissingDependency(
            "matplotlib (needed to draw the report's charts)", "report"
        ) from None
    return matplotlib


@contextmanager
def styled() -> Iterator[None]:
    """Draw inside this block to get the report's look without touching global settings."""
    matplotlib = _matplotlib()
    with matplotlib.rc_context(STYLE):
        yield


def new_figure(columns: int = 1, height_in: float = 3.6, sharey: bool = False) -> tuple:
    """A blank figure with `columns` side-by-side axes: (figure, [axes, ...])."""
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, columns, sharey=sharey, squeeze=False)[0]
    return fig, list(axes)


def to_figure(fig: MplFigure, title: str, alt: str, caption: str = "") -> Figure:
    """Serialise `fig` to an SVG data URI and wrap it as a page block."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    width, height = (round(x * DPI) for x in fig.get_size_inches())
    payload = base64.b64encode(buffer.getvalue()).decode("ascii")
    return Figure(
        title=title,
        uri=f"data:image/svg+xml;base64,{payload}",
        alt=alt,
        caption=caption,
        width=width,
        height=height,
    )


def text(value: object, limit: int = 40) -> str:
    """Data as literal chart text: `$` would start mathtext, long names would crowd."""
    raw = str(value)
    if len(raw) > limit:
        raw = raw[: limit - 1] + "…"
    return raw.replace("\\", "\\\\").replace("$", r"\$")


class Colours:
    """The same series name gets the same colour and marker in every chart of a page."""

    def __init__(self, preferred: Sequence[str] = ()) -> None:
        self._known: dict[str, int] = {}
        for name in preferred:
            self.index(name)

    def index(self, name: str) -> int:
        return self._known.setdefault(name, len(self._known))

    def colour(self, name: str) -> str:
        return PALETTE[self.index(name) % len(PALETTE)]

    def marker(self, name: str) -> str:
        return MARKERS[self.index(name) % len(MARKERS)]


def _log_label(value: float, _pos: object = None) -> str:
    return f"{value:g}"


def _minor_log_label(value: float, _pos: object = None) -> str:
    if value <= 0:
        return ""
    mantissa = round(value / 10 ** math.floor(math.log10(value)), 6)
    return f"{value:g}" if mantissa in (2.0, 5.0) else ""


def log_scale(ax: Axes, which: str = "y") -> None:
    """A log axis labelled with plain numbers (50, 100, 200), not 5×10^1."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    axis.set_major_formatter(FuncFormatter(_log_label))
    low, high = ax.get_ylim() if which == "y" else ax.get_xlim()
    few_decades = low > 0 and math.log10(high / low) < 1.5
    axis.set_minor_formatter(FuncFormatter(_minor_log_label) if few_decades else NullFormatter())


def figure_legend(fig: MplFigure, axes: Sequence[Axes]) -> None:
    """One legend for the whole figure, under the panels, so it never hides data."""
    found: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            found.setdefault(label, handle)
    if found:
        fig.legend(
            list(found.values()), list(found), loc="outside lower center", ncol=min(len(found), 4)
        )


def log_ratio_axis(ax: Axes, estimates: Sequence[RatioEstimate]) -> None:
    """A log x axis around 1 wide enough for every finite interval end."""
    ends = [
        v
        for e in estimates
        if e.known
        for v in (e.low, e.high, e.point)
        if v is not None and 0 < v < math.inf
    ]
    low = min([*ends, 1.0]) / 1.6
    high = max([*ends, 1.0]) * 1.6
    from matplotlib.ticker import FuncFormatter

    ax.set_xscale("log")
    ax.set_xlim(low, high)
    ax.axvline(1.0, color=MUTED, linewidth=1, linestyle="--", zorder=1)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}×"))
    few_decades = math.log10(high / low) < 1.5
    ax.xaxis.set_minor_formatter(
        FuncFormatter(lambda v, _pos: f"{_minor_log_label(v)}×" if _minor_log_label(v) else "")
        if few_decades
        else FuncFormatter(lambda v, _pos: "")
    )


def forest(
    labels: Sequence[str],
    panels: Sequence[tuple[str, Sequence[RatioEstimate]]],
    colours: Sequence[str],
    title: str,
    alt: str,
    caption: str = "",
) -> Figure | None:
    """Ratios with their intervals as horizontal bars on log axes, 1× dashed.

    One row per label, one panel per (panel title, estimates in label order); a row's
    colour is `colours[i]`. Returns None when no panel has a known estimate.
    """
    if not any(est.known for _, estimates in panels for est in estimates):
        return None
    rows = len(labels)
    with styled():
        fig, axes = new_figure(len(panels), height_in=1.1 + 0.32 * rows, sharey=True)
        for ax, (panel_title, estimates) in zip(axes, panels, strict=True):
            log_ratio_axis(ax, estimates)
            right_edge = ax.get_xlim()[1]
            for i, est in enumerate(estimates):
                if not est.known:
                    continue
                y = rows - 1 - i
                high = est.high if est.high is not None and math.isfinite(est.high) else right_edge
                ax.plot(
                    [est.low, high], [y, y], color=colours[i], linewidth=2.8, solid_capstyle="butt"
                )
                ax.plot(
                    [est.point],
                    [y],
                    marker="o",
                    color=colours[i],
                    markersize=7,
                    markeredgecolor="white",
                    linestyle="none",
                )
            ax.set_title(text(panel_title, 60))
            ax.set_xlabel("ratio (log scale)")
            ax.grid(axis="y", visible=False)
        axes[0].set_yticks(range(rows))
        axes[0].set_yticklabels([text(label, 48) for label in reversed(labels)])
        axes[0].set_ylim(-0.7, rows - 0.3)
        fig.suptitle(text(title, 100), x=0.0, ha="left", fontweight="bold", fontsize=11)
        figure = to_figure(fig, title, alt, caption)
    return figure
