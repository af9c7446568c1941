"""Read Triton's Prometheus counters and turn two scrapes into batching statistics.

All counters are cumulative since the server started, so a measurement scrapes before
and after a load level and works on the difference. Only `scrape` does I/O.

What the counters cover (Triton 2.51): `nv_inference_count` counts rows (a request of
n rows adds n), `nv_inference_exec_count` counts forward passes, and the duration
counters add, for each successful request, the time of the whole batch it ran in.
Requests the HTTP front end cannot parse never reach the counters, and the Python
backend reports a request it answered with an error as a success.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import requests

from infragap.errors import InfragapError

Labels = tuple[tuple[str, str], ...]
SampleKey = tuple[str, Labels]

COUNTERS = (
    "nv_inference_count",
    "nv_inference_exec_count",
    "nv_inference_request_success",
    "nv_inference_request_failure",
    "nv_inference_queue_duration_us",
    "nv_inference_compute_input_duration_us",
    "nv_inference_compute_infer_duration_us",
    "nv_inference_compute_output_duration_us",
)
# Older servers lack these; they are reported only when present.
OPTIONAL_COUNTERS = (
    "nv_inference_compute_input_duration_us",
    "nv_inference_compute_output_duration_us",
)

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?\s*$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


class MetricsUnavailable(InfragapError):
    """Triton's metrics endpoint could not be read."""


def parse_prometheus(text: str) -> dict[SampleKey, float]:
    """Samples of a Prometheus text exposition, keyed by (name, sorted label pairs).

    Comment and blank lines are skipped; a line that is not a sample raises ValueError.
    """
    samples: dict[SampleKey, float] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match is None:
            raise ValueError(f"line {number} is not a Prometheus sample: {line!r}")
        name, label_text, value = match.groups()
        samples[(name, _parse_labels(label_text or "", number))] = float(value)
    return samples


def _parse_labels(text: str, number: int) -> Labels:
    labels = []
    position = 0
    while position < len(text):
        match = _LABEL.match(text, position)
        if match is None:
            raise ValueError(f"line {number}: bad labels {text!r}")
        value = re.sub(r"\\[\\\"n]", lambda m: _ESCAPES[m.group(0)], match.group(2))
        labels.append((match.group(1), value))
        position = match.end()
    return tuple(sorted(labels))


def triton_model_counters(text: str, model_name: str) -> dict[str, float]:
    """The model's counters from a /metrics text, summed over versions and failure reasons.

    Counters in COUNTERS that the server does not export are left out when they are in
    OPTIONAL_COUNTERS; a missing required counter (for example, the model is not loaded
    or metrics are off) raises MetricsUnavailable.
    """
    totals: dict[str, float] = {}
    for (name, labels), value in parse_prometheus(text).items():
        if name in COUNTERS and dict(labels).get("model") == model_name:
            totals[name] = totals.get(name, 0.0) + value
    missing = [n for n in COUNTERS if n not in totals and n not in OPTIONAL_COUNTERS]
    if missing:
        raise MetricsUnavailable(
            f"Triton's metrics have no {', '.join(missing)} for model {model_name!r}: check "
            "that the model is loaded and that the server runs with metrics on "
            "(--allow-metrics=true)"
        )
    return totals


@dataclass(frozen=True)
class TritonLevelStats:
    """What Triton did between two scrapes. Ratios are None when nothing ran."""

    requests_succeeded: int
    requests_failed: int
    inferences: int  # rows scored
    executions: int  # forward passes
    mean_batch_size: float | None  # rows per forward pass (Triton's batch size)
    mean_requests_per_batch: float | None  # successful requests per forward pass
    mean_queue_us: float | None  # per successful request
    mean_compute_infer_us: float | None  # per successful request, of the batch it ran in
    mean_compute_input_us: float | None
    mean_compute_output_us: float | None


def counter_deltas(before: Mapping[str, float], after: Mapping[str, float]) -> TritonLevelStats:
    """Batching and timing statistics from two `triton_model_counters` results.

    A counter that went down means the server restarted in between: ValueError.
    """

    def delta(name: str) -> float | None:
        if name not in before or name not in after:
            return None
        change = after[name] - before[name]
        if change < 0:
            raise ValueError(
                f"{name} went down ({before[name]} -> {after[name]}): Triton restarted"
            )
        return change

    def ratio(numerator: float | None, denominator: float | None) -> float | None:
        if numerator is None or not denominator:
            return None
        return numerator / denominator

    succeeded = delta("nv_inference_request_success") or 0.0
    executions = delta("nv_inference_exec_count") or 0.0
    inferences = delta("nv_inference_count") or 0.0
    return TritonLevelStats(
        requests_succeeded=round(succeeded),
        requests_failed=round(delta("nv_inference_request_failure") or 0.0),
        inferences=round(inferences),
        executions=round(executions),
        mean_batch_size=ratio(inferences, executions),
        mean_requests_per_batch=ratio(succeeded, executions),
        mean_queue_us=ratio(delta("nv_inference_queue_duration_us"), succeeded),
        mean_compute_infer_us=ratio(delta("nv_inference_compute_infer_duration_us"), succeeded),
        mean_compute_input_us=ratio(delta("nv_inference_compute_input_duration_us"), succeeded),
        mean_compute_output_us=ratio(delta("nv_inference_compute_output_duration_us"), succeeded),
    )


def scrape(metrics_url: str, timeout_s: float = 5.0) -> str:
    """The text of Triton's /metrics endpoint."""
    try:
        response = requests.get(metrics_url, timeout=timeout_s)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise MetricsUnavailable(
            f"could not read Triton's metrics at {metrics_url} ({exc}): check that the server "
            "runs, and for an external Triton pass its metrics URL (default port 8002)"
        ) from exc
    return response.text
