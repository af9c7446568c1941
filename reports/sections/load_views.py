"""The load engine's open-loop results as report blocks, shared by every load-driven suite.

A variant of a load-driven suite's results section (see infragap.suites.levels) may hold,
besides its closed-loop "levels", "rates" (open-loop levels, in the order run) and
"capacity" (the SLO search: every trial, and the best one that met the SLO). This module
reads them leniently (older files have neither and get no block from here) and turns
them into tables, claims, verdict sentences, warnings and comparison metrics. Pure: plain
data in, page blocks out; the curve chart is in `load_charts`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from infragap.reports import format as fmt
from infragap.reports.bootstrap import RatioEstimate, mean_interval, ratio_of_means
from infragap.reports.calibration import calibration_warnings
from infragap.reports.charts import Colours
from infragap.reports.compare import Metric
from infragap.reports.model import Block, Cell, Claim, Part, Table, Text, Tone
from infragap.reports.records import LevelRecord
from infragap.reports.sections import load_charts
from infragap.reports.sections.serving_data import (
    MIN_SECONDS,
    Level,
    level_metrics,
    variant_names,
)
from infragap.reports.sections.serving_tables import tone

# The search stops once the best passing rate and the lowest failing one above it are
# this close (loadtests.slo.SearchPolicy.precision); a wider bracket means it ran out of
# trials first.
BRACKET = 1.10
# An open-loop level that achieved less than this share of its offered rate, or whose
# sends waited for a busy connection more often than this share, was overloaded.
OVERLOAD = 0.9
BACKLOGGED = 0.01


def _rate_of(record: Mapping[str, Any]) -> float | None:
    arrival = record.get("arrival") or {}
    offered = arrival.get("offered_rps")
    return float(offered) if offered is not None else None


@dataclass(frozen=True)
class OpenLevel:
    """One open-loop level (a rate from --rates or a trial of the SLO search)."""

    level: Level
    trial: bool

    @property
    def record(self) -> Mapping[str, Any]:
        return cast(Mapping[str, Any], self.level.record)

    @property
    def offered(self) -> float | None:
        return _rate_of(self.record)

    @property
    def achieved(self) -> float | None:
        value = self.record.get("throughput_rps")
        return float(value) if value is not None else None

    @property
    def overloaded(self) -> bool:
        """The server fell behind the schedule: more than 1% of sends waited for a busy
        connection, or it completed clearly fewer requests than offered (more than 10%
        fewer, and more than three standard deviations of a Poisson count short)."""
        sends = self.sends
        if sends.get("count") and (sends.get("backlogged") or 0) > BACKLOGGED * sends["count"]:
            return True
        offered, achieved = self.offered, self.achieved
        window_s = float(self.record.get("window_s") or 0.0)
        if not offered or achieved is None or not window_s:
            return False
        expected, done = offered * window_s, achieved * window_s
        return done < OVERLOAD * expected and expected - done > 3 * math.sqrt(expected)

    @property
    def sends(self) -> Mapping[str, Any]:
        return cast(Mapping[str, Any], self.record.get("sends") or {})

    @property
    def steady(self) -> Mapping[str, Any]:
        return cast(Mapping[str, Any], self.record.get("steady") or {})

    @property
    def slo(self) -> Mapping[str, Any]:
        return cast(Mapping[str, Any], self.record.get("slo") or {})


def _open_level(variant: str, record: dict[str, Any], trial: bool) -> OpenLevel:
    arrival = record.get("arrival") or {}
    users = int(arrival.get("connections") or record.get("users") or 0)
    return OpenLevel(Level(variant, users, cast(LevelRecord, record)), trial)


def _records(value: Any) -> list[dict[str, Any]]:
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []


def _variants(section: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = section.get("variants") or {}
    return {name: found[name] or {} for name in variant_names(section)}


def rate_levels(section: dict[str, Any]) -> dict[str, list[OpenLevel]]:
    """{variant: the levels of --rates, in the order run}; variants without any left out."""
    found = {}
    for name, variant in _variants(section).items():
        levels = [_open_level(name, r, False) for r in _records(variant.get("rates"))]
        if levels:
            found[name] = levels
    return found


@dataclass(frozen=True)
class Capacity:
    """One variant's SLO search: its trials and the best rate that met the SLO."""

    variant: str
    slo: Mapping[str, Any]
    trials: list[OpenLevel]
    best: OpenLevel | None  # the trial whose achieved rate is the capacity
    first_miss_rps: float | None
    complete: bool

    @property
    def slo_text(self) -> str:
        return str(self.slo.get("text") or ", ".join(self.limits_ms) or "the SLO")

    @property
    def limits_ms(self) -> dict[str, float]:
        return {str(k): float(v) for k, v in (self.slo.get("limits_ms") or {}).items()}

    @property
    def capacity_rps(self) -> float | None:
        return self.best.achieved if self.best else None

    @property
    def offered_rps(self) -> float | None:
        return self.best.offered if self.best else None

    @property
    def samples(self) -> list[float]:
        """Per-second throughput of the capacity trial: what the intervals resample."""
        return self.best.level.per_second if self.best else []

    @property
    def search(self) -> str:
        """How the search ended, in words."""
        if not self.complete:
            return "interrupted"
        if self.best is None:
            return "no rate tried met it"
        low, high = self.best.offered, self.first_miss_rps
        if low and high and high / low <= BRACKET + 1e-9:
            return f"complete: the next rate up missed (+{fmt.percent((high / low - 1) * 100)})"
        return "bounded: trial limit reached before the bracket closed"


