"""Parse a shell script into tree-sitter's bash syntax tree; report where it is broken.

tree-sitter always returns a tree, marking what it could not parse with ERROR or
MISSING nodes: a script with any of them counts as not parsable, so nothing is ever
guessed from a broken script. The parser is imported on first use.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from infragap.errors import MissingDependency

Node = Any  # tree_sitter.Node; kept loose so this module imports without tree-sitter


class NotShell(Exception):
    """The text does not parse as a bash script; the message says where."""


@lru_cache(maxsize=1)
def _parser() -> Any:
    try:
        import tree_sitter_bash
        from tree_sitter import Language, Parser
    except ImportError:
        raise MissingDependency(
            "tree-sitter-bash (the shell parser of infragap migrate)", "migrate"
        ) from None
    return Parser(Language(tree_sitter_bash.language()))


def require_parser() -> None:
    _parser()


@dataclass(frozen=True)
class Script:
    """A parsed script: its text and syntax tree, with helpers to read nodes back."""

    text: str
    tree: Any
    data: bytes

    @property
    def root(self) -> Node:
        return self.tree.root_node

    def code(self, node: Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8")

    def line(self, node: Node) -> int:
        return int(node.start_point[0]) + 1

    def end_line(self, node: Node) -> int:
        return int(node.end_point[0]) + 1


def parse_script(text: str) -> Script:
    """The script's tree; NotShell when any part of it does not parse."""
    data = text.encode("utf-8")
    tree = _parser().parse(data)
    if tree.root_node.has_error:
        raise NotShell(f"not valid shell: {_describe(_first_error(tree.root_node))}")
    return Script(text, tree, data)


def _describe(bad: Node | None) -> str:
    if bad is None:
        return "syntax error"
    if bad.is_missing and bad.parent is not None:
        opened = int(bad.parent.start_point[0]) + 1
        what = bad.parent.type.replace("_", " ")
        return f"`{bad.type}` is missing: the {what} at line {opened} is never closed"
    return f"syntax error at line {int(bad.start_point[0]) + 1}"


def shell_problem(text: str) -> str:
    """Why `text` is not a parsable script, or ""."""
    try:
        parse_script(text)
    except NotShell as err:
        return str(err)
    return ""


def _first_error(node: Node) -> Node | None:
    """The first node tree-sitter marks as an error or as missing, in source order.

    Loops over an explicit stack, as `walk` does: nesting depth is up to the script."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.is_error or current.is_missing:
            return current
        stack.extend(
            child for child in reversed(current.children) if child.has_error or child.is_missing
        )
    return None


def walk(node: Node) -> Iterator[Node]:
    """`node` and everything below it, depth first, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def named_children(node: Node) -> list[Node]:
    return [child for child in node.children if child.is_named]
