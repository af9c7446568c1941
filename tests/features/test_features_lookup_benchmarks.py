"""In-process lookup latency as pytest-benchmark micro-benchmarks: the naive serving
function (with the raw-file reads it does per request) vs Feast's get_online_features.

`pytest tests/features/test_features_lookup_benchmarks.py --benchmark-json=FILE` writes
the file `infragap report --benchmarks FILE` shows. Benchmarks measure; nothing here
asserts a speed.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pytest_benchmark")

pytestmark = pytest.mark.integration

ROUNDS = 15


def test_naive_function_lookup(benchmark, features_run):
    from infragap.naive.features_serving import read_raw, serving_features

    folder = features_run.raw.folder
    ids = features_run.sample[:1]

    def lookup():
        users, events = read_raw(folder)
        return serving_features(users, events, ids, features_run.as_of)

    rows = benchmark.pedantic(lookup, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert rows[0]["found"]


def test_feast_sdk_lookup(benchmark, features_run):
    from infragap.proven.feast_repo.store import online_features

    ids = features_run.sample[:1]
    checks = features_run.feast_tuning.typechecks  # as the suite's own lookups run
    found = benchmark.pedantic(
        online_features,
        args=(features_run.store, ids, features_run.request_ts, checks),
        rounds=ROUNDS,
        iterations=1,
        warmup_rounds=1,
    )
    assert found["user_id"] == ids and found["events_7d"][0] is not None
