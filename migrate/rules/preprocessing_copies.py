"""duplicated-preprocessing's findings beyond DataFrame transforms: copied array
functions, skewed encodings and derived columns computed twice, per file (`*_findings`)
and across files (`aggregate_*`).

A finding carries what the cross-file step needs in its key: fields joined by SEP,
always `kind, digest of the file, where, ...` (where: `path:line`, or for a notebook
`path cell N line M`). Notebook findings point at the line of the `.ipynb` file that
holds the code, and their message starts with the cell and line.
"""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from infragap.migrate.analysis.array_copies import Copy, pairings
from infragap.migrate.analysis.array_functions import array_functions
from infragap.migrate.analysis.derived_columns import Assigned, column_pairs, derived_columns
from infragap.migrate.analysis.encoding_skew import Use, skews
from infragap.migrate.analysis.encodings import encodings, raw_columns
from infragap.migrate.notebooks import is_notebook, place
from infragap.migrate.results import Finding
from infragap.migrate.rules.base import Rule
from infragap.migrate.source import Source

SEP = "\x1f"
LIST_SEP = "\x1e"


class Locator:
    """Makes one file's findings, placed in notebooks by cell, with their keys."""

    def __init__(self, rule_: Rule, source: Source) -> None:
        self.rule = rule_
        self.source = source

    def __call__(self, node: cst.CSTNode, message: str, kind: str, *fields: str) -> Finding:
        finding = self.rule.finding(self.source, node, message)
        where = f"{finding.path}:{finding.line}"
        at = place(self.source.text, finding.line) if is_notebook(self.source.path) else None
        if at is not None:
            where = f"{finding.path} {at}"
            finding = replace(finding, line=at.file_line or 1, column=1, message=f"{at}: {message}")
        digest, *rest = fields
        return replace(finding, key=SEP.join((kind, digest, where, *rest)))


def copy_findings(source: Source, locate: Locator, digest: str, role: str) -> list[Finding]:
    return [
        locate(
            function.node.name,
            f"{function.name}()",
            "array",
            digest,
            role,
            function.name,
            str(function.params),
            function.shape,
            function.code,
        )
        for function in array_functions(source)
    ]


def aggregate_copies(findings: list[Finding]) -> list[Finding]:
    by_copy: dict[Copy, Finding] = {}
    for finding in findings:
        _, _, where, role, name, params, shape, code = finding.key.split(SEP, 7)
        copy = Copy(finding.path, finding.line, where, role, name, int(params), shape, code)
        by_copy[copy] = finding
    kept = []
    for pairing in pairings(list(by_copy)):
        copy, reference = pairing.copy, pairing.reference
        finding = by_copy[copy]
        prefix = finding.message[: -len(f"{copy.name}()")]  # a notebook's cell and line
        if pairing.differences:
            parts = "; ".join(f"{a} here vs {b}" for a, b in pairing.differences)
            message = (
                f"{copy.name}() is a copy of {reference.name}() in {reference.where} that "
                f"drifted: {parts}; keep one and import it in both"
            )
        else:
            names = (
                ""
                if copy.code.replace(copy.name, "") == reference.code.replace(reference.name, "")
                else ", up to names"
            )
            message = (
                f"{copy.name}() is a copy of {reference.name}() in {reference.where} (the "
                f"same array code{names}); keep one and import it in both, so they cannot drift"
            )
        kept.append(replace(finding, message=prefix + message, fixes=()))
    return kept


def encoding_findings(source: Source, locate: Locator, digest: str, role: str) -> list[Finding]:
    if role not in ("training", "serving"):
        return []
    found = []
    encoded = encodings(source)
    for encoding in encoded:
        found.append(
            locate(
                encoding.node,
                "",
                "encoding",
                digest,
                role,
                LIST_SEP.join(encoding.columns),
                encoding.encoder,
                encoding.family,
                "1" if encoding.fitted else "",
                encoding.detail,
                "1" if encoding.in_model else "",
            )
        )
    if role == "serving":
        columns = {c for e in encoded for c in e.columns}
        for column, node in raw_columns(source):
            if column not in columns:
                found.append(
                    locate(node, "", "encoding", digest, role, column, "raw", "raw", "", "", "")
                )
    return found


def aggregate_encodings(findings: list[Finding]) -> list[Finding]:
    by_use: dict[Use, Finding] = {}
    for finding in findings:
        fields = finding.key.split(SEP)
        _, _, where, role, columns, encoder, family, fitted, detail, in_model = fields
        use = Use(
            finding.path,
            finding.line,
            where,
            role,
            tuple(columns.split(LIST_SEP)),
            encoder,
            family,
            bool(fitted),
            detail,
            bool(in_model),
        )
        by_use[use] = finding
    return [
        replace(by_use[skew.serving], message=by_use[skew.serving].message + skew.message, fixes=())
        for skew in skews(list(by_use))
    ]


def column_findings(source: Source, locate: Locator, digest: str, role: str) -> list[Finding]:
    if role not in ("training", "serving"):
        return []
    return [
        locate(column.node, "", "column", digest, role, column.column, column.code, column.shown)
        for column in derived_columns(source)
    ]


def aggregate_columns(findings: list[Finding]) -> list[Finding]:
    """On the serving side: each column computed another way in training (drift), and
    per training file the columns computed the same way there (a duplicate), once."""
    by_assigned: dict[Assigned, Finding] = {}
    for finding in findings:
        _, _, where, role, column, code, shown = finding.key.split(SEP, 6)
        assigned = Assigned(finding.path, finding.line, where, role, column, code, shown)
        by_assigned[assigned] = finding
    drifted: dict[Assigned, list[Assigned]] = {}
    same: dict[tuple[str, str], list[tuple[Assigned, Assigned]]] = {}
    for pair in column_pairs(list(by_assigned)):
        if pair.same:
            same.setdefault((pair.serving.path, pair.training.path), []).append(
                (pair.serving, pair.training)
            )
        else:
            drifted.setdefault(pair.serving, []).append(pair.training)
    kept = []
    for serving, trainings in drifted.items():
        versus = " and ".join(f"{t.shown} in {t.where}" for t in trainings)
        message = (
            f"{serving.column} is computed differently in training and serving: "
            f"{serving.shown} here vs {versus}; the model gets inputs unlike those it was "
            "trained on (training/serving skew)"
        )
        finding = by_assigned[serving]
        kept.append(replace(finding, message=finding.message + message))
    for pairs in same.values():
        pairs.sort(key=lambda pair: pair[0].line)
        names = [serving.column for serving, _ in pairs]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        noun = "expression" if len(names) == 1 else "expressions"
        here = places([serving.where for serving, _ in pairs], pairs[0][0].path)
        there = places([training.where for _, training in pairs], pairs[0][1].path)
        message = (
            f"{listed} {'is' if len(names) == 1 else 'are'} computed by the same {noun} in "
            f"{here} and {there}: a duplicate; keep one copy and import it in both, "
            "so they cannot drift"
        )
        finding = by_assigned[pairs[0][0]]
        kept.append(replace(finding, message=finding.message + message))
    return kept


def places(wheres: list[str], path: str) -> str:
    """Places in one file, the file named once: `a.py:7, 8`, `b.ipynb cell 2 line 1, cell 3
    line 4`."""
    suffixes = list(dict.fromkeys(where[len(path) :] for where in wheres))
    rest = [suffix.lstrip(": ") for suffix in suffixes[1:]]
    return path + ", ".join([suffixes[0], *rest])
