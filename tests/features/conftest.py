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
    """`infragap bench features` options as the CLI parses them, small, with `overrides`."""
    from infragap.cli import build_parser

    argv = ["bench", "features", "--quick", "--seed", str(SEED), "--features-data-size", "tiny"]
    argv += ["--users", "1", "--duration", "1.5", "--warmup", "0.5", "--calibrate", "never"]
    args = build_parser().parse_args(argv)
    for name, value in overrides.items():
        setattr(args, name, value)
    return args


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
