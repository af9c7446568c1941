"""The toy suite's report section: one table of every level."""

from __future__ import annotations

from typing import Any

from infragap.reports.compare import Metric
from infragap.reports.model import Cell, Part, Table
from infragap.reports.sections import SECTIONS, Contribution
from infragap.reports.sections.serving_data import levels_of


class ToySection:
    title = "Toy: slow vs fast summing"
    description = "A pair defined entirely in a test."

    def contribute(self, section: dict[str, Any], anchor: str) -> Contribution:
        rows = [
            [Cell(name), Cell(str(users)), Cell(f"{level.record['throughput_rps']:.1f}")]
            for name, by_users in levels_of(section).items()
            for users, level in sorted(by_users.items())
        ]
        table = Table(["variant", "users", "req/s"], rows, title="toy levels")
        return Contribution(
            verdicts=["toy-fast sums faster than toy-slow"],
            parts=[Part("Toy levels", f"{anchor}-levels", [table])],
        )

    def metrics(self, section: dict[str, Any]) -> list[Metric]:
        return []


SECTIONS.register("toy")(ToySection())
