"""Scan reports as text, JSON or SARIF 2.1.0: pure functions from a ScanReport to str."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from infragap import __version__
from infragap.migrate.results import Finding
from infragap.migrate.scan import ScanReport
from infragap.migrate.walk import left_out_line

if TYPE_CHECKING:
    from infragap.migrate.rules import Rule

TOOL = "infragap-migrate"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _rule(rule_id: str) -> Rule:
    # Imported on first use: a report with no finding needs no rule (nor LibCST).
    from infragap.migrate.rules import RULES

    return RULES.get(rule_id)


def fix_hint(finding: Finding) -> str:
    """How to fix one finding, in words."""
    if finding.unfixable:
        return f"by hand: {finding.unfixable}"
    if not finding.fixes:
        rule = _rule(finding.rule)
        return f"no codemod yet: {rule.planned}" if rule.planned else "by hand"
    options = [f"--rule {fix} ({_rule(fix).kind})" for fix in finding.fixes]
    return "infragap migrate apply " + ", or ".join(options)


def format_text(report: ScanReport) -> str:
    out = []
    for f in report.findings:
        why = _rule(f.rule).why
        out.append(f"{f.path}:{f.line}:{f.column}: {f.rule}: {f.message}")
        out.append(f"    {f.code}")
        out.append(f"    why: {why}")
        out.append(f"    fix: {fix_hint(f)}")
    fixable = sum(1 for f in report.findings if f.fixes and not f.unfixable)
    files = len({f.path for f in report.findings})
    out.append(
        f"{len(report.findings)} findings ({fixable} fixable by a codemod) in {files} files; "
        f"scanned {report.files} files, {report.lines:,} lines in {report.seconds:.2f} s "
        f"({report.lines_per_second:,.0f} lines/s)"
    )
    if report.left_out:
        out.append(left_out_line(report.left_out))
    if report.skipped:
        out.append(f"skipped {len(report.skipped)}:")
        out.extend(f"    {s.rel}: {s.reason}" for s in report.skipped)
    if report.errors:
        out.append(f"errors {len(report.errors)}:")
        out.extend(f"    {e.rel}: {e.reason}" for e in report.errors)
    return "\n".join(out) + "\n"


def format_json(report: ScanReport) -> str:
    document = {
        "tool": TOOL,
        "version": __version__,
        "root": report.root,
        "summary": {
            "findings": len(report.findings),
            "files": report.files,
            "lines": report.lines,
            "seconds": round(report.seconds, 4),
            "skipped": len(report.skipped),
            "errors": len(report.errors),
            "left_out": len(report.left_out),
        },
        "findings": [
            {
                "rule": f.rule,
                "path": f.path,
                "line": f.line,
                "column": f.column,
                "code": f.code,
                "message": f.message,
                "why": _rule(f.rule).why,
                "fixes": list(f.fixes),
                "unfixable": f.unfixable,
                "fix": fix_hint(f),
            }
            for f in report.findings
        ],
        "skipped": [{"path": s.rel, "reason": s.reason} for s in report.skipped],
        "errors": [{"path": e.rel, "reason": e.reason} for e in report.errors],
        "left_out": [
            {"path": item.rel, "why": item.why, "gitignore": item.ignored}
            for item in report.left_out
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def _camel(rule_id: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", rule_id))


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    if rule.kind == "report-only":
        help_text = f"No codemod yet: {rule.planned}." if rule.planned else "Fix by hand."
    else:
        help_text = f"infragap migrate apply --rule {rule.id} ({rule.kind} codemod)."
    return {
        "id": rule.id,
        "name": _camel(rule.id),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.why},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": "note" if rule.kind == "report-only" else "warning"},
        "properties": {"kind": rule.kind},
    }


def _location(path: str, line: int = 0, column: int = 0, snippet: str = "") -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": quote(path), "uriBaseId": "SRCROOT"}}
    if line:
        region: dict[str, Any] = {"startLine": line, "startColumn": max(column, 1)}
        if snippet:
            region["snippet"] = {"text": snippet}
        physical["region"] = region
    return {"physicalLocation": physical}


def format_sarif(report: ScanReport) -> str:
    """A SARIF 2.1.0 log with one run; paths are relative to the SRCROOT base id."""
    from infragap.migrate.rules import RULES

    rules = [rule for _, rule in RULES]
    index = {rule.id: number for number, rule in enumerate(rules)}
    results = [
        {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": "note" if _rule(f.rule).kind == "report-only" else "warning",
            "message": {"text": f"{f.message}. {_rule(f.rule).why} Fix: {fix_hint(f)}."},
            "locations": [_location(f.path, f.line, f.column, f.code)],
            "properties": {"fixes": list(f.fixes), "unfixable": f.unfixable},
        }
        for f in report.findings
    ]
    notifications = [
        {
            "level": "note",
            "message": {"text": f"skipped: {s.reason}"},
            "locations": [_location(s.rel)],
        }
        for s in report.skipped
    ] + [
        {"level": "error", "message": {"text": e.reason}, "locations": [_location(e.rel)]}
        for e in report.errors
    ]
    run = {
        "tool": {
            "driver": {
                "name": TOOL,
                "version": __version__,
                "rules": [_sarif_rule(r) for r in rules],
            }
        },
        "originalUriBaseIds": {"SRCROOT": {"uri": Path(report.root).as_uri() + "/"}},
        "invocations": [
            {"executionSuccessful": not report.errors, "toolExecutionNotifications": notifications}
        ],
        "results": results,
    }
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2) + "\n"


FORMATTERS = {"text": format_text, "json": format_json, "sarif": format_sarif}
