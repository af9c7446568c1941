"""duplicated-preprocessing (report only): the same feature computed in several files.

Per file it collects feature transforms (`pd.cut`, `pd.qcut`, `pd.get_dummies`,
`.rolling(...)`, scikit-learn encoders and scalers) with the column they work on; across
the repository it reports the transforms that occur in two files or more, typically
once in training and again, slightly differently, in serving, and where the copies
differ (module constants compared by value). `preprocessing-to-feast` moves such
features into a Feast feature repository; functions it has migrated are not reported.

Two more kinds of copy are reported, outside test files: array functions copied between
files (`analysis.array_functions`: the same numpy code twice, or a copy that drifted,
with where), and the same columns encoded one way in training and another in serving
(`analysis.encoding_skew`: LabelEncoder vs pd.get_dummies, a scaler vs raw values).
Notebooks are read too, as the Python of their code cells (they train), and their
findings name the cell and line.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import replace
from functools import lru_cache

import libcst as cst

from infragap.migrate.analysis.canonical import canonical, module_constants
from infragap.migrate.analysis.expression_diff import code as one_line
from infragap.migrate.analysis.expression_diff import differences
from infragap.migrate.analysis.feature_functions import DEPRECATED
from infragap.migrate.analysis.file_roles import file_role, is_test_file
from infragap.migrate.analysis.trees import preorder
from infragap.migrate.results import Finding
from infragap.migrate.rules.base import Rule, rule
from infragap.migrate.rules.preprocessing_copies import (
    SEP,
    Locator,
    aggregate_copies,
    aggregate_encodings,
    copy_findings,
    encoding_findings,
)
from infragap.migrate.source import Source

PANDAS = {"pandas.cut", "pandas.qcut", "pandas.get_dummies", "pandas.factorize"}
WINDOWS = {"rolling", "expanding", "ewm"}


def _code(finding: Finding) -> str:
    return finding.key.split(SEP, 5)[5]


def _kind(finding: Finding) -> str:
    return finding.key.split(SEP, 1)[0]


def _where(finding: Finding) -> str:
    return finding.key.split(SEP, 3)[2]


def _difference(finding: Finding, others: list[Finding]) -> str:
    """ ", and the copies differ: X here vs Y in other.py:9" for the first file whose copies
    all differ from this one; a file holding one the same as this says nothing."""
    mine = _code(finding)
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for other in others:
        by_path[other.path].append(other)
    for theirs in by_path.values():
        if any(_code(other) == mine for other in theirs):
            continue  # this copy has its twin there (a file may hold X_train and X_test)
        closest = min(theirs, key=lambda other: _differences(mine, _code(other)).count(";"))
        parts = _differences(mine, _code(closest))
        if parts:
            return f", and the copies differ: {parts} in {_where(closest)}"
    return ""


@lru_cache(maxsize=1024)
def _differences(mine: str, theirs: str) -> str:
    """Where two canonical codes differ; a repository holds many copies of few codes."""
    pairs = differences(cst.parse_expression(mine), cst.parse_expression(theirs))
    return "; ".join(f"{a} here vs {b}" for a, b in pairs)


def _frame(node: cst.CSTNode) -> str:
    """The name of the first frame the call reads a column of (`df` in `df["age"]`)."""
    for inner in preorder(node):
        if isinstance(inner, cst.Subscript) and isinstance(inner.value, cst.Name) and inner.slice:
            return inner.value.value
    return ""


def _column(node: cst.CSTNode | None) -> str:
    """The first `df["col"]` column (or `df.col` attribute) named in `node`."""
    if node is None:
        return ""
    for inner in preorder(node):
        if isinstance(inner, cst.Subscript) and inner.slice:
            index = inner.slice[0].slice
            if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
                return str(index.value.evaluated_value)
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
    languages = ("python", "notebook")
    summary = "Report feature transforms computed in several files (training vs serving)."
    why = (
        "Features recomputed by hand in training and again in serving drift apart, so "
        "the model serves on inputs it was not trained on (training/serving skew)."
    )
    fixes = ("preprocessing-to-feast",)
    prefilter = re.compile(
        r"\b(?:cut|qcut|get_dummies|factorize|rolling|expanding|ewm|numpy)\b|"
        r"(?:Encoder|Scaler|KBinsDiscretizer|Binarizer)\b"  # LabelEncoder, MinMaxScaler
    )

    def find(self, source: Source) -> list[Finding]:
        locate = Locator(self, source)
        digest = hashlib.sha256(source.text.encode("utf-8")).hexdigest()[:16]
        found = self._transforms(source, locate, digest)
        if not is_test_file(source.path):
            role = file_role(source)
            found += copy_findings(source, locate, digest, role)
            found += encoding_findings(source, locate, digest, role)
        return found

    def _transforms(self, source: Source, locate: Locator, digest: str) -> list[Finding]:
        visitor = _Transforms(source)
        source.module.visit(visitor)
        constants = module_constants(source) if visitor.found else {}
        found = []
        for call, operation, column in visitor.found:
            label = f"{operation} on {column!r}" if column else operation
            code = one_line(canonical(source, call, constants, _frame(call)))  # by meaning
            found.append(locate(call, label, "transform", digest, operation, column, code))
        return found

    def aggregate(self, findings: list[Finding]) -> list[Finding]:
        copy_of = _identical_copies(findings)
        kept = _transform_findings([f for f in findings if _kind(f) == "transform"], copy_of)
        others = [f for f in findings if f.path not in copy_of]
        kept += aggregate_copies([f for f in others if _kind(f) == "array"])
        kept += aggregate_encodings([f for f in others if _kind(f) == "encoding"])
        for path, original in sorted(copy_of.items()):
            own = [f for f in findings if f.path == path and _kind(f) != "encoding"]
            if not own:
                continue
            first = min(own, key=lambda f: (f.line, f.column))
            transforms = sum(_kind(f) == "transform" for f in own)
            functions = len(own) - transforms
            what = " and ".join(
                filter(
                    None,
                    (
                        _counted(transforms, "feature transform"),
                        _counted(functions, "array function"),
                    ),
                )
            )
            message = (
                f"{path} is a byte-identical copy of {original}: the same {what}, twice; "
                "keep one and import it"
            )
            kept.append(replace(first, message=message))
        return sorted(kept, key=lambda f: (f.path, f.line, f.column))


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}" if count else ""


def _transform_findings(findings: list[Finding], copy_of: dict[str, str]) -> list[Finding]:
    groups: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.path in copy_of:
            continue  # a byte-identical copy is reported once, as a copy
        _, _, _, operation, column, _ = finding.key.split(SEP, 5)
        groups[(operation, column)].append(finding)
    kept: list[Finding] = []
    for group in groups.values():
        paths = sorted({f.path for f in group})
        if len(paths) < 2:
            continue
        copies = sorted(copy for copy, original in copy_of.items() if original in paths)
        for finding in group:
            others = [o for o in group if o.path != finding.path]
            where = ", ".join(dict.fromkeys(_where(o) for o in others))
            twins = [copy for copy in copies if copy_of[copy] == finding.path]
            if twins:
                where += f"; byte-identical in {', '.join(twins)}"
            count = len(paths) + len(copies)
            message = f"{finding.message} is computed in {count} files (also {where})"
            kept.append(replace(finding, message=message + _difference(finding, others)))
    return kept


def _identical_copies(findings: list[Finding]) -> dict[str, str]:
    """{path: the first path (in order) whose bytes it repeats}, for files with findings."""
    first: dict[str, str] = {}
    copy_of: dict[str, str] = {}
    for path, digest in sorted({(f.path, f.key.split(SEP, 2)[1]) for f in findings}):
        if digest in first:
            copy_of[path] = first[digest]
        else:
            first[digest] = path
    return copy_of
