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
from infragap.migrate.analysis.names import all_names, param_names
from infragap.migrate.analysis.statements import only_small, walk_statements
from infragap.migrate.source import Source

DEPRECATED = "infragap migrate: preprocessing-to-feast"  # the mark on a migrated function
TIME = re.compile(r"(?i)^ts$|^dt$|time|timestamp|date|_at$")
KEY = re.compile(r"(?i)(?:^|_)id$")
READERS = frozenset({"pandas.read_parquet", "pandas.read_csv", "pandas.read_feather"})
ROW_MODULES = frozenset({"pandas", "numpy", "math"})
BUILTINS = frozenset(
    {"int", "float", "str", "bool", "abs", "round", "len", "True", "False", "None"}
)
# The methods that say best why a value needs other rows, first.
TELLING = ("groupby", "rolling", "expanding", "ewm", "resample", "shift", "rank")
ACROSS_ROWS = frozenset(
    {
        "groupby", "rolling", "expanding", "ewm", "resample", "transform", "agg",
        "aggregate", "shift", "diff", "pct_change", "cumsum", "cumprod", "cummax",
        "cummin", "rank", "mean", "median", "sum", "std", "var", "min", "max", "count",
        "nunique", "value_counts", "quantile", "describe", "corr", "cov", "mode",
        "unique", "duplicated", "drop_duplicates", "sort_values", "sort_index", "merge",
        "join", "fit", "fit_transform", "interpolate", "ffill", "bfill", "idxmax",
        "idxmin", "nlargest", "nsmallest",
    }
)  # fmt: skip
NUMPY_REDUCTIONS = frozenset(
    {"mean", "sum", "max", "min", "std", "var", "median", "percentile", "quantile"}
    | {"argmax", "argmin", "average", "nanmean", "nansum", "nanmax", "nanmin", "cumsum"}
)
CALLS_WITH_FUNCTIONS = frozenset({"apply", "map", "applymap", "pipe", "agg"})


@dataclass(frozen=True)
class Feature:
    """One column the function computes; `across_rows` says why one row is not enough
    (empty: it can be computed on demand, from the row alone)."""

    name: str
    line: int
    statement: cst.SimpleStatementLine
    value: cst.BaseExpression
    reads: tuple[str, ...]
    constants: tuple[str, ...]
    across_rows: str
    dtype: str  # a Feast type: Float64, Int64, Bool, String


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
    column = _string_index(target)
    if column is None or not isinstance(target, cst.Subscript):
        return None
    if not isinstance(target.value, cst.Name):
        return None
    return target.value.value, column, small.value


def _string_index(node: cst.CSTNode) -> str | None:
    if not isinstance(node, cst.Subscript) or len(node.slice) != 1:
        return None
    index = node.slice[0].slice
    if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
        value = index.value.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _read_function(
    source: Source, func: cst.FunctionDef, constants: dict[str, cst.BaseExpression]
) -> FeatureFunction | None:
    body = list(func.body.body) if isinstance(func.body, cst.IndentedBlock) else []
    if body and _is_docstring(body[0]):
        body = body[1:]
    assigned = [(i, found) for i, stmt in enumerate(body) if (found := column_assignment(stmt))]
    if not assigned:
        return None
    frame = assigned[0][1][0]
    reader = _Reader(source, frame, constants)
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


