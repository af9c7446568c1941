"""One source text with its parse tree and analyses, computed lazily and shared by rules."""

from __future__ import annotations

import ast
from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

import libcst as cst

from infragap.migrate.analysis.imports import dotted, import_aliases
from infragap.migrate.analysis.names import module_bindings
from infragap.migrate.analysis.parse import parse_module
from infragap.migrate.analysis.starts import StartPositions
from infragap.migrate.analysis.trees import with_parents
from infragap.migrate.repository import RepositoryFiles
from infragap.migrate.walk import Language

T = TypeVar("T")
N = TypeVar("N", bound=cst.CSTNode)


class NotPython(Exception):
    """The text does not parse as Python 3; the message says where and why."""


def syntax_problem(text: str, path: str) -> str:
    """A short reason why `text` is not valid Python; CPython's words when it has them."""
    try:
        ast.parse(text, filename=path)
    except SyntaxError as err:
        return f"not valid Python: {err.msg} (line {err.lineno})"
    except ValueError as err:
        return f"not valid Python: {err}"
    return (
        "Python parses it but LibCST cannot (newer syntax, or beyond its parser's limits, "
        "such as thousands of implicitly concatenated strings)"
    )


class Source:
    """A file's text plus what rules need from it. `module` raises NotPython."""

    def __init__(
        self,
        text: str,
        path: str = "<string>",
        language: Language = "python",
        repository: RepositoryFiles | None = None,
    ) -> None:
        self.text = text
        self.path = path
        self.language = language
        # What the repository around the file holds (None: the text alone, as in tests).
        self.repository = repository
        self._once: dict[tuple[str, cst.CSTNode], Any] = {}

    @cached_property
    def module(self) -> cst.Module:
        try:
            return parse_module(self.text)
        except (cst.ParserSyntaxError, RecursionError):
            raise NotPython(syntax_problem(self.text, self.path)) from None

    def parse_problem(self) -> str:
        """Why the file cannot be rewritten at all (it does not parse), or ""."""
        if self.language == "shell":
            from infragap.migrate.shell.syntax import shell_problem

            return shell_problem(self.text)
        try:
            self.module  # noqa: B018 - parses, once
        except NotPython as err:
            return str(err)
        return ""

    @property
    def nodes(self) -> list[cst.CSTNode]:
        """Every node of the module but layout, in source order: one walk the analyses
        share, where each used to walk the whole tree again."""
        return self._walked[0]

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The node `node` sits in (None for the module and for layout)."""
        return self._walked[1].get(id(node))

    @cached_property
    def _walked(self) -> tuple[list[cst.CSTNode], dict[int, cst.CSTNode]]:
        return with_parents(self.module)

    @cached_property
    def aliases(self) -> dict[str, str]:
        """Local name -> qualified name, from every import in the file."""
        return import_aliases(self.module)

    @cached_property
    def module_names(self) -> set[str]:
        """Names bound at module level (imports, assignments, defs, classes)."""
        return module_bindings(self.module)

    @cached_property
    def toplevel_functions(self) -> dict[str, cst.FunctionDef]:
        return {
            stmt.name.value: stmt for stmt in self.module.body if isinstance(stmt, cst.FunctionDef)
        }

    @cached_property
    def _starts(self) -> StartPositions:
        return StartPositions(self.module, self.text)

    @cached_property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    def line_of(self, node: cst.CSTNode) -> int:
        return self._starts.start(node, self.parent)[0]

    def column_of(self, node: cst.CSTNode) -> int:
        """1-based, as SARIF and editors count."""
        return self._starts.start(node, self.parent)[1] + 1

    def line_text(self, line: int) -> str:
        return self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def once(self, what: str, node: N, compute: Callable[[N], T]) -> T:
        """`compute(node)`, computed once per file: several rules ask the same of a node."""
        key = (what, node)
        if key not in self._once:
            self._once[key] = compute(node)
        result: T = self._once[key]
        return result

    def qualname(self, expr: cst.BaseExpression) -> str | None:
        """`th.jit.load` -> `torch.jit.load` through the file's imports; None if not a name."""
        name = dotted(expr)
        if not name:
            return None
        head, dot, rest = name.partition(".")
        return self.aliases.get(head, head) + dot + rest
