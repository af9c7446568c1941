"""Where a module-level function is called, across the files of a repository.

A call counts when its callee resolves, through the calling file's imports, to the
function: `build_features(...)` in its own module; `from serving.features import
build_features` (also relative, `from .features import ...`, or as a sibling script,
`from features import ...`) then `build_features(...)`; `import serving.features as
sf` then `sf.build_features(...)`. Nothing is imported or run.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

import libcst as cst

from infragap.migrate.analysis.imports import dotted
from infragap.migrate.analysis.statements import small_statements, walk_statements
from infragap.migrate.source import NotPython, Source


@dataclass(frozen=True)
class CallSite:
    source: Source
    call: cst.Call
    caller: cst.FunctionDef | None  # the innermost function the call is in

    @property
    def line(self) -> int:
        return self.source.line_of(self.call)


def module_name(path: str) -> str:
    """`serving/features.py` -> `serving.features`; a package's `__init__.py` -> the package."""
    stem = path.removesuffix(".py")
    parts = stem.split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def resolves_to(qualname: str, importer: str, target: str) -> bool:
    """Whether `qualname`, as written in file `importer`, names module `target` (a path)."""
    module = module_name(target)
    if qualname == module:
        return True
    if qualname.startswith("."):
        dots = len(qualname) - len(qualname.lstrip("."))
        package = module_name(importer).split(".")
        if not importer.endswith("__init__.py"):
            package = package[:-1]  # a module's package; a package's __init__ is its own
        package = package[: len(package) - (dots - 1)]
        rest = qualname.lstrip(".")
        return ".".join([*package, *([rest] if rest else [])]) == module
    folder = posixpath.dirname(importer)
    sibling = posixpath.join(folder, *qualname.split(".")) + ".py"
    return folder != "" and posixpath.normpath(sibling) == target  # a script beside it


def call_sites(sources: Iterable[Source], path: str, name: str) -> list[CallSite]:
    """Every call of `name`, defined at the top of file `path`, in files that parse."""
    found = []
    for source in sources:
        if name not in source.text:
            continue
        try:
            visitor = _Calls(source, path, name)
            source.module.visit(visitor)
        except NotPython:
            continue
        found.extend(visitor.found)
    return found


class _Calls(cst.CSTVisitor):
    def __init__(self, source: Source, path: str, name: str) -> None:
        self.source = source
        self.path = path
        self.name = name
        self.functions: list[cst.FunctionDef] = []
        self.found: list[CallSite] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.functions.pop()

    def visit_Call(self, node: cst.Call) -> None:
        qualname = self.source.qualname(node.func)
        if qualname is None:
            return
        module, _, function = qualname.rpartition(".")
        if function != self.name:
            return
        if module:
            hit = resolves_to(module, self.source.path, self.path)
        else:  # a bare name: the function itself, in its own module
            hit = self.source.path == self.path and self.name not in self.source.aliases
        if hit:
            caller = self.functions[-1] if self.functions else None
            self.found.append(CallSite(self.source, node, caller))


def import_of(source: Source, path: str, name: str) -> list[cst.ImportFrom]:
    """The `from <module of path> import name` statements of a file."""
    found = []
    for stmt in walk_statements(source.module.body):
        for small in small_statements(stmt):
            if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
                continue
            base = "." * len(small.relative) + (dotted(small.module) if small.module else "")
            if not resolves_to(base, source.path, path):
                continue
            if any(dotted(alias.name) == name for alias in small.names):
                found.append(small)
    return found
