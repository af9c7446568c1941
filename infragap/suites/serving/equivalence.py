"""Before any load: every variant must answer the same inputs with the same scores."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from infragap.errors import EquivalenceError
from infragap.loadtests.targets.ranking import WIRES
from infragap.reports.records import Equivalence
from infragap.suites.endpoint import Endpoint
from infragap.workloads.ranking_requests import RankingRequest

HTTP_TIMEOUT_S = 60.0


@dataclass
class Comparison:
    """How far one variant's scores are from the in-process reference."""

    requests_checked: int = 0
    max_abs_diff: float = 0.0
    mismatches: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.mismatches


def compare_scores(
    reference: Sequence[Sequence[float]], answers: Sequence[Sequence[float]], tolerance: float
) -> Comparison:
    """Pure: compare per-request score lists; describe the first few mismatches."""
    result = Comparison(requests_checked=len(reference))
    for index, (expected, got) in enumerate(zip(reference, answers, strict=True)):
        if len(expected) != len(got):
            result.mismatches.append(
                f"request {index}: {len(got)} scores, expected {len(expected)}"
            )
            continue
        diff = max((abs(a - b) for a, b in zip(expected, got, strict=True)), default=0.0)
        result.max_abs_diff = max(result.max_abs_diff, diff)
        if diff > tolerance:
            result.mismatches.append(f"request {index}: scores differ by {diff:.3g}")
    return result


def reference_scores(model: Any, requests_: Sequence[RankingRequest]) -> list[list[float]]:
    """The model run in this process: what every server must reproduce."""
    import torch

    answers = []
    with torch.inference_mode():
        for req in requests_:
            out = model(
                torch.tensor(req.user_id, dtype=torch.int64).reshape(-1, 1),
                torch.tensor(req.item_id, dtype=torch.int64).reshape(-1, 1),
                torch.tensor(req.dense, dtype=torch.float32),
            )
            answers.append([float(x) for x in out.reshape(-1).tolist()])
    return answers


def send(
    endpoint: Endpoint,
    req: RankingRequest,
    session: requests.Session | None = None,
    timeout_s: float = HTTP_TIMEOUT_S,
) -> requests.Response:
    """One scoring request over the endpoint's wire format (a new connection without
    `session`)."""
    wire = WIRES[endpoint.target]
    body = wire.encode(req)
    post = session.post if session is not None else requests.post
    return post(
        f"{endpoint.url}{wire.path(endpoint.target_option)}",
        data=body.payload,
        headers=dict(body.headers),
        timeout=timeout_s,
    )


def ask(endpoint: Endpoint, req: RankingRequest, session: requests.Session) -> list[float]:
    response = send(endpoint, req, session)
    if response.status_code != 200:
        raise EquivalenceError(
            f"{endpoint.name} answered HTTP {response.status_code} to a valid request: "
            f"{response.text[:300]}"
        )
    return WIRES[endpoint.target].scores(response.json())


def check_endpoint(
    endpoint: Endpoint,
    requests_: Sequence[RankingRequest],
    reference: Sequence[Sequence[float]],
    tolerance: float,
) -> Comparison:
    with requests.Session() as session:
        answers = [ask(endpoint, req, session) for req in requests_]
    return compare_scores(reference, answers, tolerance)


def equivalence_record(comparisons: dict[str, Comparison], tolerance: float) -> Equivalence:
    return {
        "passed": all(c.passed for c in comparisons.values()),
        "tolerance_abs": tolerance,
        "reference": "the same TorchScript model run in the harness process",
        "variants": {
            name: {
                "passed": c.passed,
                "requests_checked": c.requests_checked,
                "max_abs_diff": c.max_abs_diff,
                "mismatches": c.mismatches[:5],
            }
            for name, c in comparisons.items()
        },
    }


def raise_on_mismatch(comparisons: dict[str, Comparison], tolerance: float) -> None:
    failed = {name: c for name, c in comparisons.items() if not c.passed}
    if failed:
        details = "; ".join(f"{name}: {c.mismatches[0]}" for name, c in failed.items())
        raise EquivalenceError(
            f"variants disagree with the reference beyond {tolerance:g}: {details}. "
            "No speed-up is reported for a variant that computes something else."
        )


def check_and_record(
    section: dict[str, Any],
    save: Callable[[], None],
    endpoints: Mapping[str, Endpoint],
    model: Any,
    sample: Sequence[RankingRequest],
    tolerance: float,
) -> int:
    """Every endpoint against the in-process model on `sample`: the record goes into
    section["equivalence"] and is saved before EquivalenceError is raised for a variant
    that disagrees; the number of variants checked otherwise."""
    reference = reference_scores(model, sample)
    comparisons = {
        name: check_endpoint(endpoint, sample, reference, tolerance)
        for name, endpoint in endpoints.items()
    }
    section["equivalence"] = equivalence_record(comparisons, tolerance)
    save()
    raise_on_mismatch(comparisons, tolerance)
    return len(comparisons)
