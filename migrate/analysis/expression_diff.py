"""Where two versions of the same expression differ, as pairs of code fragments.

Both sides are walked together; where their shapes part, the smallest enclosing
argument or short subscript of a name (or the differing node, outside both) is
reported, so a difference reads as `bins=[0, 18, 35, 50, 120]` vs `bins=[0, 18, 35,
55, 120]`, not as `50` vs `55`, and as `x[0]` vs `x[-1]`, not as `0` vs `-1`.
Whitespace, comments and the quoting style of strings never count as differences.
"""

from __future__ import annotations

import libcst as cst

from infragap.migrate.analysis.trees import LAYOUT

_MODULE = cst.Module(body=[])
SHORT_SUBSCRIPT = 40


def normal(node: cst.CSTNode) -> str:
    """Code of `node` with layout removed: the form two copies are compared in."""
    return "".join(_MODULE.code_for_node(_strip(node)).split())


def _strip(node: cst.CSTNode) -> cst.CSTNode:
    stripped = node.visit(_Strip())
    assert isinstance(stripped, cst.CSTNode)
    return stripped


class _Strip(cst.CSTTransformer):
    """Strings in one quoting, no trailing commas in calls, no comments."""

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.SimpleString:
        value = original_node.evaluated_value
        if isinstance(value, bytes):
            return updated_node
        return updated_node.with_changes(value=_quoted(value))

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(comma=cst.MaybeSentinel.DEFAULT)

    def leave_TrailingWhitespace(
        self, original_node: cst.TrailingWhitespace, updated_node: cst.TrailingWhitespace
    ) -> cst.TrailingWhitespace:
        return updated_node.with_changes(comment=None)

    def leave_EmptyLine(
        self, original_node: cst.EmptyLine, updated_node: cst.EmptyLine
    ) -> cst.EmptyLine:
        return updated_node.with_changes(comment=None)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def code(node: cst.CSTNode) -> str:
    """Readable one-line code of `node` (single spaces, no comments)."""
    return " ".join(_MODULE.code_for_node(_strip(node)).split())


def differences(a: cst.CSTNode, b: cst.CSTNode) -> list[tuple[str, str]]:
    """(code in a, code in b) for each place the two differ; [] when they are the same."""
    if normal(a) == normal(b):
        return []
    return _walk(a, b, None)


Context = tuple[cst.Arg, cst.Arg] | tuple[cst.Subscript, cst.Subscript] | None


def _walk(a: cst.CSTNode, b: cst.CSTNode, arg: Context) -> list:
    """The differing places, depth first in source order: a loop over an explicit stack,
    since how deep an expression goes is up to the code being read."""
    found: list[tuple[str, str]] = []
    stack: list[tuple[cst.CSTNode, cst.CSTNode, Context]] = [(a, b, arg)]
    while stack:
        one, other, arg = stack.pop()
        if normal(one) == normal(other):
            continue
        arg = _context(one, other, arg)
        left, right = _parts(one), _parts(other)
        if type(one) is not type(other) or len(left) != len(right) or not left:
            # A call whose arguments differ in number shows best whole; a differing value
            # shows best with the argument it is the value of.
            whole = isinstance(one, cst.Call) and type(one) is type(other)
            shown = arg if arg is not None and not whole else (one, other)
            pair = (code(shown[0]), code(shown[1]))
            if pair not in found:
                found.append(pair)
            continue
        stack.extend((x, y, arg) for x, y in reversed(list(zip(left, right, strict=True))))
    return found


def _context(one: cst.CSTNode, other: cst.CSTNode, outer: Context) -> Context:
    """What a difference inside `one` and `other` shows with: the pair when both are
    arguments, or short subscripts of a name (`x[-1]` vs `x[0]` reads; `-1` vs `0` not)."""
    if isinstance(one, cst.Arg) and isinstance(other, cst.Arg):
        return (one, other)
    if (
        isinstance(one, cst.Subscript)
        and isinstance(other, cst.Subscript)
        and isinstance(one.value, cst.Name)
        and len(normal(one)) <= SHORT_SUBSCRIPT
    ):
        return (one, other)
    return outer


def _parts(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The children that carry meaning (no whitespace, comments or punctuation)."""
    return [child for child in node.children if not isinstance(child, LAYOUT)]
