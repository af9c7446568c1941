"""Derived columns computed by hand in a training file and again in a serving file.

`df["weekly_share"] = df["events_7d"] / (df["events_30d"] + 1)` in training and
`df["weekly_share"] = df["events_7d"] / df["events_30d"].clip(lower=1)` in serving are
the same feature computed two ways: drift. Each side is compared in a normal form
(module constants inlined, imports written in full, every frame called `df`, layout and
comments dropped: what preprocessing-to-feast compares, so the two never disagree) and
shown with `frame["col"]` written `col`. Copies that differ only in names are the same.

Only columns that can be compared without guessing count: a column assigned once in
its file (assigned twice, which one serves is unclear), computed from other columns of
its frame (not a constant, not a copy of one column, not a rewrite of the column it
reads) and without a transform `feature_transforms` already reports (pd.cut, encoders,
windows). Functions preprocessing-to-feast migrated are left out.

`derived_columns` reads one file; `column_pairs` (pure) pairs the serving and training
copies of each column across files.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from keyword import iskeyword

import libcst as cst

from infragap.migrate.analysis.canonical import canonical, is_literal, module_constants
from infragap.migrate.analysis.expression_diff import code as one_line
from infragap.migrate.analysis.expression_diff import normal
from infragap.migrate.analysis.feature_functions import DEPRECATED, column_assignment
from infragap.migrate.analysis.feature_transforms import is_transform
from infragap.migrate.analysis.feature_values import string_index
from infragap.migrate.analysis.statements import child_blocks, small_statements
from infragap.migrate.analysis.trees import preorder
from infragap.migrate.source import Source

CANONICAL_FRAME = "df"  # what `canonical` calls every frame


@dataclass(frozen=True)
class DerivedColumn:
    node: cst.BaseExpression  # the assigned value
    column: str
    code: str  # the normal form, compared: `df["events_7d"]/(df["events_30d"]+1)`
    shown: str  # as a message shows it: `events_7d / (events_30d + 1)`


@dataclass(frozen=True)
class Assigned:
    """One file's computation of a column, as the cross-file step sees it."""

    path: str
    line: int
    where: str  # "serving/features.py:12"
    role: str  # "training" or "serving"
    column: str
    code: str
    shown: str


@dataclass(frozen=True)
class ColumnPair:
    serving: Assigned
    training: Assigned

    @property
    def same(self) -> bool:
        return self.serving.code == self.training.code


def derived_columns(source: Source) -> list[DerivedColumn]:
    assignments = [
        assigned
        for stmt in _statements(source.module.body)
        if (assigned := column_assignment(stmt)) is not None
    ]
    if not assignments:
        return []
    times = Counter(column for _, column, _ in assignments)
    times.update(_other_writes(source.module.body))
    constants = module_constants(source)
    found = []
    for frame, column, value in assignments:
        if times[column] != 1 or not _derived(source, frame, column, value):
            continue
        form = canonical(source, value, constants, frame)  # as preprocessing-to-feast compares
        shown = one_line(_bare_columns(form, CANONICAL_FRAME))
        found.append(DerivedColumn(value, column, normal(form), shown))
    return found


def column_pairs(assigned: Sequence[Assigned]) -> list[ColumnPair]:
    """Each serving copy of a column with each training copy in another file."""
    training = [a for a in assigned if a.role == "training"]
    return [
        ColumnPair(serving, trained)
        for serving in assigned
        if serving.role == "serving"
        for trained in training
        if trained.column == serving.column and trained.path != serving.path
    ]


def _statements(stmts: Sequence[cst.CSTNode]) -> Iterator[cst.CSTNode]:
    """Every statement, depth first, but not inside functions preprocessing-to-feast
    migrated."""
    for stmt in stmts:
        if isinstance(stmt, cst.FunctionDef) and any(
            line.comment is not None and DEPRECATED in line.comment.value
            for line in stmt.leading_lines
        ):
            continue
        yield stmt
        for block in child_blocks(stmt):
            if isinstance(block, cst.SimpleStatementSuite):
                yield block
            else:
                yield from _statements(block.body)


def _other_writes(body: Sequence[cst.CSTNode]) -> list[str]:
    """Columns written otherwise than by `frame["col"] = value`: `+=`, several targets,
    several statements on a line. Such a column is assigned more than once, or unclearly."""
    written = []
    for stmt in _statements(body):
        smalls = small_statements(stmt)
        if len(smalls) == 1 and column_assignment(stmt) is not None:
            continue
        for small in smalls:
            targets: list[cst.BaseExpression] = []
            if isinstance(small, cst.Assign):
                targets = [t.target for t in small.targets]
            elif isinstance(small, (cst.AugAssign, cst.AnnAssign)):
                targets = [small.target]
            written += [c for t in targets if (c := string_index(t)) is not None]
    return written


def _derived(source: Source, frame: str, column: str, value: cst.BaseExpression) -> bool:
    """Whether `value` computes a new column from others of `frame`, by plain code."""
    if is_literal(source, value) or string_index(value) is not None:
        return False  # a constant, or a copy of one column
    reads = [
        name
        for node in preorder(value)
        if isinstance(node, cst.Subscript)
        and isinstance(node.value, cst.Name)
        and node.value.value == frame
        and (name := string_index(node)) is not None
    ]
    if not reads or column in reads:
        return False  # computed from nothing of the frame, or a rewrite of the column
    calls = (node for node in preorder(value) if isinstance(node, cst.Call))
    return not any(is_transform(source, call) for call in calls)


def _bare_columns(expr: cst.BaseExpression, frame: str) -> cst.BaseExpression:
    """`frame["events_7d"]` written `events_7d` (when the name can be one)."""

    result = expr.visit(_Bare(frame))
    assert isinstance(result, cst.BaseExpression)
    return result


class _Bare(cst.CSTTransformer):
    def __init__(self, frame: str) -> None:
        super().__init__()
        self.frame = frame

    def leave_Subscript(
        self, original_node: cst.Subscript, updated_node: cst.Subscript
    ) -> cst.BaseExpression:
        name = string_index(original_node)
        value = original_node.value
        on_frame = isinstance(value, cst.Name) and value.value == self.frame
        if on_frame and name is not None and name.isidentifier() and not iskeyword(name):
            return cst.Name(name, lpar=updated_node.lpar, rpar=updated_node.rpar)
        return updated_node
