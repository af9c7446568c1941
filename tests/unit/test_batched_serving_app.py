"""The hand-written micro-batcher, without Flask: with a fake forward pass that records the
batches it is given, and with the real tiny model.

Every test closes its batches on row counts with a long wait, or waits for results, so no
outcome depends on how fast the machine is.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future

import pytest

from infragap.naive.batched_serving_app import MicroBatcher

LONG_WAIT_S = 60.0


class FakeModel:
    """Scores a row n as 10 * n; raises on a negative row, for the whole batch, as a model
    raises on one id past its embedding table."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def __call__(self, rows: list[int]) -> list[int]:
        self.batches.append(list(rows))
        if any(row < 0 for row in rows):
            raise IndexError("index out of range in self")
        return [10 * row for row in rows]


@pytest.fixture
def model() -> FakeModel:
    return FakeModel()


@pytest.fixture
def batcher_for(model: FakeModel) -> Iterator:
    started: list[MicroBatcher] = []

    def make(max_rows: int, max_wait_s: float = LONG_WAIT_S) -> MicroBatcher[int, int]:
        started.append(MicroBatcher(model, max_rows, max_wait_s))
        return started[-1]

    yield make
    for batcher in started:
        batcher.close()


def results(futures: list[Future]) -> list[list[int]]:
    return [future.result(timeout=30) for future in futures]


def test_requests_waiting_together_share_one_forward_pass(batcher_for, model):
    batcher = batcher_for(max_rows=4)
    futures = [batcher.submit(rows) for rows in ([1], [2, 3], [4])]
    assert results(futures) == [[10], [20, 30], [40]]
    assert model.batches == [[1, 2, 3, 4]]


def test_a_batch_closes_at_max_rows(batcher_for, model):
    batcher = batcher_for(max_rows=2)
    futures = [batcher.submit([n]) for n in (1, 2, 3, 4)]
    assert results(futures) == [[10], [20], [30], [40]]
    assert model.batches == [[1, 2], [3, 4]]


def test_a_request_is_never_split_across_batches(batcher_for, model):
    batcher = batcher_for(max_rows=2)
    futures = [batcher.submit([1, 2, 3]), batcher.submit([4]), batcher.submit([5])]
    assert results(futures) == [[10, 20, 30], [40], [50]]
    assert model.batches == [[1, 2, 3], [4, 5]]


def test_a_batch_closes_after_max_wait_with_fewer_rows(batcher_for, model):
    batcher = batcher_for(max_rows=1000, max_wait_s=0.01)
    assert batcher.submit([7]).result(timeout=30) == [70]
    assert model.batches == [[7]]


def test_one_bad_request_fails_every_request_of_its_batch(batcher_for, model):
    batcher = batcher_for(max_rows=3)
    futures = [batcher.submit([1]), batcher.submit([-1]), batcher.submit([2])]
    for future in futures:
        with pytest.raises(IndexError, match="out of range"):
            future.result(timeout=30)
    assert model.batches == [[1, -1, 2]]
    # The worker survives: the next batch is scored.
    assert results([batcher.submit([n]) for n in (3, 4, 5)]) == [[30], [40], [50]]


def test_forward_returning_the_wrong_count_fails_the_batch():
    batcher = MicroBatcher(lambda rows: rows[:-1], max_rows=2, max_wait_s=LONG_WAIT_S)
    try:
        futures = [batcher.submit([1]), batcher.submit([2])]
        for future in futures:
            with pytest.raises(ValueError, match="1 outputs for 2 rows"):
                future.result(timeout=30)
    finally:
        batcher.close()


def test_close_runs_what_is_queued(model):
    batcher = MicroBatcher(model, max_rows=100, max_wait_s=LONG_WAIT_S)
    future = batcher.submit([1])
    batcher.close()
    assert future.result(timeout=30) == [10]


@pytest.mark.parametrize(("max_rows", "max_wait_s"), [(0, 1.0), (1, -1.0)])
def test_nonsense_limits_are_refused(model, max_rows, max_wait_s):
    with pytest.raises(ValueError, match="max_rows"):
        MicroBatcher(model, max_rows, max_wait_s)


def test_model_forward_scores_a_batch_like_the_model_scores_each_request(tiny_model_file):
    import torch

    from infragap.naive.batched_serving_app import model_forward
    from infragap.suites.serving.equivalence import reference_scores
    from infragap.workloads.model_sizes import model_size
    from infragap.workloads.ranking_requests import generate_requests

    model = torch.jit.load(str(tiny_model_file))
    reqs = generate_requests(model_size("tiny"), 3, 4, rows=3)
    rows = [row for req in reqs for row in zip(req.user_id, req.item_id, req.dense, strict=True)]
    expected = [score for scores in reference_scores(model, reqs) for score in scores]
    assert model_forward(model, "cpu")(rows) == pytest.approx(expected, abs=1e-6)
    with pytest.raises(Exception, match="out of range"):
        model_forward(model, "cpu")([*rows, (model.n_users, 0, [0.0] * model.dense_dim)])