def _is_docstring(stmt: cst.CSTNode) -> bool:
    small = only_small(stmt)
    return isinstance(small, cst.Expr) and isinstance(
        small.value, (cst.SimpleString, cst.ConcatenatedString)
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


class _Reader:
    """Reads one feature's value: columns, constants, and what makes it need other rows."""

    def __init__(self, source: Source, frame: str, constants: dict[str, cst.BaseExpression]):
        self.source = source
        self.frame = frame
        self.constants = constants

    def transforms(self, value: cst.BaseExpression) -> bool:
        """Whether the value calls pandas, numpy or scikit-learn."""
        return any(
            (self.source.qualname(call.func) or "").split(".", 1)[0]
            in ("pandas", "numpy", "sklearn")
            for call in _calls(value)
        )

    def feature(
        self, name: str, stmt: cst.SimpleStatementLine, value: cst.BaseExpression, before: list[str]
    ) -> Feature:
        visitor = _Uses(self.frame)
        value.visit(visitor)
        constants = tuple(n for n in dict.fromkeys(visitor.names) if n in self.constants)
        why = self._across_rows(value, visitor, constants)
        if not why and name in visitor.columns and name not in before:
            why = f"it overwrites the column it reads ({name!r}); Feast needs a new name"
        return Feature(
            name=name,
            line=self.source.line_of(stmt),
            statement=stmt,
            value=value,
            reads=tuple(dict.fromkeys(visitor.columns)),
            constants=constants,
            across_rows=why,
            dtype=_dtype(value),
        )

    def _across_rows(
        self, value: cst.BaseExpression, uses: _Uses, constants: tuple[str, ...]
    ) -> str:
        calls = _calls(value)
        for call in calls:  # a fitted scikit-learn object is the reason that explains most
            qualname = self.source.qualname(call.func) or ""
            if qualname.startswith("sklearn."):
                return f"{qualname.rsplit('.', 1)[-1]} is fitted on the data"

        def telling(call: cst.Call) -> int:
            method = call.func.attr.value if isinstance(call.func, cst.Attribute) else ""
            return TELLING.index(method) if method in TELLING else len(TELLING)

        for call in sorted(calls, key=telling):
            why = self._call(call)
            if why:
                return why
        for name in dict.fromkeys(uses.names):
            if name == self.frame or name in constants or name in BUILTINS:
                continue
            qualname = self.source.aliases.get(name, "")
            if qualname.split(".", 1)[0] in ROW_MODULES and name in self.source.module_names:
                continue
            return f"it reads `{name}`, which is not a column of the frame"
        if uses.whole_frame:
            return f"it works on the whole frame ({uses.whole_frame})"
        return ""

    def _call(self, call: cst.Call) -> str:
        qualname = self.source.qualname(call.func) or ""
        if qualname == "pandas.cut":
            bins = _argument(call, 1, "bins")
            if bins is None or isinstance(bins, cst.Integer):
                return "pd.cut with a number of bins takes its edges from the data"
            return ""
        if qualname in ("pandas.qcut", "pandas.get_dummies", "pandas.factorize"):
            return f"{qualname.replace('pandas.', 'pd.')}() takes its values from the data"
        if qualname.startswith("numpy."):
            leaf = qualname.rsplit(".", 1)[-1]
            return f"np.{leaf}() reduces over rows" if leaf in NUMPY_REDUCTIONS else ""
        if isinstance(call.func, cst.Attribute):
            method = call.func.attr.value
            if method in ACROSS_ROWS:
                return f".{method}() looks across rows"
            if method in CALLS_WITH_FUNCTIONS:
                for arg in call.args:
                    if isinstance(arg.value, cst.Name) and arg.value.value not in self.constants:
                        return f".{method}({arg.value.value}) calls code defined elsewhere"
            return ""
        if isinstance(call.func, cst.Name) and call.func.value not in BUILTINS:
            return f"it calls {call.func.value}(), defined elsewhere"
        return ""


class _Uses(cst.CSTVisitor):
    """Columns of the frame a value reads, and every other name it uses."""

    def __init__(self, frame: str) -> None:
        self.frame = frame
        self.columns: list[str] = []
        self.names: list[str] = []
        self.bound: list[set[str]] = []  # lambda parameters in scope
        self.whole_frame = ""

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.bound.append({param.name.value for param in node.params.params})

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.bound.pop()

    def visit_Subscript(self, node: cst.Subscript) -> bool:
        column = _string_index(node)
        on_frame = isinstance(node.value, cst.Name) and node.value.value == self.frame
        if column is not None and on_frame:
            self.columns.append(column)
            return False
        return True

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if isinstance(node.value, cst.Name) and node.value.value == self.frame:
            self.whole_frame = self.whole_frame or f"{self.frame}.{node.attr.value}"
            return False
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if not any(node.value in scope for scope in self.bound):
            self.names.append(node.value)
            if node.value == self.frame:
                self.whole_frame = self.whole_frame or self.frame


def _calls(value: cst.CSTNode) -> list[cst.Call]:
    class Calls(cst.CSTVisitor):
        def __init__(self) -> None:
            self.found: list[cst.Call] = []

        def visit_Call(self, node: cst.Call) -> None:
            self.found.append(node)

    visitor = Calls()
    value.visit(visitor)
    return visitor.found


def _argument(call: cst.Call, position: int, keyword: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    return positional[position].value if len(positional) > position else None


def _dtype(value: cst.BaseExpression) -> str:
    if isinstance(value, cst.Comparison) or (
        isinstance(value, cst.BinaryOperation)
        and isinstance(value.operator, (cst.BitAnd, cst.BitOr))
    ):
        return "Bool"
    if isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.BitInvert):
        return "Bool"
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
        method = value.func.attr.value
        if method in ("isin", "between", "isna", "notna", "isnull", "notnull"):
            return "Bool"
        if method == "astype" and value.args:
            kind = _type_word(value.args[0].value)
            if kind.startswith(("int", "Int", "uint")):
                return "Int64"
            if kind.startswith("bool"):
                return "Bool"
            if kind in ("str", "string", "object"):
                return "String"
        inner = value.func.value
        if isinstance(inner, cst.Attribute) and inner.attr.value == "str":
            return "String"
    return "Float64"


def _type_word(expr: cst.BaseExpression) -> str:
    if isinstance(expr, cst.SimpleString):
        return str(expr.evaluated_value)
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    return ""


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
    func.body.visit(strings)
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
