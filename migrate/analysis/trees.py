"""Walking syntax trees without recursion: how deep a tree goes is up to the input.

A generated module of ten thousand implicitly concatenated strings is one expression
ten thousand levels deep; a recursive walk over it raises RecursionError. Every walk
over expressions goes through these loops instead (an explicit stack), so depth costs
memory, not the interpreter's stack.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

TOO_DEEP = "nested too deeply for the analysis (Python's recursion limit)"


def preorder(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """`node` and everything below it, depth first, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def too_deep(what: str = "") -> str:
    """The reason given when LibCST itself (its visitors and code generation recurse)
    cannot handle a file: the file is skipped, the rule goes on with the others."""
    return f"{what}: {TOO_DEEP}" if what else TOO_DEEP
