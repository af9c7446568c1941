"""duplicated-preprocessing (report only): the same feature computed in several files.

Per file it collects feature transforms (`pd.cut`, `pd.qcut`, `pd.get_dummies`,
`.rolling(...)`, scikit-learn encoders and scalers) with the data they work on (the
columns they read, else the columns they write, else the variable they transform:
`analysis.transform_data`); across the repository it reports the transforms of one kind
that work on the same data in two files or more, typically once in training and again,
slightly differently, in serving, and where the copies differ (module constants compared
by value). Transforms on other columns are other steps, never copies. Each place is
reported once; a count of files names each of them, once, with its lines.
`preprocessing-to-feast` moves such features into a Feast feature repository; functions
it has migrated are not reported.

Three more kinds of copy are reported, outside test files: array functions copied
between files (`analysis.array_functions`: the same numpy code twice, or a copy that
drifted, with where), the same columns encoded one way in training and another in serving
(`analysis.encoding_skew`: LabelEncoder vs pd.get_dummies, a scaler vs raw values), and
derived columns computed by hand in training and again in serving
(`analysis.derived_columns`: by different expressions, drift; by the same, a duplicate).
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
from infragap.migrate.analysis.feature_transforms import feature_transforms
from infragap.migrate.analysis.file_roles import file_role, is_test_file
from infragap.migrate.analysis.trees import preorder
from infragap.migrate.notebooks import is_notebook
from infragap.migrate.results import Finding
from infragap.migrate.rules.base import Rule, rule
from infragap.migrate.rules.preprocessing_copies import (
    LIST_SEP,
    SEP,
    Locator,
    aggregate_columns,
    aggregate_copies,
    aggregate_encodings,
    column_findings,
    copy_findings,
    encoding_findings,
    places,
)
from infragap.migrate.source import Source

# When findings share a place, the first of these speaks for it (a transform's copy is
# named by the encoding skew there); the others' messages follow it.
ORDER = ("copy", "encoding", "column", "transform", "array")


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
    # One search per alternative, the cheapest first: a pattern that starts with a
    # literal ("[") is searched for by that literal, an alternation is tried everywhere.
    prefilters = (
        re.compile(r"\[\s*[rRuU]?[\"'][^\"'\n]+[\"']\s*\]\s*=[^=]"),  # df["col"] = ...
        re.compile(r"(?:Encoder|Scaler|KBinsDiscretizer|Binarizer)\b"),  # MinMaxScaler
        re.compile(r"\b(?:cut|qcut|get_dummies|factorize|rolling|expanding|ewm|numpy)\b"),
    )

    def wants(self, text: str) -> bool:
        return any(prefilter.search(text) for prefilter in self.prefilters)

    def find(self, source: Source) -> list[Finding]:
        locate = Locator(self, source)
        digest = hashlib.sha256(source.text.encode("utf-8")).hexdigest()[:16]
        found = self._transforms(source, locate, digest)
        if not is_test_file(source.path):
            role = file_role(source)
            found += copy_findings(source, locate, digest, role)
            found += encoding_findings(source, locate, digest, role)
            found += column_findings(source, locate, digest, role)
        return found

    def _transforms(self, source: Source, locate: Locator, digest: str) -> list[Finding]:
        transforms = feature_transforms(source)
        constants = module_constants(source) if transforms else {}
        found = []
        for transform in transforms:
            call = transform.call
            code = one_line(canonical(source, call, constants, _frame(call)))  # by meaning
            keys = LIST_SEP.join(transform.keys)
            found.append(
                locate(call, transform.label, "transform", digest, transform.operation, keys, code)
            )
        return found

    def aggregate(self, findings: list[Finding]) -> list[Finding]:
        copy_of = _identical_copies(findings)
        kept = _transform_findings([f for f in findings if _kind(f) == "transform"], copy_of)
        others = [f for f in findings if f.path not in copy_of]
        kept += aggregate_copies([f for f in others if _kind(f) == "array"])
        kept += aggregate_encodings([f for f in others if _kind(f) == "encoding"])
        kept += aggregate_columns([f for f in others if _kind(f) == "column"])
        for path, original in sorted(copy_of.items()):
            own = [f for f in findings if f.path == path and _kind(f) in ("transform", "array")]
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
            kept.append(replace(first, message=message, key=SEP.join(("copy", path))))
        return _once_per_place(kept)


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}" if count else ""


def _once_per_place(findings: list[Finding]) -> list[Finding]:
    """One finding per place: the first kind in ORDER speaks, the others' messages follow
    (a transform is left out where an encoding skew names the same pair more exactly)."""
    by_place: dict[tuple[str, int], list[Finding]] = defaultdict(list)
    for finding in findings:
        by_place[(finding.path, finding.line)].append(finding)
    kept = []
    for found in by_place.values():
        found.sort(key=lambda f: (ORDER.index(_kind(f)), f.column))
        kinds = {_kind(f) for f in found}
        if "encoding" in kinds:
            found = [f for f in found if _kind(f) != "transform"]
        messages = list(dict.fromkeys(f.message for f in found))
        fixes = tuple(dict.fromkeys(fix for f in found for fix in f.fixes))
        kept.append(replace(found[0], message="; ".join(messages), fixes=fixes))
    return sorted(kept, key=lambda f: (f.path, f.line, f.column))


def _transform_findings(findings: list[Finding], copy_of: dict[str, str]) -> list[Finding]:
    """Each place with a transform that has copies on the same data in other files, once."""
    copies_of: dict[str, list[str]] = defaultdict(list)
    for copy, original in sorted(copy_of.items()):
        copies_of[original].append(copy)
    by_place: dict[tuple[str, int], list[tuple[Finding, list[Finding]]]] = defaultdict(list)
    for group in _same_data([f for f in findings if f.path not in copy_of]):
        if len({f.path for f in group}) < 2:
            continue
        for finding in group:
            by_place[(finding.path, finding.line)].append((finding, group))
    kept = []
    for members in by_place.values():
        sentences = []
        for label in dict.fromkeys(_label(f) for f, _ in members):
            mine = [(f, group) for f, group in members if _label(f) == label]
            group = [o for _, g in mine for o in g]
            sentence = _computed_in(mine[0][0], label, group, copies_of)
            sentence += next(
                (d for f, g in mine if (d := _difference(f, [o for o in g if o.path != f.path]))),
                "",
            )
            sentences.append(sentence)
        kept.append(replace(members[0][0], message="; ".join(sentences)))
    return kept


def _computed_in(
    finding: Finding, label: str, group: list[Finding], copies_of: dict[str, list[str]]
) -> str:
    """`pd.cut on 'age' is computed in 3 files (also a.py:4, 9; b.py:4, a byte-identical
    copy of a.py)`: each other file once, with its lines; the count is of those named."""
    wheres: dict[str, list[str]] = defaultdict(list)
    for other in sorted(group, key=lambda f: (f.path, f.line)):
        wheres[other.path].append(_where(other))
    parts = [places(w, path) for path, w in wheres.items() if path != finding.path]
    for path, w in wheres.items():
        for copy in copies_of.get(path, ()):
            moved = [copy + where[len(path) :] for where in w]
            of = "this file" if path == finding.path else path
            parts.append(f"{places(moved, copy)}, a byte-identical copy of {of}")
    prefix = finding.message[: len(finding.message) - len(label)]  # a notebook's cell and line
    return f"{prefix}{label} is computed in {len(parts) + 1} files (also {'; '.join(parts)})"


def _label(finding: Finding) -> str:
    """The transform's label, without the cell and line a notebook's message starts with."""
    if is_notebook(finding.path):
        return finding.message.split(": ", 1)[1]
    return finding.message


def _same_data(findings: list[Finding]) -> list[list[Finding]]:
    """Transforms of one kind linked by a data key they share (transitively)."""
    parent = list(range(len(findings)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    first: dict[tuple[str, str], int] = {}
    for index, finding in enumerate(findings):
        _, _, _, operation, keys, _ = finding.key.split(SEP, 5)
        for key in filter(None, keys.split(LIST_SEP)):
            if (operation, key) in first:
                parent[root(index)] = root(first[(operation, key)])
            else:
                first[(operation, key)] = index
    groups: dict[int, list[Finding]] = defaultdict(list)
    for index, finding in enumerate(findings):
        if finding.key.split(SEP, 5)[4]:  # a transform on unknown data is no one's copy
            groups[root(index)].append(finding)
    return list(groups.values())


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
