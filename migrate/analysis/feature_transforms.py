"""The feature transforms of one file, with the data each works on.

A transform is a call to `pd.cut`, `pd.qcut`, `pd.get_dummies`, `pd.factorize`, a
scikit-learn preprocessing class or function, or a window (`.rolling()`, `.expanding()`,
`.ewm()`) on a frame or series. Functions preprocessing-to-feast migrated (marked with
DEPRECATED) are left out. What data each works on is read as `transform_data` says.
"""

from __future__ import annotations

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
from infragap.migrate.analysis.trees import walk
from infragap.migrate.source import Source

PANDAS = frozenset({"pandas.cut", "pandas.qcut", "pandas.get_dummies", "pandas.factorize"})
WINDOWS = frozenset({"rolling", "expanding", "ewm"})
MODULE_SCOPE = 0


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
    visitor = _Transforms(source)
    walk(source.module, visitor)
    if not visitor.found:
        return []
    constants = module_constants(source)
    found = []
    for call, operation, inputs, targets, listed in visitor.found:
        if operation[0].isupper():  # a scikit-learn class: its data is what it is fitted on
            inputs = visitor.applied_to(call)
        named = strings_of(listed, constants) if listed is not None else []
        columns, keys = data_keys(inputs, targets, constants, named)
        found.append(Transform(call, operation, tuple(columns), tuple(keys)))
    return found


class _Transforms(cst.CSTVisitor):
    def __init__(self, source: Source) -> None:
        self.source = source
        self.found: list[tuple] = []  # call, operation, inputs, targets, `columns=` value
        self.migrated = 0  # depth inside functions preprocessing-to-feast deprecated
        self.scopes: list[int] = [MODULE_SCOPE]
        self.targets: list[tuple[cst.BaseExpression, ...]] = [()]
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

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        marks = (line.comment.value for line in node.leading_lines if line.comment)
        self.migrated += any(DEPRECATED in mark for mark in marks)
        self.scopes.append(id(node))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        marks = (line.comment.value for line in original_node.leading_lines if line.comment)
        self.migrated -= any(DEPRECATED in mark for mark in marks)
        self.scopes.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        self.targets.append(tuple(t.target for t in node.targets))
        target = node.targets[0].target if len(node.targets) == 1 else None
        if isinstance(target, cst.Name) and isinstance(node.value, cst.Call):
            self.bound[id(node.value)] = (self.scopes[-1], target.value)

    def leave_Assign(self, original_node: cst.Assign) -> None:
        self.targets.pop()

    def visit_Tuple(self, node: cst.Tuple) -> None:
        # ColumnTransformer([("num", StandardScaler(), ["age", "income"])])
        values = [element.value for element in node.elements]
        if len(values) == 3 and isinstance(values[1], cst.Call):
            self.applied[id(values[1])].append(cst.Subscript(cst.Name("_"), [_index(values[2])]))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in FIT_METHODS:
            data = first_positional(node)
            if data is not None:
                if isinstance(func.value, cst.Call):  # StandardScaler().fit_transform(x)
                    self.applied[id(func.value)].append(data)
                elif isinstance(func.value, cst.Name):  # scaler.fit_transform(x)
                    self.fits[(self.scopes[-1], func.value.value)].append(data)
        if self.migrated or not is_transform(self.source, node):
            return
        qualname = self.source.qualname(func) or ""
        targets = self.targets[-1]
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
