"""Expressions in a canonical form, so two copies compare by meaning, not spelling.

`AGE_BINS = [0, 18, 35, 55, 120]` at the top of a file is data, not code: copies of a
feature that differ only in the name of their bins list are the same when the lists
are equal, and differ when the lists do. So `canonical` inlines module constants with
literal values (numbers, strings, containers of them, `np.inf` and the like), writes
imported names in full (`cut` from `from pandas import cut` is `pd.cut`), and can give
the frame one name (`x["age"]` and `df["age"]` are the same column).
"""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst

from infragap.migrate.analysis.names import all_names
from infragap.migrate.analysis.statements import only_small
from infragap.migrate.analysis.trees import with_parents
from infragap.migrate.source import Source

LITERAL_ATTRIBUTES = frozenset(
    {"numpy.inf", "numpy.nan", "numpy.pi", "numpy.e", "math.inf", "math.nan", "math.pi"}
)


def is_literal(source: Source, expr: cst.BaseExpression) -> bool:
    """Whether `expr` is data: numbers, strings, containers of them, `np.inf` and kin.

    A loop over an explicit stack: a generated module may concatenate thousands of
    strings, one nesting level each."""
    stack: list[cst.BaseExpression] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString)):
            continue
        if isinstance(node, cst.ConcatenatedString):
            stack.extend((node.left, node.right))
        elif isinstance(node, cst.Name):
            if node.value not in ("True", "False", "None"):
                return False
        elif isinstance(node, cst.UnaryOperation) and isinstance(
            node.operator, (cst.Minus, cst.Plus)
        ):
            stack.append(node.expression)
        elif isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            for element in node.elements:
                if not isinstance(element, cst.Element):
                    return False
                stack.append(element.value)
        elif isinstance(node, cst.Dict):
            for item in node.elements:
                if not isinstance(item, cst.DictElement):
                    return False
                stack.extend((item.key, item.value))
        elif not (isinstance(node, cst.Attribute) and source.qualname(node) in LITERAL_ATTRIBUTES):
            return False
    return True


def module_constants(source: Source) -> dict[str, cst.BaseExpression]:
    """NAME -> literal value, for names the module assigns exactly once, at top level."""
    found: dict[str, cst.BaseExpression] = {}
    assigned: dict[str, int] = {}
    for stmt in source.module.body:
        small = only_small(stmt)
        if type(small) is cst.Assign and len(small.targets) == 1:
            target = small.targets[0].target
            if isinstance(target, cst.Name):
                assigned[target.value] = assigned.get(target.value, 0) + 1
                if is_literal(source, small.value):
                    found[target.value] = small.value
    return {name: value for name, value in found.items() if assigned[name] == 1}


class _Substitute(cst.CSTTransformer):
    def __init__(self, names: Mapping[str, cst.BaseExpression], holding: set[int]) -> None:
        self.names = names
        self.holding = holding

    def on_visit(self, node: cst.CSTNode) -> bool:
        # Only what holds a name to replace is visited: the rest is kept, not rebuilt.
        return id(node) in self.holding and super().on_visit(node)

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        return self.names.get(original_node.value, updated_node)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        return True

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        return updated_node.with_changes(attr=original_node.attr)  # `x.AGE_BINS` is no constant

    def visit_Arg(self, node: cst.Arg) -> bool:
        return True

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(keyword=original_node.keyword)


def substitute(
    expr: cst.BaseExpression, names: Mapping[str, cst.BaseExpression]
) -> cst.BaseExpression:
    """`expr` with every name read (not attributes, not keywords) in `names` replaced."""
    if not names:
        return expr
    nodes, parents = with_parents(expr)
    holding: set[int] = set()  # ids: `nodes` keeps every node alive meanwhile
    for node in nodes:
        above: cst.CSTNode | None = node
        if type(node) is cst.Name and node.value in names:
            while above is not None and id(above) not in holding:
                holding.add(id(above))
                above = parents.get(id(above))
    result = expr.visit(_Substitute(names, holding))
    assert isinstance(result, cst.BaseExpression)
    return result


SHORT = {"pandas": "pd", "numpy": "np"}  # how everyone writes them


def canonical(
    source: Source,
    expr: cst.BaseExpression,
    constants: Mapping[str, cst.BaseExpression],
    frame: str = "",
) -> cst.BaseExpression:
    """`expr` with constants inlined, imports written in full, the frame called `df`."""
    names: dict[str, cst.BaseExpression] = {}
    for local in all_names(expr):
        qualname = source.aliases.get(local, "")
        if local == frame:
            names[local] = cst.Name("df")
        elif local in constants:
            names[local] = constants[local]
        elif qualname and not qualname.startswith(".") and local in source.module_names:
            head, dot, rest = qualname.partition(".")
            names[local] = _dotted(SHORT.get(head, head) + dot + rest)
    return substitute(expr, names)


def _dotted(name: str) -> cst.BaseExpression:
    """`a.b.c` as a Name and Attribute chain (cheaper than parsing it)."""
    head, *rest = name.split(".")
    expr: cst.BaseExpression = cst.Name(head)
    for part in rest:
        expr = cst.Attribute(value=expr, attr=cst.Name(part))
    return expr
