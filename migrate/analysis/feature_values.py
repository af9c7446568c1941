"""What one feature's value reads, and whether one row is enough to compute it.

A value computed from the columns of its own row (`pd.cut` with fixed bins, arithmetic,
`np.log1p`, `.clip`, comparisons) can be computed on demand, at request time. One that
looks across rows (`groupby`, `rolling`, `shift`, `qcut`, a fitted encoder, a reduction),
reads something that is not a column of the frame, or calls code defined elsewhere,
cannot: `across_rows` says why.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from infragap.migrate.analysis.trees import preorder, walk
from infragap.migrate.source import Source

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


BINNING = frozenset({"pandas.cut", "pandas.qcut"})


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


def string_index(node: cst.CSTNode) -> str | None:
    if not isinstance(node, cst.Subscript) or len(node.slice) != 1:
        return None
    index = node.slice[0].slice
    if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
        value = index.value.evaluated_value
        return value if isinstance(value, str) else None
    return None


class FeatureReader:
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
        walk(value, visitor)
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
            dtype=_dtype(self.source, value),
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
        column = string_index(node)
        on_frame = isinstance(node.value, cst.Name) and node.value.value == self.frame
        if column is not None and on_frame:
            self.columns.append(column)
            return False
        return True

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if isinstance(node.value, cst.Name) and node.value.value == self.frame:
            self.whole_frame = self.whole_frame or f"{self.frame}.{node.attr.value}"
            return False
        walk(node.value, self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        walk(node.value, self)
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if not any(node.value in scope for scope in self.bound):
            self.names.append(node.value)
            if node.value == self.frame:
                self.whole_frame = self.whole_frame or self.frame


def _calls(value: cst.CSTNode) -> list[cst.Call]:
    return [node for node in preorder(value) if isinstance(node, cst.Call)]


def _argument(call: cst.Call, position: int, keyword: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    return positional[position].value if len(positional) > position else None


def _dtype(source: Source, value: cst.BaseExpression) -> str:
    """The Feast type of a feature's values (Float64 unless the code says otherwise)."""
    qualname = source.qualname(value.func) if isinstance(value, cst.Call) else None
    if isinstance(value, cst.Call) and qualname in BINNING:
        return _bins_dtype(value, qualname or "")
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


def _bins_dtype(call: cst.Call, qualname: str) -> str:
    """`pd.cut`/`pd.qcut`: bin numbers with `labels=False`; the labels' type with a list
    of labels; else pandas Intervals ("(18, 35]"), which Feast can hold only as text."""
    labels = _argument(call, 3 if qualname == "pandas.cut" else 2, "labels")
    if isinstance(labels, cst.Name) and labels.value == "False":
        return "Float64"  # bin numbers, NaN outside the bins
    if isinstance(labels, (cst.List, cst.Tuple)) and labels.elements:
        values = [element.value for element in labels.elements]
        if all(isinstance(v, (cst.Integer, cst.Float)) for v in values):
            return "Float64"
    return "String"


def _type_word(expr: cst.BaseExpression) -> str:
    if isinstance(expr, cst.SimpleString):
        return str(expr.evaluated_value)
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    return ""
