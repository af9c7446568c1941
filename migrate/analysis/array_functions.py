"""Functions over numpy arrays, read from their code, so copies across files can be found.

An array function is a top-level function of a file that imports numpy, that does array
work (calls numpy, or indexes its parameters or calls array methods on them: `x[0]`,
`x.mean()`), and at least MIN_OPERATIONS operations (arithmetic operators, numpy calls
that compute, array methods), so `return x`, `np.asarray(x)` and `a + b` are not one.
Functions that set DataFrame columns are feature functions, reported as such; methods
are left out (their `self` makes copies incomparable with functions).

Each is kept in two forms: `code`, with module constants inlined and imports written in
full (the form the differences are shown in), and `shape`, the same with parameters and
local names renamed in order of appearance, so copies that differ only in names have
the same shape: the same behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from infragap.migrate.analysis.canonical import SHORT, module_constants
from infragap.migrate.analysis.expression_diff import normal
from infragap.migrate.analysis.feature_functions import column_assignment
from infragap.migrate.analysis.names import all_names, param_names
from infragap.migrate.analysis.statements import is_docstring, walk_statements
from infragap.migrate.analysis.trees import preorder
from infragap.migrate.source import Source

MIN_OPERATIONS = 2
ARITHMETIC = (
    cst.Add, cst.Subtract, cst.Multiply, cst.Divide, cst.FloorDivide, cst.Modulo,
    cst.Power, cst.MatrixMultiply,
)  # fmt: skip
AUGMENTED = (
    cst.AddAssign, cst.SubtractAssign, cst.MultiplyAssign, cst.DivideAssign,
    cst.FloorDivideAssign, cst.ModuloAssign, cst.PowerAssign, cst.MatrixMultiplyAssign,
)  # fmt: skip
# numpy calls that build or convert rather than compute
NUMPY_BUILDERS = frozenset(
    {
        "array", "asarray", "asanyarray", "ascontiguousarray", "copy", "zeros", "ones",
        "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like", "float32",
        "float64", "int32", "int64", "dtype", "load", "save", "savez", "loadtxt",
    }
)  # fmt: skip
ARRAY_METHODS = frozenset(
    {
        "mean", "std", "var", "sum", "min", "max", "cumsum", "cumprod", "diff", "clip",
        "reshape", "ravel", "flatten", "astype", "dot", "round", "argmax", "argmin",
        "interpolate", "fillna", "pct_change", "rolling", "shift", "abs", "prod",
    }
)  # fmt: skip


@dataclass(frozen=True)
class ArrayFunction:
    name: str
    node: cst.FunctionDef
    params: int
    operations: int
    code: str  # canonical: constants inlined, imports in full
    shape: str  # `code` with parameters and locals renamed: equal shapes, same behaviour


def array_functions(source: Source) -> list[ArrayFunction]:
    """The file's top-level array functions (none unless it imports numpy)."""
    numpy = {local for local, name in source.aliases.items() if name.split(".")[0] == "numpy"}
    if not numpy:
        return []
    constants = module_constants(source)
    found = []
    for stmt in source.module.body:
        if isinstance(stmt, cst.FunctionDef):
            function = _read(source, stmt, numpy, constants)
            if function is not None:
                found.append(function)
    return found


def _read(
    source: Source,
    func: cst.FunctionDef,
    numpy: set[str],
    constants: dict[str, cst.BaseExpression],
) -> ArrayFunction | None:
    body = list(func.body.body) if isinstance(func.body, cst.IndentedBlock) else []
    if body and is_docstring(body[0]):
        body = body[1:]
    if not body or any(column_assignment(s) for s in walk_statements(body, into_defs=False)):
        return None
    params = param_names(func)
    operations, array_work = _operations(source, func, set(params), numpy)
    if operations < MIN_OPERATIONS or not array_work:
        return None
    bare = func.with_changes(
        body=func.body.with_changes(body=body), leading_lines=(), decorators=()
    )
    code = _canonical(source, bare, constants, set(params))
    return ArrayFunction(
        name=func.name.value,
        node=func,
        params=len(params),
        operations=operations,
        code=_MODULE.code_for_node(code),
        shape=normal(_renamed(code)),
    )


