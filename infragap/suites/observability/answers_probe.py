"""After each level, the operator's questions asked of the variant's own source, and
each answer set against the exact figure from the load engine.

The window is the level's measured window. PromQL is evaluated at the last scrape
inside it, over a range reaching exactly back to the last scrape before it began, so
rate() has nothing to extrapolate and the range is the window shifted by under one
scrape interval. The log is answered over exactly the window, by its line timestamps.

The exact figures are the load engine's: latencies seen by the client, from the
intended send time. The histogram and the log line both time the handler alone, so
both sides answer a little low by the same HTTP and network time; the bucket error on
its own is the fidelity step's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infragap.errors import InfragapError
from infragap.naive.timing_log_answers import answer_log_file, nearest_rank
from infragap.proven.observability.answers import MetricNames, answer_all
from infragap.proven.observability.names import HISTOGRAM, PROMETHEUS_HISTOGRAM
from infragap.proven.prometheus.query import PrometheusClient
from infragap.suites.endpoint import Endpoint
from infragap.suites.levels import LevelProbe
from infragap.workloads.operator_questions import (
    P50,
    P99,
    P99_BY_VARIANT,
    QUESTION_IDS,
    REQUEST_RATE,
    STATUS_SHARE,
    TRITON_BATCH_SIZE,
    TRITON_QUEUE_VS_COMPUTE,
    Answer,
    Value,
)

if TYPE_CHECKING:
    from infragap.loadtests.latency_log import LevelLoad

SCRAPE_WAIT_S = 15.0
US_PER_MS = 1000


class ScrapeTargetDown(InfragapError):
    """A variant Prometheus scrapes stopped answering its scrapes during a level."""


def exact_figures(
    load: LevelLoad, variant: str, triton: Mapping[str, Any] | None = None
) -> dict[str, Value]:
    """Pure: the true answer to each question over the level, from the load engine's own
    records (and Triton's counter deltas over the level, for Triton's questions)."""
    exact: dict[str, Value] = {}
    ok, failed = len(load.latencies_ms), load.failures
    if load.window_s > 0:
        exact[REQUEST_RATE] = (ok + failed) / load.window_s
    if ok + failed:
        shares = {"200": ok / (ok + failed)}
        if failed:
            shares["failed"] = failed / (ok + failed)
        exact[STATUS_SHARE] = shares
    if ok:
        exact[P50] = nearest_rank(load.latencies_ms, 0.5)
        p99 = exact[P99] = nearest_rank(load.latencies_ms, 0.99)
        exact[P99_BY_VARIANT] = {variant: p99}
    if triton:
        if triton.get("mean_batch_size"):
            exact[TRITON_BATCH_SIZE] = triton["mean_batch_size"]
        queue, compute = triton.get("mean_queue_us"), triton.get("mean_compute_infer_us")
        if queue is not None and compute is not None:
            exact[TRITON_QUEUE_VS_COMPUTE] = {
                "queue_ms": queue / US_PER_MS,
                "compute_ms": compute / US_PER_MS,
            }
    return exact


def _error(value: Value, exact: Value) -> tuple[float, float | None] | None:
    """(absolute, relative) error; for breakdowns, the largest over their keys."""
    if isinstance(value, dict) or isinstance(exact, dict):
        if not (isinstance(value, dict) and isinstance(exact, dict)):
            return None
        keys = set(value) | set(exact)
        pairs = [(value.get(k, 0.0), exact.get(k, 0.0)) for k in keys]
        errors = [e for pair in pairs if (e := _error(*pair)) is not None]
        if not errors:
            return None
        worst = max(errors, key=lambda e: e[0])
        return worst
    absolute = value - exact
    return absolute, (absolute / exact if exact else None)


def answer_record(answer: Answer, exact: Value | None) -> dict[str, Any]:
    """Pure: one answer as results JSON, with the exact figure and its error."""
    record = asdict(answer)
    record["exact"] = exact
    error = _error(answer.value, exact) if answer.value is not None and exact is not None else None
    record["abs_error"] = None if error is None else round(error[0], 6)
    record["rel_error"] = None if error is None or error[1] is None else round(error[1], 6)
    return record


TRITON_QUESTIONS = (TRITON_QUEUE_VS_COMPUTE, TRITON_BATCH_SIZE)


def questions_for(variant: str) -> tuple[str, ...]:
    """Pure: the questions Prometheus holds series for, per variant: Triton's own
    metrics answer Triton's questions, an app's histogram the others. (The log is asked
    all of them: that it cannot answer some is part of the comparison.)"""
    if variant == "triton":
        return TRITON_QUESTIONS
    return tuple(q for q in QUESTION_IDS if q not in TRITON_QUESTIONS)


def last_scrape_at(client: PrometheusClient, job: str, at: float) -> float | None:
    """The Unix time of `job`'s last scrape at or before `at`."""
    stamp = client.value(f'timestamp(up{{job="{job}"}})', at)
    return None if stamp is None or math.isnan(stamp) else stamp