def capacity_of(variant: str, record: dict[str, Any]) -> Capacity:
    trials = [_open_level(variant, r, True) for r in _records(record.get("trials"))]
    index = record.get("capacity_trial")
    best = None
    if isinstance(index, int) and 0 <= index < len(trials):
        best = trials[index]
    elif record.get("capacity_offered_rps") is not None:
        offered = float(record["capacity_offered_rps"])
        best = next((t for t in trials if t.offered == offered and t.slo.get("met")), None)
    first_miss = record.get("first_miss_offered_rps")
    return Capacity(
        variant=variant,
        slo=cast(Mapping[str, Any], record.get("slo") or {}),
        trials=trials,
        best=best,
        first_miss_rps=float(first_miss) if first_miss is not None else None,
        complete=bool(record.get("search_complete")),
    )


def capacities(section: dict[str, Any]) -> dict[str, Capacity]:
    """{variant: its SLO search}, for the variants that ran one."""
    return {
        name: capacity_of(name, variant["capacity"])
        for name, variant in _variants(section).items()
        if isinstance(variant.get("capacity"), dict)
    }


def curve_points(section: dict[str, Any]) -> dict[str, list[OpenLevel]]:
    """{variant: every open-loop level (rates and trials) by offered rate}.

    By offered, not achieved, rate: past its capacity a server achieves less than it is
    offered, so the curve drawn in this order folds back where the server saturates
    instead of zigzagging between overloaded and healthy levels."""
    found: dict[str, list[OpenLevel]] = {}
    for name, levels in rate_levels(section).items():
        found.setdefault(name, []).extend(levels)
    for name, capacity in capacities(section).items():
        found.setdefault(name, []).extend(capacity.trials)
    return {
        name: sorted(levels, key=lambda lv: (lv.offered or 0.0, lv.achieved or 0.0))
        for name, levels in found.items()
        if levels
    }


# --- the headline: one variant's SLO capacity against another's ---------------------------


@dataclass(frozen=True)
class CapacityRatio:
    """proven / baseline SLO capacity; `estimate` bootstraps the two capacity trials'
    per-second throughput (">1 = the proven side sustains more")."""

    proven: Capacity
    baseline: Capacity
    estimate: RatioEstimate


