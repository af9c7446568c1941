"""Which names an expression reads, and where a scope binds names."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import libcst as cst

from infragap.migrate.analysis.imports import dotted
from infragap.migrate.analysis.statements import SIMPLE, small_statements, walk_statements
from infragap.migrate.analysis.trees import children, preorder

# Subtrees whose names a read of the enclosing expression does not see.
NOT_READ_HERE = frozenset({cst.Lambda, cst.FunctionDef, cst.ClassDef})


def names_read(*nodes: cst.CSTNode | None) -> list[str]:
    """Names read by the nodes, in order, with repeats; nested defs and lambdas excluded."""
    found: list[str] = []
    stack = [node for node in reversed(nodes) if node is not None]
    while stack:
        node = stack.pop()
        kind = type(node)  # these node classes have no subclasses; `is` spares ABCMeta
        if kind is cst.Name:
            found.append(cast(cst.Name, node).value)
        elif kind is cst.Attribute or kind is cst.Arg:
            # `a.b` reads `a`, never `b`; a keyword is no read
            stack.append(cast("cst.Attribute | cst.Arg", node).value)
        elif kind not in NOT_READ_HERE:
            stack.extend(reversed(children(node)))
    return found


def all_names(node: cst.CSTNode) -> list[str]:
    """Every Name in the node, lambdas and nested defs included, in order, once each."""
    found = (inner.value for inner in preorder(node) if isinstance(inner, cst.Name))
    return list(dict.fromkeys(found))


def mentions(node: cst.CSTNode, name: str) -> bool:
    return name in names_read(node)


@dataclass(frozen=True)
class Binding:
    """How a scope binds a name: `assign` carries the assigned value, other kinds do not."""

    kind: str
    value: cst.BaseExpression | None = None
    node: cst.CSTNode | None = None


def _target_names(target: cst.BaseExpression) -> list[str]:
    found: list[str] = []
    stack = [target]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name):
            found.append(node.value)
        elif isinstance(node, (cst.Tuple, cst.List)):
            stack.extend(element.value for element in reversed(node.elements))
        elif isinstance(node, cst.StarredElement):
            stack.append(node.value)
    return found


def bindings(stmts: Sequence[cst.CSTNode]) -> dict[str, list[Binding]]:
    """Name -> every binding of it in these statements, not looking into nested defs."""
    found: dict[str, list[Binding]] = {}

    def add(name: str, binding: Binding) -> None:
        found.setdefault(name, []).append(binding)

    for stmt in walk_statements(stmts, into_defs=False):
        if type(stmt) in SIMPLE:  # exact types: an isinstance miss on an ABC is slow
            for small in small_statements(stmt):
                _bind_small(small, add)
        elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            add(stmt.name.value, Binding("def", node=stmt))
        elif isinstance(stmt, cst.For):
            for name in _target_names(stmt.target):
                add(name, Binding("for", node=stmt))
        elif isinstance(stmt, cst.With):
            for item in stmt.items:
                if item.asname is not None:
                    for name in _target_names(item.asname.name):
                        add(name, Binding("with", item.item, node=stmt))
        elif isinstance(stmt, (cst.Try, cst.TryStar)):
            for handler in stmt.handlers:
                if handler.name is not None:
                    add(dotted(handler.name.name), Binding("except", node=handler))
    return found


# The small statements that bind a name.
BINDING = frozenset(
    {cst.Assign, cst.AnnAssign, cst.AugAssign, cst.Import, cst.ImportFrom, cst.Global, cst.Nonlocal}
)


def _bind_small(small: cst.BaseSmallStatement, add: Callable[[str, Binding], None]) -> None:
    if type(small) not in BINDING:
        return
    if isinstance(small, cst.Assign):
        for target in small.targets:
            if isinstance(target.target, cst.Name):
                add(target.target.value, Binding("assign", small.value, small))
            else:
                for name in _target_names(target.target):
                    add(name, Binding("unpack", node=small))
    elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
        kind = "assign" if small.value is not None else "annotation"
        add(small.target.value, Binding(kind, small.value, small))
    elif isinstance(small, cst.AugAssign) and isinstance(small.target, cst.Name):
        add(small.target.value, Binding("augassign", node=small))
    elif isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(
        small.names, cst.ImportStar
    ):
        for alias in small.names:
            if alias.asname is not None:
                local = dotted(alias.asname.name)
            else:
                local = dotted(alias.name).split(".", 1)[0]
            add(local, Binding("import", node=small))
    elif isinstance(small, (cst.Global, cst.Nonlocal)):
        for item in small.names:
            add(item.name.value, Binding("global", node=small))


def module_bindings(module: cst.Module) -> set[str]:
    return set(bindings(module.body))


def param_names(func: cst.FunctionDef) -> list[str]:
    params = func.params
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            every.append(star)
    return [param.name.value for param in every]