def check_target_up(client: PrometheusClient, job: str) -> None:
    """ScrapeTargetDown naming the job and Prometheus's last scrape error, if it is down."""
    for target in client.targets():
        if target.get("labels", {}).get("job") == job and target.get("health") == "down":
            raise ScrapeTargetDown(
                f"Prometheus cannot scrape {job} ({target.get('scrapeUrl')}): "
                f"{target.get('lastError') or 'no answer'}; its server died or hung during "
                "the run: see its log in the work dir, and run again"
            )


class OperatorAnswers(LevelProbe):
    """Asks every question after a level, from PromQL or the timing log (`source`), and
    records the answers, the exact figures and the errors under "answers"."""

    def __init__(
        self,
        endpoint: Endpoint,
        source: str,
        client: PrometheusClient,
        metrics: str = "",
        log_file: Path | None = None,
    ) -> None:
        self.endpoint, self.source, self.client = endpoint, source, client
        self.metrics, self.log_file = metrics, log_file
        self.triton = None
        if endpoint.name == "triton":
            from infragap.suites.serving.steps import TritonBatching

            self.triton = TritonBatching(endpoint)

    def before(self) -> None:
        if self.triton:
            self.triton.before()

    def after(self, load: LevelLoad) -> dict[str, Any]:
        fields = self.triton.after(load) if self.triton else {}
        if not self.source or load.window_end_s is None or load.window_start_s is None:
            return fields
        answers = self._ask(load)
        exact = exact_figures(load, self.endpoint.name, fields.get("triton"))
        fields["answers"] = {
            "source": self.source,
            "window_s": load.window_s,
            "window_end_s": load.window_end_s,
            "items": [answer_record(a, exact.get(a.question)) for a in answers],
        }
        return fields

    def _ask(self, load: LevelLoad) -> list[Answer]:
        assert load.window_start_s is not None and load.window_end_s is not None
        if self.source == "log":
            assert self.log_file is not None
            end = datetime.fromtimestamp(load.window_end_s)
            return answer_log_file(self.log_file, load.window_s, end, self.endpoint.name)
        job = self.endpoint.name
        check_target_up(self.client, job)
        self.client.wait_for_scrapes(job, 1, SCRAPE_WAIT_S)
        since = last_scrape_at(self.client, job, load.window_start_s)
        until = last_scrape_at(self.client, job, load.window_end_s)
        if since is None or until is None or until <= since:
            return []
        names = MetricNames(
            histogram=PROMETHEUS_HISTOGRAM.get(self.metrics, HISTOGRAM),
            window=f"{round((until - since) * 1000)}ms",
            matchers={"job": job},
            triton_matchers={"job": job, "model": self.endpoint.target_option},
        )
        return answer_all(self.client, names, until, questions_for(self.endpoint.name))

    def note(self, fields: dict[str, Any]) -> str:
        items = (fields.get("answers") or {}).get("items") or []
        p99 = next((item for item in items if item["question"] == P99), None)
        if p99 is None or p99["rel_error"] is None:
            return ""
        return f", p99 answer off by {p99['rel_error']:+.0%}"
