"""Where a node starts (line, column), without generating the whole module's code.

LibCST's nodes carry no positions: the usual way to learn any node's line is to generate
the code of the whole module and record every node on the way, which costs more than half
a parse. Rules ask about a few nodes per file. So `StartPositions` takes each statement's
start from CPython's `ast` (a tenth of LibCST's parse), pairing the two trees' statements
in order, and generates code only for the statement, or the header of the compound
statement, that holds a node asked about, from that statement's start.

Where the two trees do not pair up, or a node sits where this does not reach (a `match`
statement, a decorator after a line continuation), the answer comes from the whole
module's positions, as before: the answers are always LibCST's own.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

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
# Exact types: isinstance against LibCST's node classes, ABCs, costs a Python call each.
_NOTHING_INSIDE: dict[type, bool] = {}


def _nothing_inside(node: cst.CSTNode) -> bool:
    """A small statement, or a match (its cases are placed the whole way)."""
    kind = type(node)
    if kind not in _NOTHING_INSIDE:
        _NOTHING_INSIDE[kind] = issubclass(kind, (cst.BaseSmallStatement, cst.Match))
    return _NOTHING_INSIDE[kind]


class StartPositions:
    """`start(node, parent)`: where `node` starts, as LibCST's PositionProvider says;
    `parent` gives a node's parent. (Not kept: a source that holds these positions and
    hands them its own method would make a cycle, which only the garbage collector frees.)
    """

    def __init__(self, module: cst.Module, text: str) -> None:
        self._module = module
        self._known: dict[cst.CSTNode, Point] = {}
        self._whole: Mapping[cst.CSTNode, CodeRange] | None = None
        self._statements = statement_starts(module, text) if lean_works() else None

    def start(
        self, node: cst.CSTNode, parent: Callable[[cst.CSTNode], cst.CSTNode | None]
    ) -> Point:
        known = self._known.get(node)
        if known is None and self._statements is not None:
            known = self._statements.get(node) or self._from_statement(node, parent)
        if known is None:
            if self._whole is None:
                self._whole = module_positions(self._module)
            position = self._whole[node].start
            return position.line, position.column
        return known

    def _from_statement(
        self, node: cst.CSTNode, parent: Callable[[cst.CSTNode], cst.CSTNode | None]
    ) -> Point | None:
        """Generate the code of the statement that holds `node`, from its known start."""
        assert self._statements is not None
        unit: cst.CSTNode | None = node
        while unit is not None and unit not in self._statements:
            unit = parent(unit)
        if unit is None or isinstance(unit, (cst.SimpleStatementLine, cst.Match)):
            return None
        indent: list[str] = []
        above = parent(unit)
        how = {"is_elif": True} if isinstance(above, cst.If) and above.orelse is unit else {}
        while above is not None:
            if isinstance(above, cst.IndentedBlock):
                indent.append(self._module.default_indent if above.indent is None else above.indent)
            above = parent(above)
        ranges = header_ranges(self._module, unit, self._statements[unit], indent[::-1], **how)
        self._known.update((inside, where) for inside, (where, _) in ranges.items())
        return self._known.get(node)


def statement_starts(module: cst.Module, text: str) -> dict[cst.CSTNode, Point] | None:
    """Every statement's start, and every except clause's and decorator's, paired with
    CPython's parse; None where the text or the two trees do not allow it."""
    if "\r" in text.replace("\r\n", "") or text.startswith("\ufeff"):
        return None  # CPython and LibCST may count these lines differently
    try:
        with warnings.catch_warnings():  # CPython's words on the code are not ours to print
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    pairing = _Pairing(NEWLINES.split(text))
    try:
        paired = pairing.block(module.body, tree.body)
    except RecursionError:
        return None
    return pairing.starts if paired else None


class _Pairing:
    """LibCST's statements beside CPython's, in order, with each one's start. (Methods,
    not nested functions: two closures calling each other make a cycle that would keep
    every tree alive until the garbage collector runs.)"""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.starts: dict[cst.CSTNode, Point] = {}

    def point(self, node: ast.stmt | ast.excepthandler) -> Point:
        line = self.lines[node.lineno - 1]
        column = node.col_offset
        if not line.isascii():  # CPython counts bytes of UTF-8, LibCST characters
            column = len(line.encode()[:column].decode(errors="replace"))
        return node.lineno, column

    def block(self, ours: Sequence[cst.CSTNode], theirs: Sequence[ast.AST]) -> bool:
        flat: list[cst.CSTNode] = []
        for statement in ours:
            if type(statement) is cst.SimpleStatementLine:
                flat.extend(statement.body)
            else:
                flat.append(statement)
        if len(flat) != len(theirs) or not all(map(self.pair, flat, theirs)):
            return False
        for statement in ours:
            if type(statement) is cst.SimpleStatementLine:
                self.starts[statement] = self.starts[statement.body[0]]
        return True

    def pair(self, ours: cst.CSTNode, theirs: ast.AST) -> bool:
        name = type(ours).__name__
        if type(theirs).__name__ not in (name, "Async" + name, *AST_NAMES.get(name, ())):
            return False
        self.starts[ours] = self.point(theirs)  # type: ignore[arg-type]
        if (type(ours) is cst.FunctionDef or type(ours) is cst.ClassDef) and not self.decorators(
            ours,
            theirs.decorator_list,  # type: ignore[attr-defined]
        ):
            return False
        return self.inside(ours, theirs)

    def decorators(self, ours: cst.FunctionDef | cst.ClassDef, theirs: list[ast.expr]) -> bool:
        if len(theirs) != len(ours.decorators):
            return False
        at = self.starts[ours][1]  # a decorator's @ starts a line, indented as the def is
        for decorator, expression in zip(ours.decorators, theirs, strict=True):
            line = expression.lineno
            if self.lines[line - 1][at : at + 1] == "@":  # not after a line continuation
                self.starts[decorator] = line, at
        return True

    def inside(self, ours: cst.CSTNode, theirs: Any) -> bool:
        """Pair the blocks inside a compound statement (or except clause)."""
        if _nothing_inside(ours):
            return True
        body = getattr(ours, "body", None)
        if body is not None and not self.block(body.body, theirs.body):
            return False
        if (type(ours) is cst.Try or type(ours) is cst.TryStar) and not (
            len(ours.handlers) == len(theirs.handlers)
            and all(map(self.pair, ours.handlers, theirs.handlers))
        ):
            return False
        orelse = getattr(ours, "orelse", None)
        if type(orelse) is cst.If:
            return len(theirs.orelse) == 1 and self.pair(orelse, theirs.orelse[0])
        if orelse is not None and not self.block(orelse.body.body, theirs.orelse):
            return False
        finalbody = getattr(ours, "finalbody", None)
        return finalbody is None or self.block(finalbody.body.body, theirs.finalbody)
