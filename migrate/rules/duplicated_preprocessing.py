"""duplicated-preprocessing (report only): the same feature computed in several files.

Per file it collects feature transforms (`pd.cut`, `pd.qcut`, `pd.get_dummies`,
`.rolling(...)`, scikit-learn encoders and scalers) with the column they work on; across
the repository it reports the transforms that occur in two files or more, typically
once in training and again, slightly differently, in serving, and where the copies
differ (module constants compared by value). `preprocessing-to-feast` moves such
features into a Feast feature repository; functions it has migrated are not reported.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace
from functools import lru_cache

import libcst as cst

from infragap.migrate.analysis.canonical import canonical, module_constants
from infragap.migrate.analysis.expression_diff import code as one_line
from infragap.migrate.analysis.expression_diff import differences
from infragap.migrate.analysis.feature_functions import DEPRECATED
from infragap.migrate.results import Finding
from infragap.migrate.rules.base import Rule, rule
from infragap.migrate.source import Source

PANDAS = {"pandas.cut", "pandas.qcut", "pandas.get_dummies", "pandas.factorize"}
WINDOWS = {"rolling", "expanding", "ewm"}
SEP = "\x1f"


def _difference(finding: Finding, others: list[Finding]) -> str:
    """ ", and the copies differ: X here vs Y in other.py:9" for the first copy that differs."""
    mine = finding.key.split(SEP, 2)[2]
    for other in others:
        theirs = other.key.split(SEP, 2)[2]
        parts = _differences(mine, theirs) if theirs != mine else ""
        if parts:
            return f", and the copies differ: {parts} in {other.path}:{other.line}"
    return ""


@lru_cache(maxsize=1024)
def _differences(mine: str, theirs: str) -> str:
    """Where two canonical codes differ; a repository holds many copies of few codes."""
    pairs = differences(cst.parse_expression(mine), cst.parse_expression(theirs))
    return "; ".join(f"{a} here vs {b}" for a, b in pairs)


def _frame(node: cst.CSTNode) -> str:
    """The name of the first frame the call reads a column of (`df` in `df["age"]`)."""
    if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name) and node.slice:
        return node.value.value
    for child in node.children:
        found = _frame(child)
        if found:
            return found
    return ""


def _column(node: cst.CSTNode | None) -> str:
    """The first `df["col"]` column (or `df.col` attribute) named in `node`."""
    if node is None:
        return ""
    if isinstance(node, cst.Subscript) and node.slice:
        index = node.slice[0].slice
        if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
            return str(index.value.evaluated_value)
    for child in node.children:
        found = _column(child)
        if found:
            return found
    return ""


class _Transforms(cst.CSTVisitor):
    def __init__(self, source: Source) -> None:
        self.source = source
        self.found: list[tuple[cst.Call, str, str]] = []  # call, operation, column
        self.migrated = 0  # depth inside functions preprocessing-to-feast deprecated

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        marks = (line.comment.value for line in node.leading_lines if line.comment)
        self.migrated += any(DEPRECATED in mark for mark in marks)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        marks = (line.comment.value for line in original_node.leading_lines if line.comment)
        self.migrated -= any(DEPRECATED in mark for mark in marks)

    def visit_Call(self, node: cst.Call) -> None:
        if self.migrated:
            return
        qualname = self.source.qualname(node.func) or ""
        first = node.args[0].value if node.args else None
        if qualname in PANDAS:
            self.found.append((node, qualname.replace("pandas.", "pd."), _column(first)))
        elif qualname.startswith("sklearn.preprocessing."):
            self.found.append((node, qualname.rsplit(".", 1)[-1], ""))
        elif (
            isinstance(node.func, cst.Attribute)
            and node.func.attr.value in WINDOWS
            and qualname.split(".", 1)[0] not in ("pandas", "numpy")
        ):
            column = _column(node.func.value)
            self.found.append((node, f".{node.func.attr.value}()", column))


@rule("duplicated-preprocessing")
class DuplicatedPreprocessing(Rule):
    kind = "report-only"
    summary = "Report feature transforms computed in several files (training vs serving)."
    why = (
        "Features recomputed by hand in training and again in serving drift apart, so "
        "the model serves on inputs it was not trained on (training/serving skew)."
    )
    fixes = ("preprocessing-to-feast",)
    prefilter = re.compile(
        r"\b(?:cut|qcut|get_dummies|factorize|rolling|expanding|ewm|Encoder|Scaler|"
        r"KBinsDiscretizer|Binarizer)\b"
    )

    def find(self, source: Source) -> list[Finding]:
        visitor = _Transforms(source)
        source.module.visit(visitor)
        constants = module_constants(source) if visitor.found else {}
        found = []
        for call, operation, column in visitor.found:
            label = f"{operation} on {column!r}" if column else operation
            code = one_line(canonical(source, call, constants, _frame(call)))  # by meaning
            key = SEP.join((operation, column, code))
            found.append(self.finding(source, call, label, key=key))
        return found

    def aggregate(self, findings: list[Finding]) -> list[Finding]:
        groups: dict[tuple[str, str], list[Finding]] = defaultdict(list)
        for finding in findings:
            operation, column, _ = finding.key.split(SEP, 2)
            groups[(operation, column)].append(finding)
        kept = []
        for group in groups.values():
            paths = sorted({f.path for f in group})
            if len(paths) < 2:
                continue
            for finding in group:
                others = [o for o in group if o.path != finding.path]
                where = ", ".join(f"{o.path}:{o.line}" for o in others)
                message = f"{finding.message} is computed in {len(paths)} files (also {where})"
                kept.append(replace(finding, message=message + _difference(finding, others)))
        return sorted(kept, key=lambda f: (f.path, f.line, f.column))
