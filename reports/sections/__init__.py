"""Report sections: what each suite adds to the page, registered by suite name.

A suite's report section is a plugin like the suite itself::

    from infragap.reports.sections import SECTIONS, Contribution

    class FeaturesSection:
        title = "Features: pandas vs Feast"
        def contribute(self, section, anchor): return Contribution(claims=[...], parts=[...])
        def metrics(self, section): return [Metric(...), ...]

    SECTIONS.register("features")(FeaturesSection())

in a new module of this package (`infragap.reports.sections.all` imports every module
here, so nothing else needs an edit). The report core draws what every
suite has (status, error, validity warnings, configuration) itself, so a suite without a
registered section still gets a generic one, and unknown suites never break the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from infragap.registry import Registry
from infragap.reports.compare import Metric
from infragap.reports.model import Claim, Part


@dataclass(frozen=True)
class Contribution:
    """A suite's own share of its section.

    `verdicts` are plain-words sentences for the headline, `claims` the headline figures,
    `parts` the subsections (tables, charts), `warnings` validity problems the report
    notices on top of those the run recorded.
    """

    verdicts: list[str] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class ReportSection(Protocol):
    title: str
    description: str

    def contribute(self, section: dict[str, Any], anchor: str) -> Contribution:
        """Build the suite's blocks from its results section; `anchor` prefixes part anchors."""

    def metrics(self, section: dict[str, Any]) -> list[Metric]:
        """Figures with their samples, for comparing two runs of the suite."""


class GenericSection:
    """What an unknown suite gets: nothing beyond the core's status, warnings and config."""

    def __init__(self, suite: str) -> None:
        self.title = suite
        self.description = "No report section is registered for this suite; shown as recorded."

    def contribute(self, section: dict[str, Any], anchor: str) -> Contribution:
        return Contribution()

    def metrics(self, section: dict[str, Any]) -> list[Metric]:
        return []


SECTIONS: Registry[ReportSection] = Registry("report section")


def section_for(suite: str) -> ReportSection:
    return SECTIONS.get(suite) if suite in SECTIONS else GenericSection(suite)
