"""Which table a feature function's frame is read from, when the code says so.

`df = pd.read_parquet("data/x.parquet")` in the function, or a path or frame its
caller passes: `f(pd.read_parquet(PATH))`, `frame = pd.read_parquet(PATH); f(frame)`,
`f("data/x.parquet")`. A path counts only when it is a literal, or a module constant
holding one; anything computed is left to the user.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from infragap.migrate.analysis.call_sites import CallIndex
from infragap.migrate.analysis.feature_functions import FeatureFunction
from infragap.migrate.analysis.names import bindings
from infragap.migrate.analysis.statements import only_small
from infragap.migrate.source import Source


@dataclass(frozen=True)
class Table:
    """The path of a table, read with `reader` (e.g. pandas.read_parquet) at `line`."""

    path: str
    reader: str
    where: str  # "training/build.py:26"


def source_table(function: FeatureFunction, calls: CallIndex) -> Table | None:
    origin = function.origin
    params = function.params
    if origin.kind == "read" and not _is_param(origin.expr, params):
        return _table(function.source, origin.expr, origin.reader)
    if origin.kind == "read":
        assert isinstance(origin.expr, cst.Name)
        param = origin.expr.value  # the caller passes the path
    elif origin.kind == "param":
        param = origin.name  # the caller passes the frame
    else:
        return None
    position = params.index(param)
    for site in calls.sites(function.path, function.name):
        positional = [a.value for a in site.call.args if a.keyword is None and not a.star]
        if len(positional) <= position:
            continue
        argument = positional[position]
        if origin.kind == "read":
            found = _table(site.source, argument, origin.reader)
        else:
            read = _read_call(site.source, argument, site.caller)
            found = _table(site.source, read[0], read[1]) if read else None
        if found is not None:
            return found
    return None


def _is_param(expr: cst.BaseExpression | None, params: list[str]) -> bool:
    return isinstance(expr, cst.Name) and expr.value in params


def _table(source: Source, expr: cst.BaseExpression | None, reader: str) -> Table | None:
    path = string_value(source, expr)
    if path is None or expr is None:
        return None
    return Table(path, reader, f"{source.path}:{source.line_of(expr)}")


def string_value(source: Source, expr: cst.BaseExpression | None) -> str | None:
    """The text of a string literal, or of a module constant assigned one, else None."""
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(expr, cst.Name):
        assigned = [
            small.value
            for stmt in source.module.body
            if isinstance(small := only_small(stmt), cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and small.targets[0].target.value == expr.value
        ]
        if len(assigned) == 1 and isinstance(assigned[0], cst.SimpleString):
            return string_value(source, assigned[0])
    return None


def _read_call(
    source: Source, value: cst.BaseExpression, caller: cst.FunctionDef | None
) -> tuple[cst.BaseExpression, str] | None:
    """(path, reader) when `value` is `pd.read_*(path)`, or a name assigned one just so."""
    if isinstance(value, cst.Name) and caller is not None:
        local = bindings(caller.body.body).get(value.value, [])
        assigned = [b.value for b in local if b.kind == "assign" and b.value is not None]
        if len(local) == 1 and assigned:
            value = assigned[0]
    if isinstance(value, cst.Call) and value.args:
        reader = source.qualname(value.func) or ""
        if reader.startswith("pandas.read_"):
            return value.args[0].value, reader
    return None