def _operations(
    source: Source, func: cst.FunctionDef, params: set[str], numpy: set[str]
) -> tuple[int, bool]:
    """(how many operations the body does, whether any of them is array work)."""
    count, array_work = 0, False
    for node in preorder(func.body):  # exact types: a miss of isinstance on an ABC is slow
        if type(node) is cst.BinaryOperation or type(node) is cst.AugAssign:
            count += type(node.operator) in COUNTED_OPERATORS
        elif type(node) is cst.Call and type(node.func) is cst.Attribute:
            qualname = source.qualname(node.func) or ""
            if qualname.split(".")[0] == "numpy":
                count += qualname.rsplit(".", 1)[-1] not in NUMPY_BUILDERS
                array_work = True
            elif node.func.attr.value in ARRAY_METHODS and set(all_names(node.func.value)) & params:
                count += 1
                array_work = True
        elif type(node) is cst.Call:
            qualname = source.qualname(node.func) or ""
            if qualname.split(".")[0] == "numpy":
                count += qualname.rsplit(".", 1)[-1] not in NUMPY_BUILDERS
        elif type(node) is cst.Subscript:
            array_work = array_work or bool(set(all_names(node.value)) & params)
        elif type(node) is cst.Name:
            array_work = array_work or node.value in numpy
    return count, array_work


_MODULE = cst.Module(body=[])
COUNTED_OPERATORS = frozenset({*ARITHMETIC, *AUGMENTED})


class _Rename(cst.CSTTransformer):
    """Names read or bound replaced per `names`; attributes and keywords kept."""

    def __init__(self, names: dict[str, cst.BaseExpression]) -> None:
        self.names = names

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        return self.names.get(original_node.value, updated_node)

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        return updated_node.with_changes(attr=original_node.attr)

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(keyword=original_node.keyword)

    def leave_Param(self, original_node: cst.Param, updated_node: cst.Param) -> cst.Param:
        name = self.names.get(original_node.name.value)
        return updated_node.with_changes(
            name=name if isinstance(name, cst.Name) else original_node.name
        )

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        return updated_node.with_changes(name=original_node.name)


def _canonical(
    source: Source,
    func: cst.FunctionDef,
    constants: dict[str, cst.BaseExpression],
    params: set[str],
) -> cst.FunctionDef:
    """Constants inlined and imported names written in full (`np.interp`), as
    `canonical` does for expressions; parameters shadow both."""
    names: dict[str, cst.BaseExpression] = {}
    for local in all_names(func.body):
        if local in params:
            continue
        qualname = source.aliases.get(local, "")
        if local in constants:
            names[local] = constants[local]
        elif qualname and not qualname.startswith(".") and local in source.module_names:
            head, dot, rest = qualname.partition(".")
            names[local] = cst.parse_expression(SHORT.get(head, head) + dot + rest)
    result = func.visit(_Rename(names))
    assert isinstance(result, cst.FunctionDef)
    return result


def _renamed(func: cst.FunctionDef) -> cst.FunctionDef:
    """Parameters and names assigned in the body called v0, v1, ... in order of
    appearance, the function `f`: what is left is what the function does."""
    order = [*param_names(func)]
    for node in preorder(func.body):
        if isinstance(node, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For)):
            target = node.target
            order.extend(n for n in all_names(target) if isinstance(target, (cst.Name, cst.Tuple)))
    names: dict[str, cst.BaseExpression] = {}
    for name in dict.fromkeys(order):
        names[name] = cst.Name(f"v{len(names)}")
    result = func.visit(_Rename(names))
    assert isinstance(result, cst.FunctionDef)
    return result.with_changes(name=cst.Name("f"))
