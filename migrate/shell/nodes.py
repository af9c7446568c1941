"""Questions about statements of a parsed script that the translation asks, answered
from the syntax tree alone."""

from __future__ import annotations

import json
import re
from collections.abc import Collection

from infragap.migrate.shell.syntax import Node, Script, named_children, walk
from infragap.migrate.shell.words import Names, to_python, variables_read


def backgrounded(node: Node) -> bool:
    sibling = node.next_sibling
    return sibling is not None and not sibling.is_named and sibling.type == "&"


def statements_after(node: Node) -> bool:
    sibling = node.next_named_sibling
    while sibling is not None and sibling.type == "comment":
        sibling = sibling.next_named_sibling
    return sibling is not None


def wait_index(script: Script, statements: list[Node], start: int) -> int:
    for index in range(start, len(statements)):
        name = statements[index].child_by_field_name("name")
        if statements[index].type == "command" and name is not None and script.code(name) == "wait":
            return index
    return len(statements) - 1


def commands_in(nodes: list[Node]) -> list[Node]:
    return [n for node in nodes for n in walk(node) if n.type == "command"]


_ASSIGN_ONLY = frozenset(
    {"variable_assignment", "variable_assignments", "declaration_command", "comment"}
)
_BRANCHES = frozenset({"else_clause", "elif_clause", "case_item"})
_NOT_STATEMENTS = frozenset(
    {"test_command", "word", "string", "raw_string", "concatenation", "simple_expansion"}
    | {"expansion", "extglob_pattern", "number"}
)


def assigns_only(node: Node) -> bool:
    """Whether a conditional's branches only set variables (around tests and comments)."""
    for child in named_children(node):
        if child.type in _BRANCHES:
            if not assigns_only(child):
                return False
        elif child.type not in _ASSIGN_ONLY and child.type not in _NOT_STATEMENTS:
            return False
    return True


def assigned_names(script: Script, node: Node) -> set[str]:
    """The variables `node` sets: assignments, loop variables, `read NAME` and kin."""
    names = set()
    for child in walk(node):
        if child.type == "variable_assignment":
            names.add(script.code(child.child_by_field_name("name")))
        elif child.type == "for_statement":
            names.add(script.code(child.child_by_field_name("variable")))
        elif child.type == "command" and command_name(child) in _READERS:
            arguments = [script.code(c) for c in child.children_by_field_name("argument")]
            names |= {a for a in arguments if re.fullmatch(r"[A-Za-z_]\w*", a)}
    return names


_READERS = frozenset({"read", "mapfile", "readarray"})


def literal_items(script: Script, values: list[Node]) -> list[str] | None:
    """The loop's items when every one is literal text (no expansion, no glob)."""
    items = []
    for value in values:
        expr = to_python(script, value, Names()).expr
        try:
            item = json.loads(expr) if expr is not None else None
        except json.JSONDecodeError:  # an expression, not one literal
            return None
        if not isinstance(item, str):
            return None
        items.append(item)
    return items or None


def runs_only(body: Node, stateful: Collection[str]) -> bool:
    """A loop body that only runs commands: none of them is a `stateful` one (cd, set, ...),
    and nothing in it sets a variable beyond one command."""
    for child in named_children(body):
        if child.type == "comment":
            continue
        if child.type not in ("command", "list", "redirected_statement"):
            return False
        for node in walk(child):
            if node.type == "declaration_command":
                return False
            if node.type == "variable_assignment" and node.parent.type != "command":
                return False  # `A=1 cmd` sets A for that command only
            if node.type == "command" and command_name(node) in stateful:
                return False
    return True


def command_name(command: Node) -> str:
    name = command.child_by_field_name("name")
    return name.text.decode("utf-8").strip("\"'") if name is not None else ""


def read_elsewhere(script: Script, name: str, loop: Node) -> bool:
    """Whether `name` is expanded anywhere but in its own assignments and the loop header."""
    body = loop.child_by_field_name("body")
    for node in walk(script.root):
        if node.type not in ("simple_expansion", "expansion"):
            continue
        if name not in variables_read(script, node):
            continue
        in_header = loop.start_byte <= node.start_byte and (
            body is None or node.start_byte < body.start_byte
        )
        if not in_header and not _in_assignment_of(script, node, name):
            return True
    return False


def _in_assignment_of(script: Script, node: Node, name: str) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type == "variable_assignment":
            return script.code(parent.child_by_field_name("name")) == name
        parent = parent.parent
    return False