def capacity_ratios(
    found: Mapping[str, Capacity], proven: str, baselines: Sequence[str]
) -> list[CapacityRatio]:
    """The proven variant against each baseline that also ran the search."""
    if proven not in found:
        return []
    top = found[proven]
    return [
        CapacityRatio(top, found[base], ratio_of_means(top.samples, found[base].samples))
        for base in baselines
        if base in found
    ]


Describe = Callable[[str], str]


def capacity_sentence(ratio: CapacityRatio, proven_words: str, describe: Describe) -> str:
    """ "Triton sustains 12× the SLO-compliant rate of ... (95% CI 11–13×)", or why not."""
    top, base = ratio.proven, ratio.baseline
    who, slo = describe(base.variant), f"under {top.slo_text}"
    if top.best is None and base.best is None:
        return f"Neither {proven_words} nor {who} sustained any rate tried {slo}."
    if base.best is None:
        return (
            f"{proven_words} sustains {fmt.rate(top.capacity_rps)} {slo}; {who} sustained no "
            f"rate tried (the lowest, {fmt.rate(_lowest(base))} offered, missed), so there is "
            "no ratio to state."
        )
    if top.best is None:
        return (
            f"{proven_words} sustained no rate tried {slo}, while {who} sustains "
            f"{fmt.rate(base.capacity_rps)}."
        )
    est = ratio.estimate
    figures = f"{fmt.rate(top.capacity_rps)} against {fmt.rate(base.capacity_rps)}"
    if not est.known:
        return f"{proven_words} sustains {figures} {slo}; too few samples for an interval."
    if est.direction > 0:
        return (
            f"{proven_words} sustains {fmt.factor(est.point)} the SLO-compliant rate of {who} "
            f"({fmt.interval(est)}): {figures} {slo}."
        )
    if est.direction < 0:
        return (
            f"{proven_words} sustains only {fmt.factor(est.point)} the SLO-compliant rate of "
            f"{who} ({fmt.interval(est)}): {figures} {slo}."
        )
    return (
        f"{proven_words}'s SLO-compliant rate is within noise of {who}'s: {figures} {slo}, "
        f"a ratio of {fmt.factor(est.point)} whose {fmt.interval(est)} includes 1."
    )


def _lowest(capacity: Capacity) -> float | None:
    return min((t.offered for t in capacity.trials if t.offered is not None), default=None)


def capacity_claims(ratios: Sequence[CapacityRatio]) -> list[Claim]:
    claims = []
    for ratio in ratios:
        top, base = ratio.proven, ratio.baseline
        label = f"SLO-compliant rate of {base.variant} ({top.slo_text})"
        if top.best is None or base.best is None:
            value = "–"
            detail = (
                f"{base.variant} sustained no rate tried"
                if base.best is None
                else f"{top.variant} sustained no rate tried"
            )
            claims.append(Claim(label, value, detail, tone="muted"))
            continue
        claims.append(
            Claim(
                label,
                fmt.factor(ratio.estimate.point),
                f"{fmt.rate(base.capacity_rps)} → {fmt.rate(top.capacity_rps)}; "
                f"{fmt.interval(ratio.estimate)}",
                tone=tone(ratio.estimate),
            )
        )
    return claims


# --- tables -----------------------------------------------------------------------------


def _interval_note(samples: Sequence[float]) -> str:
    bounds = mean_interval(samples)
    if bounds is None:
        return ""
    return f"95% CI {fmt.significant(bounds[0])}–{fmt.significant(bounds[1])}"


def _slo_words(slo: Mapping[str, Any]) -> str:
    budget = slo.get("error_budget")
    if budget is None:
        return "errors not budgeted"
    return f"errors ≤ {fmt.percent(float(budget) * 100)}"


