"""One bad request among its batch-mates: does it fail only itself?

Each round sends `GOOD_PER_ROUND` valid requests and one whose item id lies past the
model's embedding table, all at once, so a batching server puts them in the same batch.
A server that isolates requests answers the bad one 4xx and the rest 200 (Triton's
Python backend checks each request of a batch); a hand-written batcher that lets the
embedding lookup fail fails them all. Runs before the load, on every variant.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import requests

from infragap.suites.endpoint import Endpoint
from infragap.suites.serving.equivalence import send
from infragap.suites.serving.records import Isolation
from infragap.workloads.ranking_requests import RankingRequest

ROUNDS = 5
GOOD_PER_ROUND = 7
HTTP_TIMEOUT_S = 30.0


def out_of_range(request: RankingRequest, n_items: int) -> RankingRequest:
    """The same request with its first item id one past the item table."""
    return dataclasses.replace(request, item_id=[n_items, *request.item_id[1:]])


def _status(endpoint: Endpoint, request: RankingRequest, start: threading.Barrier) -> int:
    start.wait()
    try:
        return send(endpoint, request, timeout_s=HTTP_TIMEOUT_S).status_code
    except requests.RequestException:
        return 0  # no answer at all


def isolation_record(bad_statuses: Sequence[int], good_statuses: Sequence[int]) -> Isolation:
    """Pure: what the rounds' statuses say."""
    return {
        "rounds": len(bad_statuses),
        "bad_statuses": dict(Counter(str(s) for s in bad_statuses)),
        "good_requests": len(good_statuses),
        "good_failed": sum(1 for s in good_statuses if s != 200),
        "good_statuses": dict(Counter(str(s) for s in good_statuses)),
    }


def check_isolation(
    endpoint: Endpoint, good: Sequence[RankingRequest], n_items: int, rounds: int = ROUNDS
) -> Isolation:
    """`rounds` rounds of `good` requests sent together with one bad one."""
    bad_statuses: list[int] = []
    good_statuses: list[int] = []
    batch = [out_of_range(good[0], n_items), *good]
    with ThreadPoolExecutor(len(batch)) as pool:
        for _ in range(rounds):
            start = threading.Barrier(len(batch))
            sends = [pool.submit(_status, endpoint, request, start) for request in batch]
            statuses = [send.result() for send in sends]
            bad_statuses.append(statuses[0])
            good_statuses.extend(statuses[1:])
    return isolation_record(bad_statuses, good_statuses)
