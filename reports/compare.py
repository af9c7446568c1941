"""Comparing two runs of the same suite: per metric before, after, change, and noise.

Pure: metrics carry their raw samples, so the change gets the same bootstrap interval as
any other ratio in the report. A change is "outside the noise" when its interval
excludes 1. The interval only knows the noise inside each run; run-to-run variation on a
shared machine can be larger, which the report says next to the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from infragap.reports.bootstrap import (
    SEED,
    UNKNOWN,
    RatioEstimate,
    ratio_of_means,
    ratio_of_percentiles,
)
from infragap.reports.format import flatten
from infragap.reports.stats import nearest_rank

Verdict = Literal["better", "worse", "within noise", "only before", "only after", "no data"]


@dataclass(frozen=True)
class Metric:
    """One comparable figure of a run, with the samples it is computed from.

    `percentile` None means the mean of `samples` (e.g. per-second throughput);
    a number means that nearest-rank percentile (e.g. 99 over per-request latencies).
    `key` must be the same for the same figure in another run of the suite.
    """

    key: str
    group: str
    name: str
    unit: str
    better: Literal["higher", "lower"]
    samples: tuple[float, ...]
    percentile: float | None = None

    @property
    def value(self) -> float | None:
        if not self.samples:
            return None
        if self.percentile is None:
            return sum(self.samples) / len(self.samples)
        return nearest_rank(sorted(self.samples), self.percentile)


@dataclass(frozen=True)
class Change:
    key: str
    group: str
    name: str
    unit: str
    before: float | None
    after: float | None
    estimate: RatioEstimate  # after / before
    verdict: Verdict


def metric_ratio(numerator: Metric, denominator: Metric, seed: int = SEED) -> RatioEstimate:
    """numerator / denominator with a bootstrap interval suited to the metric's statistic."""
    if numerator.percentile is None:
        return ratio_of_means(numerator.samples, denominator.samples, seed=seed)
    return ratio_of_percentiles(
        numerator.samples, denominator.samples, numerator.percentile, seed=seed
    )


def verdict(estimate: RatioEstimate, better: Literal["higher", "lower"]) -> Verdict:
    if not estimate.known:
        return "no data"
    if estimate.direction == 0:
        return "within noise"
    improved = estimate.direction > 0 if better == "higher" else estimate.direction < 0
    return "better" if improved else "worse"


def compare_metrics(
    before: Sequence[Metric], after: Sequence[Metric], seed: int = SEED
) -> list[Change]:
    """Every metric of either run, in `after`'s order then the ones only `before` has."""
    old = {m.key: m for m in before}
    new = {m.key: m for m in after}
    changes = []
    for key in [*new, *(k for k in old if k not in new)]:
        a, b = old.get(key), new.get(key)
        shown = b or a
        assert shown is not None
        result: Verdict
        if a is None or b is None:
            estimate, result = UNKNOWN, "only after" if a is None else "only before"
        else:
            estimate = metric_ratio(b, a, seed)
            result = verdict(estimate, shown.better)
        changes.append(
            Change(
                key=key,
                group=shown.group,
                name=shown.name,
                unit=shown.unit,
                before=a.value if a else None,
                after=b.value if b else None,
                estimate=estimate,
                verdict=result,
            )
        )
    return changes


def differences(before: Any, after: Any) -> list[tuple[str, str, str]]:
    """Dotted keys whose values differ between two JSON trees: (key, before, after)."""
    old = dict(flatten(before))
    new = dict(flatten(after))
    absent = "(absent)"
    keys = [*old, *(k for k in new if k not in old)]
    return [
        (key, old.get(key, absent), new.get(key, absent))
        for key in keys
        if old.get(key) != new.get(key)
    ]
