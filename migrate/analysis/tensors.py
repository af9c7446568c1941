"""Guess tensor data types and model names from the code that builds them."""

from __future__ import annotations

import re

import libcst as cst

from infragap.migrate.analysis.trees import walk
from infragap.migrate.source import Source

TORCH_DTYPES = {
    "long": "INT64",
    "int64": "INT64",
    "int": "INT32",
    "int32": "INT32",
    "int16": "INT16",
    "short": "INT16",
    "int8": "INT8",
    "uint8": "UINT8",
    "bool": "BOOL",
    "float": "FP32",
    "float32": "FP32",
    "double": "FP64",
    "float64": "FP64",
    "half": "FP16",
    "float16": "FP16",
}
NUMPY_DTYPES = {**TORCH_DTYPES, "int": "INT64", "float": "FP64", "long": "INT64"}
BUILTIN_DTYPES = {"int": "INT64", "float": "FP64", "bool": "BOOL"}
CAST_METHODS = {
    "long": "INT64",
    "int": "INT32",
    "float": "FP32",
    "double": "FP64",
    "half": "FP16",
    "bool": "BOOL",
}
TENSOR_CLASSES = {
    "LongTensor": "INT64",
    "IntTensor": "INT32",
    "FloatTensor": "FP32",
    "DoubleTensor": "FP64",
    "HalfTensor": "FP16",
    "BoolTensor": "BOOL",
}
MODEL_SUFFIXES = (".pt", ".pth", ".ts", ".torchscript", ".jit", ".bin", ".model")


def _dtype_of(source: Source, expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.SimpleString):
        return NUMPY_DTYPES.get(str(expr.evaluated_value))
    if isinstance(expr, cst.Name):
        return BUILTIN_DTYPES.get(expr.value)
    qualname = source.qualname(expr) or ""
    root, _, leaf = qualname.rpartition(".")
    if root.split(".", 1)[0] == "torch":
        return TORCH_DTYPES.get(leaf)
    if root.split(".", 1)[0] == "numpy":
        return NUMPY_DTYPES.get(leaf)
    return None


class _DtypeEvidence(cst.CSTVisitor):
    def __init__(self, source: Source) -> None:
        self.source = source
        self.found: str | None = None

    def visit_Call(self, node: cst.Call) -> None:
        if self.found:
            return
        func = node.func
        if isinstance(func, cst.Attribute) and not node.args:
            self.found = CAST_METHODS.get(func.attr.value)
        elif isinstance(func, cst.Attribute) and func.attr.value in TENSOR_CLASSES:
            self.found = TENSOR_CLASSES[func.attr.value]
        for arg in node.args:
            if self.found:
                return
            positional_to = (
                arg.keyword is None and isinstance(func, cst.Attribute) and func.attr.value == "to"
            )
            if positional_to or (arg.keyword is not None and arg.keyword.value == "dtype"):
                self.found = _dtype_of(self.source, arg.value)


def guess_dtype(source: Source, expr: cst.BaseExpression | None) -> str | None:
    """The Triton datatype an expression produces (`torch.tensor(x, dtype=torch.long)` ->
    INT64), or None when the code does not say."""
    if expr is None:
        return None
    visitor = _DtypeEvidence(source)
    walk(expr, visitor)
    return visitor.found


class _Strings(cst.CSTVisitor):
    def __init__(self) -> None:
        self.values: list[str] = []
        self.names: list[str] = []

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        value = node.evaluated_value
        self.values.append(value if isinstance(value, str) else value.decode(errors="replace"))

    def visit_FormattedStringText(self, node: cst.FormattedStringText) -> None:
        self.values.append(node.value)

    def visit_Name(self, node: cst.Name) -> None:
        self.names.append(node.value)


def model_name_from(source: Source, exprs: list[cst.BaseExpression], depth: int = 2) -> str | None:
    """A model name from the file the code loads: `os.path.join(DIR, "ranker.pt")` -> ranker.

    Module-level constants are followed `depth` assignments deep.
    """
    constants = _module_constants(source)
    for expr in exprs:
        strings = _Strings()
        walk(expr, strings)
        for value in strings.values:
            stem = _model_stem(value)
            if stem:
                return stem
        if depth > 0:
            followed = [constants[name] for name in strings.names if name in constants]
            found = model_name_from(source, followed, depth - 1)
            if found:
                return found
    return None


def _model_stem(value: str) -> str | None:
    base = value.replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in MODEL_SUFFIXES:
        if base.endswith(suffix) and len(base) > len(suffix):
            return re.sub(r"[^A-Za-z0-9_.-]", "_", base[: -len(suffix)])
    return None


def _module_constants(source: Source) -> dict[str, cst.BaseExpression]:
    constants: dict[str, cst.BaseExpression] = {}
    for stmt in source.module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1:
                    target = small.targets[0].target
                    if isinstance(target, cst.Name):
                        constants[target.value] = small.value
    return constants
