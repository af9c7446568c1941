"""What a benchmark suite is, and the registry suites add themselves to.

A suite knows how to start its variants, drive them and what it adds to the results.
The CLI and the report stay generic: registering a suite here is all it takes to appear
in `infragap bench`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console

from infragap.atomic import write_json_atomically
from infragap.errors import ResultsSaveError
from infragap.output import describe, fix_for
from infragap.processes import Supervisor
from infragap.registry import Registry


@dataclass
class ResultsRecorder:
    """The run's results document and where it lives; `save()` after every level."""

    path: Path
    doc: dict[str, Any]

    def section(self, suite: str) -> dict[str, Any]:
        return self.doc["suites"].setdefault(suite, {"status": "running", "error": None})

    def save(self) -> None:
        """Replace the file; on failure the last good copy stays and ResultsSaveError says why."""
        try:
            write_json_atomically(self.path, self.doc)
        except OSError as error:
            raise ResultsSaveError(
                f"cannot save the results to {self.path}: {describe(error)}; the last good "
                f"copy is kept and the run was stopped: {fix_for(error)}, then run it again"
            ) from error


@dataclass
class BenchContext:
    """Everything a suite needs from the harness for one run."""

    args: argparse.Namespace
    work_dir: Path
    supervisor: Supervisor
    results: ResultsRecorder
    console: Console = field(default_factory=Console)


class Suite(Protocol):
    name: str
    description: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add this suite's own options to `infragap bench` (names must not clash)."""

    def config(self, args: argparse.Namespace) -> dict[str, Any]:
        """The resolved configuration recorded in the results (validate here)."""

    def run(self, ctx: BenchContext, section: dict[str, Any]) -> None:
        """Measure, filling `section` and calling ctx.results.save() as results arrive."""

    def summary_rows(self, section: dict[str, Any]) -> list[list[str]]:
        """Rows for the terminal summary table (first row: headers)."""


def run_steps(
    steps: Sequence[tuple[str, Callable[[Any], None]]], run: Any, ctx: BenchContext
) -> None:
    """A suite's steps in order, on its run state; every child process stopped however
    they end (a failed step, Ctrl-C), before the harness records the outcome."""
    try:
        for _title, step in steps:
            step(run)
    finally:
        ctx.supervisor.stop_all()


SUITES: Registry[Suite] = Registry("suite")
