"""Walk statements (not expressions): much cheaper than a full visitor on big files."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import libcst as cst

Block = cst.BaseSuite  # an indented block, or statements after the colon on one line
# The statements that hold blocks. A set of exact types: most statements are simple, and
# isinstance against LibCST's classes (ABCs) costs a Python call each.
COMPOUND = frozenset(
    {
        cst.FunctionDef,
        cst.ClassDef,
        cst.If,
        cst.For,
        cst.While,
        cst.Try,
        cst.TryStar,
        cst.With,
        cst.Match,
    }
)


def child_blocks(stmt: cst.CSTNode, into_defs: bool = True) -> Iterator[Block]:
    """The blocks directly inside a compound statement, in source order."""
    if type(stmt) not in COMPOUND:  # exact types throughout: an isinstance miss is slow
        return
    if type(stmt) is cst.FunctionDef or type(stmt) is cst.ClassDef:
        if into_defs:
            yield stmt.body
    elif type(stmt) is cst.If:
        yield stmt.body
        if type(stmt.orelse) is cst.If:
            yield from child_blocks(stmt.orelse, into_defs)
        elif stmt.orelse is not None:
            yield stmt.orelse.body
    elif type(stmt) is cst.For or type(stmt) is cst.While:
        yield stmt.body
        if stmt.orelse is not None:
            yield stmt.orelse.body
    elif type(stmt) is cst.Try or type(stmt) is cst.TryStar:
        yield stmt.body
        for handler in stmt.handlers:
            yield handler.body
        if stmt.orelse is not None:
            yield stmt.orelse.body
        if stmt.finalbody is not None:
            yield stmt.finalbody.body
    elif type(stmt) is cst.With:
        yield stmt.body
    elif type(stmt) is cst.Match:
        for case in stmt.cases:
            yield case.body


def walk_statements(stmts: Sequence[cst.CSTNode], into_defs: bool = True) -> Iterator[cst.CSTNode]:
    """Every statement in `stmts` and the blocks below them, depth first, in order."""
    for stmt in stmts:
        yield stmt
        for block in child_blocks(stmt, into_defs):
            if type(block) is cst.SimpleStatementSuite:
                yield block
            else:
                yield from walk_statements(block.body, into_defs)


SIMPLE = frozenset({cst.SimpleStatementLine, cst.SimpleStatementSuite})


def small_statements(stmt: cst.CSTNode) -> Sequence[cst.BaseSmallStatement]:
    if type(stmt) in SIMPLE:  # exact types: a miss of isinstance on LibCST's ABCs is slow
        return stmt.body  # type: ignore[attr-defined]
    return ()


def only_small(stmt: cst.CSTNode) -> cst.BaseSmallStatement | None:
    """The single small statement of a one-statement line (`x = f()`), else None."""
    smalls = small_statements(stmt)
    if type(stmt) is cst.SimpleStatementLine and len(smalls) == 1:
        return smalls[0]
    return None


def is_docstring(stmt: cst.CSTNode) -> bool:
    """A statement that is only a string: a module's, class's or function's docstring."""
    smalls = small_statements(stmt)
    return (
        len(smalls) == 1
        and isinstance(smalls[0], cst.Expr)
        and isinstance(smalls[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )
