"""Where a node starts (line, column), without generating the whole module's code.

LibCST's nodes carry no positions: the usual way to learn any node's line is to generate
the code of the whole module and record every node on the way, which costs more than half
a parse. Rules ask about a few nodes per file. So `StartPositions` takes each statement's
start from CPython's `ast` (a tenth of LibCST's parse), pairing the two trees' statements
in order, and generates code only for the statement, or the header of the compound
statement, that holds a node asked about, from that statement's start.

Where the two trees do not pair up, or a node sits where this does not reach (a
decorator, a `match` header), the answer comes from the whole module's positions, as
before: the answers are always LibCST's own.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence

import libcst as cst
from libcst.metadata import CodeRange

from infragap.migrate.analysis.positions import (
    NEWLINES,
    Point,
    header_ranges,
    lean_works,
    module_positions,
)

# LibCST's name for a statement, where CPython's differs.
AST_NAMES = {"Del": ("Delete",), "ExceptStarHandler": ("ExceptHandler",)}


class StartPositions:
    """`start(node)`: where `node` starts, as LibCST's PositionProvider says."""

    def __init__(
        self,
        module: cst.Module,
        text: str,
        parent: Callable[[cst.CSTNode], cst.CSTNode | None],
    ) -> None:
        self._module = module
        self._parent = parent
        self._known: dict[cst.CSTNode, Point] = {}
        self._whole: Mapping[cst.CSTNode, CodeRange] | None = None
        self._statements = statement_starts(module, text) if lean_works() else None

    def start(self, node: cst.CSTNode) -> Point:
        known = self._known.get(node)
        if known is None and self._statements is not None:
            known = self._statements.get(node) or self._from_statement(node)
        if known is None:
            if self._whole is None:
                self._whole = module_positions(self._module)
            position = self._whole[node].start
            return position.line, position.column
        return known

    def _from_statement(self, node: cst.CSTNode) -> Point | None:
        """Generate the code of the statement that holds `node`, from its known start."""
        assert self._statements is not None
        unit: cst.CSTNode | None = node
        while unit is not None and unit not in self._statements:
            unit = self._parent(unit)
        if unit is None or isinstance(unit, (cst.SimpleStatementLine, cst.Match)):
            return None
        indent: list[str] = []
        above = self._parent(unit)
        how = {"is_elif": True} if isinstance(above, cst.If) and above.orelse is unit else {}
        while above is not None:
            if isinstance(above, cst.IndentedBlock):
                indent.append(self._module.default_indent if above.indent is None else above.indent)
            above = self._parent(above)
        ranges = header_ranges(self._module, unit, self._statements[unit], indent[::-1], **how)
        self._known.update((inside, where) for inside, (where, _) in ranges.items())
        return self._known.get(node)


def statement_starts(module: cst.Module, text: str) -> dict[cst.CSTNode, Point] | None:
    """Every statement's start, and every except clause's, paired with CPython's parse;
    None where the text or the two trees do not allow it."""
    if "\r" in text.replace("\r\n", "") or text.startswith("\ufeff"):
        return None  # CPython and LibCST may count these lines differently
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines = NEWLINES.split(text)
    starts: dict[cst.CSTNode, Point] = {}

    def point(node: ast.stmt | ast.excepthandler) -> Point:
        line = lines[node.lineno - 1]
        column = node.col_offset
        if not line.isascii():  # CPython counts bytes of UTF-8, LibCST characters
            column = len(line.encode()[:column].decode(errors="replace"))
        return node.lineno, column

    def pair(ours: cst.CSTNode, theirs: ast.AST) -> bool:
        name = type(ours).__name__
        if type(theirs).__name__ not in (name, "Async" + name, *AST_NAMES.get(name, ())):
            return False
        starts[ours] = point(theirs)  # type: ignore[arg-type]
        if isinstance(ours, (cst.FunctionDef, cst.ClassDef)):
            decorators = theirs.decorator_list  # type: ignore[attr-defined]
            if len(decorators) != len(ours.decorators):
                return False
            at = starts[ours][1]  # a decorator's @ starts a line, indented as the def is
            for decorator, expression in zip(ours.decorators, decorators, strict=True):
                line = expression.lineno
                if lines[line - 1][at : at + 1] == "@":  # not after a line continuation
                    starts[decorator] = line, at
        return _pair_inside(ours, theirs, pair_block, pair)

    def pair_block(ours: Sequence[cst.CSTNode], theirs: Sequence[ast.AST]) -> bool:
        flat: list[cst.CSTNode] = []
        for statement in ours:
            if isinstance(statement, cst.SimpleStatementLine):
                flat.extend(statement.body)
            else:
                flat.append(statement)
        if len(flat) != len(theirs) or not all(map(pair, flat, theirs)):
            return False
        for statement in ours:
            if isinstance(statement, cst.SimpleStatementLine):
                starts[statement] = starts[statement.body[0]]
        return True

    try:
        paired = pair_block(module.body, tree.body)
    except RecursionError:
        return None
    return starts if paired else None


def _pair_inside(
    ours: cst.CSTNode,
    theirs: ast.AST,
    pair_block: Callable[[Sequence[cst.CSTNode], Sequence[ast.AST]], bool],
    pair: Callable[[cst.CSTNode, ast.AST], bool],
) -> bool:
    """Pair the blocks inside a compound statement (or except clause) with CPython's."""
    if isinstance(ours, (cst.BaseSmallStatement, cst.Match)):
        return True  # nothing inside to pair (a match's cases are placed the whole way)
    body = getattr(ours, "body", None)
    if body is not None and not pair_block(_suite(body), theirs.body):  # type: ignore[attr-defined]
        return False
    if isinstance(ours, (cst.Try, cst.TryStar)):
        if len(ours.handlers) != len(theirs.handlers):  # type: ignore[attr-defined]
            return False
        if not all(map(pair, ours.handlers, theirs.handlers)):  # type: ignore[attr-defined]
            return False
    orelse = getattr(ours, "orelse", None)
    if isinstance(orelse, cst.If):
        return len(theirs.orelse) == 1 and pair(orelse, theirs.orelse[0])  # type: ignore[attr-defined]
    if orelse is not None and not pair_block(_suite(orelse.body), theirs.orelse):  # type: ignore[attr-defined]
        return False
    finalbody = getattr(ours, "finalbody", None)
    if finalbody is not None:
        return pair_block(_suite(finalbody.body), theirs.finalbody)  # type: ignore[attr-defined]
    return True


def _suite(suite: cst.BaseSuite) -> Sequence[cst.CSTNode]:
    return suite.body
