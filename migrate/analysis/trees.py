"""Walking syntax trees without recursion: how deep a tree goes is up to the input.

A generated module of ten thousand implicitly concatenated strings is one expression
ten thousand levels deep; a recursive walk over it raises RecursionError. Every walk
over expressions goes through these loops instead (an explicit stack), so depth costs
memory, not the interpreter's stack.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import inspect
import operator
import types
import typing
from collections.abc import Callable, Iterator
from typing import Any

import libcst as cst
from libcst import MaybeSentinel

TOO_DEEP = "nested too deeply for the analysis (Python's recursion limit)"


def preorder(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """`node` and everything below it, depth first, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def with_parents(
    node: cst.CSTNode,
) -> tuple[list[cst.CSTNode], dict[int, cst.CSTNode]]:
    """`preorder(node)` as a list, and each node's parent by the node's id (the root has
    none). By id: a node's own `__hash__` is a Python call, and the list keeps the
    nodes, so their ids, alive."""
    nodes: list[cst.CSTNode] = []
    parents: dict[int, cst.CSTNode] = {}
    stack = [node]
    while stack:
        current = stack.pop()
        nodes.append(current)
        below = children(current)
        for child in below:
            parents[id(child)] = current
        stack.extend(reversed(below))
    return nodes, parents


def walk(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """`node.visit(visitor)` for a visitor that only reads: the same `visit_*` and
    `leave_*` calls in the same order (a `visit_*` returning False skips the children,
    and the `leave_*` still comes), without LibCST rebuilding every node on the way,
    without recursion, and without the layout no visitor of ours looks at."""
    if type(visitor).on_visit is not _ON_VISIT or type(visitor).on_leave is not _ON_LEAVE:
        _walk_overridden(node, visitor)
        return
    methods: dict[type, tuple[Callable | None, Callable | None]] = {}
    stack: list[cst.CSTNode | tuple[Callable, cst.CSTNode]] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, tuple):
            current[0](current[1])  # a leave_* whose children are done
            continue
        kind = type(current)
        found = methods.get(kind)
        if found is None:
            name = kind.__name__
            found = methods[kind] = (
                getattr(visitor, f"visit_{name}", None),
                getattr(visitor, f"leave_{name}", None),
            )
        visit, leave = found
        if leave is not None:
            stack.append((leave, current))
        if visit is None or visit(current) is not False:
            stack.extend(reversed(children(current)))


_ON_VISIT, _ON_LEAVE = cst.CSTVisitor.on_visit, cst.CSTVisitor.on_leave


