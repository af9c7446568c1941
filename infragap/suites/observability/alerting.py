"""The latency SLO alert: one rule per scraped histogram, checked by promtool, loaded by
the real Prometheus, and seen firing during a seeded slow-down.

The rule is the production one (p99 over a window above the SLO, held for a while),
scaled down: a 10 s window and a 2 s hold instead of minutes, so it fires within a
short level. The naive side has no such thing: a log file alerts nobody until a log
pipeline reads it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from infragap.proven.prometheus.query import PrometheusClient, series_selector
from infragap.proven.prometheus.rules import LatencySloAlert

ALERT_WINDOW = "10s"
ALERT_FOR = "2s"
ALERT_WINDOW_S = 10.0
ALERT_FOR_S = 2.0
SLOWED_SHARE = 0.05  # 5% of requests slowed: well past the 1% a p99 lets through
SLOWED_FACTOR = 2.0  # each slowed request sleeps this many SLOs
NAIVE_SIDE = (
    "cannot alert: the timing log is a file on the server; an alert needs a log pipeline "
    "(shipping, parsing, a rule engine) that the naive side does not have"
)


def alert_name(job: str) -> str:
    """A valid alert name per job ('prometheus-client': InferenceP99AboveSLO_prometheus_client)."""
    return "InferenceP99AboveSLO_" + re.sub(r"[^A-Za-z0-9_]", "_", job)


def slo_alerts(histograms: Mapping[str, str], slo_ms: float) -> list[LatencySloAlert]:
    """Pure: one alert per job, on that job's histogram (base name as Prometheus has it)."""
    return [
        LatencySloAlert(
            slo_ms=slo_ms,
            for_duration=ALERT_FOR,
            histogram=histogram,
            window=ALERT_WINDOW,
            name=alert_name(job),
            matchers={"job": job},
        )
        for job, histogram in histograms.items()
    ]


def _firing(name: str) -> str:
    return series_selector("ALERTS", [("alertname", "=", name), ("alertstate", "=", "firing")])


def first_firing(client: PrometheusClient, name: str, since: float, until: float) -> float | None:
    """From Prometheus's ALERTS series: the Unix time the alert first fired in
    (since, until], to the rule evaluation interval; None if it never did."""
    span = max(1, math.ceil(until - since))
    value = client.value(f"min_over_time(timestamp({_firing(name)})[{span}s:1s])", until)
    return None if value is None or math.isnan(value) else value


def alert_outcome(
    client: PrometheusClient,
    jobs: Mapping[str, str],
    slowed_job: str,
    slowed_from: float,
    run_from: float,
    until: float,
) -> dict[str, Any]:
    """Whether and when each job's alert fired: the slowed one after its slow-down began
    (it should), the others over the whole run (only if their p99 truly broke the SLO)."""
    fired = {}
    for job in jobs:
        since = slowed_from if job == slowed_job else run_from
        first = first_firing(client, alert_name(job), since, until)
        fired[job] = {
            "fired": first is not None,
            "first_firing_s_after_start": None if first is None else round(first - since, 3),
        }
    return fired
