"""What data a feature transform works on, so copies are grouped only when they share it.

`pd.get_dummies(df, columns=["channel"])` and `pd.get_dummies(df, columns=["city"])` are
two encodings of different columns, not two copies of one step. Each transform gets its
data keys, the first of these the code gives:

* the columns it reads: `pd.cut(df["age"])`, `df[["a", "b"]]`, `df[NUMERIC]` with
  `NUMERIC` a module constant, `columns=[...]`, a scaler's `fit_transform(df[["x"]])`
  (the scaler bound to a name and fitted later, or placed in a ColumnTransformer with its
  columns);
* the columns its result is assigned to: `df["clicks_7d"] = ... s.rolling(7) ...`;
* the variable it transforms: `pd.get_dummies(X_train)`, `scaler.fit(X_train)`.

Keys are `col:NAME` or `var:NAME`; a transform without any is about unknown data and is
grouped with nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import libcst as cst

from infragap.migrate.analysis.trees import preorder

FIT_METHODS = frozenset({"fit", "fit_transform", "transform", "partial_fit"})


def columns_of(node: cst.CSTNode | None, constants: Mapping[str, cst.BaseExpression]) -> list[str]:
    """Column names `node` subscripts with a string, a list of strings or a constant."""
    found: list[str] = []
    for inner in preorder(node) if node is not None else ():
        if isinstance(inner, cst.Subscript) and len(inner.slice) == 1:
            index = inner.slice[0].slice
            if isinstance(index, cst.Index):
                found += strings_of(index.value, constants)
    return list(dict.fromkeys(found))


def strings_of(expr: cst.BaseExpression, constants: Mapping[str, cst.BaseExpression]) -> list[str]:
    """The strings of a string, a list or tuple of strings, or a constant holding one."""
    if isinstance(expr, cst.Name) and expr.value in constants:
        expr = constants[expr.value]
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return [value] if isinstance(value, str) else []
    if isinstance(expr, (cst.List, cst.Tuple)):
        return [s for e in expr.elements for s in strings_of(e.value, {})]
    return []


def target_columns(
    targets: Sequence[cst.BaseExpression], constants: Mapping[str, cst.BaseExpression]
) -> list[str]:
    """Columns an assignment writes: `df["x"] = ...`, `df[["a", "b"]] = ...`."""
    found: list[str] = []
    for target in targets:
        if isinstance(target, cst.Subscript) and len(target.slice) == 1:
            index = target.slice[0].slice
            if isinstance(index, cst.Index):
                found += strings_of(index.value, constants)
    return list(dict.fromkeys(found))


def data_keys(
    inputs: Sequence[cst.BaseExpression],
    targets: Sequence[cst.BaseExpression],
    constants: Mapping[str, cst.BaseExpression],
    extra_columns: Sequence[str] = (),
) -> tuple[list[str], list[str]]:
    """(columns read, keys): the columns the inputs name (for the label), and the keys
    to group by: those columns, else the assigned columns, else the input variables."""
    read = list(
        dict.fromkeys([*extra_columns, *(c for i in inputs for c in columns_of(i, constants))])
    )
    if read:
        return read, [f"col:{c}" for c in read]
    written = target_columns(targets, constants)
    if written:
        return [], [f"col:{c}" for c in written]
    names = [i.value for i in inputs if isinstance(i, cst.Name) and i.value not in constants]
    return [], [f"var:{n}" for n in dict.fromkeys(names)]


def keyword(call: cst.Call, name: str) -> cst.BaseExpression | None:
    return next((a.value for a in call.args if a.keyword and a.keyword.value == name), None)


def first_positional(call: cst.Call) -> cst.BaseExpression | None:
    return next((a.value for a in call.args if a.keyword is None and not a.star), None)
