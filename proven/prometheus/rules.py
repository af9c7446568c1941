"""Latency SLO alerting rules: written as a Prometheus rule file, checked with promtool.

The rule is the one an SRE writes for a latency SLO: the p99 of a request-duration
histogram over a short window, above the SLO, for long enough that one slow scrape does
not page anyone. Scaled down (a 1 s `for`, a 30 s window), the same rule fires within
seconds in a test.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infragap.errors import ConfigError, InfragapError
from infragap.proven.prometheus.query import (
    check_duration,
    check_metric_name,
    histogram_quantile_query,
)
from infragap.proven.prometheus.server import check_version, require_tool, tool_version, yaml_text

MS_PER_UNIT = {"ms": 1, "s": 1000}  # divided, not multiplied: 300 / 1000 prints as 0.3
PROMTOOL_TIMEOUT_S = 30.0
DEFAULT_GROUP = "infragap-latency-slo"


class RuleCheckFailed(InfragapError):
    """promtool rejected a rule file; the message carries its output."""


@dataclass(frozen=True)
class LatencySloAlert:
    """Alert when the `quantile` of `histogram` over `window` stays above `slo_ms`
    for `for_duration`. `unit` is the unit the histogram observes in ("ms" or "s")."""

    slo_ms: float
    for_duration: str = "1m"
    histogram: str = "model_inference_duration_ms"
    unit: str = "ms"
    quantile: float = 0.99
    window: str = "1m"
    name: str = "InferenceLatencyP99AboveSLO"
    matchers: Mapping[str, str] = field(default_factory=dict)
    severity: str = "page"

    def __post_init__(self) -> None:
        if not self.slo_ms > 0:
            raise ConfigError(f"the latency SLO must be a positive number of ms, not {self.slo_ms}")
        if self.unit not in MS_PER_UNIT:
            raise ConfigError(
                f"histogram unit {self.unit!r} is not one of {', '.join(MS_PER_UNIT)}: "
                "pass the unit the histogram observes in"
            )
        check_duration(self.for_duration, "the alert's `for` duration")
        check_metric_name(self.name, "alert name")
        histogram_quantile_query(self.quantile, self.histogram, self.window, self.matchers)

    @property
    def threshold(self) -> float:
        """The SLO in the histogram's unit."""
        return self.slo_ms / MS_PER_UNIT[self.unit]


def alert_expr(alert: LatencySloAlert) -> str:
    quantile = histogram_quantile_query(
        alert.quantile, alert.histogram, alert.window, alert.matchers
    )
    return f"{quantile} > {alert.threshold!r}"


def alert_rule(alert: LatencySloAlert) -> dict[str, Any]:
    """One rule of a rule group, as Prometheus's rule-file format spells it."""
    percentile = f"p{alert.quantile * 100:g}"
    return {
        "alert": alert.name,
        "expr": alert_expr(alert),
        "for": alert.for_duration,
        "labels": {"severity": alert.severity, "slo_ms": f"{alert.slo_ms:g}"},
        "annotations": {
            "summary": (
                f"{percentile} latency of {alert.histogram} is {{{{ $value | humanize }}}} "
                f"{alert.unit}, above the SLO of {alert.threshold:g} {alert.unit}"
            ),
            "description": (
                f"The {percentile} of {alert.histogram} over the last {alert.window} has been "
                f"above {alert.slo_ms:g} ms for {alert.for_duration}."
            ),
        },
    }


def rules_document(alerts: Sequence[LatencySloAlert], group: str = DEFAULT_GROUP) -> dict[str, Any]:
    return {"groups": [{"name": group, "rules": [alert_rule(alert) for alert in alerts]}]}


def rule_file_text(alerts: Sequence[LatencySloAlert], group: str = DEFAULT_GROUP) -> str:
    """The rule file's YAML."""
    return yaml_text(rules_document(alerts, group))


def check_rules(path: Path) -> str:
    """Run `promtool check rules PATH`; its output, or RuleCheckFailed carrying it."""
    binary = require_tool("promtool")
    check_version(tool_version(binary, "promtool"), "promtool")
    try:
        done = subprocess.run(
            [binary, "check", "rules", str(path)],
            capture_output=True,
            text=True,
            timeout=PROMTOOL_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuleCheckFailed(f"`promtool check rules {path}` did not finish in time") from exc
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        raise RuleCheckFailed(
            f"promtool rejected the rule file {path} (exit code {done.returncode}):\n{output}"
        )
    return output


def write_rule_file(
    path: Path, alerts: Sequence[LatencySloAlert], group: str = DEFAULT_GROUP
) -> Path:
    """Write the alerts' rule file to `path` and check it with promtool."""
    path.write_text(rule_file_text(alerts, group))
    check_rules(path)
    return path
