"""One in-process run of the features suite on the tiny data set, shared by the
integration tests and the lookup benchmarks: data, training tables, `feast apply`,
materialisation, both endpoints started, answers, skew, leakage and consistency done.
The endpoints stay up until the session ends."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from infragap.processes import Supervisor
from infragap.reports.schema import new_document
from infragap.suites.base import BenchContext, ResultsRecorder

SEED = 11


def quick_args(**overrides: object) -> argparse.Namespace:
    args = {
        "quick": True,
        "seed": SEED,
        "features_data_size": "tiny",
        "online_store": "sqlite",
        "entities_per_request": 1,
        "feast_workers": 1,
        "users": "1",
        "duration": 1.5,
        "warmup": 0.5,
        "feast_port": None,
        "naive_features_port": None,
        "redis_port": None,
    }
    args.update(overrides)
    return argparse.Namespace(**args)


@pytest.fixture(scope="session")
def features_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    pytest.importorskip("feast")
    from infragap.suites.features.suite import FeaturesRun, FeaturesSuite, run_steps

    work = tmp_path_factory.mktemp("features")
    args = quick_args()
    config = FeaturesSuite().config(args)
    doc = new_document({"id": "test"})
    doc["suites"]["features"] = {"status": "running", "error": None, "config": config}
    recorder = ResultsRecorder(Path(work) / "results.json", doc)
    section = doc["suites"]["features"]
    section["warnings"] = []
    with Supervisor(work / "logs") as supervisor:
        ctx = BenchContext(args, work, supervisor, recorder, Console(quiet=True))
        run = FeaturesRun(ctx, section, dict(config))
        run_steps(run, until="drive load")
        yield run
