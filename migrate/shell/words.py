"""Shell words as Python expressions, where a word means the same thing in both.

A generated DAG computes the script's variables in Python when Airflow parses it. That
is faithful only for values that run nothing: literal text, other variables,
`${NAME:-default}` and `${NAME-default}`, and the script's own folder (`$(dirname "$0")`,
`$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)` and their kin). Anything else (a
command substitution, arithmetic, a glob, the script's arguments) must stay shell, and
`to_python` says why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from infragap.migrate.shell.syntax import Node, Script, named_children, walk

SCRIPT_DIR = "SCRIPT_DIR"  # the DAG's name for the script's folder
ENV = "ENV"  # the DAG's dict of the script's variables
_SELF = r"(?:\$0|\$\{0\}|\$BASH_SOURCE|\$\{BASH_SOURCE(?:\[0\])?\})"
_DIRNAME = rf"(?:dirname {_SELF}|dirname \$\((?:readlink -f|realpath) {_SELF}\))"
SCRIPT_DIR_IDIOMS = (
    re.compile(rf"{_DIRNAME}"),
    re.compile(rf"(?:realpath|readlink -f) \$\({_DIRNAME}\)"),
    re.compile(rf"cd (?:-P )?\$\({_DIRNAME}\)(?: ?> ?/dev/null(?: 2>&1)?)? && pwd(?: -P)?"),
)
POSITIONAL = re.compile(r"[0-9]+|[@*#]")
_GLOB = re.compile(r"(?<!\\)[*?\[]")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_DOUBLE_QUOTED_ESCAPE = re.compile(r"\\([\\\"$`\n])")


class ShellOnly(Exception):
    """The word depends on running the shell; the message says how."""


@dataclass(frozen=True)
class Names:
    """What the translation knows: variables in the DAG's ENV, and shell-only ones."""

    python: Collection[str] = ()
    shell: Collection[str] = ()


@dataclass(frozen=True)
class PyValue:
    """A word as a Python expression, or (expr is None) why it must stay shell."""

    expr: str | None
    why: str = ""


def to_python(script: Script, node: Node, names: Names) -> PyValue:
    try:
        parts = list(_parts(script, node, names))
    except ShellOnly as err:
        return PyValue(None, str(err))
    return PyValue(_render(parts))


def is_script_dir(script: Script, substitution: Node) -> bool:
    """`$(dirname "$0")` and the other spellings of "the folder this script is in"."""
    code = script.code(substitution)
    inner = code[2:-1] if code.startswith("$(") else code[1:-1]
    normal = re.sub(r"\s+", " ", inner.replace('"', "").replace("'", "")).strip()
    return any(idiom.fullmatch(normal) for idiom in SCRIPT_DIR_IDIOMS)


def variables_read(script: Script, node: Node) -> set[str]:
    """Every variable name the node expands, at any depth (positional ones included)."""
    found = set()
    for child in walk(node):
        if child.type in ("simple_expansion", "expansion"):
            name = _expanded_name(script, child)
            if name:
                found.add(name)
    return found


def reads_arguments(script: Script, node: Node) -> bool:
    """Whether the node expands the script's own arguments ($1, "$@", $#, ...)."""
    return any(POSITIONAL.fullmatch(name) for name in variables_read(script, node))


def _expanded_name(script: Script, expansion: Node) -> str:
    for child in named_children(expansion):
        if child.type in ("variable_name", "special_variable_name"):
            return script.code(child)
        if child.type == "subscript":
            name = child.child_by_field_name("name")
            return script.code(name) if name is not None else ""
    return ""


Part = tuple[bool, str]  # (is_python_expression, text)


def _parts(script: Script, node: Node, names: Names) -> Iterator[Part]:
    kind = node.type
    text = script.code(node)
    if kind == "word":
        yield from _word(text)
    elif kind == "number":
        yield False, text
    elif kind == "raw_string":
        yield False, text[1:-1]
    elif kind == "string":
        yield from _double_quoted(script, node, names)
    elif kind == "concatenation":
        for child in node.children:
            yield from _parts(script, child, names)
    elif kind == "simple_expansion":
        yield True, _variable(_expanded_name(script, node), names)
    elif kind == "expansion":
        yield True, _expansion(script, node, names)
    elif kind == "command_substitution":
        if not is_script_dir(script, node):
            raise ShellOnly(f"`{text}` runs a command")
        yield True, SCRIPT_DIR
    else:
        raise ShellOnly(f"`{text}` is evaluated by the shell ({kind.replace('_', ' ')})")


def _word(text: str) -> Iterator[Part]:
    if _GLOB.search(text):
        raise ShellOnly(f"`{text}` is a glob")
    if text == "~" or text.startswith("~/"):
        yield True, 'os.path.expanduser("~")'
        text = text[1:]
    yield False, _ESCAPE.sub(r"\1", text)


def _double_quoted(script: Script, node: Node, names: Names) -> Iterator[Part]:
    # Text between the child nodes is literal: walk by byte offsets, not node types.
    position = node.start_byte + 1
    for child in node.children[1:-1]:
        if child.start_byte > position:
            yield False, _unescape_double(script.data[position : child.start_byte].decode())
        if child.type == "string_content":
            yield False, _unescape_double(script.code(child))
        else:
            yield from _parts(script, child, names)
        position = child.end_byte
    if node.end_byte - 1 > position:
        yield False, _unescape_double(script.data[position : node.end_byte - 1].decode())


def _unescape_double(text: str) -> str:
    return _DOUBLE_QUOTED_ESCAPE.sub(lambda m: "" if m.group(1) == "\n" else m.group(1), text)


def _variable(name: str, names: Names) -> str:
    if POSITIONAL.fullmatch(name) or not name:
        raise ShellOnly(f"${name} is the script's own {'name' if name == '0' else 'arguments'}")
    if name in names.shell:
        raise ShellOnly(f"${name} is only known to the shell")
    if name in names.python:
        return f'{ENV}["{name}"]'
    return f'os.environ.get("{name}", "")'


def _expansion(script: Script, node: Node, names: Names) -> str:
    children = named_children(node)
    operator = node.child_by_field_name("operator")
    if not children or children[0].type != "variable_name":
        raise ShellOnly(f"`{script.code(node)}` is evaluated by the shell")
    name = script.code(children[0])
    if operator is None:
        if len(children) > 1:
            raise ShellOnly(f"`{script.code(node)}` is evaluated by the shell")
        return _variable(name, names)
    op = script.code(operator)
    if op not in (":-", "-"):
        raise ShellOnly(f"`{script.code(node)}` is evaluated by the shell ({op})")
    default = [part for child in children[1:] for part in _parts(script, child, names)]
    fallback = _render(default)
    base = _variable(name, names)  # raises for positional and shell-only names
    if name in names.python:
        return f"{base} or {fallback}" if op == ":-" else base
    if op == ":-":
        return f'os.environ.get("{name}") or {fallback}'
    return f'os.environ.get("{name}", {fallback})'


def _render(parts: list[Part]) -> str:
    merged: list[Part] = []
    for is_expr, text in parts:
        if merged and not is_expr and not merged[-1][0]:
            merged[-1] = (False, merged[-1][1] + text)
        elif is_expr or text:
            merged.append((is_expr, text))
    if not merged:
        return '""'
    if len(merged) == 1:
        return merged[0][1] if merged[0][0] else _py_string(merged[0][1])
    return " + ".join(
        (f"({text})" if " or " in text else text) if is_expr else _py_string(text)
        for is_expr, text in merged
    )


def _py_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a Python literal too