def _walk_overridden(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """`walk` for a visitor with its own on_visit/on_leave."""
    stack: list[tuple[cst.CSTNode, bool]] = [(node, False)]
    while stack:
        current, leaving = stack.pop()
        if leaving:
            visitor.on_leave(current)
            continue
        stack.append((current, True))
        if visitor.on_visit(current):
            stack.extend((child, False) for child in reversed(children(current)))


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """`node.children` without layout (whitespace, comments, punctuation), read from
    the node's fields in source order.

    No analysis looks at layout, and it is more than half the nodes of a module. LibCST's
    `children` visits the node, which rebuilds it (a constructor call and its
    validation) every time; here a type's field order is learnt from such a visit, again
    only when a node holds something in a field no visit has shown yet (a few node
    types visit a field only when it is set).
    """
    known = _FIELD_ORDER.get(type(node))
    if known is None or (known[1] and _unseen_nodes(node, known[1])):
        known = _learn(node, known[0] if known else ())
    found: list[cst.CSTNode] = []
    code = _CODE_TYPES  # answers by type once _is_code has seen the type
    for value in known[2](node):
        kind = type(value)
        if kind is tuple or kind is list:
            for item in value:
                if code.get(type(item)) or (type(item) not in code and _is_code(item)):
                    found.append(item)
        elif code.get(kind) or (kind not in code and _is_code(value)):
            found.append(value)
    return found


# Layout: whitespace, comments and punctuation hold no code, nor does anything below
# them. (Operators are not layout: `a + b` and `a - b` differ.)
LAYOUT = (
    cst.SimpleWhitespace,
    cst.ParenthesizedWhitespace,
    cst.TrailingWhitespace,
    cst.Newline,
    cst.EmptyLine,
    cst.Comment,
    cst.Comma,
    cst.Dot,
    cst.Colon,
    cst.Semicolon,
    cst.AssignEqual,
    cst.LeftParen,
    cst.RightParen,
    cst.LeftSquareBracket,
    cst.RightSquareBracket,
    cst.LeftCurlyBrace,
    cst.RightCurlyBrace,
)
_CODE_TYPES: dict[type, bool] = {}


def _is_code(value: object) -> bool:
    """A node that is not layout. isinstance against CSTNode, an ABC, goes through
    ABCMeta in Python, far slower than this lookup by type."""
    kind = type(value)
    known = _CODE_TYPES.get(kind)
    if known is None:
        known = _CODE_TYPES[kind] = isinstance(value, cst.CSTNode) and kind not in LAYOUT
    return known


def _unseen_nodes(node: cst.CSTNode, fields: tuple[str, ...]) -> bool:
    """Whether a field the type's learnt order lacks holds a node this time."""
    for name in fields:
        value = getattr(node, name)
        if type(value) is not str and _holds_nodes(value):
            return True
    return False


# node type -> (the fields it visits, in source order; its other fields; a function that
# reads the first ones in one call)
_FIELD_ORDER: dict[
    type[cst.CSTNode],
    tuple[tuple[str, ...], tuple[str, ...], Callable[[cst.CSTNode], tuple[Any, ...]]],
] = {}


def _holds_nodes(value: object) -> bool:
    if _is_code(value):
        return True
    return isinstance(value, (tuple, list)) and any(_is_code(item) for item in value)


def _learn(
    node: cst.CSTNode, before: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...], Callable[[cst.CSTNode], tuple[Any, ...]]]:
    recorder = _FieldOrder()
    node._visit_and_replace_children(recorder)
    order = list(dict.fromkeys(recorder.fields))
    for index, name in enumerate(before):  # a field seen before, not visited this time
        if name not in order:
            placed = [order.index(prev) + 1 for prev in before[:index] if prev in order]
            order.insert(max(placed, default=0), name)
    typed = {f.name: f.type for f in dataclasses.fields(node)}
    others = tuple(name for name in typed if name not in order and _may_hold_code(typed[name]))
    # Fields that can only hold layout (parentheses, commas, whitespace) are not read.
    order = [name for name in order if _may_hold_code(typed.get(name))]
    read = operator.attrgetter(*order) if len(order) > 1 else _one_or_none(order)
    known = _FIELD_ORDER[type(node)] = (tuple(order), others, read)
    return known


def _may_hold_code(annotation: Any) -> bool:
    """False for a field whose type only allows text, flags, markers and layout
    (Name.value, Param.star, Call.lpar, Arg.comma): no need to read it for code. True
    when unsure."""
    if annotation in (str, bool, int, type(None), MaybeSentinel):
        return False
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return False
    if origin in (typing.Union, types.UnionType, collections.abc.Sequence, list, tuple):
        args = [arg for arg in typing.get_args(annotation) if arg is not Ellipsis]
        return any(_may_hold_code(arg) for arg in args)
    return not (isinstance(annotation, type) and _only_layout(annotation))


def _only_layout(kind: type) -> bool:
    """A layout class, or an abstract one whose every subclass is layout. By name: LibCST
    remakes each node class with slots, and the first make stays a subclass too."""
    if (kind.__module__, kind.__qualname__) in _LAYOUT_NAMES:
        return True
    below: list[type] = kind.__subclasses__()
    return inspect.isabstract(kind) and bool(below) and all(map(_only_layout, below))


_LAYOUT_NAMES = frozenset((kind.__module__, kind.__qualname__) for kind in LAYOUT)


def _one_or_none(names: list[str]) -> Callable[[cst.CSTNode], tuple[Any, ...]]:
    """What attrgetter does for two names and more: a tuple, here of one or none."""
    if not names:
        return lambda node: ()
    name = names[0]
    return lambda node: (getattr(node, name),)


class _FieldOrder(cst.CSTVisitor):
    """Records the fields a node visits, in order (LibCST visits every node field, even
    an empty one, save a few set only sometimes), without going below its children."""

    def __init__(self) -> None:
        self.fields: list[str] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        return False

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.fields.append(attribute)


def too_deep(what: str = "") -> str:
    """The reason given when LibCST itself (its visitors and code generation recurse)
    cannot handle a file: the file is skipped, the rule goes on with the others."""
    return f"{what}: {TOO_DEEP}" if what else TOO_DEEP
