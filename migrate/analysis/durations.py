"""Durations measured with a clock and then only written to a log line.

A site is a log call (logging, any `*log*` object, print) whose arguments hold a
duration: a variable assigned `clock() - start`, or that arithmetic inline, where
`start = clock()` in the same function (or at module level).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

import libcst as cst

from infragap.migrate.analysis.names import bindings, names_read
from infragap.migrate.analysis.statements import child_blocks, only_small, walk_statements
from infragap.migrate.source import Source

CLOCKS = frozenset(
    {
        "time.time",
        "time.perf_counter",
        "time.monotonic",
        "time.process_time",
        "timeit.default_timer",
    }
)


LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "critical", "exception", "log"}
)


NUMERIC_WRAPPERS = frozenset({"round", "int", "float", "abs"})


ARITHMETIC = (cst.Add, cst.Subtract, cst.Multiply, cst.Divide, cst.FloorDivide)


@dataclass
class TimingSite:
    stmt: cst.SimpleStatementLine
    scope: str  # the function's name; "" at module level
    elapsed: str | None  # the variable already holding the duration
    inline: cst.BaseExpression | None  # else: the duration computed inside the log call
    unit: str
    blocker: str = ""


def _is_clock_diff(source: Source, node: cst.CSTNode, starts: set[str]) -> bool:
    return (
        isinstance(node, cst.BinaryOperation)
        and isinstance(node.operator, cst.Subtract)
        and isinstance(node.left, cst.Call)
        and not node.left.args
        and source.qualname(node.left.func) in CLOCKS
        and isinstance(node.right, cst.Name)
        and node.right.value in starts
    )


def _numeric_duration(source: Source, node: cst.CSTNode, starts: set[str]) -> bool:
    """Is `node` arithmetic (or round/int/float/abs) over `clock() - start`?"""
    if _is_clock_diff(source, node, starts):
        return True
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, ARITHMETIC):
        sides = (node.left, node.right)
        if any(isinstance(side, (cst.BaseString, cst.FormattedString)) for side in sides):
            return False
        return any(_numeric_duration(source, side, starts) for side in sides)
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Name)
        and node.func.value in NUMERIC_WRAPPERS
        and node.args
    ):
        return _numeric_duration(source, node.args[0].value, starts)
    return False


def _find_duration(
    source: Source, node: cst.CSTNode, starts: set[str]
) -> cst.BaseExpression | None:
    """The outermost numeric duration expression inside `node`."""
    if isinstance(node, cst.BaseExpression) and _numeric_duration(source, node, starts):
        return node
    for child in node.children:
        found = _find_duration(source, child, starts)
        if found is not None:
            return found
    return None


def _unit(node: cst.CSTNode) -> str:
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply):
        for side in (node.left, node.right):
            if (
                isinstance(side, (cst.Integer, cst.Float))
                and float(side.value.replace("_", "")) == 1000
            ):
                return "ms"
    return "ms" if any(_unit(child) == "ms" for child in node.children) else "s"


def _is_log(source: Source, call: cst.Call) -> bool:
    func = call.func
    if isinstance(func, cst.Name):
        return func.value == "print" and "print" not in source.module_names
    if isinstance(func, cst.Attribute) and func.attr.value in LOG_METHODS:
        return "log" in source.code(func.value).lower()
    return False


def _is_record(stmt: cst.CSTNode | None) -> bool:
    small = only_small(stmt) if stmt is not None else None
    return (
        isinstance(small, cst.Expr)
        and isinstance(small.value, cst.Call)
        and isinstance(small.value.func, cst.Attribute)
        and small.value.func.attr.value in ("record", "observe")
    )


def _blocks(stmts: list[cst.CSTNode]) -> list[list[cst.CSTNode]]:
    """This statement list and every block under it, not entering nested defs."""
    found = [stmts]
    for stmt in stmts:
        for block in child_blocks(stmt, into_defs=False):
            if isinstance(block, cst.IndentedBlock):
                found.extend(_blocks(list(block.body)))
    return found


def find_sites(source: Source) -> list[TimingSite]:
    scopes: list[tuple[str, list[cst.CSTNode]]] = [("", list(source.module.body))]
    for stmt in walk_statements(source.module.body):
        if isinstance(stmt, cst.FunctionDef) and isinstance(stmt.body, cst.IndentedBlock):
            scopes.append((stmt.name.value, list(stmt.body.body)))
    sites: list[TimingSite] = []
    for name, body in scopes:
        sites.extend(_scope_sites(source, name, body))
    return sites


def _scope_sites(source: Source, scope: str, body: list[cst.CSTNode]) -> list[TimingSite]:
    scope_bindings = bindings(body)
    starts = {
        name
        for name, found in scope_bindings.items()
        for b in found
        if b.kind == "assign"
        and isinstance(b.value, cst.Call)
        and not b.value.args
        and source.qualname(b.value.func) in CLOCKS
    }
    if not starts:
        return []
    durations: dict[str, str] = {}  # variable -> unit, or "" when it is not a number
    for name, found in scope_bindings.items():
        for b in found:
            if b.kind == "assign" and b.value is not None:
                inner = _find_duration(source, b.value, starts)
                if inner is not None and inner is b.value:
                    durations[name] = _unit(inner)
                elif inner is not None:
                    durations[name] = ""
    sites = []
    for block in _blocks(body):
        for index, stmt in enumerate(block):
            small = only_small(stmt)
            if not (isinstance(small, cst.Expr) and isinstance(small.value, cst.Call)):
                continue
            if not _is_log(source, small.value):
                continue
            assert isinstance(stmt, cst.SimpleStatementLine)
            following = block[index + 1] if index + 1 < len(block) else None
            site = _site(source, scope, stmt, small.value, starts, durations)
            if site is not None and not _is_record(following):
                sites.append(site)
    return sites


def _site(
    source: Source,
    scope: str,
    stmt: cst.SimpleStatementLine,
    call: cst.Call,
    starts: set[str],
    durations: dict[str, str],
) -> TimingSite | None:
    for name in names_read(*call.args):
        if name in durations:
            if not durations[name]:
                blocker = f"`{name}` holds formatted text, not a number"
                return TimingSite(stmt, scope, name, None, "s", blocker)
            return TimingSite(stmt, scope, name, None, durations[name])
    for arg in call.args:
        inline = _find_duration(source, arg.value, starts)
        if inline is not None:
            return TimingSite(stmt, scope, None, inline, _unit(inline))
    return None


def where(source: Source, site: TimingSite) -> str:
    return f"{site.scope}()" if site.scope else f"{module_stem(source.path)} (module level)"


def module_stem(path: str) -> str:
    stem = PurePath(path).stem if path and not path.startswith("<") else "module"
    return re.sub(r"\W", "_", stem) or "module"
