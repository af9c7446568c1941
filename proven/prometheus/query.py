"""PromQL built from checked names, and a small client for Prometheus's HTTP API.

The builders are pure: they validate metric names, label names and durations against
Prometheus's own grammar, so a typo in an option fails before any query is sent. The
client returns plain data (Sample records, lists of dicts as Prometheus sends them) and
turns every error answer into a PrometheusError that carries Prometheus's message.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from infragap.errors import ConfigError, InfragapError

METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
DURATION = re.compile(r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")
MATCH_OPERATORS = ("=", "!=", "=~", "!~")
DEFAULT_TIMEOUT_S = 5.0

Matcher = tuple[str, str, str]  # (label, operator, value), as in {label=~"value"}


class PrometheusError(InfragapError):
    """Prometheus could not be reached, or answered a request with an error."""


def check_metric_name(name: str, what: str = "metric name") -> str:
    """`name` if Prometheus accepts it as a metric name, else a ConfigError saying what does."""
    if not METRIC_NAME.match(name):
        raise ConfigError(
            f"{what} {name!r} is not a valid Prometheus metric name: use letters, digits, "
            "'_' and ':', not starting with a digit (regex [a-zA-Z_:][a-zA-Z0-9_:]*)"
        )
    return name


def check_label_name(name: str) -> str:
    if not LABEL_NAME.match(name) or name.startswith("__"):
        raise ConfigError(
            f"{name!r} is not a label name PromQL can match on: use letters, digits and '_', "
            "not starting with a digit or '__' (regex [a-zA-Z_][a-zA-Z0-9_]*)"
        )
    return name


def check_duration(text: str, what: str = "duration") -> str:
    """`text` if it is a Prometheus duration such as 30s, 1m or 1h30m, else a ConfigError."""
    positive = any(int(number) for number in re.findall(r"\d+", text))
    if not DURATION.match(text) or not positive:
        raise ConfigError(
            f"{what} {text!r} is not a Prometheus duration: write a positive number with a "
            "unit, largest unit first (ms, s, m, h, d, w, y), for example 30s, 1m or 1h30m"
        )
    return text


def series_selector(metric: str, matchers: Iterable[Matcher] = ()) -> str:
    """`metric{label="value",...}`, names checked and values escaped as PromQL strings."""
    parts = []
    for label, operator, value in matchers:
        if operator not in MATCH_OPERATORS:
            known = ", ".join(MATCH_OPERATORS)
            raise ConfigError(f"unknown label match operator {operator!r}: use one of {known}")
        parts.append(f"{check_label_name(label)}{operator}{json.dumps(value, ensure_ascii=False)}")
    selector = check_metric_name(metric)
    return f"{selector}{{{','.join(parts)}}}" if parts else selector


def equal_to(labels: Mapping[str, str] | None) -> list[Matcher]:
    """Equality matchers for each label: value pair."""
    return [(label, "=", value) for label, value in (labels or {}).items()]


def _sum_by(labels: Sequence[str]) -> str:
    if not labels:
        return "sum"
    return f"sum by ({', '.join(check_label_name(label) for label in labels)}) "


def rate_query(
    counter: str,
    window: str = "1m",
    matchers: Iterable[Matcher] = (),
    by: Sequence[str] = (),
) -> str:
    """Per-second increase of a counter over `window`, summed (by the `by` labels):
    `sum by (status) (rate(requests_total{job="x"}[1m]))`."""
    check_duration(window, "the rate window")
    return f"{_sum_by(by)}(rate({series_selector(counter, matchers)}[{window}]))"


def histogram_quantile_query(
    q: float,
    histogram: str,
    window: str = "1m",
    matchers: Mapping[str, str] | None = None,
    by: Sequence[str] = (),
) -> str:
    """The q-quantile of a histogram's observations over the last `window`:
    `histogram_quantile(0.99, sum by (le) (rate(<histogram>_bucket{...}[1m])))`.

    `histogram` is the base name (without `_bucket`); `by` adds labels to break the
    answer down by (one series per variant, for example). Prometheus interpolates
    linearly inside the bucket the quantile falls in, so the answer is only as exact as
    the bucket layout.
    """
    if not (isinstance(q, int | float) and 0.0 <= q <= 1.0):
        raise ConfigError(f"quantile {q!r} is outside [0, 1]: pass 0.5 for p50, 0.99 for p99")
    check_metric_name(histogram, "histogram name")
    if "le" in by:
        raise ConfigError("'le' is always kept for histogram_quantile: leave it out of `by`")
    rate = rate_query(f"{histogram}_bucket", window, equal_to(matchers), ["le", *by])
    return f"histogram_quantile({q:g}, {rate})"


@dataclass(frozen=True)
class Sample:
    """One series of an instant-query answer."""

    labels: dict[str, str]
    value: float  # NaN when, for example, a quantile had no observations to work on
    timestamp: float  # Unix seconds


def api_data(status_code: int, body: str, what: str) -> Any:
    """The `data` of a Prometheus API answer, or a PrometheusError carrying its
    errorType and error (or, for a body that is not the API's JSON, its start)."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or payload.get("status") not in ("success", "error"):
        raise PrometheusError(
            f"{what}: the answer (HTTP {status_code}) is not Prometheus API JSON: "
            f"{body[:200]!r}: check that the URL points at a Prometheus server"
        )
    if payload["status"] == "error":
        kind = payload.get("errorType", "unknown")
        raise PrometheusError(
            f"{what}: Prometheus answered HTTP {status_code}, {kind}: "
            f"{payload.get('error', '(no message)')}{_HINTS.get(kind, '')}"
        )
    return payload.get("data")


_HINTS = {
    "bad_data": " (fix the PromQL expression or the request's parameters)",
    "execution": " (the query is valid but failed while running: check the series it reads)",
    "timeout": " (narrow the query or raise Prometheus's --query.timeout)",
    "unavailable": " (Prometheus is not ready yet, or is shutting down)",
}


def instant_samples(data: Any, what: str) -> list[Sample]:
    """The Samples of an instant query's `data` (a vector or a scalar)."""
    kind = data.get("resultType") if isinstance(data, dict) else None
    if kind == "scalar":
        timestamp, value = data["result"]
        return [Sample({}, float(value), float(timestamp))]
    if kind == "vector":
        return [
            Sample(dict(item["metric"]), float(item["value"][1]), float(item["value"][0]))
            for item in data["result"]
        ]
    raise PrometheusError(
        f"{what}: expected an instant vector or scalar, got {kind!r}: "
        "a range selector such as x[1m] needs a function around it (rate, increase, ...)"
    )


class PrometheusClient:
    """Queries one Prometheus server (its base URL, like http://127.0.0.1:9090)."""

    def __init__(self, url: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s

    def _get(self, path: str, params: Mapping[str, str], what: str) -> Any:
        try:
            response = requests.get(f"{self.url}{path}", params=params, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise PrometheusError(
                f"{what}: could not reach Prometheus at {self.url} ({exc}): check that it runs"
            ) from exc
        return api_data(response.status_code, response.text, what)

    def query(self, promql: str, at: float | None = None) -> list[Sample]:
        """An instant query (/api/v1/query), evaluated now or at Unix time `at`."""
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at:.3f}"
        what = f"query {promql!r}"
        return instant_samples(self._get("/api/v1/query", params, what), what)

    def value(self, promql: str, at: float | None = None) -> float | None:
        """The value of a query that answers one series; None when it answers none."""
        samples = self.query(promql, at)
        if len(samples) > 1:
            raise PrometheusError(
                f"query {promql!r} answered {len(samples)} series where one was expected: "
                "aggregate it (sum, or sum by fewer labels)"
            )
        return samples[0].value if samples else None

    def rules(self) -> list[dict[str, Any]]:
        """Every loaded rule (/api/v1/rules), each with its group's name under "group"."""
        data = self._get("/api/v1/rules", {}, "listing rules")
        return [
            {**rule, "group": group["name"]}
            for group in data.get("groups", [])
            for rule in group.get("rules", [])
        ]

    def alerts(self) -> list[dict[str, Any]]:
        """Pending and firing alerts (/api/v1/alerts): labels, annotations, state, activeAt."""
        return list(self._get("/api/v1/alerts", {}, "listing alerts").get("alerts", []))

    def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets (/api/v1/targets): labels, health, lastError, lastScrape."""
        data = self._get("/api/v1/targets", {"state": "active"}, "listing targets")
        return list(data.get("activeTargets", []))

    def scrape_count(self, job: str) -> int:
        """How many scrapes of `job` Prometheus holds from the last hour."""
        selector = series_selector("up", [("job", "=", job)])
        value = self.value(f"sum(count_over_time({selector}[1h]))")
        return 0 if value is None or math.isnan(value) else int(value)

    def wait_for_scrapes(self, job: str, scrapes: int, timeout_s: float) -> None:
        """Return once `job` has been scraped `scrapes` more times, so every observation
        made before the call is in Prometheus; PrometheusError if that takes too long."""
        wanted = self.scrape_count(job) + scrapes
        deadline = time.monotonic() + timeout_s
        while (count := self.scrape_count(job)) < wanted:
            if time.monotonic() > deadline:
                raise PrometheusError(
                    f"job {job!r} was scraped {count - wanted + scrapes} of {scrapes} times "
                    f"in {timeout_s:.0f} s: check /api/v1/targets for its lastError"
                )
            time.sleep(0.2)
