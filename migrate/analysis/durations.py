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
from infragap.migrate.analysis.trees import preorder
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


# Wall clocks whose differences are timedeltas: `.total_seconds()` makes them numbers.
DATETIME_CLOCKS = frozenset(
    {"datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today"}
)


LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "critical", "exception", "log"}
)


TIMEDELTA = "timedelta"  # a duration variable's kind: a timedelta, not a number
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
    timedelta: bool = False  # the duration is a datetime.timedelta, recorded in seconds


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


def _is_timedelta(source: Source, node: cst.CSTNode, starts: set[str]) -> bool:
    """`datetime.now() - started`: a duration, as a timedelta."""
    return (
        isinstance(node, cst.BinaryOperation)
        and isinstance(node.operator, cst.Subtract)
        and isinstance(node.left, cst.Call)
        and source.qualname(node.left.func) in DATETIME_CLOCKS
        and isinstance(node.right, cst.Name)
        and node.right.value in starts
    )


def _is_clock_start(source: Source, value: cst.BaseExpression | None) -> bool:
    if not isinstance(value, cst.Call):
        return False
    qualname = source.qualname(value.func)
    return (qualname in CLOCKS and not value.args) or qualname in DATETIME_CLOCKS


def _numeric_duration(source: Source, node: cst.CSTNode, starts: set[str]) -> bool:
    """Is `node` arithmetic (or round/int/float/abs) over `clock() - start`?"""
    stack = [node]
    while stack:
        current = stack.pop()
        if _is_clock_diff(source, current, starts):
            return True
        if (
            isinstance(current, cst.Call)
            and isinstance(current.func, cst.Attribute)
            and current.func.attr.value == "total_seconds"
            and not current.args
            and _is_timedelta(source, current.func.value, starts)
        ):
            return True  # (datetime.now() - started).total_seconds()
        if isinstance(current, cst.BinaryOperation) and isinstance(current.operator, ARITHMETIC):
            sides = (current.left, current.right)
            if not any(isinstance(side, (cst.BaseString, cst.FormattedString)) for side in sides):
                stack.extend(reversed(sides))
        elif (
            isinstance(current, cst.Call)
            and isinstance(current.func, cst.Name)
            and current.func.value in NUMERIC_WRAPPERS
            and current.args
        ):
            stack.append(current.args[0].value)
    return False


def _find_duration(
    source: Source, node: cst.CSTNode, starts: set[str]
) -> cst.BaseExpression | None:
    """The outermost numeric duration expression inside `node`."""
    for inner in preorder(node):
        if isinstance(inner, cst.BaseExpression) and _numeric_duration(source, inner, starts):
            return inner
    return None


def _unit(node: cst.CSTNode) -> str:
    for inner in preorder(node):
        if isinstance(inner, cst.BinaryOperation) and isinstance(inner.operator, cst.Multiply):
            for side in (inner.left, inner.right):
                if (
                    isinstance(side, (cst.Integer, cst.Float))
                    and float(side.value.replace("_", "")) == 1000
                ):
                    return "ms"
    return "s"


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
        if type(stmt) is cst.FunctionDef and type(stmt.body) is cst.IndentedBlock:
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
        if b.kind == "assign" and _is_clock_start(source, b.value)
    }
    if not starts:
        return []
    durations: dict[str, str] = {}  # variable -> unit, or "" when it is not a number
    for name, found in scope_bindings.items():
        for b in found:
            if b.kind == "assign" and b.value is not None:
                if _is_timedelta(source, b.value, starts):
                    durations[name] = TIMEDELTA
                    continue
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
        if durations.get(name) == TIMEDELTA:
            return TimingSite(stmt, scope, name, None, "s", timedelta=True)
        if name in durations:
            if not durations[name]:
                blocker = f"`{name}` holds formatted text, not a number"
                return TimingSite(stmt, scope, name, None, "s", blocker)
            return TimingSite(stmt, scope, name, None, durations[name])
    for arg in call.args:
        inline = _find_duration(source, arg.value, starts)
        if inline is not None:
            return TimingSite(stmt, scope, None, inline, _unit(inline))
    for arg in call.args:
        for node in preorder(arg.value):
            if isinstance(node, cst.BaseExpression) and _is_timedelta(source, node, starts):
                return TimingSite(stmt, scope, None, node, "s", timedelta=True)
    return None


def where(source: Source, site: TimingSite) -> str:
    return f"{site.scope}()" if site.scope else f"{module_stem(source.path)} (module level)"


def module_stem(path: str) -> str:
    stem = PurePath(path).stem if path and not path.startswith("<") else "module"
    return re.sub(r"\W", "_", stem) or "module"
