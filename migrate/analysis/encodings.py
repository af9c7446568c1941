"""How a file encodes its columns: which encoder, on which columns, fitted there or not.

Read from the code: scikit-learn encoders and scalers fitted or applied to columns
(`le.fit_transform(df["city"])`, `scaler.fit(df[["age", "income"]])`, in a loop over a
list of columns, through a `ColumnTransformer`), `pd.get_dummies` (with `columns=`, on a
column, or on the whole frame: then on the columns the file names) and `pd.factorize`.
An encoder whose columns the code does not name is left out: nothing true can be said
about it. `raw_columns` lists the columns a file that transforms nothing reads as they
come (a serving file that feeds request values straight to the model).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import libcst as cst

from infragap.migrate.analysis.canonical import module_constants
from infragap.migrate.analysis.imports import dotted
from infragap.migrate.analysis.trees import walk
from infragap.migrate.source import Source

# scikit-learn class -> the family of encodings it belongs to
ENCODERS = {
    "LabelEncoder": "codes",
    "OrdinalEncoder": "codes",
    "OneHotEncoder": "one-hot",
    "LabelBinarizer": "one-hot",
    "MinMaxScaler": "min-max",
    "StandardScaler": "standard",
    "RobustScaler": "robust",
    "MaxAbsScaler": "max-abs",
}
SCALERS = frozenset({"min-max", "standard", "robust", "max-abs"})
PIPELINES = frozenset({"sklearn.pipeline.Pipeline", "sklearn.pipeline.make_pipeline"})
COLUMN_TRANSFORMERS = frozenset(
    {"sklearn.compose.ColumnTransformer", "sklearn.compose.make_column_transformer"}
)
ENCODER_TEXT = re.compile("|".join(("get_dummies", "factorize", *ENCODERS)))
EVERY_TEXT_COLUMN = "*"
WHOLE_FRAME = "on the whole frame, so on every text column"


@dataclass(frozen=True)
class Encoding:
    columns: tuple[str, ...]
    encoder: str  # "LabelEncoder", "pd.get_dummies", ...
    family: str  # "codes", "one-hot", "min-max", ... ("raw": read as it comes)
    fitted: bool  # fitted (or, for pd.get_dummies, built) on this file's data
    node: cst.CSTNode
    detail: str = ""  # how the file completes it: "reindex(columns=..., fill_value=0)"
    in_model: bool = False  # inside a Pipeline: the saved model carries the encoding


def encodings(source: Source) -> list[Encoding]:
    """The encodings of named columns in the file, in source order."""
    if not ENCODER_TEXT.search(source.text):  # each encoding names one of them
        return []
    reader = _Reader(source)
    walk(source.module, reader)
    named = [column for column, _ in _column_mentions(source)]
    found = []
    for encoding in reader.found:
        if encoding.columns == (EVERY_TEXT_COLUMN,):
            if not named:  # the columns it encodes are the text ones among those named
                continue
            encoding = replace(encoding, columns=tuple(dict.fromkeys(named)), detail=WHOLE_FRAME)
        if reader.reindexed and encoding.encoder == "pd.get_dummies":
            detail = " ".join(filter(None, (encoding.detail, reader.reindexed)))
            encoding = replace(encoding, detail=detail)
        found.append(replace(encoding, in_model=reader.pipeline))
    return found


def raw_columns(source: Source) -> list[tuple[str, cst.CSTNode]]:
    """(column, first mention) of the columns the file names, when it transforms
    nothing at all (no `.transform`, no encoder, scaler or pipeline, loaded or built)."""
    for node in source.nodes:
        kind = type(node)  # exact types: a miss of isinstance on LibCST's ABCs is slow
        if kind is cst.Name and _transforming_name(node.value):  # type: ignore[attr-defined]
            return []
        if kind is cst.Attribute and _transforming_name(node.attr.value):  # type: ignore[attr-defined]
            return []
    if any(qualname.startswith("sklearn.") for qualname in source.aliases.values()):
        return []
    seen: dict[str, cst.CSTNode] = {}
    for column, node in _column_mentions(source):
        seen.setdefault(column, node)
    return list(seen.items())


def _transforming_name(name: str) -> bool:
    lowered = name.lower()
    return lowered in ("transform", "fit_transform") or any(
        word in lowered for word in ("scaler", "encoder", "pipeline", "preprocess", "transformer")
    )


MENTIONS = frozenset({cst.Subscript, cst.Call, cst.List, cst.Tuple})


def _column_mentions(source: Source) -> list[tuple[str, cst.CSTNode]]:
    """Strings the file uses as column names: `x["age"]`, `x.get("age")`, and lists of
    strings (`FEATURES = ["age", "income"]`, `columns=[...]`)."""
    found: list[tuple[str, cst.CSTNode]] = []
    for node in source.nodes:
        if type(node) not in MENTIONS:  # exact types: isinstance misses are slow on ABCs
            continue
        if isinstance(node, cst.Subscript) and len(node.slice) == 1:
            index = node.slice[0].slice
            if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
                found.extend(_strings(index.value))
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            if node.func.attr.value == "get" and node.args:
                found.extend(_strings(node.args[0].value))
        elif isinstance(node, (cst.List, cst.Tuple)):
            values = [e.value for e in node.elements]
            if values and all(isinstance(v, cst.SimpleString) for v in values):
                found.extend(item for v in values for item in _strings(v))
    return found


def _strings(node: cst.BaseExpression) -> list[tuple[str, cst.CSTNode]]:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        if isinstance(value, str) and value.isidentifier():
            return [(value, node)]
    return []


class _Reader(cst.CSTVisitor):
    def __init__(self, source: Source) -> None:
        self.source = source
        self.constants = module_constants(source)
        self.found: list[Encoding] = []
        self.encoders: dict[str, str] = {}  # bound name -> scikit-learn class
        self.frames: dict[str, tuple[str, ...]] = {}  # `X = df[COLS]` -> COLS
        self.loops: list[dict[str, tuple[str, ...]]] = []
        self.reindexed = ""
        self.pipeline = False

    def visit_For(self, node: cst.For) -> None:
        columns = self._strings_of(node.iter)
        bound = {node.target.value: columns} if isinstance(node.target, cst.Name) else {}
        self.loops.append(bound if columns else {})

    def leave_For(self, original_node: cst.For) -> None:
        self.loops.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            name = dotted(target.target)
            if not name:
                continue
            encoder = self._constructed(node.value)
            if encoder:
                self.encoders[name] = encoder
            columns = self._columns(node.value)
            if columns:
                self.frames[name] = columns

    def visit_Call(self, node: cst.Call) -> None:
        qualname = self.source.qualname(node.func) or ""
        if qualname in PIPELINES:
            self.pipeline = True
        elif qualname in COLUMN_TRANSFORMERS:
            self._column_transformer(node)
        elif qualname == "pandas.get_dummies":
            self._get_dummies(node)
        elif qualname == "pandas.factorize" and node.args:
            columns = self._columns(node.args[0].value)
            if columns:
                self.found.append(Encoding(columns, "pd.factorize", "codes", True, node))
        elif isinstance(node.func, cst.Attribute):
            self._method(node, node.func)

    def _method(self, node: cst.Call, func: cst.Attribute) -> None:
        method = func.attr.value
        if method == "reindex" and any(
            arg.keyword is not None and arg.keyword.value == "fill_value" for arg in node.args
        ):
            self.reindexed = "+ reindex(columns=..., fill_value=0)"
        if method not in ("fit", "fit_transform", "transform") or not node.args:
            return
        encoder = self._constructed(func.value) or self.encoders.get(dotted(func.value), "")
        columns = self._columns(node.args[0].value)
        if encoder and columns:
            fitted = method != "transform"
            self.found.append(Encoding(columns, encoder, ENCODERS[encoder], fitted, node))

    def _get_dummies(self, node: cst.Call) -> None:
        named = next((a.value for a in node.args if _keyword(a) == "columns"), None)
        first = next((a.value for a in node.args if a.keyword is None), None)
        columns = self._strings_of(named) if named is not None else ()
        if not columns and first is not None:
            columns = self._columns(first)
        if not columns and named is None and isinstance(first, cst.Name):
            columns = (EVERY_TEXT_COLUMN,)
        if columns:
            self.found.append(Encoding(columns, "pd.get_dummies", "one-hot", True, node))

    def _column_transformer(self, node: cst.Call) -> None:
        parts: list[cst.BaseExpression] = []
        for arg in node.args:
            value = arg.value
            if isinstance(value, (cst.List, cst.Tuple)) and arg.keyword is None:
                nested = [e.value for e in value.elements]
                tuples = all(isinstance(v, cst.Tuple) for v in nested)
                parts.extend(nested if tuples and nested else [value])
        for part in parts:
            if not isinstance(part, cst.Tuple):
                continue
            values = [e.value for e in part.elements]
            encoder = next((self._constructed(v) for v in values if self._constructed(v)), "")
            columns = next((self._strings_of(v) for v in values if self._strings_of(v)), ())
            if encoder and columns:
                self.found.append(Encoding(columns, encoder, ENCODERS[encoder], True, part))

    def _constructed(self, expr: cst.BaseExpression) -> str:
        """ "MinMaxScaler" for `MinMaxScaler(...)`, else ""."""
        if not isinstance(expr, cst.Call):
            return ""
        qualname = self.source.qualname(expr.func) or ""
        leaf = qualname.rsplit(".", 1)[-1]
        return leaf if qualname.startswith("sklearn.") and leaf in ENCODERS else ""

    def _columns(self, expr: cst.BaseExpression) -> tuple[str, ...]:
        """The columns `df["a"]`, `df[["a", "b"]]`, `df[COLS]`, `df[col]` (in a loop over
        a list of columns) or a name bound to one of those select, through `.values`,
        `.to_numpy()`, `.reshape(...)` and the like."""
        while True:
            if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
                expr = expr.func.value
            elif isinstance(expr, cst.Attribute) and expr.attr.value in ("values", "T"):
                expr = expr.value
            else:
                break
        if isinstance(expr, cst.Name):
            return self.frames.get(expr.value, ())
        if not (isinstance(expr, cst.Subscript) and len(expr.slice) == 1):
            return ()
        index = expr.slice[0].slice
        if not isinstance(index, cst.Index):
            return ()
        return self._strings_of(index.value)

    def _strings_of(self, expr: cst.BaseExpression | None) -> tuple[str, ...]:
        """Column names in a string, a list of strings, a constant or a loop variable."""
        if isinstance(expr, cst.Name):
            for scope in reversed(self.loops):
                if expr.value in scope:
                    return scope[expr.value]
            expr = self.constants.get(expr.value)
        if isinstance(expr, cst.SimpleString):
            value = expr.evaluated_value
            return (value,) if isinstance(value, str) else ()
        if isinstance(expr, (cst.List, cst.Tuple)) and expr.elements:
            values = [e.value for e in expr.elements]
            strings = [v.evaluated_value for v in values if isinstance(v, cst.SimpleString)]
            if len(strings) == len(values) and all(isinstance(s, str) for s in strings):
                return tuple(str(s) for s in strings)
        return ()


def _keyword(arg: cst.Arg) -> str:
    return arg.keyword.value if arg.keyword is not None else ""
