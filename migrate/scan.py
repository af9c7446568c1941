"""`migrate scan`: run every rule's finder over a repository and collect the findings.

`scan()` does the walking and reading; `scan_file()` is the per-file worker. The
formatters in `report_formats` are pure functions of the `ScanReport`. The rules (and
LibCST with them) are imported only once there is a file to read: a folder with no
source file is scanned without them.
"""

from __future__ import annotations

import ast
import time
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from infragap.migrate.files import load
from infragap.migrate.pool import run_all
from infragap.migrate.results import Finding
from infragap.migrate.walk import Candidate, LeftOut, Skipped, explore


@dataclass(frozen=True)
class FileScan:
    rel: str
    lines: int
    findings: tuple[Finding, ...] = ()
    skip: str = ""
    errors: tuple[str, ...] = ()
    passed_over: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScanReport:
    root: str
    files: int
    lines: int
    seconds: float
    findings: tuple[Finding, ...]
    skipped: tuple[Skipped, ...]
    errors: tuple[Skipped, ...]
    left_out: tuple[LeftOut, ...] = ()  # third-party or ignored: never read

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds > 0 else 0.0


def count_lines(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def scan_file(candidate: Candidate, rule_ids: tuple[str, ...]) -> FileScan:
    """All findings of the given rules in one file; never raises."""
    from infragap.migrate.analysis.trees import too_deep
    from infragap.migrate.rules import RULES
    from infragap.migrate.source import NotPython, Source

    loaded = load(candidate.path)
    if loaded.text is None:
        return FileScan(candidate.rel, 0, skip=loaded.skip)
    source = Source(loaded.text, candidate.rel, candidate.language)
    lines = count_lines(loaded.text)
    findings: list[Finding] = []
    errors: list[str] = []
    passed_over: list[str] = []  # rules that could not read this file
    rules = [RULES.get(rule_id) for rule_id in rule_ids]
    rules = [r for r in rules if candidate.language in r.languages and r.wants(loaded.text)]
    if candidate.language == "python" and not rules:
        problem = _syntax_problem(loaded.text, candidate.rel)  # no rule will parse it
        return FileScan(candidate.rel, lines, skip=problem)
    for rule in rules:
        rule_id = rule.id
        try:
            findings.extend(rule.find(source))
        except NotPython as err:
            return FileScan(candidate.rel, lines, skip=str(err))
        except RecursionError:  # the file's depth, not a rule bug: the other rules go on
            passed_over.append(f"{rule_id} passed it over: {too_deep()}")
        except Exception as err:  # a rule bug: report it, keep scanning
            errors.append(f"internal error in {rule_id}: {err!r}")
    return FileScan(
        candidate.rel,
        lines,
        tuple(findings),
        errors=tuple(errors),
        passed_over=tuple(passed_over),
    )


def _syntax_problem(text: str, path: str) -> str:
    try:
        ast.parse(text, filename=path)
    except (SyntaxError, ValueError):
        from infragap.migrate.source import syntax_problem

        return syntax_problem(text, path)
    return ""


def scan(path: Path, jobs: int = 1, rule_ids: tuple[str, ...] | None = None) -> ScanReport:
    """Scan a repository (or one file) with every rule, or the named ones."""
    if rule_ids:
        _known(rule_ids)  # unknown ids fail here, before any walking
    started = time.perf_counter()
    discovery = explore(path)
    root, candidates, skipped = discovery.root, discovery.found, discovery.skipped
    # Resolved here, in this process, so -j workers inherit the imported rules.
    ids = _known(rule_ids) if candidates else ()
    results = run_all(partial(scan_file, rule_ids=ids), candidates, jobs)
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for result in results:
        for finding in result.findings:
            by_rule[finding.rule].append(finding)
    findings = [f for rule_id in ids for f in _aggregate(rule_id, by_rule[rule_id])]
    findings.sort(key=lambda f: (f.path, f.line, f.column, f.rule))
    return ScanReport(
        root=str(root),
        files=sum(1 for r in results if not r.skip),
        lines=sum(r.lines for r in results if not r.skip),
        seconds=time.perf_counter() - started,
        findings=tuple(findings),
        skipped=(
            *skipped,
            *(Skipped(r.rel, r.skip) for r in results if r.skip),
            *(Skipped(r.rel, why) for r in results for why in r.passed_over),
        ),
        errors=tuple(Skipped(r.rel, error) for r in results for error in r.errors),
        left_out=tuple(discovery.left_out),
    )


def _known(rule_ids: tuple[str, ...] | None) -> tuple[str, ...]:
    """The ids asked for (every rule when none), each checked against the registry."""
    from infragap.migrate.rules import RULES

    ids = tuple(rule_ids) if rule_ids else tuple(RULES.names())
    for rule_id in ids:
        RULES.get(rule_id)  # unknown ids fail here, with the list of known ones
    return ids


def _aggregate(rule_id: str, findings: list[Finding]) -> list[Finding]:
    from infragap.migrate.rules import RULES

    return RULES.get(rule_id).aggregate(findings)
