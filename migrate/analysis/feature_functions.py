"""Feature-engineering functions on pandas DataFrames, read from their code.

A feature function builds columns on one frame: `df["age_bucket"] = pd.cut(df["age"],
bins=AGE_BINS)`. For each it records the features (column, statement, the columns it
reads, whether one row is enough to compute it, i.e. on demand), the statements that
make the frame before them (`setup`) and those after them (`tail`, with the return),
the join keys and time columns it mentions, and where the frame comes from: a file it
reads, the caller's frame, or rows it is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from infragap.migrate.analysis.canonical import module_constants
from infragap.migrate.analysis.feature_values import Feature, FeatureReader, string_index
from infragap.migrate.analysis.names import all_names, param_names
from infragap.migrate.analysis.statements import is_docstring, only_small, walk_statements
from infragap.migrate.analysis.trees import walk
from infragap.migrate.source import Source

DEPRECATED = "infragap migrate: preprocessing-to-feast"  # the mark on a migrated function
TIME = re.compile(r"(?i)^ts$|^dt$|time|timestamp|date|_at$")
KEY = re.compile(r"(?i)(?:^|_)id$")
READERS = frozenset({"pandas.read_parquet", "pandas.read_csv", "pandas.read_feather"})


@dataclass(frozen=True)
class Origin:
    """Where the frame comes from: `read` (a file: `expr` is its path), `param` (the
    caller's frame: `name`), `rows` (records the caller gives: `name`), or `other`."""

    kind: str
    name: str = ""
    expr: cst.BaseExpression | None = None
    reader: str = ""


@dataclass(frozen=True)
class FeatureFunction:
    source: Source
    node: cst.FunctionDef
    frame: str
    features: tuple[Feature, ...]
    setup: tuple[cst.BaseStatement, ...]
    tail: tuple[cst.BaseStatement, ...]
    origin: Origin
    keys: tuple[str, ...] = ()
    times: tuple[str, ...] = ()
    returns: tuple[str, ...] | None = None  # the returned columns, when it lists them
    blocker: str = ""
    deprecated: bool = False
    constants: dict[str, cst.BaseExpression] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.node.name.value

    @property
    def path(self) -> str:
        return self.source.path

    @property
    def line(self) -> int:
        return self.source.line_of(self.node)

    @property
    def params(self) -> list[str]:
        return param_names(self.node)

    def feature(self, name: str) -> Feature | None:
        return next((f for f in self.features if f.name == name), None)


def feature_functions(source: Source) -> list[FeatureFunction]:
    """Every top-level function of the file that computes columns on a frame."""
    constants = module_constants(source)
    found = []
    for stmt in source.module.body:
        if isinstance(stmt, cst.FunctionDef):
            function = _read_function(source, stmt, constants)
            if function is not None:
                found.append(function)
    return found


def column_assignment(stmt: cst.CSTNode) -> tuple[str, str, cst.BaseExpression] | None:
    """(frame, column, value) of `frame["column"] = value`, else None."""
    small = only_small(stmt)
    if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
        return None
    target = small.targets[0].target
    column = string_index(target)
    if column is None or not isinstance(target, cst.Subscript):
        return None
    if not isinstance(target.value, cst.Name):
        return None
    return target.value.value, column, small.value


def _read_function(
    source: Source, func: cst.FunctionDef, constants: dict[str, cst.BaseExpression]
) -> FeatureFunction | None:
    body = list(func.body.body) if isinstance(func.body, cst.IndentedBlock) else []
    if body and is_docstring(body[0]):
        body = body[1:]
    assigned = [(i, found) for i, stmt in enumerate(body) if (found := column_assignment(stmt))]
    if not assigned:
        return None
    frame = assigned[0][1][0]
    reader = FeatureReader(source, frame, constants)
    indices: list[int] = []
    features: list[Feature] = []
    for index, (target, column, value) in assigned:
        stmt = body[index]
        if target == frame and isinstance(stmt, cst.SimpleStatementLine):
            features.append(reader.feature(column, stmt, value, [f.name for f in features]))
            indices.append(index)
    if not any(f.reads or reader.transforms(f.value) for f in features):
        return None  # columns set from nothing of the frame: not feature engineering
    first, last = indices[0], indices[-1]
    setup, tail = tuple(body[:first]), tuple(body[last + 1 :])
    middle = [stmt for i, stmt in enumerate(body[first:last], first) if i not in indices]
    returns = _returned_columns(tail)
    keys, times = _keys_and_times(func, features, returns)
    return FeatureFunction(
        source=source,
        node=func,
        frame=frame,
        features=tuple(features),
        setup=setup,
        tail=tail,
        origin=_origin(source, frame, list(setup), param_names(func)),
        keys=keys,
        times=times,
        returns=returns,
        blocker=_blocker(source, func, frame, body, middle, tail),
        deprecated=any(
            line.comment is not None and DEPRECATED in line.comment.value
            for line in func.leading_lines
        ),
        constants=constants,
    )


def _origin(
    source: Source, frame: str, setup: list[cst.BaseStatement], params: list[str]
) -> Origin:
    origin = Origin("param", frame) if frame in params else Origin("other")
    for stmt in setup:
        small = only_small(stmt)
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
            continue
        target, value = small.targets[0].target, small.value
        if not (isinstance(target, cst.Name) and target.value == frame):
            continue
        origin = _origin_of_value(source, value, params)
    return origin


def _origin_of_value(source: Source, value: cst.BaseExpression, params: list[str]) -> Origin:
    while isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
        if value.func.attr.value != "copy":
            break
        value = value.func.value  # `x.copy()` comes from where x comes from
    if isinstance(value, cst.Name) and value.value in params:
        return Origin("param", value.value)
    if isinstance(value, cst.Call):
        qualname = source.qualname(value.func) or ""
        first = value.args[0].value if value.args else None
        if qualname in READERS and first is not None:
            return Origin("read", expr=first, reader=qualname)
        if qualname == "pandas.DataFrame" and isinstance(first, cst.Name) and first.value in params:
            return Origin("rows", first.value)
    return Origin("other")


def _blocker(
    source: Source,
    func: cst.FunctionDef,
    frame: str,
    body: list[cst.BaseStatement],
    middle: list[cst.BaseStatement],
    tail: tuple[cst.BaseStatement, ...],
) -> str:
    """Why the function cannot be served from Feast as it is written, or ""."""
    for stmt in walk_statements(body, into_defs=False):
        found = column_assignment(stmt)
        if stmt not in body and found is not None and found[0] == frame:
            where = source.line_of(stmt)
            return f"line {where} computes a feature under a condition or in a loop"
    for stmt in middle:
        if _changes_frame(stmt, frame):
            return f"line {source.line_of(stmt)} changes the frame between two features"
    returned = only_small(tail[-1]) if tail else None
    if not isinstance(returned, cst.Return) or returned.value is None:
        return f"{func.name.value}() does not end by returning the frame"
    if frame not in all_names(returned.value):
        return f"{func.name.value}() does not return the frame it builds"
    return ""


def _changes_frame(stmt: cst.CSTNode, frame: str) -> bool:
    small = only_small(stmt)
    if isinstance(small, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
        targets = small.targets if isinstance(small, cst.Assign) else [small]
        return any(frame in all_names(t.target) for t in targets)  # type: ignore[union-attr]
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        func = small.value.func
        return isinstance(func, cst.Attribute) and frame in all_names(func.value)
    return not isinstance(stmt, cst.SimpleStatementLine) and frame in all_names(stmt)


def _returned_columns(tail: tuple[cst.BaseStatement, ...]) -> tuple[str, ...] | None:
    """The columns of `return df[[...]]` (also with `.values` or `.to_numpy()` after)."""
    small = only_small(tail[-1]) if tail else None
    value = small.value if isinstance(small, cst.Return) else None
    while isinstance(value, (cst.Attribute, cst.Call)):
        value = value.func if isinstance(value, cst.Call) else value.value
    if not (isinstance(value, cst.Subscript) and len(value.slice) == 1):
        return None
    index = value.slice[0].slice
    if not (isinstance(index, cst.Index) and isinstance(index.value, cst.List)):
        return None
    columns = [e.value for e in index.value.elements]
    strings = [c.evaluated_value for c in columns if isinstance(c, cst.SimpleString)]
    if len(strings) != len(columns):
        return None
    return tuple(str(c) for c in strings)


def _keys_and_times(
    func: cst.FunctionDef, features: list[Feature], returns: tuple[str, ...] | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Join keys (grouped, indexed or merged on, or named like `*_id`) and time columns."""
    keys: list[str] = []
    times: list[str] = []
    strings = _Strings()
    walk(func.body, strings)
    for method, values in strings.by_method:
        if method in ("groupby", "set_index", "merge", "join"):
            keys.extend(v for v in values if not TIME.search(v))
        if method in ("sort_values", "merge_asof"):
            times.extend(values)
    columns = [c for f in features for c in f.reads] + list(returns or ())
    keys.extend(c for c in columns if KEY.search(c))
    times.extend(c for c in columns if TIME.search(c))
    return tuple(dict.fromkeys(keys)), tuple(dict.fromkeys(times))


class _Strings(cst.CSTVisitor):
    """String arguments of method calls: `df.groupby("user_id")` -> ("groupby", ["user_id"])."""

    def __init__(self) -> None:
        self.by_method: list[tuple[str, list[str]]] = []

    def visit_Call(self, node: cst.Call) -> None:
        if not isinstance(node.func, cst.Attribute):
            return
        values: list[str] = []
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value not in ("by", "on", "keys"):
                continue
            value = arg.value
            elements = [e.value for e in value.elements] if isinstance(value, cst.List) else [value]
            values.extend(
                str(e.evaluated_value) for e in elements if isinstance(e, cst.SimpleString)
            )
        self.by_method.append((node.func.attr.value, values))