def capacity_table(found: Mapping[str, Capacity]) -> Table:
    rows = []
    for cap in found.values():
        search_tone: Tone = "" if cap.search.startswith("complete") else "warn"
        rows.append(
            [
                Cell(cap.variant),
                Cell(cap.slo_text, note=_slo_words(cap.slo)),
                Cell(
                    fmt.rate(cap.capacity_rps) if cap.best else "none",
                    tone="" if cap.best else "bad",
                    note=_interval_note(cap.samples),
                ),
                Cell(fmt.rate(cap.offered_rps)),
                Cell(fmt.rate(cap.first_miss_rps)),
                Cell(fmt.number(len(cap.trials))),
                Cell(cap.search, tone=search_tone),
            ]
        )
    return Table(
        columns=["variant", "SLO", "capacity", "offered", "first miss", "trials", "search"],
        rows=rows,
        numeric_from=2,
        caption="Capacity is the achieved throughput of the highest offered rate that met "
        "the SLO, with a 95% bootstrap interval of its per-second samples; first miss is the "
        "lowest offered rate above it that did not. Latency counts from each request's "
        "intended send time, so a server that falls behind the schedule shows it as queueing.",
    )


def _settled(level: OpenLevel) -> Cell:
    steady = level.steady
    if not steady:
        return Cell(fmt.MISSING)
    windows = len(steady.get("windows") or [])
    if steady.get("settled"):
        return Cell("yes", note=f"{windows} windows")
    return Cell("no", tone="warn", note=f"{windows} windows")


def _behind(level: OpenLevel) -> Cell:
    sends = level.sends
    if not sends:
        return Cell(fmt.MISSING)
    late = f"{fmt.number(sends.get('late'))} late of {fmt.number(sends.get('count'))}"
    if sends.get("generator_behind"):
        return Cell("yes", tone="warn", note=late)
    return Cell("no", note=late)


def _errors(level: OpenLevel) -> Cell:
    failures = int(level.record.get("failures") or 0)
    return Cell(fmt.number(failures), tone="bad" if failures else "")


def trials_table(found: Mapping[str, Capacity]) -> Table:
    rows = []
    for cap in found.values():
        for i, trial in enumerate(cap.trials, 1):
            met = bool(trial.slo.get("met"))
            reasons = "; ".join(str(r) for r in trial.slo.get("reasons") or [])
            mark = "capacity" if trial is cap.best else ""
            rows.append(
                [
                    Cell(cap.variant, note=mark),
                    Cell(str(i)),
                    Cell(fmt.rate(trial.offered)),
                    Cell(fmt.rate(trial.achieved)),
                    Cell(fmt.ms(trial.level.latency("p50"))),
                    Cell(fmt.ms(trial.level.latency("p99"))),
                    _errors(trial),
                    Cell("met" if met else "missed", tone="good" if met else "bad", note=reasons),
                    _settled(trial),
                    _behind(trial),
                ]
            )
    return Table(
        title="Every rate the search tried",
        columns=[
            "variant",
            "trial",
            "offered",
            "achieved",
            "p50",
            "p99",
            "errors",
            "SLO",
            "settled",
            "generator behind",
        ],
        rows=rows,
        numeric_from=1,
        caption="In the order run: doubling from a start rate until one missed, then "
        "bisecting between the best rate that met the SLO and the lowest that missed. "
        "Settled: the last three measurement windows agreed within the tolerance. Generator "
        "behind: more than 1% of sends left over 10 ms late with a connection free.",
    )


