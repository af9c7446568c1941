"""The feature transforms of one file, with the data each works on.

A transform is a call to `pd.cut`, `pd.qcut`, `pd.get_dummies`, `pd.factorize`, a
scikit-learn preprocessing class or function, or a window (`.rolling()`, `.expanding()`,
`.ewm()`) on a frame or series. Functions preprocessing-to-feast migrated (marked with
DEPRECATED) are left out. What data each works on is read as `transform_data` says.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import libcst as cst

from infragap.migrate.analysis.canonical import module_constants
from infragap.migrate.analysis.feature_functions import DEPRECATED
from infragap.migrate.analysis.transform_data import (
    FIT_METHODS,
    data_keys,
    first_positional,
    keyword,
    strings_of,
)
from infragap.migrate.source import Source

PANDAS = frozenset({"pandas.cut", "pandas.qcut", "pandas.get_dummies", "pandas.factorize"})
WINDOWS = frozenset({"rolling", "expanding", "ewm"})
MODULE_SCOPE = 0
# Text each transform's call needs: its name, or the scikit-learn import it comes from.
TRANSFORM_TEXT = re.compile(r"cut|get_dummies|factorize|rolling|expanding|ewm|sklearn")


@dataclass(frozen=True)
class Transform:
    call: cst.Call
    operation: str  # "pd.cut", "StandardScaler", ".rolling()"
    columns: tuple[str, ...]  # the columns it reads, when the code names them
    keys: tuple[str, ...]  # what it is about: `col:NAME` or `var:NAME` (transform_data)

    @property
    def label(self) -> str:
        if not self.columns:
            return self.operation
        return f"{self.operation} on {', '.join(repr(c) for c in self.columns)}"


def is_transform(source: Source, call: cst.Call) -> bool:
    """Whether `call` is one of the transforms this module collects."""
    qualname = source.qualname(call.func) or ""
    if qualname in PANDAS or qualname.startswith("sklearn.preprocessing."):
        return True
    return (
        isinstance(call.func, cst.Attribute)
        and call.func.attr.value in WINDOWS
        and qualname.split(".", 1)[0] not in ("pandas", "numpy")
    )


def feature_transforms(source: Source) -> list[Transform]:
    if not TRANSFORM_TEXT.search(source.text):
        return []
    reader = _Transforms(source)
    for node in source.nodes:
        kind = type(node)  # exact types: a miss of isinstance on LibCST's ABCs is slow
        if kind is cst.Call:
            reader.call(node)  # type: ignore[arg-type]
        elif kind is cst.Assign:
            reader.assign(node)  # type: ignore[arg-type]
        elif kind is cst.Tuple:
            reader.transformer_part(node)  # type: ignore[arg-type]
    if not reader.found:
        return []
    constants = module_constants(source)
    found = []
    for call, operation, inputs, targets, listed in reader.found:
        if operation[0].isupper():  # a scikit-learn class: its data is what it is fitted on
            inputs = reader.applied_to(call)
        named = strings_of(listed, constants) if listed is not None else []
        columns, keys = data_keys(inputs, targets, constants, named)
        found.append(Transform(call, operation, tuple(columns), tuple(keys)))
    return found


@dataclass(frozen=True)
class _Context:
    scope: int  # the innermost function's id, or MODULE_SCOPE
    targets: tuple[cst.BaseExpression, ...]  # of the innermost assignment holding the node
    migrated: bool  # inside a function preprocessing-to-feast deprecated


class _Transforms:
    """Reads the file's nodes in source order; what holds a node is looked up only for
    the calls and assignments that matter."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.found: list[tuple] = []  # call, operation, inputs, targets, `columns=` value
        self.applied: dict[int, list[cst.BaseExpression]] = defaultdict(list)  # call id
        self.bound: dict[int, tuple[int, str]] = {}  # call id -> (scope, name)
        self.fits: dict[tuple[int, str], list[cst.BaseExpression]] = defaultdict(list)

    def applied_to(self, call: cst.Call) -> list[cst.BaseExpression]:
        """What a scikit-learn object made by `call` is fitted on or applied to."""
        inputs = list(self.applied.get(id(call), ()))
        scope, name = self.bound.get(id(call), (MODULE_SCOPE, ""))
        if name:
            for (where, fitted), args in self.fits.items():
                if fitted == name and (where == scope or scope == MODULE_SCOPE):
                    inputs += args
        return inputs

    def context(self, node: cst.CSTNode) -> _Context:
        scope, targets, migrated = MODULE_SCOPE, None, False
        holder = self.source.parent(node)
        while holder is not None:
            if isinstance(holder, cst.Assign) and targets is None:
                targets = tuple(t.target for t in holder.targets)
            elif isinstance(holder, cst.FunctionDef):
                scope = scope or id(holder)
                marks = (line.comment.value for line in holder.leading_lines if line.comment)
                migrated = migrated or any(DEPRECATED in mark for mark in marks)
            holder = self.source.parent(holder)
        return _Context(scope, targets or (), migrated)

    def assign(self, node: cst.Assign) -> None:
        target = node.targets[0].target if len(node.targets) == 1 else None
        if isinstance(target, cst.Name) and isinstance(node.value, cst.Call):
            self.bound[id(node.value)] = (self.context(node).scope, target.value)

    def transformer_part(self, node: cst.Tuple) -> None:
        # ColumnTransformer([("num", StandardScaler(), ["age", "income"])])
        values = [element.value for element in node.elements]
        if len(values) == 3 and isinstance(values[1], cst.Call):
            self.applied[id(values[1])].append(cst.Subscript(cst.Name("_"), [_index(values[2])]))

    def call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in FIT_METHODS:
            data = first_positional(node)
            if data is not None:
                if isinstance(func.value, cst.Call):  # StandardScaler().fit_transform(x)
                    self.applied[id(func.value)].append(data)
                elif isinstance(func.value, cst.Name):  # scaler.fit_transform(x)
                    self.fits[(self.context(node).scope, func.value.value)].append(data)
        if not is_transform(self.source, node):
            return
        context = self.context(node)
        if context.migrated:
            return
        qualname = self.source.qualname(func) or ""
        targets = context.targets
        if qualname in PANDAS:
            first = first_positional(node)
            inputs = [first] if first is not None else []
            operation = qualname.replace("pandas.", "pd.")
            self.found.append((node, operation, inputs, targets, keyword(node, "columns")))
        elif qualname.startswith("sklearn.preprocessing."):
            leaf = qualname.rsplit(".", 1)[-1]
            first = first_positional(node)
            inputs = [first] if first is not None and not leaf[0].isupper() else []
            self.found.append((node, leaf, inputs, targets, None))
        elif isinstance(func, cst.Attribute):
            operation = f".{func.attr.value}()"
            self.found.append((node, operation, [func.value], targets, None))


def _index(value: cst.BaseExpression) -> cst.SubscriptElement:
    return cst.SubscriptElement(cst.Index(value))
