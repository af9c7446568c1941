"""The naive model endpoint with micro-batching written by hand, before the team knows Triton.

Same Flask app and JSON API as `serving_app.py` with the model loaded once, plus the
batching a team adds once it reads that GPUs (and CPU matmuls) like big batches: each
handler checks its body, puts its rows on a queue and waits on a Future; one background
thread takes the first request, gathers more until the batch holds `--max-batch-rows`
rows or `--max-wait-ms` has passed since that first request, runs ONE forward pass on
all of their rows and hands each request its slice of the scores. A request is never
split, so the last one in may take a batch past the row limit.

The weaknesses are the usual ones and are kept on purpose, since they are what the
benchmark compares with Triton's dynamic batcher:

- No per-request timeout: a handler waits on its Future forever. A stuck forward pass
  holds every waiting request, and its Flask thread, until the process dies.
- An unbounded queue (`queue.Queue()` without maxsize): under overload, requests pile up
  and latency grows without limit instead of some requests being refused early.
- No metrics: no batch sizes, queue depth or queue time anywhere but a log line per batch.
- One bad request fails its whole batch. The handler checks what batching needs (fields,
  equal lengths, integer ids, every dense row `dense_dim` finite numbers, so that rows of
  different requests stack into one tensor) but not whether the ids fit the model's
  embedding tables: "the embedding lookup checks them anyway". It does, by raising for
  the whole forward pass, so an id past the vocabulary (a new user, a catalogue newer
  than the model) turns into a 500 for every request that shared its batch. Triton's
  Python backend answers 400 to that request only. On a GPU it is worse: the lookup is a
  device-side assert that leaves the CUDA context unusable for every later batch.
"""

from __future__ import annotations

import argparse
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import torch
from flask import Flask, jsonify

from infragap.naive.serving_app import (
    HOST_HELP,
    LOOPBACK_HOST,
    NOT_JSON,
    BadRequest,
    check_rows,
    json_body,
    new_app,
    serve,
)

logger = logging.getLogger("predict")

INT64_LIMIT = 1 << 63  # the only id "range" checked: what fits the model's int64 inputs

Row = TypeVar("Row")
Out = TypeVar("Out")
ScoringRow = tuple[int, int, list[float]]  # (user_id, item_id, dense)


@dataclass
class _Pending(Generic[Row, Out]):
    rows: Sequence[Row]
    future: Future[list[Out]] = field(default_factory=Future)


class MicroBatcher(Generic[Row, Out]):
    """Runs `forward` (all rows of a batch -> one output per row) on a background thread,
    over batches of submitted requests: a batch closes at `max_rows` rows or `max_wait_s`
    after its first request. If `forward` raises, every request of that batch gets the
    error; the next batch is unaffected."""

    def __init__(
        self, forward: Callable[[list[Row]], Sequence[Out]], max_rows: int, max_wait_s: float
    ) -> None:
        if max_rows < 1 or max_wait_s < 0:
            raise ValueError(f"need max_rows >= 1 and max_wait_s >= 0: {max_rows}, {max_wait_s}")
        self._forward = forward
        self._max_rows = max_rows
        self._max_wait_s = max_wait_s
        self._queue: queue.Queue[_Pending[Row, Out] | None] = queue.Queue()  # unbounded
        self._thread = threading.Thread(target=self._run, name="micro-batcher", daemon=True)
        self._thread.start()

    def submit(self, rows: Sequence[Row]) -> Future[list[Out]]:
        """A Future for the outputs of `rows`, in order."""
        pending: _Pending[Row, Out] = _Pending(rows)
        self._queue.put(pending)
        return pending.future

    def close(self) -> None:
        """Run what is already queued and stop the thread."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stopping = self._gather(first)
            self._run_batch(batch)
            if stopping:
                return

    def _gather(self, first: _Pending[Row, Out]) -> tuple[list[_Pending[Row, Out]], bool]:
        batch, rows = [first], len(first.rows)
        deadline = time.monotonic() + self._max_wait_s
        while rows < self._max_rows:
            try:
                pending = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if pending is None:
                return batch, True
            batch.append(pending)
            rows += len(pending.rows)
        return batch, False

    def _run_batch(self, batch: list[_Pending[Row, Out]]) -> None:
        rows = [row for pending in batch for row in pending.rows]
        start = time.time()
        try:
            outputs = self._forward(rows)
            if len(outputs) != len(rows):
                raise ValueError(f"forward returned {len(outputs)} outputs for {len(rows)} rows")
        except Exception as error:
            logger.exception(f"batch of {len(batch)} requests ({len(rows)} rows) failed")
            for pending in batch:
                pending.future.set_exception(error)
            return
        took_ms = (time.time() - start) * 1000
        logger.info(f"batch of {len(batch)} requests ({len(rows)} rows) took {took_ms:.1f}ms")
        offset = 0
        for pending in batch:
            end = offset + len(pending.rows)
            pending.future.set_result(list(outputs[offset:end]))
            offset = end


def model_forward(model: Any, device: str) -> Callable[[list[ScoringRow]], list[float]]:
    """The scoring model as a batch function: rows of (user_id, item_id, dense) -> scores."""

    def forward(rows: list[ScoringRow]) -> list[float]:
        users, items, dense = zip(*rows, strict=True)
        with torch.no_grad():
            scores = model(
                torch.tensor(users, dtype=torch.int64).reshape(-1, 1).to(device),
                torch.tensor(items, dtype=torch.int64).reshape(-1, 1).to(device),
                torch.tensor(dense, dtype=torch.float32).to(device),
            )
        return scores.reshape(-1).tolist()

    return forward


def create_app(model_path: str, max_batch_rows: int = 64, max_wait_ms: float = 2.0) -> Flask:
    app = new_app(__name__)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = torch.jit.load(model_path, map_location=device)
    dense_dim = int(model.dense_dim)
    batcher = MicroBatcher(model_forward(model, device), max_batch_rows, max_wait_ms / 1000)

    @app.post("/predict")
    def predict() -> Any:
        start = time.time()
        body = json_body()
        if body is None:
            return jsonify(error=NOT_JSON), 400
        try:
            # The id ranges are left to the model (see the module docstring).
            users, items, dense = check_rows(body, INT64_LIMIT, INT64_LIMIT, dense_dim)
        except BadRequest as error:
            return jsonify(error=str(error)), 400
        future = batcher.submit(list(zip(users, items, dense, strict=True)))
        try:
            scores = future.result()  # no timeout, on purpose (see the module docstring)
        except Exception as error:
            return jsonify(error=f"prediction failed: {error}"), 500
        logger.info(f"predict took {(time.time() - start) * 1000:.1f}ms for {len(scores)} rows")
        return jsonify(scores=scores)

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Naive Flask model endpoint, batched by hand")
    parser.add_argument("--model", required=True, help="TorchScript file")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--host", default=LOOPBACK_HOST, help=HOST_HELP)
    parser.add_argument(
        "--max-batch-rows", type=int, default=64, help="close a batch at this many rows"
    )
    parser.add_argument(
        "--max-wait-ms",
        type=float,
        default=2.0,
        help="close a batch this long after its first request",
    )
    args = parser.parse_args(argv)
    if args.max_batch_rows < 1:
        parser.error("--max-batch-rows must be at least 1")
    if args.max_wait_ms < 0:
        parser.error("--max-wait-ms must not be negative")
    serve(create_app(args.model, args.max_batch_rows, args.max_wait_ms), args.port, args.host)


if __name__ == "__main__":
    main()