def rates_table(found: Mapping[str, Sequence[OpenLevel]]) -> Table:
    rows = []
    for name, levels in found.items():
        for level in levels:
            sends = level.sends
            arrival = level.record.get("arrival") or {}
            rows.append(
                [
                    Cell(name, note=str(arrival.get("kind") or "")),
                    Cell(fmt.rate(level.offered)),
                    Cell(fmt.rate(level.achieved), tone="warn" if level.overloaded else ""),
                    Cell(fmt.ms(level.level.latency("p50"))),
                    Cell(fmt.ms(level.level.latency("p99"))),
                    _errors(level),
                    Cell(
                        fmt.number(sends.get("late")) if sends else fmt.MISSING,
                        tone="warn" if sends.get("generator_behind") else "",
                        note=f"max {fmt.ms(sends.get('max_delay_ms'))}" if sends else "",
                    ),
                    Cell(fmt.number(sends.get("backlogged")) if sends else fmt.MISSING),
                    Cell(fmt.number(arrival.get("connections"))),
                    _settled(level),
                ]
            )
    return Table(
        columns=[
            "variant",
            "offered",
            "achieved",
            "p50",
            "p99",
            "errors",
            "late sends",
            "backlogged",
            "connections",
            "settled",
        ],
        rows=rows,
        numeric_from=1,
        caption="Open loop: sends scheduled ahead on a seeded clock at the offered rate, "
        "whatever the server does, and every latency counted from the intended send time "
        "(no coordinated omission). Late: sent over 10 ms behind schedule with a connection "
        "free (the generator's fault); backlogged: waited for a busy connection (the "
        "server's). Amber achieved: overloaded, the server fell behind the schedule.",
    )


# --- parts, warnings, metrics -------------------------------------------------------------


def capacity_part(section: dict[str, Any], anchor: str, palette: Colours) -> Part | None:
    """'Capacity under the SLO': the capacity table, the curve, every trial."""
    found = capacities(section)
    if not found:
        return None
    blocks: list[Block] = [capacity_table(found)]
    curve = load_charts.latency_throughput_curve(curve_points(section), found, palette)
    if curve is not None:
        blocks.append(curve)
    if any(cap.trials for cap in found.values()):
        blocks.append(trials_table(found))
    return Part("Capacity under the SLO", f"{anchor}-capacity", blocks)


def rates_part(section: dict[str, Any], anchor: str, palette: Colours) -> Part | None:
    """'Open-loop levels': the --rates levels (and, without a search, their curve)."""
    found = rate_levels(section)
    if not found:
        return None
    blocks: list[Block] = [
        Text(
            "Each level offers a fixed request rate, as users arriving independently do, "
            "instead of a fixed number of users who wait for every answer."
        ),
        rates_table(found),
    ]
    if not capacities(section):
        curve = load_charts.latency_throughput_curve(curve_points(section), {}, palette)
        if curve is not None:
            blocks.append(curve)
    return Part("Open-loop levels", f"{anchor}-rates", blocks)


def load_warnings(section: dict[str, Any]) -> list[str]:
    """What the report sees that the run did not record: a generator slower than a native
    one (calibration), a search that did not finish, a capacity with too few per-second
    samples for a firm interval. Levels that fell behind or never settled are already in
    the section's own warnings."""
    warnings = calibration_warnings(section)
    for cap in capacities(section).values():
        if not cap.complete:
            warnings.append(
                f"{cap.variant}: the SLO search was interrupted after {len(cap.trials)} "
                "trials; its capacity is the best rate tried so far"
            )
        if cap.best is not None and len(cap.samples) < MIN_SECONDS:
            warnings.append(
                f"{cap.variant}: its SLO capacity rests on {len(cap.samples)} per-second "
                "throughput samples, so the capacity ratios' intervals are rough"
            )
    return warnings


def load_metrics(section: dict[str, Any]) -> list[Metric]:
    """Per variant "{variant}/capacity" (the SLO capacity trial's per-second throughput),
    and per --rates level "{variant}/r{offered}/throughput|p50|p99"."""
    found = []
    for name, cap in capacities(section).items():
        if cap.best is not None:
            found.append(
                Metric(
                    f"{name}/capacity",
                    f"{name} under {cap.slo_text}",
                    "SLO capacity",
                    "req/s",
                    "higher",
                    tuple(cap.samples),
                )
            )
    for name, levels in rate_levels(section).items():
        for level in levels:
            if level.offered is None:
                continue
            group = f"{name} at {fmt.rate(level.offered)} offered"
            found += level_metrics(f"{name}/r{level.offered:g}", group, level.level)
    return found
