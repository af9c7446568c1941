"""Latency SLOs and the search for the highest rate a variant sustains under one (pure).

`--slo p99=100ms` (any of p50, p90, p95, p99, p99.9; several allowed, comma-separated)
with an optional error budget `errors<0.1%` (the default budget). A level meets the SLO
when every named percentile is within its limit (latency counted from the intended
send time, so a server that falls behind the rate shows it as queueing) and its
failures are within the budget. A generator that fell behind its schedule only makes
the latencies larger, never smaller (they count from the intended time), so such a
level is marked (its record's "sends") but still judged.

The search tries rates on the open loop: doubling from a start rate until one fails,
halving from the start while it fails, then bisecting (geometrically) between the best
rate that met the SLO and the lowest above it that did not, until they are within
`precision` or `max_trials` levels were run. Every rate tried is kept.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from infragap.errors import ConfigError

PERCENTILE_KEYS = {"p50": "p50", "p90": "p90", "p95": "p95", "p99": "p99", "p99.9": "p99_9"}
DEFAULT_ERROR_BUDGET = 0.001
LATENCY_CLAUSE = re.compile(r"^(p\d+(?:\.\d+)?)\s*(?:=|<=|<)\s*(\d+(?:\.\d+)?)\s*(ms|s)$")
ERROR_CLAUSE = re.compile(r"^errors\s*(?:<|<=)\s*(\d+(?:\.\d+)?)\s*%$")


@dataclass(frozen=True)
class Slo:
    """Latency limits in ms by percentile key ("p99" -> 100.0) and an error budget."""

    limits_ms: dict[str, float]
    error_budget: float = DEFAULT_ERROR_BUDGET
    text: str = ""

    @property
    def watched_percentile(self) -> float:
        """The highest percentile named: the one a level's stability is judged on."""
        return max(float(key[1:].replace("_", ".")) for key in self.limits_ms)

    def to_record(self) -> dict[str, Any]:
        return {"text": self.text, "limits_ms": self.limits_ms, "error_budget": self.error_budget}


def parse_slo(text: str) -> Slo:
    """`p99=100ms,errors<0.1%` -> Slo, or ConfigError naming what is wrong."""
    limits: dict[str, float] = {}
    budget = DEFAULT_ERROR_BUDGET
    for clause in (part.strip().lower() for part in text.split(",")):
        if not clause:
            continue
        latency, errors = LATENCY_CLAUSE.match(clause), ERROR_CLAUSE.match(clause)
        if latency:
            name, value, unit = latency.groups()
            if name not in PERCENTILE_KEYS:
                raise ConfigError(
                    f"--slo {text!r}: {name} is not a percentile infragap reports; "
                    f"use one of {', '.join(PERCENTILE_KEYS)}"
                )
            limit = float(value) * (1000.0 if unit == "s" else 1.0)
            if limit <= 0:
                raise ConfigError(f"--slo {text!r}: a latency limit must be above 0")
            limits[PERCENTILE_KEYS[name]] = limit
        elif errors:
            budget = float(errors.group(1)) / 100.0
        else:
            raise ConfigError(
                f"--slo {text!r}: cannot read {clause!r}; write e.g. "
                "--slo p99=100ms or --slo p50=20ms,p99=100ms,errors<0.1%"
            )
    if not limits:
        raise ConfigError(f"--slo {text!r}: name at least one percentile, e.g. --slo p99=100ms")
    return Slo(limits, budget, text)


@dataclass(frozen=True)
class Verdict:
    met: bool
    reasons: list[str] = field(default_factory=list)


def judge(slo: Slo, level: Mapping[str, Any]) -> Verdict:
    """Pure: whether one open-loop level record meets the SLO, and why not."""
    reasons = []
    latency = level.get("latency_ms") or {}
    for key, limit in slo.limits_ms.items():
        value = latency.get(key)
        if value is None or value > limit:
            shown = "none" if value is None else f"{value:.1f} ms"
            reasons.append(f"{key} {shown} > {limit:g} ms")
    total = level.get("requests", 0) + level.get("failures", 0)
    error_share = level.get("failures", 0) / total if total else 1.0
    if error_share > slo.error_budget:
        reasons.append(f"errors {error_share:.2%} > {slo.error_budget:.2%}")
    return Verdict(not reasons, reasons)


@dataclass(frozen=True)
class SearchPolicy:
    start_rps: float
    precision: float = 0.10  # stop when the bracket's ends are within 10%
    max_trials: int = 12
    min_rps: float = 0.5

    def __post_init__(self) -> None:
        if not self.start_rps > 0 or not math.isfinite(self.start_rps):
            raise ConfigError("--slo-start: give a positive rate in requests per second")
        if self.max_trials < 2:
            raise ConfigError("--slo-trials: the search needs at least 2 trials")


def next_rate(tried: Sequence[tuple[float, bool]], policy: SearchPolicy) -> float | None:
    """Pure: the next rate to try after `tried` ((rate, met) in order), or None when done."""
    if not tried:
        return policy.start_rps
    if len(tried) >= policy.max_trials:
        return None
    passed = [rate for rate, met in tried if met]
    failed = [rate for rate, met in tried if not met]
    if not failed:
        return max(passed) * 2
    if not passed:
        lower = min(failed) / 2
        return lower if lower >= policy.min_rps else None
    best = max(passed)
    above = [rate for rate in failed if rate > best]
    if not above:
        # A failure below a success is noise around the knee; keep climbing from the best.
        return best * 2
    ceiling = min(above)
    if ceiling / best <= 1 + policy.precision:
        return None
    return math.sqrt(best * ceiling)
