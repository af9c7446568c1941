"""From loaded results documents to a Page: sections, comparison, warnings, contents.

No files and no HTML here: `build_page` takes the documents and returns the data the
template draws. Section plugins come from `infragap.reports.sections.all`.
"""

from __future__ import annotations

from typing import Any

from infragap import __version__
from infragap.reports import bootstrap
from infragap.reports import format as fmt
from infragap.reports.microbench import BenchmarkFile, benchmark_part
from infragap.reports.model import (
    Callout,
    ItemList,
    KeyValues,
    Page,
    Part,
    SectionView,
    TocEntry,
)
from infragap.reports.provenance import provenance_part
from infragap.reports.regression import comparison_parts
from infragap.reports.runs import Run, slug, suite_names
from infragap.reports.sections import Contribution
from infragap.reports.sections.all import section_for


def status_warning(view: SectionView) -> str | None:
    if view.status == "complete":
        return None
    why = f": {view.error}" if view.error else ""
    return (
        f"the {view.suite} suite did not complete (status '{view.status}'){why}; its "
        "figures may be partial or missing"
    )


def contribute_safely(suite: str, section: dict[str, Any], anchor: str) -> Contribution:
    """A section plugin that trips over odd data must not take the whole report down."""
    try:
        return section_for(suite).contribute(section, anchor)
    except Exception as error:  # any plugin bug becomes a visible note
        note = Callout(
            "bad",
            f"This section could not be drawn ({type(error).__name__}: "
            f"{error}); the recorded configuration and warnings follow.",
            title="drawing failed",
        )
        return Contribution(parts=[Part("Section error", f"{anchor}-error", [note])])


def section_view(run: Run, suite: str, anchor: str) -> SectionView:
    section = run.doc["suites"][suite]
    plugin = section_for(suite)
    contribution = contribute_safely(suite, section, anchor)
    warnings = [str(w) for w in section.get("warnings") or []] + contribution.warnings
    config = section.get("config")
    parts = list(contribution.parts)
    if config:
        parts.append(
            Part("Configuration", f"{anchor}-config", [KeyValues(items=fmt.flatten(config))])
        )
    return SectionView(
        suite=suite,
        title=plugin.title,
        anchor=anchor,
        status=str(section.get("status")),
        description=plugin.description,
        run_label=run.label,
        verdicts=contribution.verdicts,
        claims=contribution.claims,
        warnings=warnings,
        error=str(section["error"]) if section.get("error") else None,
        parts=parts,
    )


METHOD = [
    "Every figure comes from running both sides of a pair in the same run, on the same "
    "machine, on the same seeded inputs, after checking that both give the same answers.",
    f"Ratios carry {round(bootstrap.CONFIDENCE * 100)}% percentile-bootstrap intervals "
    f"({bootstrap.RESAMPLES} resamples, seed {bootstrap.SEED}, each side resampled "
    "independently): throughput over the per-second samples of the measured window, "
    "latency percentiles over every request's exact latency.",
    "A ratio whose interval includes 1 is reported as no clear difference, not as a win.",
    "The intervals capture the noise inside a run. Run-to-run variation can be larger: "
    "comparing two runs (infragap report A.json B.json) shows it.",
]


def method_part() -> Part:
    return Part("How the numbers are made", "method", [ItemList(METHOD)])


def page_warnings(runs: list[Run], sections: list[SectionView]) -> list[tuple[str, str]]:
    found = []
    for run in runs:
        if not run.doc.get("complete"):
            found.append(
                (
                    run.label,
                    "the run is incomplete (complete: false): it was "
                    "interrupted or a suite failed, so some figures are missing",
                )
            )
    for view in sections:
        status = status_warning(view)
        found += [(view.title, status)] if status else []
        found += [(view.title, warning) for warning in view.warnings]
    return found


def table_of_contents(
    page_sections: list[SectionView], comparison: list[Part], extras: list[Part]
) -> list[TocEntry]:
    toc = [TocEntry("At a glance", "glance"), TocEntry("Validity", "validity")]
    if comparison:
        toc.append(
            TocEntry("Comparison", "comparison", [TocEntry(p.title, p.anchor) for p in comparison])
        )
    for view in page_sections:
        toc.append(
            TocEntry(view.title, view.anchor, [TocEntry(p.title, p.anchor) for p in view.parts])
        )
    toc += [TocEntry(p.title, p.anchor) for p in extras]
    return toc


def subtitle(runs: list[Run]) -> str:
    latest = runs[-1].doc["run"]
    host = latest.get("host") or {}
    machine = ", ".join(
        str(x)
        for x in (
            host.get("hostname"),
            host.get("cpu_model"),
            f"{host['cpu_cores_logical']} logical cores" if host.get("cpu_cores_logical") else None,
            host.get("gpu") or None,
        )
        if x
    )
    if len(runs) == 1:
        return (
            f"Run {runs[0].label}, started {fmt.timestamp(latest.get('started_at'))} on {machine}"
        )
    return (
        f"{len(runs)} runs compared, {runs[0].label} (baseline) to {runs[-1].label}; "
        f"latest on {machine}"
    )


def build_page(
    runs: list[Run], benchmarks: list[BenchmarkFile], generated_at: str | None = None
) -> Page:
    """The whole report as data. The latest run holding a suite provides its section."""
    views = []
    for suite in suite_names(runs):
        latest = [run for run in runs if suite in run.doc["suites"]][-1]
        views.append(section_view(latest, suite, f"suite-{slug(suite)}"))
    comparison = comparison_parts(runs)
    extras = [p for p in (benchmark_part(benchmarks),) if p is not None]
    extras += [
        provenance_part([(r.label, r.source, r.doc) for r in runs], "provenance"),
        method_part(),
    ]
    names = ", ".join(view.suite for view in views) or "no suites"
    return Page(
        title=f"infragap report: {names}",
        subtitle=subtitle(runs),
        run_labels=[run.label for run in runs],
        sections=views,
        comparison=comparison,
        extras=extras,
        toc=table_of_contents(views, comparison, extras),
        warnings=page_warnings(runs, views),
        generated_at=generated_at,
        generator=f"infragap {__version__}",
        sources=[run.source for run in runs],
    )
